"""The operator's seller list, approving and suspending shops, recruiters, and
the run-time settings page."""

import re

import pytest

from storefront.accounts.models import User
from storefront.extensions import db
from storefront.settings import Setting, get_setting
from storefront.shops.models import Shop, ShopStatus
from storefront.shops.services import open_shop, set_recruiter
from tests import factories
from tests.admin.test_views import admin_urls
from tests.conftest import EN


def make_shop(app, name: str, email: str, seller: str = "Someone", **fields) -> int:
    """A committed shop for a new seller; returns its id."""
    with app.app_context():
        user = db.session.get(
            User, factories.user_row(role="seller", email=email, name=seller)
        )
        shop = open_shop(user, name)
        for field, value in fields.items():
            setattr(shop, field, value)
        db.session.commit()
        return shop.id


def shop_state(app, shop_id: int) -> tuple:
    """What the operator can change about a shop: (status, recruiter id)."""
    with app.app_context():
        shop = db.session.get(Shop, shop_id)
        return shop.status, shop.recruiter_id


def approval_ticked(page: str) -> bool:
    box = re.search(r'<input[^>]*name="signup_approval"[^>]*>', page).group(0)
    return " checked" in box


def settings_rows(app) -> int:
    with app.app_context():
        return db.session.query(Setting).count()


@pytest.fixture
def shops(app):
    """Three shops: Mei's Tea (open), Nut House (waiting), Old Books (suspended)."""
    return {
        "tea": make_shop(app, "Mei's Tea", "mei@example.com", "Mei Lin"),
        "nuts": make_shop(
            app, "Nut House", "nut@example.com", "Zhang Wei", status=ShopStatus.PENDING
        ),
        "books": make_shop(
            app,
            "Old Books",
            "book@example.com",
            "Li Na",
            status=ShopStatus.SUSPENDED,
        ),
    }


# The list


def test_list_shows_every_shop_with_waiting_ones_first(app, as_operator, shops):
    response = as_operator.get("/admin/sellers", headers=EN)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert page.startswith("<!doctype html>")
    assert page.index("Nut House") < page.index("Mei&#39;s Tea")
    assert page.index("Nut House") < page.index("Old Books")
    assert "1 shop waiting for approval" in page and "3 shops" in page
    assert 'href="/s/mei-s-tea"' in page
    assert "Mei Lin" in page and "mei@example.com" in page
    assert "Waiting for approval" in page and "Suspended" in page
    assert '<a href="/admin/sellers" aria-current="page">' in page
    assert "Joined" in page


def test_phone_sellers_show_a_masked_number(app, as_operator):
    with app.app_context():
        from storefront.shops.services import sign_up

        sign_up("Wang Fang", "138 1234 5678", factories.PASSWORD, "Fang Fruit", None)
        db.session.commit()
    page = as_operator.get("/admin/sellers", headers=EN).get_data(as_text=True)
    assert "138****5678" in page
    assert "13812345678" not in page


@pytest.mark.parametrize(
    ("status", "shown", "hidden"),
    [
        ("pending", ["Nut House"], ["Mei&#39;s Tea", "Old Books"]),
        ("active", ["Mei&#39;s Tea"], ["Nut House", "Old Books"]),
        ("suspended", ["Old Books"], ["Nut House", "Mei&#39;s Tea"]),
    ],
)
def test_filter_by_status(as_operator, hx, shops, status, shown, hidden):
    response = as_operator.get(f"/admin/sellers?status={status}", headers={**hx, **EN})
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    for name in shown:
        assert name in body
    for name in hidden:
        assert name not in body


@pytest.mark.parametrize("status", ["bogus", "PENDING", "open"])
def test_unknown_status_filter_is_400(as_operator, shops, status):
    assert as_operator.get(f"/admin/sellers?status={status}").status_code == 400


def test_search_as_you_type_returns_the_result_list_only(as_operator, hx, shops):
    full = as_operator.get("/admin/sellers?q=nut", headers=EN)
    assert full.get_data(as_text=True).startswith("<!doctype html>")
    assert "HX-Request" in full.headers["Vary"]
    fragment = as_operator.get("/admin/sellers?q=nut", headers={**hx, **EN})
    body = fragment.get_data(as_text=True)
    assert body.lstrip().startswith('<section id="seller-results">')
    assert "Nut House" in body and "Old Books" not in body and "1 shop" in body
    assert "HX-Request" in fragment.headers["Vary"]


@pytest.mark.parametrize(
    ("query", "found"),
    [("mei lin", "Mei&#39;s Tea"), ("BOOKS", "Old Books"), ("Zhang", "Nut House")],
)
def test_search_matches_shop_name_address_and_seller_name(
    as_operator, hx, shops, query, found
):
    body = as_operator.get(
        "/admin/sellers", query_string={"q": query}, headers={**hx, **EN}
    ).get_data(as_text=True)
    assert found in body and "1 shop" in body


def test_search_wildcards_are_literal(as_operator, hx, shops):
    body = as_operator.get("/admin/sellers?q=%25", headers={**hx, **EN})
    assert "0 shops" in body.get_data(as_text=True)
    assert "No shops match." in body.get_data(as_text=True)


# Status


@pytest.mark.parametrize(
    ("shop", "new", "stored"),
    [
        ("nuts", "active", ShopStatus.ACTIVE),  # approve
        ("nuts", "suspended", ShopStatus.SUSPENDED),  # turn away
        ("tea", "suspended", ShopStatus.SUSPENDED),  # suspend
        ("books", "active", ShopStatus.ACTIVE),  # reopen
    ],
)
def test_status_changes_answer_htmx_with_the_row(
    app, as_operator, hx, shops, shop, new, stored
):
    shop_id = shops[shop]
    response = as_operator.post(
        f"/admin/sellers/{shop_id}/status", data={"status": new}, headers={**hx, **EN}
    )
    assert response.status_code == 200
    row = response.get_data(as_text=True)
    assert row.lstrip().startswith('<li class="row')
    assert f'id="shop-{shop_id}"' in row
    assert "HX-Request" in response.headers["Vary"]
    assert shop_state(app, shop_id)[0] is stored
    # the waiting count follows, out of band
    waiting = 0 if shop == "nuts" else 1
    assert 'id="pending-count" class="count" hx-swap-oob="true"' in row
    if waiting:
        assert "1 shop waiting for approval" in row
    else:
        assert "No shop is waiting for approval." in row


def test_approve_shows_the_new_buttons(as_operator, hx, shops):
    row = as_operator.post(
        f"/admin/sellers/{shops['nuts']}/status",
        data={"status": "active"},
        headers={**hx, **EN},
    ).get_data(as_text=True)
    assert "Approve" not in row and 'value="suspended"' in row
    assert "Nut House is open." in row


def test_status_change_without_javascript_redirects_to_the_list(
    app, as_operator, shops
):
    response = as_operator.post(
        f"/admin/sellers/{shops['tea']}/status", data={"status": "suspended"}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == f"/admin/sellers#shop-{shops['tea']}"
    assert shop_state(app, shops["tea"])[0] is ShopStatus.SUSPENDED
    page = as_operator.get("/admin/sellers", headers=EN).get_data(as_text=True)
    assert "Mei&#39;s Tea is suspended." in page


@pytest.mark.parametrize(
    "data", [{}, {"status": ""}, {"status": "pending"}, {"status": "deleted"}]
)
@pytest.mark.parametrize("htmx", [True, False])
def test_bad_status_is_422_and_changes_nothing(app, as_operator, hx, shops, data, htmx):
    headers = {**hx, **EN} if htmx else EN
    response = as_operator.post(
        f"/admin/sellers/{shops['tea']}/status", data=data, headers=headers
    )
    assert response.status_code == 422
    assert "Choose approve, suspend or reopen." in response.get_data(as_text=True)
    assert shop_state(app, shops["tea"])[0] is ShopStatus.ACTIVE


def test_status_without_csrf_is_refused(app, as_operator, shops):
    response = as_operator.post(
        f"/admin/sellers/{shops['tea']}/status",
        data={"status": "suspended"},
        csrf=False,
        headers=EN,
    )
    assert response.status_code == 400
    assert shop_state(app, shops["tea"])[0] is ShopStatus.ACTIVE


# Recruiters


@pytest.fixture
def chain(app, shops):
    """A recruits B, B recruits C."""
    ids = {
        "a": make_shop(app, "Alpha", "a@example.com"),
        "b": make_shop(app, "Bravo", "b@example.com"),
        "c": make_shop(app, "Charlie", "c@example.com"),
    }
    with app.app_context():
        a, b, c = (db.session.get(Shop, ids[k]) for k in "abc")
        set_recruiter(b, a)
        set_recruiter(c, b)
        db.session.commit()
    return ids


def test_set_and_clear_a_recruiter(app, as_operator, hx, chain):
    a, c = chain["a"], chain["c"]
    response = as_operator.post(
        f"/admin/sellers/{c}/recruiter",
        data={"recruiter": "alpha"},
        headers={**hx, **EN},
    )
    assert response.status_code == 200
    row = response.get_data(as_text=True)
    assert 'value="alpha"' in row and "Charlie was recruited by Alpha." in row
    assert shop_state(app, c)[1] == a
    response = as_operator.post(
        f"/admin/sellers/{c}/recruiter", data={"recruiter": ""}, headers={**hx, **EN}
    )
    assert response.status_code == 200
    assert "Charlie has no recruiter now." in response.get_data(as_text=True)
    assert shop_state(app, c)[1] is None


def test_recruiter_accepts_a_pasted_shop_link(app, as_operator, chain):
    response = as_operator.post(
        f"/admin/sellers/{chain['c']}/recruiter",
        data={"recruiter": " https://shop.example/s/Alpha?r=x "},
    )
    assert response.status_code == 302
    assert shop_state(app, chain["c"])[1] == chain["a"]


def test_recruiter_by_an_old_address_finds_the_shop(app, as_operator, chain):
    from storefront.shops.services import update_profile

    with app.app_context():
        alpha = db.session.get(Shop, chain["a"])
        update_profile(alpha, "Alpha", "alpha-two", "", "")
        db.session.commit()
    response = as_operator.post(
        f"/admin/sellers/{chain['c']}/recruiter", data={"recruiter": "alpha"}
    )
    assert response.status_code == 302
    assert shop_state(app, chain["c"])[1] == chain["a"]


@pytest.mark.parametrize(
    ("target", "recruiter", "message"),
    [
        ("a", "charlie", "That would make a recruiting loop."),
        ("b", "charlie", "That would make a recruiting loop."),
        ("a", "alpha", "A shop cannot recruit itself."),
        ("a", "nobody-here", "No shop has that address."),
        ("a", "x" * 40, "No shop has that address."),
    ],
)
@pytest.mark.parametrize("htmx", [True, False])
def test_refused_recruiter_is_422_and_changes_nothing(
    app, as_operator, hx, chain, target, recruiter, message, htmx
):
    before = {key: shop_state(app, shop_id) for key, shop_id in chain.items()}
    headers = {**hx, **EN} if htmx else EN
    response = as_operator.post(
        f"/admin/sellers/{chain[target]}/recruiter",
        data={"recruiter": recruiter},
        headers=headers,
    )
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert message in body
    assert f'value="{recruiter}"' in body  # kept, to correct it
    if htmx:
        assert body.lstrip().startswith('<li class="row')
    else:
        assert body.startswith("<!doctype html>")
        assert "Back to all sellers" in body
    after = {key: shop_state(app, shop_id) for key, shop_id in chain.items()}
    assert after == before


def test_unknown_shop_is_404_for_operators(as_operator):
    for url in ("/admin/sellers/1/status", "/admin/sellers/1/recruiter"):
        response = as_operator.post(url, data={"status": "active", "recruiter": ""})
        assert response.status_code == 404, url


# Settings


def test_settings_page_shows_the_current_value(app, as_operator):
    page = as_operator.get("/admin/settings", headers=EN).get_data(as_text=True)
    assert "New sellers need my approval" in page
    assert 'aria-current="page">Settings<' in page
    assert not approval_ticked(page)
    app.config["SIGNUP_APPROVAL"] = True  # the configured default shows too
    page = as_operator.get("/admin/settings", headers=EN).get_data(as_text=True)
    assert approval_ticked(page)


def test_settings_toggle_persists(app, as_operator):
    response = as_operator.post("/admin/settings", data={"signup_approval": "y"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/settings"
    with app.app_context():
        assert get_setting("SIGNUP_APPROVAL") is True
    page = as_operator.get("/admin/settings", headers=EN).get_data(as_text=True)
    assert "Settings saved." in page
    assert approval_ticked(page)
    # a new seller now waits for approval
    waiting = make_shop(app, "Fresh Fish", "fish@example.com")
    assert shop_state(app, waiting)[0] is ShopStatus.PENDING
    # and unticking turns it off again (browsers send nothing for the box)
    assert as_operator.post("/admin/settings", data={}).status_code == 302
    with app.app_context():
        assert get_setting("SIGNUP_APPROVAL") is False
    assert settings_rows(app) == 1


def test_settings_without_csrf_saves_nothing(app, as_operator):
    response = as_operator.post(
        "/admin/settings", data={"signup_approval": "y"}, csrf=False, headers=EN
    )
    assert response.status_code == 400
    assert settings_rows(app) == 0


# Access


def test_sellers_cannot_see_or_change_sellers_or_settings(app, as_seller, shops):
    assert as_seller.get("/admin/sellers").status_code == 403
    assert as_seller.get("/admin/settings").status_code == 403
    tea = shops["tea"]
    assert (
        as_seller.post(f"/admin/sellers/{tea}/status", data={"status": "suspended"})
    ).status_code == 403
    assert (
        as_seller.post(
            f"/admin/sellers/{tea}/recruiter", data={"recruiter": "old-books"}
        )
    ).status_code == 403
    assert (
        as_seller.post("/admin/settings", data={"signup_approval": "y"}).status_code
        == 403
    )
    assert shop_state(app, tea) == (ShopStatus.ACTIVE, None)
    assert settings_rows(app) == 0


def test_anonymous_visitors_are_sent_to_sign_in(client, shops):
    for method, url in [
        ("get", "/admin/sellers"),
        ("get", "/admin/settings"),
        ("post", "/admin/settings"),
        ("post", f"/admin/sellers/{shops['tea']}/status"),
        ("post", f"/admin/sellers/{shops['tea']}/recruiter"),
    ]:
        response = getattr(client, method)(url)
        assert response.status_code == 302, url
        assert response.headers["Location"].startswith("/login?next="), url


def test_every_admin_url_answers_operators_without_a_server_error(as_operator):
    """Nothing exists yet: ids of 1 are 404s, never 500s."""
    for url, method in admin_urls(as_operator.application):
        response = getattr(as_operator, method)(url, headers=EN)
        assert response.status_code < 500, (method, url)
        if "/1" in url:
            assert response.status_code == 404, (method, url)
