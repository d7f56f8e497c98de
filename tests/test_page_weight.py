"""The page-weight budget of the pages shared links land on, counted in bytes.

A 60-product shop page and one of its product pages, fetched as a browser that
accepts gzip would (brotli, where a browser offers it, is smaller still): the
page plus every stylesheet and script it links must stay within 40 KB on a first
visit, images apart; on a repeat visit, when the browser already holds the
fingerprinted static files (their caching has its own tests), the page alone
must stay within 10 KB. Each response counts with its headers, as on the wire.
"""

import gzip
import re
import secrets

import pytest

from storefront.catalog.models import ProductImage
from storefront.extensions import db
from storefront.shops import services as shops
from tests import factories

FIRST_VISIT = 40 * 1024
REPEAT_VISIT = 10 * 1024
ITEMS = 60
#: What the page makes the browser fetch besides images.
SUBRESOURCE = re.compile(r'<(?:link rel="stylesheet" href|script src)="([^"]+)"')
BROWSER = {"Accept-Encoding": "gzip, deflate", "Accept-Language": "zh-CN,zh;q=0.9"}


@pytest.fixture
def shop_pages(app) -> list[str]:
    """A shop with 60 picks as a seller would fill it (bilingual names, a note
    on each, photos in three widths, some on sale or nearly sold out); the paths
    of its page and of one product page."""
    with app.app_context():
        shop = factories.shop(name="梅子的茶与零食 Mei's tea & snacks")
        shops.update_profile(
            shop,
            shop.name,
            "mei",
            "在杭州喝了十年茶，只推荐自己每天在喝的。\nTen years of tea in Hangzhou.",
            "WeChat: meizi_tea",
        )
        for n in range(ITEMS):
            product = factories.product(
                name=f"明前西湖龙井 {n} Longjing green tea, spring pick",
                slug=f"longjing-{n}",
                price=12_800 + 100 * n,
                compare_at_price=15_800 + 100 * n if n % 3 == 0 else None,
                stock=3 if n % 5 == 0 else 40,
            )
            # Only the markup counts here: files behind the URLs are never asked for.
            product.images.append(
                ProductImage(
                    key=secrets.token_hex(12),
                    widths="360,720,1080",
                    width=1080,
                    height=1080,
                )
            )
            item = shops.add_product(shop, product)
            shops.set_note(item, "今年的明前龙井，豆香很足，冲三泡还有味。" * 2)
        db.session.commit()
        return ["/s/mei", "/s/mei/p/longjing-0"]


def wire_size(response) -> int:
    """Bytes of the response as sent: status line, headers and (compressed)
    body."""
    headers = sum(len(f"{name}: {value}\r\n") for name, value in response.headers)
    return len(f"HTTP/1.1 {response.status}\r\n\r\n") + headers + len(response.data)


def test_the_shop_page_measured_lists_every_pick(client, shop_pages):
    html = client.get(shop_pages[0]).get_data(as_text=True)
    assert html.count('<li class="card') == ITEMS
    assert html.count('srcset="') >= ITEMS


def test_shop_and_product_pages_fit_the_first_visit_budget(client, shop_pages):
    for path in shop_pages:
        page = client.get(path, headers=BROWSER)
        assert page.status_code == 200
        assert page.headers["Content-Encoding"] == "gzip"
        html = gzip.decompress(page.data).decode()
        linked = SUBRESOURCE.findall(html)
        assert len(linked) >= 2  # the stylesheet and htmx at least
        files = [client.get(url, headers=BROWSER) for url in linked]
        assert all(file.status_code == 200 for file in files)
        total = wire_size(page) + sum(wire_size(file) for file in files)
        assert total <= FIRST_VISIT, f"{path}: {total} bytes on a first visit"


def test_shop_and_product_pages_fit_the_repeat_visit_budget(client, shop_pages):
    for path in shop_pages:
        client.get(path, headers=BROWSER)  # the first visit: cookies set
        page = client.get(path, headers=BROWSER)
        assert page.status_code == 200
        assert wire_size(page) <= REPEAT_VISIT, (
            f"{path}: {wire_size(page)} bytes on a repeat visit"
        )
