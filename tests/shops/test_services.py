"""Shop rules: sign-up, slugs, recruiting, curation, attribution and binding."""

import time
from datetime import timedelta

import pytest
from sqlalchemy import event, func, select

from storefront.accounts.services import AccountError
from storefront.extensions import db
from storefront.phones import PhoneError
from storefront.settings import set_setting
from storefront.shops import services
from storefront.shops.models import (
    CustomerBinding,
    Shop,
    ShopStatus,
    ShopVisitor,
    Visit,
)
from storefront.timeutil import utcnow
from tests import factories
from tests.factories import PASSWORD


def test_sign_up_with_a_phone_or_an_email(app):
    with app.app_context():
        by_phone = services.sign_up(
            "Li Mei", "138 0013 8000", PASSWORD, "Mei Tea", None
        )
        by_mail = services.sign_up("Wang", "W@Example.com", PASSWORD, "王强的店", None)
        assert by_phone.owner.phone == "+8613800138000" and by_phone.owner.email is None
        assert by_mail.owner.email == "w@example.com"
        assert by_phone.slug == "mei-tea" and by_phone.is_open
        assert by_mail.slug == "wang"  # the Chinese shop name has no Latin letters


@pytest.mark.parametrize(
    ("name", "login", "password", "shop_name", "error", "message"),
    [
        ("A", "138 0013 8000", PASSWORD, "S", AccountError, "mobile number already"),
        ("A", "taken@example.com", PASSWORD, "S", AccountError, "email already"),
        ("A", "12345", PASSWORD, "S", PhoneError, "mobile number such as"),
        ("A", "a@b", PASSWORD, "S", AccountError, "email address such as"),
        ("A", "new@example.com", "short", "S", AccountError, "at least 8"),
        ("A", "new@example.com", PASSWORD, "  ", services.ShopError, "shop a name"),
    ],
)
def test_sign_up_refuses_bad_input(
    app, name, login, password, shop_name, error, message
):
    with app.app_context():
        services.sign_up("T", "taken@example.com", PASSWORD, "Taken", None)
        services.sign_up("P", "13800138000", PASSWORD, "Phone", None)
        db.session.commit()
        with pytest.raises(error, match=message):
            services.sign_up(name, login, password, shop_name, None)
        db.session.rollback()
        assert db.session.scalar(select(func.count(Shop.id))) == 2


def test_sign_up_waits_for_approval_when_the_operator_says_so(app):
    with app.app_context():
        set_setting("SIGNUP_APPROVAL", True)
        shop = services.sign_up("A", "a@example.com", PASSWORD, "A shop", None)
        assert shop.status is ShopStatus.PENDING and not shop.is_open


def test_slugs_are_unique_and_free_of_reserved_words(app):
    with app.app_context():
        first = factories.shop("a@example.com", "Tea")
        second = factories.shop("b@example.com", "Tea")
        admin = factories.shop("c@example.com", "Admin")
        assert (first.slug, second.slug) == ("tea", "tea-2")
        assert admin.slug == "admin-2"  # "admin" itself is reserved
        for bad, message in [
            ("ab", "3 to 32"),
            ("Has Caps", "3 to 32"),
            ("-dash", "3 to 32"),
            ("me", "3 to 32"),
            ("login", "reserved"),
            ("tea", "already uses"),
        ]:
            with pytest.raises(services.ShopError, match=message):
                services.update_profile(second, "Tea", bad, "", "")


def test_old_slug_keeps_working_and_cannot_be_taken(app):
    with app.app_context():
        shop = factories.shop("a@example.com", "Tea")
        other = factories.shop("b@example.com", "Other")
        services.update_profile(shop, "Tea", "mei-tea", "Bio", "wx: mei")
        assert services.find_shop("tea") == (shop, True)
        assert services.find_shop("mei-tea") == (shop, False)
        with pytest.raises(services.ShopError, match="already uses"):
            services.update_profile(other, "Other", "tea", "", "")
        services.update_profile(shop, "Tea", "tea", "Bio", "")  # back to the old one
        assert services.find_shop("tea") == (shop, False)
        assert services.find_shop("mei-tea") == (shop, True)


def test_recruiting_never_loops_and_never_recruits_itself(app):
    with app.app_context():
        a = factories.shop("a@example.com", "A shop")
        b = services.open_shop(factories_user("b@example.com"), "B shop", recruiter=a)
        c = services.open_shop(factories_user("c@example.com"), "C shop", recruiter=b)
        assert (b.recruiter, c.recruiter) == (a, b)
        with pytest.raises(services.ShopError, match="itself"):
            services.set_recruiter(a, a)
        with pytest.raises(services.ShopError, match="loop"):
            services.set_recruiter(a, c)
        assert a.recruiter is None


def test_a_suspended_recruiter_is_not_recorded(app):
    with app.app_context():
        a = factories.shop("a@example.com", "A shop")
        services.set_status(a, ShopStatus.SUSPENDED)
        b = services.open_shop(factories_user("b@example.com"), "B shop", recruiter=a)
        assert b.recruiter is None


def factories_user(email):
    from storefront.accounts.models import Role
    from storefront.accounts.services import create_user

    return create_user(email, "Someone", PASSWORD, Role.SELLER)


def test_curation_add_order_feature_note_remove(app):
    with app.app_context():
        shop = factories.shop()
        products = [factories.product(name=f"P{n}") for n in range(6)]
        items = [services.add_product(shop, p) for p in products]
        assert services.add_product(shop, products[0]) is items[0]  # once only
        services.move_product(items[2], -1)
        services.move_product(items[0], -1)  # already first: no change
        services.move_product(items[5], +1)  # already last
        names = [i.product.name for i in services.shop_items(shop)]
        assert names == ["P0", "P2", "P1", "P3", "P4", "P5"]
        for item in items[:4]:
            services.set_featured(item, True)
        with pytest.raises(services.ShopError, match="at most 4"):
            services.set_featured(items[4], True)
        services.set_featured(items[3], False)
        shown = [i.product.name for i in services.shop_items(shop)]
        assert shown[:3] == ["P0", "P2", "P1"] and shown[3:] == ["P3", "P4", "P5"]
        services.set_note(items[0], "  Line one\r\nLine two  ")
        assert items[0].note == "Line one\nLine two"
        with pytest.raises(services.ShopError, match="under 1000"):
            services.set_note(items[0], "x" * 1001)
        services.remove_product(items[1])
        db.session.commit()
        assert len(services.shop_items(shop)) == 5


def test_shop_items_query_count_does_not_grow_with_products(app):
    """No N+1: the shop's products and photos load in a fixed number of queries."""
    from storefront.catalog.services import add_image

    def queries_for(count: int) -> int:
        shop = factories.shop(f"s{count}@example.com", f"Shop {count}")
        for n in range(count):
            product = factories.product(name=f"Item {count}-{n}")
            add_image(product, factories.image_bytes(40, 40))
            services.add_product(shop, product)
        db.session.commit()
        db.session.expire_all()
        statements = []
        listener = lambda *args: statements.append(args[2])  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            items = services.shop_items(shop)
            [(i.product.name, i.product.cover) for i in items]
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        assert len(items) == count
        return [s for s in statements if s.lstrip().upper().startswith("SELECT")]

    with app.app_context():
        few, many = queries_for(3), queries_for(60)
        assert len(few) == len(many) <= 4, many


def test_referral_cookie_window_and_tampering(app, monkeypatch):
    with app.app_context(), app.test_request_context():
        shop = factories.shop()
        token = services.referral_token(shop.id)
        assert services.referring_shop(token) == shop
        assert services.referring_shop(token + "x") is None
        assert services.referring_shop("garbage") is None
        assert services.referring_shop(None) is None
        now = time.time()
        monkeypatch.setattr("itsdangerous.timed.time.time", lambda: now + 29 * 86400)
        assert services.referring_shop(token) == shop  # within the 30 days
        monkeypatch.setattr("itsdangerous.timed.time.time", lambda: now + 31 * 86400)
        assert services.referring_shop(token) is None  # expired
        monkeypatch.undo()
        services.set_status(shop, ShopStatus.SUSPENDED)
        assert services.referring_shop(token) is None  # earns nothing


def test_first_click_keeps_the_first_shop_last_click_replaces_it(app):
    with app.app_context(), app.test_request_context():
        first = factories.shop("a@example.com", "First")
        second = factories.shop("b@example.com", "Second")
        token = services.referral_token(first.id)
        assert services.keeps_referral(token, second) is False  # last click (default)
        app.config["REFERRAL_CLICK"] = "first"
        assert services.keeps_referral(token, second) is True
        assert services.keeps_referral(token, first) is False  # same shop: refresh
        assert services.keeps_referral(None, second) is False


def test_attributed_shop_cookie_then_binding_then_house(app):
    with app.app_context(), app.test_request_context():
        mei = factories.shop("a@example.com", "Mei")
        wang = factories.shop("b@example.com", "Wang", phone="13900139000")
        phone = "13800138000"
        assert services.attributed_shop(None, phone) is None  # a house sale
        services.bind_customer(phone, mei)
        assert services.attributed_shop(None, "+86 138 0013 8000") == mei
        assert services.attributed_shop(services.referral_token(wang.id), phone) == wang
        # a seller buying through their own link earns nothing
        assert (
            services.attributed_shop(services.referral_token(wang.id), "13900139000")
            is None
        )


def test_binding_policies(app):
    with app.app_context(), app.test_request_context():
        mei = factories.shop("a@example.com", "Mei")
        wang = factories.shop("b@example.com", "Wang")
        phone = "+8613800138000"
        services.bind_customer(phone, mei)
        services.bind_customer(phone, wang)  # first-bind: stays with Mei
        assert services.bound_shop(phone) == mei

        binding = db.session.get(CustomerBinding, phone)
        assert binding.expires_at - binding.bound_at == timedelta(days=365)
        binding.expires_at = utcnow() - timedelta(seconds=1)
        assert services.bound_shop(phone) is None  # expired
        services.bind_customer(phone, wang)  # an expired binding can move
        assert services.bound_shop(phone) == wang

        app.config["BINDING_POLICY"] = "override-on-click"
        services.bind_customer(phone, mei)
        assert services.bound_shop(phone) == mei

        app.config["BINDING_POLICY"] = "off"
        assert services.attributed_shop(None, phone) is None
        services.bind_customer("+8613700137000", wang)
        assert db.session.get(CustomerBinding, "+8613700137000") is None


def test_a_seller_is_never_bound_to_their_own_shop(app):
    with app.app_context(), app.test_request_context():
        shop = factories.shop("a@example.com", "Mei", phone="13800138000")
        services.bind_customer("13800138000", shop)
        assert db.session.get(CustomerBinding, "+8613800138000") is None


def test_visits_count_once_per_visitor_page_and_day(app):
    # As in a GET request: reads do not hold SQLite's write lock.
    with app.app_context(), app.test_request_context():
        services.recent_visits.clear()
        shop = factories.shop()
        product = factories.product()
        for _ in range(3):
            services.record_visit(shop, None, "visitor-one-abcdefgh")
            services.record_visit(shop, product, "visitor-one-abcdefgh")
        services.recent_visits.clear()  # another worker, same visitor: the key holds
        services.record_visit(shop, None, "visitor-one-abcdefgh")
        services.record_visit(shop, None, "visitor-two-abcdefgh")
        db.session.commit()  # a fresh snapshot sees the other connection's rows
        rows = db.session.scalars(select(Visit).order_by(Visit.id)).all()
        assert [(v.product_id, v.visitor[:11]) for v in rows] == [
            (None, "visitor-one"),
            (product.id, "visitor-one"),
            (None, "visitor-two"),
        ]
        # The shop's visitor list has each of them once, like the visits
        # inserted in bulk and then remembered.
        listed = select(ShopVisitor.visitor).order_by(ShopVisitor.visitor)
        assert db.session.scalars(listed).all() == [
            "visitor-one-abcdefgh",
            "visitor-two-abcdefgh",
        ]
        db.session.add(
            Visit(shop_id=shop.id, visitor="bulk", day=rows[0].day, once="x")
        )
        services.remember_visitors()
        services.remember_visitors()  # again: nothing twice
        assert len(db.session.scalars(listed).all()) == 3


@pytest.mark.parametrize(
    ("agent", "bot"),
    [
        ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148", False),
        ("Mozilla/5.0 (Linux; Android 14) MicroMessenger/8.0.47", False),
        ("Googlebot/2.1 (+http://www.google.com/bot.html)", True),
        ("facebookexternalhit/1.1", True),
        ("curl/8.5.0", True),
        ("python-requests/2.32", True),
        ("Mozilla/5.0 HeadlessChrome/120.0", True),
        ("", True),
    ],
)
def test_bots_are_recognised(agent, bot):
    assert services.is_bot(agent) is bot


def test_a_shop_never_goes_back_to_waiting(app):
    with app.app_context():
        shop = factories.shop()
        with pytest.raises(services.ShopError, match="back to waiting"):
            services.set_status(shop, ShopStatus.PENDING)
        services.set_status(shop, ShopStatus.SUSPENDED)
        services.set_status(shop, ShopStatus.ACTIVE)
        assert shop.is_open


def test_an_order_without_a_phone_still_credits_an_email_sellers_shop(app):
    with app.app_context(), app.test_request_context():
        shop = factories.shop("mail-only@example.com", "Mail shop")
        assert shop.owner.phone is None
        assert services.attributed_shop(services.referral_token(shop.id), None) == shop


def test_recruiting_check_ends_even_on_a_loop_already_in_the_data(app):
    with app.app_context():
        a = factories.shop("a@example.com", "A shop")
        b = factories.shop("b@example.com", "B shop")
        c = factories.shop("c@example.com", "C shop")
        a.recruiter_id = b.id  # corrupt data, e.g. from a bad import
        db.session.flush()
        b.recruiter_id = a.id
        db.session.flush()
        db.session.expire_all()
        services.set_recruiter(c, a)  # terminates; c is outside the loop
        assert c.recruiter is a
