"""Sharing: which link a share carries, the panel (page and fragment), its QR code,
and the poster (a real PNG whose QR code a scanner reads back). QR codes carry
``via=qr``; a customer's shares from their order page carry ``by=<their code>``;
visits through either are recorded as such."""

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
from storefront.groupbuy import services as groups
from storefront.orders import services as orders
from storefront.orders.models import PaymentMethod
from storefront.phones import normalise_phone
from storefront.shops import services, sharing
from storefront.shops.models import Shop, ShopStatus, Visit
from tests import factories
from tests.conftest import EN, PHONE_UA, require
from tests.groupbuy.conftest import make_offer

SHOP_URL = "http://localhost/s/mei-tea"
SHOP_TEA_URL = "http://localhost/s/mei-tea/p/green-tea"
HOUSE_TEA_URL = "http://localhost/p/green-tea"
LINK_INPUT = re.compile(r'<input type="url" value="([^"]+)" readonly data-share-link>')
POSTER_LINK = re.compile(r'<a class="button" href="([^"]+)" download>')
SHARE_BUTTON = re.compile(r'<a class="button" href="([^"]+)" hx-get="')
WANG = "139 1234 5678"


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
        return services.referral_token(shop_id)


def shared_link(html: str) -> str:
    return LINK_INPUT.search(html).group(1).replace("&amp;", "&")


def poster_link(html: str) -> str:
    return POSTER_LINK.search(html).group(1).replace("&amp;", "&")


def qr_of(html: str) -> str:
    return re.search(r"<svg.*?</svg>", html, re.S).group(0)


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
def test_panel_qr_code_encodes_exactly_the_link_marked_as_scanned(
    client, mei, hx, path, link
):
    html = client.get(path, headers={**EN, **hx}).get_data(as_text=True)
    svg = re.search(r"<svg.*?</svg>", html, re.S).group(0)
    assert "<?xml" not in html and 'role="img"' in svg and "<title>" in svg
    assert svg_modules(svg) == qr_modules(f"{link}?via=qr")
    assert shared_link(html) == link  # the link to copy stays unmarked


def qr_modules(url: str) -> set[tuple[int, int]]:
    """The dark modules of ``url``'s QR code as the inline SVG draws them."""
    border = 2  # quiet zone of the inline SVG
    return {
        (column + border, row + border)
        for row, line in enumerate(segno.make_qr(url, error="m").matrix)
        for column, module in enumerate(line)
        if module
    }


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
    assert scan(png, tmp_path) == f"{link}?via=qr"  # a scan counts as the QR channel


def test_referred_customers_poster_carries_the_sellers_link(app, client, mei, tmp_path):
    client.set_cookie("ref", referral_cookie(app, mei))
    response = client.get("/p/green-tea/poster.png", headers=EN)
    assert "mei-tea-green-tea-poster.png" in response.headers["Content-Disposition"]
    assert "Cookie" in response.headers["Vary"]
    assert scan(response.get_data(), tmp_path) == f"{SHOP_TEA_URL}?via=qr"


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
            png = sharing.poster_png(url, product, shop)
            assert scan(png, tmp_path) == f"{url}?via=qr"


# A customer's shares, and QR scans


def code_of(app, phone: str = WANG) -> str:
    with app.app_context():
        return services.customer_code(normalise_phone(phone))


def placed(app, shop_id: int | None, phone: str = WANG) -> str:
    """Wang's order of green tea (through ``shop_id``); its page's path."""
    with app.app_context():
        tea = db.session.scalar(select(Product).filter_by(slug="green-tea"))
        shop = db.session.get(Shop, shop_id) if shop_id else None
        customer = orders.Customer("Wang Fang", phone, "1 West Lake Road")
        order = orders.place_order(
            {tea.id: 1}, customer, PaymentMethod.TRANSFER, shop, f"key-{phone}"
        )
        db.session.commit()
        return f"/o/{order.number}/{order.token}"


def visits(app) -> list[tuple[str, str | None]]:
    """Every visit's (channel, sharer), oldest first."""
    with app.app_context():
        return [
            tuple(row)
            for row in db.session.execute(
                select(Visit.channel, Visit.sharer).order_by(Visit.id)
            )
        ]


def test_the_order_page_shares_with_the_customers_code(app, client, mei, tmp_path):
    code = code_of(app)
    assert services.CUSTOMER_CODE.match(code)
    page = client.get(placed(app, mei), headers=EN).get_data(as_text=True)
    share = SHARE_BUTTON.search(page).group(1)
    assert share == f"/s/mei-tea/share?by={code}"
    html = client.get(share, headers=EN).get_data(as_text=True)
    assert shared_link(html) == f"{SHOP_URL}?by={code}"
    assert svg_modules(qr_of(html)) == qr_modules(f"{SHOP_URL}?by={code}&via=qr")
    poster = poster_link(html)
    assert poster == f"/s/mei-tea/poster.png?by={code}"
    assert scan(client.get(poster).get_data(), tmp_path) == (
        f"{SHOP_URL}?by={code}&via=qr"
    )


def test_following_a_customers_share_records_them_as_the_sharer(app, mei):
    code = code_of(app)
    assert (
        app.test_client().get(f"/s/mei-tea?by={code}", headers=PHONE_UA).status_code
        == 200
    )
    assert visits(app) == [("link", code)]
    # A friend scans the QR code of the same share.
    scanned = app.test_client().get(f"/s/mei-tea?by={code}&via=qr", headers=PHONE_UA)
    assert scanned.status_code == 200
    assert visits(app) == [("link", code), ("qr", code)]


def test_a_scan_of_the_sellers_qr_code_counts_as_the_qr_channel(app, client, mei):
    html = client.get("/s/mei-tea/p/green-tea/share", headers=EN).get_data(as_text=True)
    scanned = f"{SHOP_TEA_URL}?via=qr"
    assert svg_modules(qr_of(html)) == qr_modules(scanned)
    assert app.test_client().get(scanned, headers=PHONE_UA).status_code == 200
    assert app.test_client().get(SHOP_TEA_URL, headers=PHONE_UA).status_code == 200
    assert visits(app) == [("qr", None), ("link", None)]


@pytest.mark.parametrize("by", ["", "NOTACODE12", "short", "abcdefghij<x>", "x" * 500])
def test_a_share_with_no_valid_code_carries_none(app, client, mei, by):
    html = client.get("/s/mei-tea/share", query_string={"by": by}, headers=EN).get_data(
        as_text=True
    )
    assert shared_link(html) == SHOP_URL
    assert poster_link(html) == "/s/mei-tea/poster.png"
    response = app.test_client().get(
        "/s/mei-tea", query_string={"by": by}, headers=PHONE_UA
    )
    assert response.status_code == 200
    assert visits(app) == [("link", None)]


def test_a_house_order_shares_its_code_only_with_a_seller_to_credit(app, client, mei):
    code = code_of(app)
    page = client.get(placed(app, None), headers=EN).get_data(as_text=True)
    share = SHARE_BUTTON.search(page).group(1)
    assert share == f"/p/green-tea/share?by={code}"
    # No seller: a house page counts no visits, so the link stays plain.
    html = client.get(share, headers=EN).get_data(as_text=True)
    assert shared_link(html) == HOUSE_TEA_URL
    # A seller referred this browser: the share credits them and the customer.
    client.set_cookie("ref", referral_cookie(app, mei))
    html = client.get(share, headers=EN).get_data(as_text=True)
    assert shared_link(html) == f"{SHOP_TEA_URL}?by={code}"
    assert poster_link(html) == f"/p/green-tea/poster.png?by={code}"


def test_a_members_group_invite_carries_their_code(app, client, mei):
    """On a member's order page the invite keeps the seller's ``r=`` and adds
    the member's ``by=``; the group's public page shares the plain invite."""
    code = code_of(app, "138 0000 0010")
    with app.app_context():
        tea = db.session.scalar(select(Product).filter_by(slug="green-tea"))
        offer = make_offer(tea)
        order = groups.start_group(
            offer,
            groups.Seat(
                orders.Customer("Ann Li", "138 0000 0010", "1 West Lake Road"),
                1,
                PaymentMethod.TRANSFER,
                "group-key-0001",
            ),
            db.session.get(Shop, mei),
        )
        db.session.commit()
        group_code = groups.group_of(order).group.code
        url = f"/o/{order.number}/{order.token}"
    invite = f"http://localhost/g/{group_code}?r=mei-tea"
    page = client.get(url, headers=EN).get_data(as_text=True)
    assert shared_link(page) == f"{invite}&by={code}"
    assert svg_modules(qr_of(page)) == qr_modules(f"{invite}&by={code}&via=qr")
    assert poster_link(page) == f"/g/{group_code}/poster.png?by={code}"
    public = client.get(f"/g/{group_code}", headers=EN).get_data(as_text=True)
    assert shared_link(public) == invite and f"by={code}" not in public
    # A friend opens the invite: a visit to Mei's shop, brought by Ann.
    friend = app.test_client()
    assert (
        friend.get(f"/g/{group_code}?r=mei-tea&by={code}", headers=PHONE_UA).status_code
        == 200
    )
    assert visits(app) == [("link", code)]


def test_with_params_keeps_links_valid():
    assert sharing.with_params("http://x/s/a", by="c") == "http://x/s/a?by=c"
    assert sharing.with_params("http://x/g/1?r=a", by="c") == "http://x/g/1?r=a&by=c"
    assert sharing.qr_link("http://x/g/1?r=a&by=c") == "http://x/g/1?r=a&by=c&via=qr"
    assert sharing.with_params("http://x/s/a?via=qr", via="qr") == "http://x/s/a?via=qr"
    assert sharing.with_params("/s/a", by=None) == "/s/a"


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
    assert scan(png, tmp_path) == f"{HOUSE_TEA_URL}?via=qr"


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
