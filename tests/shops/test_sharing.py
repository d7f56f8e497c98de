"""Sharing: which link a share carries, the panel (page and fragment), its QR code,
and the poster (a real PNG whose QR code a scanner reads back)."""

import os
import re
import shutil
import subprocess
from io import BytesIO

import pytest
import segno
from PIL import Image
from sqlalchemy import select

from storefront.catalog.models import Product
from storefront.catalog.services import add_image
from storefront.extensions import db
from storefront.shops import services, sharing
from storefront.shops.models import Shop, ShopStatus
from tests import factories
from tests.conftest import EN, require

SHOP_URL = "http://localhost/s/mei-tea"
SHOP_TEA_URL = "http://localhost/s/mei-tea/p/green-tea"
HOUSE_TEA_URL = "http://localhost/p/green-tea"
LINK_INPUT = re.compile(r'<input type="url" value="([^"]+)" readonly data-share-link>')


@pytest.fixture
def mei(app):
    """An open shop "Mei Tea" (seller 李梅 Li Mei) that picked the green tea (with
    a photo); walnuts exist in the catalog but not in the shop."""
    with app.app_context():
        shop = factories.shop("mei@example.com", "Mei Tea", owner_name="李梅 Li Mei")
        tea = factories.product(name="西湖龙井 Longjing green tea", slug="green-tea")
        factories.product(name="Walnuts", slug="walnuts")
        add_image(tea, factories.image_bytes(900, 700))
        services.add_product(shop, tea)
        db.session.commit()
        return shop.id


def referral_cookie(app, shop_id: int) -> str:
    with app.app_context():
        return services.referral_token(db.session.get(Shop, shop_id))


def shared_link(html: str) -> str:
    return LINK_INPUT.search(html).group(1)


# The link


def test_share_url_for_shop_product_and_house_pages(app, mei):
    with app.test_request_context():
        shop = db.session.get(Shop, mei)
        tea = db.session.scalar(select(Product).filter_by(slug="green-tea"))
        assert sharing.share_url(shop, None) == SHOP_URL
        assert sharing.share_url(shop, tea) == SHOP_TEA_URL
        assert sharing.share_url(None, tea) == HOUSE_TEA_URL


@pytest.mark.parametrize(
    ("path", "link"),
    [
        ("/s/mei-tea/share", SHOP_URL),
        ("/s/mei-tea/p/green-tea/share", SHOP_TEA_URL),
        ("/p/green-tea/share", HOUSE_TEA_URL),
    ],
)
def test_panel_shares_the_page_link(client, mei, path, link):
    response = client.get(path, headers=EN)
    assert response.status_code == 200
    assert shared_link(response.get_data(as_text=True)) == link


def test_a_referred_customer_shares_the_sellers_link(app, client, mei):
    client.set_cookie("ref", referral_cookie(app, mei))
    html = client.get("/p/green-tea/share", headers=EN).get_data(as_text=True)
    assert shared_link(html) == SHOP_TEA_URL
    assert "/join?ref=mei-tea" in html


def test_a_forged_referral_cookie_shares_the_house_link(client, mei):
    client.set_cookie("ref", "bm90IGEgdG9rZW4")
    html = client.get("/p/green-tea/share", headers=EN).get_data(as_text=True)
    assert shared_link(html) == HOUSE_TEA_URL
    assert "/join?ref" not in html


def test_a_suspended_sellers_cookie_no_longer_credits_them(app, client, mei):
    client.set_cookie("ref", referral_cookie(app, mei))
    with app.app_context():
        services.set_status(db.session.get(Shop, mei), ShopStatus.SUSPENDED)
        db.session.commit()
    html = client.get("/p/green-tea/share", headers=EN).get_data(as_text=True)
    assert shared_link(html) == HOUSE_TEA_URL


# The panel


def test_plain_get_is_a_whole_page_htmx_gets_the_panel(client, mei, hx):
    page = client.get("/s/mei-tea/share", headers=EN)
    fragment = client.get("/s/mei-tea/share", headers={**EN, **hx})
    for response in (page, fragment):
        assert "HX-Request" in response.headers["Vary"]
        assert "data-share" in response.get_data(as_text=True)
    assert "<html" in page.get_data(as_text=True)
    assert "js/share.js" in page.get_data(as_text=True)
    html = fragment.get_data(as_text=True)
    assert "<html" not in html and html.lstrip().startswith("<section")


def test_panel_has_copy_share_poster_and_join(client, mei):
    html = client.get("/s/mei-tea/p/green-tea/share", headers=EN).get_data(as_text=True)
    assert "Copy link" in html and "data-share-copy" in html
    assert "data-share-native hidden" in html  # shown by share.js if supported
    assert 'href="/s/mei-tea/p/green-tea/poster.png" download' in html
    assert 'href="/join?ref=mei-tea"' in html
    assert "<script>" not in html and "hx-on" not in html  # CSP: no inline JS


def test_house_panel_has_no_join_link(client, mei, hx):
    html = client.get("/p/green-tea/share", headers={**EN, **hx}).get_data(as_text=True)
    assert "/join" not in html
    assert 'href="/p/green-tea/poster.png"' in html


def test_share_button_loads_the_panel_below_it(app):
    with app.test_request_context():
        html = app.jinja_env.get_template("_partials/share_button.html").render(
            share="/s/mei-tea/share"
        )
    assert 'href="/s/mei-tea/share" hx-get="/s/mei-tea/share"' in html
    assert 'hx-target="#share-panel"' in html and 'id="share-panel"' in html


def svg_modules(svg: str) -> set[tuple[int, int]]:
    """The dark modules (column, row) drawn by segno's SVG path."""
    path = re.search(r'class="qrline"[^>]* d="([^"]+)"', svg).group(1)
    x = y = 0.0
    dark = set()
    for command, a, b in re.findall(r"([Mmh])(-?[\d.]+)(?: (-?[\d.]+))?", path):
        if command == "M":
            x, y = float(a), float(b)
        elif command == "m":
            x, y = x + float(a), y + float(b)
        else:
            dark.update((int(x) + n, int(y)) for n in range(int(float(a))))
            x += float(a)
    return dark


@pytest.mark.parametrize(
    ("path", "link"),
    [("/s/mei-tea/share", SHOP_URL), ("/s/mei-tea/p/green-tea/share", SHOP_TEA_URL)],
)
def test_panel_qr_code_encodes_exactly_the_link(client, mei, hx, path, link):
    html = client.get(path, headers={**EN, **hx}).get_data(as_text=True)
    svg = re.search(r"<svg.*?</svg>", html, re.S).group(0)
    assert "<?xml" not in html and 'role="img"' in svg and "<title>" in svg
    border = 2  # quiet zone of the inline SVG
    expected = {
        (column + border, row + border)
        for row, line in enumerate(segno.make_qr(link, error="m").matrix)
        for column, module in enumerate(line)
        if module
    }
    assert svg_modules(svg) == expected


# Not found and moved


@pytest.mark.parametrize(
    "path",
    [
        "/s/nobody/share",
        "/s/nobody/poster.png",
        "/s/mei-tea/p/nothing/share",
        "/s/mei-tea/p/walnuts/share",  # in the catalog, not picked by Mei
        "/s/mei-tea/p/walnuts/poster.png",
        "/p/nothing/share",
        "/p/nothing/poster.png",
    ],
)
def test_unknown_or_unpicked_is_404(client, mei, path):
    assert client.get(path, headers=EN).status_code == 404


@pytest.mark.parametrize("status", [ShopStatus.SUSPENDED, ShopStatus.PENDING])
def test_a_shop_that_is_not_open_has_nothing_to_share(app, client, mei, status):
    with app.app_context():
        db.session.get(Shop, mei).status = status  # suspended, or never approved
        db.session.commit()
    assert client.get("/s/mei-tea/share").status_code == 404
    assert client.get("/s/mei-tea/p/green-tea/poster.png").status_code == 404


def test_an_old_slug_redirects_to_the_new_address(app, client, mei):
    with app.app_context():
        shop = db.session.get(Shop, mei)
        services.update_profile(shop, shop.name, "mei-cha", "", "")
        db.session.commit()
    for old, new in [
        ("/s/mei-tea/share", "/s/mei-cha/share"),
        ("/s/mei-tea/p/green-tea/share", "/s/mei-cha/p/green-tea/share"),
        ("/s/mei-tea/poster.png", "/s/mei-cha/poster.png"),
    ]:
        response = client.get(old)
        assert response.status_code == 301 and response.headers["Location"] == new
    html = client.get("/s/mei-cha/share", headers=EN).get_data(as_text=True)
    assert shared_link(html) == "http://localhost/s/mei-cha"


# The poster


def scan(png: bytes, tmp_path) -> str:
    """What a QR scanner reads from ``png`` (zbarimg from zbar-tools)."""
    require(shutil.which("zbarimg") is not None, "zbarimg (apt-get install zbar-tools)")
    path = tmp_path / "poster.png"
    path.write_bytes(png)
    result = subprocess.run(
        ["zbarimg", "--raw", "-q", str(path)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.mark.parametrize(
    ("path", "link", "filename"),
    [
        ("/s/mei-tea/poster.png", SHOP_URL, "mei-tea-poster.png"),
        ("/s/mei-tea/p/green-tea/poster.png", SHOP_TEA_URL, "mei-tea-green-tea"),
        ("/p/green-tea/poster.png", HOUSE_TEA_URL, "green-tea-poster.png"),
    ],
)
def test_poster_is_a_png_whose_qr_code_scans_to_the_link(
    client, mei, tmp_path, path, link, filename
):
    response = client.get(path, headers=EN)
    assert response.status_code == 200
    assert response.mimetype == "image/png"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment") and filename in disposition
    assert response.cache_control.private and response.cache_control.max_age == 300
    png = response.get_data()
    assert len(png) < 1_500_000
    with Image.open(BytesIO(png)) as image:
        assert image.format == "PNG"
        assert 600 <= image.width <= 1200 and 800 <= image.height <= 2000
        assert image.height > image.width  # portrait, for phones
    assert scan(png, tmp_path) == link


def test_referred_customers_poster_carries_the_sellers_link(app, client, mei, tmp_path):
    client.set_cookie("ref", referral_cookie(app, mei))
    response = client.get("/p/green-tea/poster.png", headers=EN)
    assert "mei-tea-green-tea-poster.png" in response.headers["Content-Disposition"]
    assert "Cookie" in response.headers["Vary"]
    assert scan(response.get_data(), tmp_path) == SHOP_TEA_URL


def test_poster_without_photo_or_bio_and_with_a_lost_file(app, tmp_path):
    """No photo, no bio, a photo whose file is gone, very long names: still a
    poster, still scannable."""
    with app.test_request_context():
        shop = factories.shop("a@example.com", "长" * 60, owner_name="名" * 80)
        plain = factories.product(name="Tea " * 30, slug="plain")
        lost = factories.product(name="Lost photo", slug="lost")
        image = add_image(lost, factories.image_bytes())
        for width in image.width_list:
            (services.upload_folder() / image.filename(width)).unlink()
        services.add_product(shop, plain)
        services.add_product(shop, lost)
        db.session.commit()
        for product in (plain, lost, None):
            url = sharing.share_url(shop, product)
            assert scan(sharing.poster_png(url, product, shop), tmp_path) == url


# Chinese on posters


def test_poster_font_is_the_simplified_chinese_face(app):
    path = app.config["POSTER_FONT"]
    require(os.path.exists(path), f"{path} (apt-get install fonts-noto-cjk)")
    with app.app_context():
        regular, bold = sharing.poster_font(30), sharing.poster_font(30, bold=True)
    assert regular.getname() == ("Noto Sans CJK SC", "Regular")
    assert bold.getname() == ("Noto Sans CJK SC", "Bold")
    # Real glyphs, not tofu: two different characters draw differently.
    assert bytes(regular.getmask("龙")) != bytes(regular.getmask("井"))
    assert regular.getmask("龙").getbbox() is not None


def test_a_missing_font_is_logged_once_and_replaced(
    app, mei, caplog, tmp_path, monkeypatch
):
    monkeypatch.setattr(sharing, "_missing_fonts", set())
    app.config["POSTER_FONT"] = "/nonexistent/font.ttc"
    with app.test_request_context():
        fonts = [sharing.poster_font(30), sharing.poster_font(40)]
        assert all(font.getlength("Tea") > 0 for font in fonts)
        tea = db.session.scalar(select(Product).filter_by(slug="green-tea"))
        png = sharing.poster_png(HOUSE_TEA_URL, tea, None)
    warnings = [r for r in caplog.records if "/nonexistent/font.ttc" in r.getMessage()]
    assert len(warnings) == 1
    assert scan(png, tmp_path) == HOUSE_TEA_URL


def test_wrapping_breaks_chinese_anywhere_and_latin_between_words(app):
    with app.app_context():
        font = sharing.poster_font(40)
        width = font.getlength("西湖龙井茶")
        assert sharing.wrap_text("西湖龙井茶叶明前特级", font, width, 3) == [
            "西湖龙井茶",
            "叶明前特级",
        ]
        lines = sharing.wrap_text("Longjing green tea", font, width, 3)
        assert " ".join(lines) == "Longjing green tea"  # no word was cut
        assert all(font.getlength(line) <= width for line in lines)
        # Closing punctuation stays with the line before it.
        lines = sharing.wrap_text("西湖龙井茶。好", font, width, 3)
        assert lines == ["西湖龙井茶。", "好"]
        cut = sharing.wrap_text("茶" * 40, font, width, 2)
        assert len(cut) == 2 and cut[-1].endswith("…")
        assert font.getlength(cut[-1]) <= width
