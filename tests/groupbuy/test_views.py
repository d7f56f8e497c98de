"""Group-buy pages through HTTP: the offer on product pages, starting, the
invite page and its status, joining, the order page's group panel and the
seller's badges; full pages against htmx fragments, bad input, nothing written
on any refusal."""

import re
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import event, func, select

from storefront.accounts.models import User
from storefront.catalog.models import Product
from storefront.extensions import db
from storefront.groupbuy import services as groups
from storefront.groupbuy.models import Group, GroupMember, GroupOffer, GroupState
from storefront.ledger.reconcile import problems
from storefront.orders import services as orders
from storefront.orders.models import Order, OrderEvent, OrderState
from storefront.phones import normalise_phone
from storefront.shops import services as shops
from storefront.shops.models import Shop, Visit
from storefront.timeutil import utcnow
from tests import factories
from tests.conftest import EN, PHONE_UA, login
from tests.groupbuy.conftest import PHONES, make_offer, seat
from tests.shops.test_sharing import scan

G = GroupState
S = OrderState
HX = {**EN, "HX-Request": "true"}
ORDER_PAGE = re.compile(r"^/o/(\d{6}-\d{5})/([A-Za-z0-9_-]{20,})$")
KEY = re.compile(r'name="checkout_key" type="hidden" value="([^"]+)"')
COUNTDOWN = re.compile(r'<time class="countdown"[^>]*>(\d+):(\d\d):(\d\d)</time>')
#: The shop factories.shop() opens: "Mei's picks".
MEI = "mei-s-picks"


@dataclass
class World:
    offer: int
    shop: int
    operator: int


@pytest.fixture
def world(app, operator) -> World:
    """Mei's open shop, which picked Tea; Tea (¥12.50, 20 in stock) at ¥9.90
    for groups of 3 within 24 hours, at most 2 each."""
    with app.app_context():
        shop = factories.shop()
        offer = make_offer()
        shops.add_product(shop, offer.product)
        db.session.commit()
        return World(offer.id, shop.id, operator)


@dataclass
class Placed:
    code: str
    number: str
    token: str

    @property
    def url(self) -> str:
        return f"/o/{self.number}/{self.token}"


def start(app, world: World, name="Ann", shop=True, paid=False) -> Placed:
    """``name`` starts a group on the offer (credited to Mei unless ``shop``
    is false) through the service, committed."""
    with app.app_context():
        offer = db.session.get(GroupOffer, world.offer)
        owner = db.session.get(Shop, world.shop) if shop else None
        order = groups.start_group(offer, seat(name), owner)
        if paid:
            orders.mark_paid(order, db.session.get(User, world.operator))
        db.session.commit()
        return Placed(groups.group_of(order).group.code, order.number, order.token)


def join(app, code: str, name: str, paid=False) -> Placed:
    with app.app_context():
        group = db.session.scalar(select(Group).filter_by(code=code))
        order = groups.join_group(group, seat(name))
        if paid:
            orders.mark_paid(order, db.session.get(User, group_operator()))
        db.session.commit()
        return Placed(code, order.number, order.token)


def group_operator() -> int:
    return db.session.scalar(select(User.id).where(User.email == "op@example.com"))


def past_deadline(app, code: str) -> None:
    """Move the group's deadline a second into the past (as the clock would)."""
    with app.app_context():
        group = db.session.scalar(select(Group).filter_by(code=code))
        group.deadline = utcnow() - timedelta(seconds=1)
        db.session.commit()


def group_row(app, code: str) -> tuple[GroupState, int]:
    with app.app_context():
        group = db.session.scalar(select(Group).filter_by(code=code))
        return group.state, group.seats_taken


def written(app) -> tuple[int, int, int, int, int]:
    """Orders, groups, seats, order events and Tea's stock: what a refused
    request must leave as it was."""
    with app.app_context():

        def count(column):
            return db.session.scalar(select(func.count(column)))

        return (
            count(Order.id),
            count(Group.id),
            count(GroupMember.id),
            count(OrderEvent.id),
            db.session.scalar(select(Product.stock).filter_by(slug="tea")),
        )


def order_at(app, location: str) -> Order:
    number = ORDER_PAGE.match(location).group(1)
    with app.app_context():
        order = db.session.scalar(select(Order).filter_by(number=number))
        order.lines  # noqa: B018  (loaded before the session closes)
        db.session.expunge_all()
        return order


def form(who="Bo", quantity=1, **changes) -> dict:
    """The seat form as customer ``who`` sends it."""
    return {
        "name": f"{who} Li",
        "phone": PHONES[who],
        "address": "2 Lake Road, Hangzhou",
        "note": "",
        "payment_method": "transfer",
        "quantity": quantity,
        "checkout_key": f"seat-form-key-{who}-0001",
        **changes,
    }


def text(response) -> str:
    return response.get_data(as_text=True)


# Product pages


def test_the_house_product_page_shows_the_offer_and_open_groups(app, client, world):
    placed = start(app, world, "Ann")
    response = client.get("/p/tea", headers=EN)
    page = text(response)
    assert response.status_code == 200
    assert f'href="/g/start/{world.offer}"' in page
    assert "Start a group at CN¥9.90" in page
    assert '<s aria-label="Usual price">CN¥12.50</s>' in page
    assert "Groups of 3 · 24 hours to fill · at most 2 each" in page
    # The open group: leader's first name only, initials, seats, countdown.
    assert "Ann's group" in page and "Ann Li" not in page
    assert '<span class="seat leader">A</span>' in page
    assert page.count('<span class="seat free">') == 2
    assert "2 seats left" in page
    hours, minutes, _seconds = map(int, COUNTDOWN.search(page).groups())
    assert (hours, minutes) in ((23, 59), (23, 58))
    assert f'href="/g/{placed.code}/join"' in page
    # The list asks for itself again every 5 seconds, with htmx only.
    assert f'hx-get="/g/offer/{world.offer}" hx-trigger="every 5s"' in page
    assert "<script>" not in page


def test_no_offer_shows_nothing(app, client, world):
    with app.app_context():
        factories.product(name="Nuts", slug="nuts")
        db.session.get(GroupOffer, world.offer).active = False
        db.session.commit()
    for url in ("/p/nuts", "/p/tea"):
        page = text(client.get(url, headers=EN))
        assert "Start a group" not in page and "open-groups" not in page


def test_a_sold_out_product_offers_no_group(app, client, world):
    with app.app_context():
        db.session.scalar(select(Product).filter_by(slug="tea")).stock = 0
        db.session.commit()
    assert "Start a group" not in text(client.get("/p/tea", headers=EN))


def test_the_shop_product_page_shows_the_offer_and_keeps_crediting_the_shop(
    app, client, world
):
    page = text(client.get(f"/s/{MEI}/p/tea", headers=PHONE_UA))
    assert "Start a group at CN¥9.90" in page and "Mei&#39;s picks" in page
    assert "No open groups right now" in page
    # No open group yet: the start page is the form straight away.
    form_page = text(client.get(f"/g/start/{world.offer}", headers=EN))
    assert 'name="checkout_key"' in form_page
    response = client.post(f"/g/start/{world.offer}", data=form("Ann"), headers=EN)
    assert response.status_code == 302
    order = order_at(app, response.headers["Location"])
    assert order.shop_id == world.shop
    with app.app_context():
        group = db.session.scalar(select(Group))
        assert group.shop_id == world.shop


def test_the_open_groups_fragment(app, client, world, hx):
    placed = start(app, world)
    fragment = client.get(f"/g/offer/{world.offer}", headers={**EN, **hx})
    body = text(fragment)
    assert fragment.status_code == 200 and "HX-Request" in fragment.headers["Vary"]
    assert body.startswith('<div id="open-groups"') and "<html" not in body
    assert 'hx-trigger="every 5s"' in body and placed.code in body
    page = text(client.get(f"/g/offer/{world.offer}", headers=EN))
    assert page.startswith("<!doctype html>") and "Start a group at CN¥9.90" in page


def test_the_fragment_stops_polling_once_the_offer_ends(app, client, world, hx):
    start(app, world)
    with app.app_context():
        db.session.get(GroupOffer, world.offer).ends_at = utcnow()
        db.session.commit()
    fragment = client.get(f"/g/offer/{world.offer}", headers={**EN, **hx})
    assert fragment.status_code == 200  # htmx swaps it in, and it stops asking
    assert "This group offer has ended." in text(fragment)
    assert "hx-trigger" not in text(fragment)
    assert client.get(f"/g/offer/{world.offer}", headers=EN).status_code == 410


@pytest.mark.parametrize("url", ["/g/offer/999", "/g/offer/99999999999999999999"])
def test_unknown_offers_are_not_found(client, world, url):
    assert client.get(url).status_code == 404


# Starting


def test_the_start_form(client, world):
    response = client.get(f"/g/start/{world.offer}", headers=EN)
    page = text(response)
    assert response.status_code == 200
    assert "Start a group" in page and "Tea" in page
    assert "CN¥9.90" in page and "CN¥12.50" in page
    assert "it needs 3 people within 24 hours" in page
    assert len(KEY.search(page).group(1)) >= 20
    assert 'name="quantity"' in page and 'max="2"' in page and 'min="1"' in page
    # Tea × 1 at ¥9.90, shipping ¥10.00, total ¥19.90.
    assert "Tea × 1" in page and "CN¥10.00" in page and "CN¥19.90" in page
    assert "Pay by transfer" in page and "Cash on delivery" in page
    assert f'action="/g/start/{world.offer}?new=1"' in page


def test_the_total_follows_the_quantity(client, world, hx):
    url = f"/g/start/{world.offer}?new=1&quantity=2"
    fragment = text(client.get(url, headers={**EN, **hx})).strip()
    assert fragment.startswith('<div id="seat-total"') and "<form" not in fragment
    assert "Tea × 2" in fragment and "CN¥19.80" in fragment and "CN¥29.80" in fragment
    too_many = text(client.get(url.replace("=2", "=9"), headers={**EN, **hx}))
    assert "Tea × 1" in too_many  # not a quantity on offer: shown for one


def test_starting_with_open_groups_offers_to_join_one_first(app, client, world):
    placed = start(app, world, "Ann")
    page = text(client.get(f"/g/start/{world.offer}", headers=EN))
    assert "Join a group that has already started?" in page
    assert f'href="/g/{placed.code}/join"' in page and "Ann's group" in page
    assert f'href="/g/start/{world.offer}?new=1"' in page
    assert "Start my own group" in page and 'name="checkout_key"' not in page
    own = text(client.get(f"/g/start/{world.offer}?new=1", headers=EN))
    assert 'name="checkout_key"' in own


def test_start_places_the_order_and_opens_the_group(app, client, world):
    before = written(app)
    response = client.post(
        f"/g/start/{world.offer}?new=1", data=form("Ann", quantity=2), headers=EN
    )
    assert response.status_code == 302
    order = order_at(app, response.headers["Location"])
    assert [(line.unit_price, line.quantity) for line in order.lines] == [(990, 2)]
    assert order.group_hold and order.shop_id is None  # no seller's link
    with app.app_context():
        group = db.session.scalar(select(Group))
        assert (group.state, group.seats_taken, group.size) == (G.OPEN, 1, 3)
        assert group.members[0].leader and group.members[0].order_id == order.id
    assert written(app)[4] == before[4] - 2
    page = text(client.get(response.headers["Location"], headers=EN))
    assert "Thank you! Your order is placed." in page
    assert "Your group-buy" in page and "2 seats left" in page


def test_the_same_form_twice_opens_one_group(app, client, world):
    first = client.post(f"/g/start/{world.offer}", data=form("Ann"), headers=EN)
    again = client.post(f"/g/start/{world.offer}", data=form("Ann"), headers=EN)
    assert first.headers["Location"] == again.headers["Location"]
    assert written(app)[:3] == (1, 1, 1)


def test_htmx_is_redirected_to_the_order_page(app, client, world, hx):
    response = client.post(
        f"/g/start/{world.offer}", data=form("Ann"), headers={**EN, **hx}
    )
    assert response.status_code == 200
    assert ORDER_PAGE.match(response.headers["HX-Redirect"])


BAD_SEATS = [
    ({"quantity": 0}, "Enter a quantity from 1 to 2."),
    ({"quantity": 999}, "Enter a quantity from 1 to 2."),
    ({"quantity": "abc"}, "Enter a quantity from 1 to 2."),
    ({"quantity": ""}, "Enter a quantity from 1 to 2."),
    ({"phone": "12"}, "Enter a mobile number such as 138 1234 5678."),
    ({"name": ""}, "This field is required."),
    ({"address": ""}, "This field is required."),
    ({"payment_method": "bitcoin"}, "Not a valid choice"),
    ({"checkout_key": ""}, "Please check your details and send the form again."),
    ({"checkout_key": "short"}, "Please check your details and send the form again."),
]


@pytest.mark.parametrize(("changes", "message"), BAD_SEATS)
def test_bad_input_to_start_is_422_and_writes_nothing(
    app, client, world, changes, message
):
    before = written(app)
    response = client.post(
        f"/g/start/{world.offer}", data=form("Ann", **changes), headers=EN
    )
    assert response.status_code == 422
    assert message in text(response)
    assert KEY.search(text(response))  # a fresh form to send again
    assert written(app) == before


def test_a_form_without_its_csrf_token_is_refused(app, client, world):
    before = written(app)
    response = client.post(
        f"/g/start/{world.offer}", data=form("Ann"), headers=EN, csrf=False
    )
    assert response.status_code == 400 and written(app) == before


@pytest.mark.parametrize("offer_id", ["999", "99999999999999999999", "-1", "x"])
def test_starting_an_unknown_offer_is_not_found(app, client, world, offer_id):
    assert client.get(f"/g/start/{offer_id}").status_code == 404
    before = written(app)
    assert client.post(f"/g/start/{offer_id}", data=form()).status_code == 404
    assert written(app) == before


def test_an_ended_offer_says_so(app, client, world):
    with app.app_context():
        db.session.get(GroupOffer, world.offer).ends_at = utcnow()
        db.session.commit()
    response = client.get(f"/g/start/{world.offer}", headers=EN)
    assert response.status_code == 410
    assert "This group offer has ended." in text(response)
    assert 'href="/p/tea"' in text(response)
    before = written(app)
    response = client.post(f"/g/start/{world.offer}", data=form("Ann"), headers=EN)
    assert response.status_code == 410
    assert "This group offer has ended." in text(response)
    assert written(app) == before


def test_an_ended_offer_points_to_the_products_newer_one(app, client, world):
    with app.app_context():
        old = db.session.get(GroupOffer, world.offer)
        old.ends_at = utcnow()
        newer = groups.save_offer(
            groups.OfferData(
                product_id=old.product_id,
                group_price=890,
                size=2,
                window_hours=12,
                per_customer=1,
                starts_at=utcnow() - timedelta(hours=1),
                ends_at=utcnow() + timedelta(days=3),
                active=True,
            )
        )
        db.session.commit()
        newer_id = newer.id
    response = client.get(f"/g/start/{world.offer}", headers=EN)
    assert response.status_code == 410
    assert f'href="/g/start/{newer_id}?new=1"' in text(response)
    assert "Start a new group at CN¥8.90" in text(response)


def test_a_sold_out_product_is_409_and_writes_nothing(app, client, world):
    with app.app_context():
        db.session.scalar(select(Product).filter_by(slug="tea")).stock = 1
        db.session.commit()
    before = written(app)
    response = client.post(
        f"/g/start/{world.offer}", data=form("Ann", quantity=2), headers=EN
    )
    assert response.status_code == 409
    assert "sold out" in text(response)
    assert written(app) == before


def test_starting_is_rate_limited(app, client, world):
    app.config["CHECKOUT_RATE_LIMIT"] = "2 per minute"
    for n, name in enumerate(["Ann", "Bo"]):
        response = client.post(f"/g/start/{world.offer}", data=form(name), headers=EN)
        assert response.status_code == 302, n
    response = client.post(f"/g/start/{world.offer}", data=form("Cai"), headers=EN)
    assert response.status_code == 429
    assert written(app)[1] == 2


def test_joining_is_rate_limited(app, client, world):
    placed = start(app, world, "Ann")
    app.config["CHECKOUT_RATE_LIMIT"] = "1 per minute"
    url = f"/g/{placed.code}/join"
    assert client.post(url, data=form("Bo"), headers=EN).status_code == 302
    assert client.post(url, data=form("Cai"), headers=EN).status_code == 429
    assert group_row(app, placed.code) == (G.OPEN, 2)


# The invite page


def test_the_invite_page(app, client, world):
    placed = start(app, world, "Ann")
    join(app, placed.code, "Bo")
    response = client.get(f"/g/{placed.code}", headers=EN)
    page = text(response)
    assert response.status_code == 200
    assert "<h1>Tea</h1>" in page
    assert "<strong>CN¥9.90</strong>" in page and "CN¥12.50</s>" in page
    assert "Started by Ann" in page and "Ann Li" not in page and "Bo Li" not in page
    assert '<span class="seat leader">A</span><span class="seat">B</span>' in page
    assert page.count('<span class="seat free">') == 1
    assert "1 seat left" in page and COUNTDOWN.search(page)
    assert f'href="/g/{placed.code}/join"' in page
    assert "Join this group at CN¥9.90" in page
    # Its share panel: the link keeps Mei's credit; QR code and poster.
    invite = f"http://localhost/g/{placed.code}?r={MEI}"
    assert f'value="{invite}"' in page
    assert f'aria-label="QR code for {invite}"' in page
    assert f'href="/g/{placed.code}/poster.png"' in page
    assert f'hx-get="/g/{placed.code}/status" hx-trigger="every 5s"' in page
    assert "Join my group: Tea at CN¥9.90" in page


def test_a_house_group_shares_its_plain_link(app, client, world):
    placed = start(app, world, shop=False)
    page = text(client.get(f"/g/{placed.code}", headers=EN))
    assert f'value="http://localhost/g/{placed.code}"' in page and "?r=" not in page


def test_the_invite_link_credits_the_seller(app, client, world):
    placed = start(app, world, "Ann")
    response = client.get(f"/g/{placed.code}?r={MEI}", headers=PHONE_UA)
    assert response.status_code == 200
    with app.app_context():
        assert shops.referring_shop(client.get_cookie("ref").value).id == world.shop
        assert db.session.scalar(select(func.count(Visit.shop_id))) == 1
    # A group this visitor starts next is Mei's too.
    response = client.post(f"/g/start/{world.offer}?new=1", data=form("Bo"))
    assert order_at(app, response.headers["Location"]).shop_id == world.shop


def test_the_poster(app, client, world, tmp_path):
    placed = start(app, world)
    response = client.get(f"/g/{placed.code}/poster.png")
    assert response.status_code == 200 and response.mimetype == "image/png"
    assert response.data.startswith(b"\x89PNG")
    assert f"group-{placed.code}-poster.png" in response.headers["Content-Disposition"]
    # A member's poster keeps their sharing code; a scan counts as the QR channel.
    invite = f"http://localhost/g/{placed.code}?r=mei-s-picks"
    member = client.get(f"/g/{placed.code}/poster.png?by=abcdefgh23")
    assert scan(member.data, tmp_path) == f"{invite}&by=abcdefgh23&via=qr"
    forged = client.get(f"/g/{placed.code}/poster.png?by=<b>")
    assert scan(forged.data, tmp_path) == f"{invite}&via=qr"
    past_deadline(app, placed.code)
    assert client.get(f"/g/{placed.code}/poster.png").status_code == 404


def test_the_status_fragment(app, client, world, hx):
    placed = start(app, world)
    response = client.get(f"/g/{placed.code}/status", headers={**EN, **hx})
    body = text(response)
    assert response.status_code == 200 and "HX-Request" in response.headers["Vary"]
    assert body.startswith('<div id="group-status"') and "<html" not in body
    assert 'hx-trigger="every 5s"' in body and "2 seats left" in body
    assert "Join this group" in body
    member = text(client.get(f"/g/{placed.code}/status?member=1", headers=HX))
    assert "Join this group" not in member
    assert f'hx-get="/g/{placed.code}/status?member=1"' in member
    plain = client.get(f"/g/{placed.code}/status")
    assert plain.status_code == 302 and plain.headers["Location"] == f"/g/{placed.code}"


def test_the_status_shows_an_expired_group_ended_without_writing(
    app, client, world, hx
):
    placed = start(app, world)
    past_deadline(app, placed.code)
    before = written(app)
    body = text(client.get(f"/g/{placed.code}/status", headers={**EN, **hx}))
    assert "Not filled in time" in body
    assert "hx-trigger" not in body  # it stops polling
    assert "Join this group" not in body
    assert group_row(app, placed.code) == (G.OPEN, 1)  # nobody failed it yet
    assert written(app) == before


def test_the_invite_page_fails_an_expired_group_exactly_once(app, client, world):
    ann = start(app, world, "Ann", paid=True)
    bo = join(app, ann.code, "Bo")  # never pays
    stock_before = written(app)[4]
    past_deadline(app, ann.code)
    page = text(client.get(f"/g/{ann.code}", headers=EN))
    assert "Not filled in time" in page
    assert "Join this group" not in page and "Invite friends" not in page
    assert f'href="/g/start/{world.offer}?new=1"' in page
    assert "Start a new group" in page and f'href="/g/offer/{world.offer}"' in page
    client.get(f"/g/{ann.code}", headers=EN)  # and again
    client.get(ann.url, headers=EN)
    with app.app_context():
        group = db.session.scalar(select(Group).filter_by(code=ann.code))
        assert group.state is G.FAILED
        states = {m.order.number: m.order.state for m in group.members}
        assert states == {ann.number: S.REFUNDED, bo.number: S.CANCELLED}
        events = db.session.execute(
            select(OrderEvent.kind, func.count()).group_by(OrderEvent.kind)
        ).all()
        assert dict(events)["refunded"] == 1 and dict(events)["cancelled"] == 1
        assert problems() == []
    assert written(app)[4] == stock_before + 2


def test_a_succeeded_group(app, client, world, hx):
    placed = start(app, world, "Ann")
    join(app, placed.code, "Bo")
    join(app, placed.code, "Cai")
    page = text(client.get(f"/g/{placed.code}", headers=EN))
    assert "Succeeded" in page and "Join this group" not in page
    assert "Invite friends" not in page and "hx-trigger" not in page
    assert '<span class="seat">C</span>' in page
    assert f'href="/g/start/{world.offer}?new=1"' in page  # a group of one's own
    body = text(client.get(f"/g/{placed.code}/status", headers={**EN, **hx}))
    assert "Succeeded" in body and "hx-trigger" not in body


def test_a_finished_group_without_a_live_offer_offers_nothing_new(app, client, world):
    placed = start(app, world)
    past_deadline(app, placed.code)
    with app.app_context():
        db.session.get(GroupOffer, world.offer).active = False
        db.session.commit()
    page = text(client.get(f"/g/{placed.code}", headers=EN))
    assert "Not filled in time" in page and "Start a new group" not in page


def test_a_member_whose_order_is_cancelled_leaves_the_group(app, client, world):
    ann = start(app, world, "Ann")
    bo = join(app, ann.code, "Bo")
    with app.app_context():
        order = db.session.scalar(select(Order).filter_by(number=bo.number))
        orders.cancel(order, None)
        db.session.commit()
    page = text(client.get(f"/g/{ann.code}", headers=EN))
    assert "2 seats left" in page and '<span class="seat">B</span>' not in page
    mine = text(client.get(bo.url, headers=EN))
    assert "This order has left its group" in mine and "Invite friends" not in mine
    login(client, "mei@example.com")
    assert "Left its group" in text(client.get("/me/orders", headers=EN))


@pytest.mark.parametrize(
    "url",
    [
        "/g/nope1234",
        "/g/nope1234/join",
        "/g/nope1234/status",
        "/g/nope1234/poster.png",
        "/g/" + "x" * 40,
        "/g/%00",
    ],
)
def test_unknown_codes_are_not_found(client, world, url):
    assert client.get(url).status_code in (400, 404)


# Joining


def test_the_join_form(app, client, world):
    placed = start(app, world, "Ann")
    page = text(client.get(f"/g/{placed.code}/join", headers=EN))
    assert "Join the group" in page and "Started by Ann" in page
    assert "2 seats left" in page and 'name="checkout_key"' in page
    assert f'action="/g/{placed.code}/join"' in page


def test_joining_takes_a_seat_credited_to_the_groups_shop(app, client, world):
    placed = start(app, world, "Ann")
    response = client.post(f"/g/{placed.code}/join", data=form("Bo"), headers=EN)
    assert response.status_code == 302
    order = order_at(app, response.headers["Location"])
    assert order.shop_id == world.shop  # no cookie: the group's shop
    assert order.lines[0].unit_price == 990 and order.group_hold
    assert group_row(app, placed.code) == (G.OPEN, 2)


def test_the_last_seat_makes_the_group_succeed(app, client, world):
    placed = start(app, world, "Ann")
    join(app, placed.code, "Bo")
    response = client.post(f"/g/{placed.code}/join", data=form("Cai"), headers=EN)
    assert response.status_code == 302
    assert group_row(app, placed.code) == (G.SUCCEEDED, 3)
    assert not order_at(app, response.headers["Location"]).group_hold
    page = text(client.get(response.headers["Location"], headers=EN))
    assert "Succeeded" in page


def test_a_full_group_is_409_and_offers_a_new_one(app, client, world):
    placed = start(app, world, "Ann")
    join(app, placed.code, "Bo")
    join(app, placed.code, "Cai")
    other = start(app, world, "Dan")
    response = client.get(f"/g/{placed.code}/join", headers=EN)
    page = text(response)
    assert response.status_code == 409
    assert "This group is full." in page
    assert f'href="/g/start/{world.offer}?new=1"' in page
    assert f'href="/g/{other.code}/join"' in page  # another open group
    assert f'href="/g/{placed.code}/join"' not in page
    before = written(app)
    response = client.post(f"/g/{placed.code}/join", data=form("Eve"), headers=EN)
    assert response.status_code == 409 and "This group is full." in text(response)
    assert written(app) == before


def test_the_last_seat_taken_while_the_form_was_open(app, client, world):
    placed = start(app, world, "Ann")
    join(app, placed.code, "Bo")
    assert client.get(f"/g/{placed.code}/join").status_code == 200
    join(app, placed.code, "Cai")  # someone else was quicker
    before = written(app)
    response = client.post(f"/g/{placed.code}/join", data=form("Dan"), headers=EN)
    assert response.status_code == 409
    assert "This group is full." in text(response)
    assert "Start a new group" in text(response)
    assert written(app) == before


def test_an_ended_group_is_409(app, client, world):
    placed = start(app, world, "Ann")
    past_deadline(app, placed.code)
    response = client.get(f"/g/{placed.code}/join", headers=EN)
    assert response.status_code == 409
    assert "This group has ended." in text(response)
    assert f'href="/g/start/{world.offer}?new=1"' in text(response)
    assert group_row(app, placed.code)[0] is G.OPEN  # a GET writes nothing
    orders_before = written(app)[0]
    response = client.post(f"/g/{placed.code}/join", data=form("Bo"), headers=EN)
    assert response.status_code == 409
    assert "This group has ended." in text(response)
    assert written(app)[0] == orders_before  # no order for Bo
    # Bo's look failed the group, as any page does.
    assert group_row(app, placed.code)[0] is G.FAILED
    with app.app_context():
        leader = db.session.scalar(select(Order).filter_by(number=placed.number))
        assert leader.state is S.CANCELLED


def test_joining_twice_is_422_in_the_form(app, client, world):
    placed = start(app, world, "Ann")
    before = written(app)
    response = client.post(f"/g/{placed.code}/join", data=form("Ann"), headers=EN)
    assert response.status_code == 422
    assert "You are already in this group." in text(response)
    assert 'name="checkout_key"' in text(response)
    assert written(app) == before


@pytest.mark.parametrize(("changes", "message"), BAD_SEATS)
def test_bad_input_to_join_is_422_and_writes_nothing(
    app, client, world, changes, message
):
    placed = start(app, world, "Ann")
    before = written(app)
    response = client.post(
        f"/g/{placed.code}/join", data=form("Bo", **changes), headers=EN
    )
    assert response.status_code == 422
    assert message in text(response)
    assert written(app) == before


def test_a_limit_of_one_needs_no_quantity_box(app, client, world):
    with app.app_context():
        db.session.get(GroupOffer, world.offer).per_customer = 1
        db.session.commit()
    page = text(client.get(f"/g/start/{world.offer}", headers=EN))
    assert '<input type="hidden" name="quantity" value="1">' in page
    response = client.post(
        f"/g/start/{world.offer}", data=form("Ann", quantity=2), headers=EN
    )
    assert response.status_code == 422
    assert "Enter a quantity from 1 to 1." in text(response)


# The customer's order page


def test_the_order_page_shows_the_group(app, client, world):
    placed = start(app, world, "Ann")
    response = client.get(placed.url, headers=EN)
    page = text(response)
    assert response.status_code == 200
    assert "Your group-buy" in page and "2 seats left" in page
    assert COUNTDOWN.search(page)
    assert "Your order ships when the group fills." in page
    with app.app_context():  # the invite carries Ann's sharing code too
        code = shops.customer_code(normalise_phone(PHONES["Ann"]))
    assert f'value="http://localhost/g/{placed.code}?r={MEI}&amp;by={code}"' in page
    assert f'hx-get="/g/{placed.code}/status?member=1"' in page
    assert "Join this group" not in page  # it is theirs already
    assert f'href="/g/{placed.code}"' in page
    # The invite is the page's one share block.
    assert page.count("Open your own shop") == 1 and "Tell a friend" not in page


def test_a_members_browser_sees_the_group_as_theirs(app, client, world):
    """Ann, back on her group's invite (her phone opened her order page after
    starting it), sees that she is in and a link to her order, not the Join
    form; a friend's phone sees the form. Once her order leaves the group, so
    does the notice."""
    placed = start(app, world, "Ann")
    client.get(placed.url, headers=EN)
    page = text(client.get(f"/g/{placed.code}", headers=EN))
    assert "You are in this group." in page and f'href="{placed.url}"' in page
    assert "Join this group" not in page
    assert f"/g/{placed.code}/status?member=1" in page  # polls as a member
    friend = app.test_client()
    assert "Join this group" in text(friend.get(f"/g/{placed.code}", headers=EN))
    with app.app_context():
        order = db.session.scalar(select(Order).filter_by(number=placed.number))
        orders.cancel(order, db.session.get(User, world.operator))
        db.session.commit()
    page = text(client.get(f"/g/{placed.code}", headers=EN))
    assert "You are in this group." not in page and "Join this group" in page


def test_the_order_page_fails_an_expired_group(app, client, world):
    placed = start(app, world, "Ann")
    past_deadline(app, placed.code)
    page = text(client.get(placed.url, headers=EN))
    assert "Not filled in time" in page and "Status: <strong>cancelled" in page
    assert "Invite friends" not in page and "Tell a friend" in page
    assert group_row(app, placed.code)[0] is G.FAILED


def test_an_order_without_a_group_has_no_group_panel(app, client, world):
    with app.app_context():
        order = orders.place_order(
            {db.session.get(GroupOffer, world.offer).product_id: 1},
            seat("Ann").customer,
            seat("Ann").payment_method,
            None,
            "plain-order-key-0001",
        )
        db.session.commit()
        url = f"/o/{order.number}/{order.token}"
    assert "Your group-buy" not in text(client.get(url, headers=EN))


# The seller's orders


def test_sellers_see_group_badges(app, client, world):
    full = start(app, world, "Ann")
    join(app, full.code, "Bo")
    join(app, full.code, "Cai")
    waiting = start(app, world, "Dan")
    join(app, waiting.code, "Eve")
    failed = start(app, world, "Fei")
    past_deadline(app, failed.code)
    login(client, "mei@example.com")
    page = text(client.get("/me/orders", headers=EN))
    assert page.count("Group succeeded") == 3
    assert page.count("Group 2/3 · open") == 2
    assert page.count("Group failed") == 1


def test_a_seller_never_sees_another_sellers_group_orders(app, client, world):
    start(app, world, "Ann")
    with app.app_context():
        factories.shop("bo@example.com", "Bo's Nuts")
    login(client, "bo@example.com")
    page = text(client.get("/me/orders", headers=EN))
    assert "Ann Li" not in page and "Group" not in page.split("<main>")[1]


def test_badges_cost_one_query_however_many_orders(app, client, world):
    def queries() -> int:
        with app.app_context():
            statements = []
            record = lambda *args: statements.append(args[2])  # noqa: E731
            event.listen(db.engine, "before_cursor_execute", record)
        try:
            page = text(client.get("/me/orders", headers=EN))
        finally:
            with app.app_context():
                event.remove(db.engine, "before_cursor_execute", record)
        return page.count("group-badge"), len(
            [s for s in statements if s.lstrip().upper().startswith("SELECT")]
        )

    login(client, "mei@example.com")
    placed = start(app, world, "Ann")
    one = queries()
    join(app, placed.code, "Bo")
    other = start(app, world, "Cai")
    join(app, other.code, "Dan")
    four = queries()
    assert (one[0], four[0]) == (1, 4)
    assert one[1] == four[1]
