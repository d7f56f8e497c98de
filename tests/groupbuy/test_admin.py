"""The operator's group-buy pages: offers listed, created and changed (every
refusal a 422 that writes nothing), groups by state, the order page's group,
the queue's badge, and who may see any of it."""

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from flask_babel import format_datetime
from sqlalchemy import select

from storefront.accounts.models import User
from storefront.catalog.models import Product
from storefront.extensions import db
from storefront.groupbuy import services as groups
from storefront.groupbuy.models import Group, GroupOffer, GroupState
from storefront.ledger.reconcile import problems
from storefront.orders import services as orders
from storefront.orders.models import Order, OrderState
from storefront.timeutil import utcnow
from tests import factories
from tests.conftest import EN
from tests.groupbuy.conftest import make_offer, seat
from tests.queries import CountQueries

G = GroupState

#: A good offer form for Tea (¥12.50), times in Shanghai (UTC+8).
GOOD = {
    "group_price": "9.90",
    "size": "3",
    "window_hours": "24",
    "per_customer": "2",
    "starts_at": "2030-05-01T10:00",
    "ends_at": "2030-06-01T22:30",
    "active": "y",
}


@dataclass
class Ids:
    offer: int
    product: int
    open: int  #: a group with Ann (leader, paid) and Bo
    succeeded: int  #: Cai, Dan and Eve: full
    failed: int  #: Fei alone, past the deadline: failed
    ann: int  #: Ann's order (paid, waiting for the group)
    cai: int  #: Cai's order (in the full group)
    fei: int  #: Fei's order (cancelled when the group failed)


def group_id(order: Order) -> int:
    return groups.group_of(order).group_id


@pytest.fixture
def tea(app) -> int:
    """Tea (¥12.50) on sale, and an off-sale product; returns the tea's id."""
    with app.app_context():
        factories.product(name="Old tea", slug="old-tea", price=900, active=False)
        return factories.product(name="Tea", slug="tea", price=1250, stock=20).id


@pytest.fixture
def seeded(app, operator) -> Ids:
    """An offer on Tea with an open, a succeeded and a failed group."""
    with app.app_context():
        now = utcnow()
        offer = make_offer(starts_at=now - timedelta(days=3))
        operator_user = db.session.get(User, operator)
        ann = groups.start_group(offer, seat("Ann", "k-ann"), None, now)
        orders.mark_paid(ann, operator_user)
        groups.join_group(groups.group_of(ann).group, seat("Bo", "k-bo"), now)
        shop = factories.shop()
        cai = groups.start_group(offer, seat("Cai", "k-cai"), shop, now)
        full = groups.group_of(cai).group
        groups.join_group(full, seat("Dan", "k-dan"), now)
        groups.join_group(full, seat("Eve", "k-eve"), now)
        fei = groups.start_group(
            offer, seat("Fei", "k-fei"), None, now - timedelta(hours=30)
        )
        groups.expire(groups.group_of(fei).group, now)
        db.session.commit()
        return Ids(
            offer.id,
            offer.product_id,
            group_id(ann),
            group_id(cai),
            group_id(fei),
            ann.id,
            cai.id,
            fei.id,
        )


def offer_on(slug: str, price: int, **changes) -> GroupOffer:
    """A committed offer on a new product ``slug`` (in an app context)."""
    product = factories.product(name=slug.title(), slug=slug, price=price)
    terms = {"group_price": price - 100, "per_customer": 1, **changes}
    return make_offer(product, **terms)


def product_id(app, slug: str) -> int:
    with app.app_context():
        return db.session.scalar(select(Product.id).filter_by(slug=slug))


def offers(app) -> list[tuple]:
    """Every offer as a tuple of what the form sets."""
    with app.app_context():
        return [
            (
                o.product_id,
                o.group_price,
                o.size,
                o.window_hours,
                o.per_customer,
                o.starts_at,
                o.ends_at,
                o.active,
            )
            for o in db.session.scalars(select(GroupOffer).order_by(GroupOffer.id))
        ]


def row(page: str, element_id: str) -> str:
    """The list item ``element_id``, up to its first closing tag."""
    start = page.index(f'id="{element_id}"')
    return page[start : page.index("</li>", start)]


def shown(app, when: datetime) -> str:
    """``when`` (naive UTC) as an English page shows it, in Shanghai time."""
    with app.test_request_context(headers=EN):
        return format_datetime(when, "short")


def tabs(page: str) -> list[str]:
    """The back office tabs marked current."""
    nav = re.search(r'<nav class="tabs".*?</nav>', page, re.S).group(0)
    return re.findall(r'aria-current="page">([^<]+)</a>', nav)


# Who may see it


NEW_URLS = [
    ("get", "/admin/groupbuys"),
    ("get", "/admin/groupbuys/new"),
    ("post", "/admin/groupbuys/new"),
    ("get", "/admin/groupbuys/{offer}"),
    ("post", "/admin/groupbuys/{offer}"),
    ("get", "/admin/groupbuys/groups"),
    ("get", "/admin/groupbuys/groups?state=failed"),
]


def test_anonymous_visitors_are_sent_to_sign_in(app, client, seeded):
    for method, url in NEW_URLS:
        url = url.format(offer=seeded.offer)
        response = getattr(client, method)(url, headers=EN)
        assert response.status_code == 302, (method, url)
        assert response.headers["Location"].startswith("/login?next="), url


def test_sellers_are_refused(app, as_seller, seeded):
    before = offers(app)
    for method, url in NEW_URLS:
        url = url.format(offer=seeded.offer)
        kwargs = {"data": {**GOOD, "product_id": seeded.product}}
        response = getattr(as_seller, method)(
            url, headers=EN, **(kwargs if method == "post" else {})
        )
        assert response.status_code == 403, (method, url)
    assert offers(app) == before


@pytest.mark.parametrize(
    "url",
    [
        "/admin/groupbuys/999999",
        "/admin/groupbuys/99999999999999999999",
        "/admin/groupbuys/groups?offer=999999",
    ],
)
def test_no_such_offer_is_a_404(as_operator, seeded, url):
    assert as_operator.get(url, headers=EN).status_code == 404
    if "groups" not in url:
        response = as_operator.post(url, data=GOOD, headers=EN)
        assert response.status_code == 404


# The offers


def test_no_offers_yet(as_operator):
    response = as_operator.get("/admin/groupbuys", headers=EN)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "No group offers yet." in page
    assert tabs(page) == ["Group-buys"]
    assert 'href="/admin/groupbuys/new"' in page


def test_offers_list_prices_terms_dates_and_group_counts(app, as_operator, seeded):
    with app.app_context():
        newer = offer_on(
            "nuts",
            3000,
            group_price=2500,
            size=5,
            window_hours=48,
            per_customer=1,
            starts_at=datetime(2030, 1, 1, 2, 0),  # 10:00 in Shanghai
            ends_at=datetime(2030, 1, 31, 14, 0),  # 22:00
            active=False,
        )
        newer_id = newer.id
    response = as_operator.get("/admin/groupbuys", headers=EN)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert page.index(f'id="offer-{newer_id}"') < page.index(
        f'id="offer-{seeded.offer}"'
    )  # newest first
    nuts = row(page, f"offer-{newer_id}")
    assert "¥25.00" in nuts and "¥30.00" in nuts and "Inactive" in nuts
    assert "Groups of 5 · 48 h to fill · at most 1 each" in nuts
    assert "1/1/30, 10:00" in nuts  # Shanghai time
    assert shown(app, datetime(2030, 1, 31, 14, 0)) in nuts
    assert "1/31/30, 10:00" in nuts
    tea = row(page, f"offer-{seeded.offer}")
    assert "¥9.90" in tea and "¥12.50" in tea and "Live" in tea
    for state in ("open", "succeeded", "failed"):
        link = f"/admin/groupbuys/groups?state={state}&amp;offer={seeded.offer}"
        assert re.search(re.escape(link) + r'">\w+ <strong>1</strong>', tea), state


def test_offers_list_counts_groups_in_one_query(app, as_operator, seeded):
    as_operator.get("/admin/groupbuys")  # warm up: the session, the login
    with CountQueries(app) as one:
        as_operator.get("/admin/groupbuys")
    with app.app_context():
        for n in range(4):
            offer = offer_on(f"p{n}", 2000)
            groups.start_group(offer, seat("Ann", f"more-{n}"), None)
            db.session.commit()
    with CountQueries(app) as five:
        response = as_operator.get("/admin/groupbuys")
    assert response.get_data(as_text=True).count('<li class="row') == 5
    assert five.count == one.count


# Creating and changing an offer


def test_new_offer_form_offers_products_on_sale(as_operator, tea):
    response = as_operator.get("/admin/groupbuys/new", headers=EN)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert tabs(page) == ["Group-buys"]
    assert f'<option value="{tea}">Tea · CN¥12.50</option>' in page
    assert "Old tea" not in page  # off sale
    assert re.search(r'name="window_hours"[^>]*value="24"', page)
    assert re.search(r'name="per_customer"[^>]*value="1"', page)
    assert re.search(r'name="starts_at"[^>]*type="datetime-local"', page)
    assert "Asia/Shanghai" in page


def test_create_an_offer_in_local_time(app, as_operator, tea):
    response = as_operator.post(
        "/admin/groupbuys/new", data={**GOOD, "product_id": tea}, headers=EN
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/groupbuys"
    assert offers(app) == [
        (
            tea,
            990,
            3,
            24,
            2,
            datetime(2030, 5, 1, 2, 0),  # 10:00 in Shanghai is 02:00 UTC
            datetime(2030, 6, 1, 14, 30),
            True,
        )
    ]
    page = as_operator.get("/admin/groupbuys", headers=EN).get_data(as_text=True)
    assert "Group offer saved: Tea at CN¥9.90 for 3." in page


def test_edit_an_offer(app, as_operator, seeded):
    url = f"/admin/groupbuys/{seeded.offer}"
    page = as_operator.get(url, headers=EN).get_data(as_text=True)
    assert tabs(page) == ["Group-buys"]
    assert re.search(r'name="group_price"[^>]*value="9.90"', page)
    with app.app_context():
        starts = db.session.get(GroupOffer, seeded.offer).starts_at
    local = (starts + timedelta(hours=8)).strftime("%Y-%m-%dT%H:%M")
    assert f'value="{local}"' in page  # shown in Shanghai time
    changed = {
        **GOOD,
        "product_id": seeded.product,
        "group_price": "8.80",
        "size": "4",
        "active": "",
    }
    response = as_operator.post(url, data=changed, headers=EN)
    assert response.status_code == 302
    with app.app_context():
        offer = db.session.get(GroupOffer, seeded.offer)
        assert (offer.group_price, offer.size, offer.active) == (880, 4, False)
        # groups already open keep what they opened with
        assert db.session.get(Group, seeded.open).size == 3


def test_an_offer_on_a_product_now_off_sale_can_still_be_edited(app, as_operator):
    with app.app_context():
        offer = make_offer()
        offer.product.active = False
        db.session.commit()
        offer_id, product_id = offer.id, offer.product_id
    url = f"/admin/groupbuys/{offer_id}"
    page = as_operator.get(url, headers=EN).get_data(as_text=True)
    assert "Tea · CN¥12.50 · Off sale" in page
    response = as_operator.post(
        url, data={**GOOD, "product_id": product_id, "active": ""}, headers=EN
    )
    assert response.status_code == 302


REFUSALS = [
    ({"group_price": ""}, "group_price", "Enter the group price."),
    ({"group_price": "cheap"}, "group_price", "Enter an amount such as 12.50."),
    ({"size": "1"}, "size", "A group has 2 to 10 people."),
    ({"size": "11"}, "size", "A group has 2 to 10 people."),
    ({"size": "three"}, "size", "A group has 2 to 10 people."),
    ({"size": ""}, "size", "A group has 2 to 10 people."),
    ({"window_hours": "0"}, "window_hours", "A group has 1 to 168 hours to fill."),
    ({"window_hours": "169"}, "window_hours", "A group has 1 to 168 hours to fill."),
    ({"per_customer": "0"}, "per_customer", "Each customer may buy 1 to 99."),
    ({"per_customer": "100"}, "per_customer", "Each customer may buy 1 to 99."),
    ({"starts_at": ""}, "starts_at", "Enter when the offer starts."),
    ({"ends_at": ""}, "ends_at", "Enter when the offer ends."),
    (
        {"starts_at": "next Tuesday"},
        "starts_at",
        "Enter a date and time such as 2026-05-01 10:00.",
    ),
    (
        {"ends_at": "2030-02-30T10:00"},
        "ends_at",
        "Enter a date and time such as 2026-05-01 10:00.",
    ),
    (
        {"ends_at": "2030-05-01T10:00"},  # the same minute it starts
        "ends_at",
        "The offer must end after it starts.",
    ),
    (
        {"ends_at": "2030-04-01T10:00"},
        "ends_at",
        "The offer must end after it starts.",
    ),
    ({"product_id": ""}, "product_id", "Choose a product on sale."),
    ({"product_id": "999999"}, "product_id", "Choose a product on sale."),
    ({"product_id": "old"}, "product_id", "Choose a product on sale."),
    # The service's rules: the form as a whole.
    ({"group_price": "12.50"}, None, "The group price must be below the product"),
    ({"group_price": "20"}, None, "The group price must be below the product"),
    ({"group_price": "0"}, None, "The group price must be below the product"),
]


def error_beside(page: str, field: str | None) -> str:
    """The errors shown under ``field`` (or, for None, at the form's top)."""
    if field is None:
        form = page[page.index("<form") :]
        top = form[: form.index('<div class="field')]
        return " ".join(re.findall(r'<p class="error" role="alert">([^<]*)</p>', top))
    hint = re.search(rf'<div id="{field}-hint">(.*?)</div>', page, re.S)
    return hint.group(1) if hint else ""


@pytest.mark.parametrize("change, field, message", REFUSALS)
def test_refused_offers_are_422_and_write_nothing(
    app, as_operator, tea, change, field, message
):
    data = {**GOOD, "product_id": str(tea), **change}
    if data["product_id"] == "old":  # on the list no more: off sale
        data["product_id"] = str(product_id(app, "old-tea"))
    response = as_operator.post("/admin/groupbuys/new", data=data, headers=EN)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert message.replace("'", "&#39;") in error_beside(page, field)
    assert offers(app) == []
    # what was typed stays in the form
    for name, value in change.items():
        if name != "product_id" and value:
            assert f'name="{name}"' in page and f'value="{value}"' in page


@pytest.mark.parametrize("change, field, message", REFUSALS[::3])
def test_refused_changes_leave_the_offer_as_it_was(
    app, as_operator, seeded, change, field, message
):
    before = offers(app)
    data = {**GOOD, "product_id": str(seeded.product), **change}
    if data["product_id"] == "old":
        with app.app_context():
            old = factories.product(slug="old-tea", price=900, active=False)
            data["product_id"] = str(old.id)
    response = as_operator.post(
        f"/admin/groupbuys/{seeded.offer}", data=data, headers=EN
    )
    assert response.status_code == 422
    assert message.replace("'", "&#39;") in error_beside(
        response.get_data(as_text=True), field
    )
    assert offers(app) == before


def test_a_form_without_its_csrf_token_is_refused(app, as_operator, tea):
    response = as_operator.post(
        "/admin/groupbuys/new",
        data={**GOOD, "product_id": tea},
        csrf=False,
        headers=EN,
    )
    assert response.status_code == 400
    assert offers(app) == []


# The groups


def test_groups_open_by_default(app, as_operator, seeded):
    response = as_operator.get("/admin/groupbuys/groups", headers=EN)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert tabs(page) == ["Group-buys"]
    assert re.search(r'aria-current="page">Filling <span>1</span>', page)
    assert "Succeeded <span>1</span>" in page and "Failed <span>1</span>" in page
    with app.app_context():
        group = db.session.get(Group, seeded.open)
        code, deadline = group.code, group.deadline
        numbers = [m.order.number for m in group.members]
        member_ids = [m.order_id for m in group.members]
    assert f"<code>{code}</code>" in page
    assert "2 of 3 seats taken" in page and "Tea" in page
    assert f"Deadline {shown(app, deadline)}" in page
    assert "House sale" in page
    for number, order_id in zip(numbers, member_ids, strict=True):
        assert f'<a href="/admin/orders/{order_id}">{number}</a>' in page
    assert "Leader" in page and "Ann Li" in page
    assert page.count('<li class="row') == 1


@pytest.mark.parametrize("state", ["succeeded", "failed"])
def test_groups_by_state(app, as_operator, seeded, state):
    response = as_operator.get(f"/admin/groupbuys/groups?state={state}", headers=EN)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    with app.app_context():
        group = db.session.get(Group, getattr(seeded, state))
        code, members = group.code, [m.order_id for m in group.members]
    assert f"<code>{code}</code>" in page and page.count('<li class="row') == 1
    assert all(f"/admin/orders/{order_id}" in page for order_id in members)
    if state == "succeeded":
        assert "3 of 3 seats taken" in page and "via Mei&#39;s picks" in page
    else:
        assert "Closed " in page and "Cancelled" in page


def test_groups_of_one_offer(app, as_operator, seeded):
    with app.app_context():
        other = offer_on("nuts", 3000)
        other_id = other.id
        groups.start_group(other, seat("Ann", "other-ann"), None)
        db.session.commit()
    everything = as_operator.get("/admin/groupbuys/groups", headers=EN)
    assert everything.get_data(as_text=True).count('<li class="row') == 2
    response = as_operator.get(f"/admin/groupbuys/groups?offer={other_id}", headers=EN)
    page = response.get_data(as_text=True)
    assert "Groups: Nuts" in page and page.count('<li class="row') == 1
    assert "Failed <span>0</span>" in page


@pytest.mark.parametrize(
    "query",
    [
        "state=closed",
        "state=",
        "state=OPEN",
        "offer=abc",
        "offer=0",
        "offer=-1",
        "offer=99999999999999999999",
    ],
)
def test_unknown_group_filters_are_a_400(as_operator, seeded, query):
    response = as_operator.get(f"/admin/groupbuys/groups?{query}", headers=EN)
    assert response.status_code == 400


def test_a_group_past_its_deadline_is_failed_when_listed(app, as_operator, seeded):
    with app.app_context():
        group = db.session.get(Group, seeded.open)
        group.deadline = utcnow() - timedelta(seconds=1)
        db.session.commit()
    page = as_operator.get("/admin/groupbuys/groups", headers=EN).get_data(as_text=True)
    assert "No groups here." in page
    with app.app_context():
        assert db.session.get(Group, seeded.open).state is G.FAILED
        ann = db.session.get(Order, seeded.ann)
        assert ann.state is OrderState.REFUNDED and not ann.group_hold


# The order page and the queue


def test_order_page_shows_its_group_and_holds_shipping(app, as_operator, seeded):
    url = f"/admin/orders/{seeded.ann}"
    response = as_operator.get(url, headers=EN)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert tabs(page) == ["Orders"]
    with app.app_context():
        group = db.session.get(Group, seeded.open)
        code, deadline = group.code, group.deadline
    section = page[page.index('class="group-info"') : page.index("</section>")]
    assert f"<code>{code}</code>" in section and "Filling" in section
    assert "Leader" in section and "2 of 3 seats taken" in section
    assert f"Deadline {shown(app, deadline)}" in section
    assert "Waiting for the group: it ships once 1 more person joins." in section
    # paid, but no ship form while it waits
    assert "Not yet: this order ships when its group fills." in page
    assert 'name="tracking_number"' not in page
    refused = as_operator.post(
        f"{url}/ship", data={"carrier": "SF", "tracking_number": "SF1"}, headers=EN
    )
    assert refused.status_code == 422
    assert "waits for its group to fill" in refused.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Order, seeded.ann).state is OrderState.PAID


def test_order_page_of_a_full_group_offers_shipping(app, as_operator, seeded):
    with app.app_context():
        orders.mark_paid(db.session.get(Order, seeded.cai), None)
        db.session.commit()
    page = as_operator.get(f"/admin/orders/{seeded.cai}", headers=EN).get_data(
        as_text=True
    )
    section = page[page.index('class="group-info"') : page.index("</section>")]
    assert "Succeeded" in section and "3 of 3 seats taken" in section
    assert "Waiting for the group" not in page
    assert 'name="tracking_number"' in page
    response = as_operator.post(
        f"/admin/orders/{seeded.cai}/ship",
        data={"carrier": "SF", "tracking_number": "SF1"},
        headers=EN,
    )
    assert response.status_code == 302


def test_order_page_of_a_failed_group(as_operator, seeded):
    page = as_operator.get(f"/admin/orders/{seeded.fei}", headers=EN).get_data(
        as_text=True
    )
    section = page[page.index('class="group-info"') : page.index("</section>")]
    assert "Failed" in section and "Closed " in section
    assert "Waiting for the group" not in page


def test_order_page_fails_a_group_past_its_deadline(app, as_operator, seeded):
    with app.app_context():
        db.session.get(Group, seeded.open).deadline = utcnow() - timedelta(seconds=1)
        db.session.commit()
    page = as_operator.get(f"/admin/orders/{seeded.ann}", headers=EN).get_data(
        as_text=True
    )
    assert "Failed" in page and "Waiting for the group" not in page
    with app.app_context():
        assert db.session.get(Order, seeded.ann).state is OrderState.REFUNDED
        assert problems() == []


def test_an_order_without_a_group_has_no_group_section(app, as_operator, tea):
    with app.app_context():
        order = orders.place_order(
            {tea: 1},
            orders.Customer("Wang Fang", "13800138000", "1 Road"),
            orders.PaymentMethod.TRANSFER,
            None,
            "plain-order",
        )
        db.session.commit()
        order_id = order.id
    page = as_operator.get(f"/admin/orders/{order_id}", headers=EN).get_data(
        as_text=True
    )
    assert "group-info" not in page and "Group-buy" in page  # the tab only


def test_queue_marks_group_orders_without_a_query_each(app, as_operator, seeded):
    response = as_operator.get("/admin/orders?state=all", headers=EN)
    page = response.get_data(as_text=True)
    ann = row(page, f"order-{seeded.ann}")
    assert '<span class="badge group">Group-buy · waiting</span>' in ann
    assert "Ship…" not in ann and "Ships when its group fills" in ann
    cai = row(page, f"order-{seeded.cai}")
    assert '<span class="badge group">Group-buy</span>' in cai
    with CountQueries(app) as before:
        as_operator.get("/admin/orders?state=all")
    with app.app_context():
        for n in range(3):
            groups.start_group(
                db.session.get(GroupOffer, seeded.offer), seat("Ann", f"q-{n}"), None
            )
        db.session.commit()
    with CountQueries(app) as after:
        as_operator.get("/admin/orders?state=all")
    assert after.count == before.count


def test_marking_a_held_order_paid_from_the_queue_keeps_its_badge(
    app, as_operator, seeded, hx
):
    with app.app_context():
        bo = db.session.scalar(select(Order.id).filter_by(checkout_key="k-bo"))
    response = as_operator.post(
        f"/admin/orders/{bo}/paid",
        headers={**EN, **hx, "HX-Target": f"order-{bo}"},
    )
    assert response.status_code == 200
    row = response.get_data(as_text=True)
    assert "Group-buy · waiting" in row and "Ships when its group fills" in row
