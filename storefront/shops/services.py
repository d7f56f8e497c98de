"""Shop rules: opening a shop, its profile and curation, recruiting, visits and
which shop a customer's order belongs to."""

import base64
import hmac
import re
import secrets
import threading
from collections import OrderedDict
from datetime import date, timedelta
from functools import lru_cache

from flask import current_app, has_request_context, request
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import Select, case, delete, func, select, true
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import contains_eager, joinedload, selectinload
from werkzeug.http import dump_cookie

from storefront.accounts.models import Role, User
from storefront.accounts.services import create_user
from storefront.catalog import images
from storefront.catalog.models import Product
from storefront.catalog.services import escape_like, slugify, upload_folder
from storefront.database import add_unique, may_write
from storefront.errors import DomainError
from storefront.extensions import db
from storefront.phones import normalise_phone
from storefront.settings import get_setting
from storefront.shops.models import (
    CustomerBinding,
    Shop,
    ShopAlias,
    ShopProduct,
    ShopStatus,
    ShopVisitor,
    Visit,
)
from storefront.timeutil import local_day, utcnow

SHOP_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,30}[a-z0-9]$")
#: Slugs that would read as ours, not a seller's.
RESERVED_SLUGS = frozenset(
    {
        "admin",
        "api",
        "app",
        "cart",
        "checkout",
        "help",
        "join",
        "login",
        "logout",
        "me",
        "media",
        "operator",
        "root",
        "shop",
        "shops",
        "static",
        "store",
        "support",
        "system",
        "www",
        "official",
        "storefront",
    }
)
#: The cookie naming the shop that referred this visitor (a signed token).
REFERRAL_COOKIE = "ref"
#: The cookie holding a browser's anonymous visitor id.
VISITOR_COOKIE = "vid"
VISITOR_ID = re.compile(r"^[A-Za-z0-9_-]{16,32}$")
#: A customer's sharing code in a link (``?by=``): see ``customer_code``.
CUSTOMER_CODE = re.compile(r"^[a-z2-7]{10}$")
MAX_NOTE = 1000
MAX_FEATURED = 4
AVATAR_WIDTHS = [96, 192]
#: User agents that are programs, not people: their hits are not visits.
BOT_AGENTS = re.compile(
    r"bot|crawl|spider|slurp|preview|fetch|curl|wget|python|java/|go-http|headless"
    r"|facebookexternalhit|monitor|scan",
    re.IGNORECASE,
)


class ShopError(DomainError):
    pass


# Opening a shop


def sign_up(
    name: str, login: str, password: str, shop_name: str, recruiter: Shop | None
) -> Shop:
    """A new seller account and its shop, open at once or waiting for approval as
    the operator set it. ``login`` is an email or a mobile number.

    Raises ``AccountError``/``PhoneError`` for the account, ``ShopError`` for the
    shop name.
    """
    email, phone = (login, None) if "@" in login else (None, login)
    user = create_user(email, name, password, Role.SELLER, phone=phone)
    return open_shop(user, shop_name, recruiter)


def open_shop(owner: User, name: str, recruiter: Shop | None = None) -> Shop:
    """Give ``owner`` a shop; a suspended or pending recruiter is not recorded."""
    if not name.strip():
        raise ShopError(_l("Give your shop a name."))
    pending = get_setting("SIGNUP_APPROVAL")
    if db.session.scalar(select(Shop.id).where(Shop.owner_id == owner.id)):
        raise ShopError(_l("You already have a shop."))
    for _attempt in range(5):  # another sign-up may take the same free slug
        shop = Shop(
            owner_id=owner.id,
            name=name.strip(),
            slug=free_slug(slugify(name) or slugify(owner.name)),
            status=ShopStatus.PENDING if pending else ShopStatus.ACTIVE,
        )
        if add_unique(shop):
            break
    else:
        raise ShopError(_l("Please try again in a moment."))
    if recruiter is not None and recruiter.is_open:
        set_recruiter(shop, recruiter)
    return shop


def slug_taken(slug: str, shop: Shop | None = None) -> bool:
    owner = db.session.scalar(select(Shop.id).where(Shop.slug == slug))
    alias = db.session.scalar(select(ShopAlias.shop_id).where(ShopAlias.slug == slug))
    mine = shop.id if shop else None
    return (owner is not None and owner != mine) or (
        alias is not None and alias != mine
    )


def free_slug(base: str) -> str:
    """``base`` if it is a usable free slug, else a variant or a random one."""
    base = base[:28].strip("-")
    candidates = [base, *(f"{base}-{n}" for n in range(2, 10))] if base else []
    for slug in candidates:
        if (
            SHOP_SLUG.match(slug)
            and slug not in RESERVED_SLUGS
            and not slug_taken(slug)
        ):
            return slug
    return f"shop-{secrets.token_hex(3)}"


def check_shop_slug(slug: str, shop: Shop) -> None:
    if not SHOP_SLUG.match(slug):
        raise ShopError(
            _l("Use 3 to 32 lower-case letters, digits or hyphens, such as mei-tea.")
        )
    if slug in RESERVED_SLUGS:
        raise ShopError(_l("That address is reserved. Please choose another."))
    if slug_taken(slug, shop):
        raise ShopError(_l("Another shop already uses this address."))


def set_recruiter(shop: Shop, recruiter: Shop | None) -> None:
    """Record who recruited ``shop``; refuses the shop itself and any chain that
    would loop back to it."""
    if recruiter is not None:
        if recruiter.id == shop.id:
            raise ShopError(_l("A shop cannot recruit itself."))
        upline, seen = recruiter, set()
        while upline is not None and upline.id not in seen:
            if upline.id == shop.id:
                raise ShopError(_l("That would make a recruiting loop."))
            seen.add(upline.id)
            upline = upline.recruiter
    shop.recruiter = recruiter
    db.session.flush()


def set_status(shop: Shop, status: ShopStatus) -> None:
    """Approve, suspend or reopen a shop (the operator's call). Raises
    ``ShopError`` for sending a shop back to waiting for approval."""
    if status is ShopStatus.PENDING and shop.status is not ShopStatus.PENDING:
        raise ShopError(_l("A shop cannot go back to waiting for approval."))
    shop.status = status
    db.session.flush()


def seller_search(query: str = "", status: ShopStatus | None = None) -> Select:
    """Shops with their sellers, those waiting for approval first, then newest
    first; ``query`` matches the shop's name or address or the seller's name."""
    statement = (
        select(Shop)
        .join(Shop.owner)
        .options(contains_eager(Shop.owner), selectinload(Shop.recruiter))
        .order_by(
            case((Shop.status == ShopStatus.PENDING, 0), else_=1),
            Shop.created_at.desc(),
            Shop.id.desc(),
        )
    )
    if query.strip():
        pattern = f"%{escape_like(query.strip())}%"
        statement = statement.where(
            Shop.name.ilike(pattern, escape="\\")
            | Shop.slug.ilike(pattern, escape="\\")
            | User.name.ilike(pattern, escape="\\")
        )
    if status is not None:
        statement = statement.where(Shop.status == status)
    return statement


def pending_count() -> int:
    """How many shops wait for the operator's approval."""
    return db.session.scalar(
        select(func.count(Shop.id)).where(Shop.status == ShopStatus.PENDING)
    )


# Profile


def update_profile(shop: Shop, name: str, slug: str, bio: str, contact: str) -> None:
    """Change the shop's public face. A new slug keeps the old one as a redirect,
    so links already in chats still arrive."""
    if not name.strip():
        raise ShopError(_l("Give your shop a name."))
    slug = slug.strip().lower()
    if slug != shop.slug:
        check_shop_slug(slug, shop)
        try:
            with db.session.begin_nested():  # another shop may claim it meanwhile
                db.session.execute(delete(ShopAlias).where(ShopAlias.slug == slug))
                db.session.add(ShopAlias(slug=shop.slug, shop_id=shop.id))
                shop.slug = slug
        except IntegrityError:
            raise ShopError(_l("Another shop already uses this address.")) from None
    shop.name, shop.bio, shop.contact = name.strip(), bio.strip(), contact.strip()
    db.session.flush()


def set_avatar(shop: Shop, data: bytes) -> None:
    """Crop an uploaded photo square and store it as the shop's avatar.

    Raises ``ImageError`` for a file that is not an acceptable image.
    """
    resized = images.resize_upload(
        data, AVATAR_WIDTHS, current_app.config["IMAGE_MAX_PIXELS"], square=True
    )
    old = shop.avatar_key
    shop.avatar_key = resized.key
    db.session.flush()
    images.write_files(upload_folder(), resized)
    if old:
        images.delete_files(upload_folder(), old, AVATAR_WIDTHS)


# Curation


def add_product(shop: Shop, product: Product) -> ShopProduct:
    """Put a catalog product at the end of the shop; adding it twice changes
    nothing."""
    for item in shop.items:
        if item.product_id == product.id:
            return item
    position = max((i.position for i in shop.items), default=-1) + 1
    item = ShopProduct(shop_id=shop.id, product_id=product.id, position=position)
    if not add_unique(item):  # a double tap added it a moment ago
        db.session.expire(shop, ["items"])
        return next(i for i in shop.items if i.product_id == product.id)
    db.session.expire(shop, ["items"])
    return item


def remove_product(item: ShopProduct) -> None:
    db.session.delete(item)
    db.session.flush()


def move_product(item: ShopProduct, step: int) -> None:
    """Swap ``item`` with its neighbour above (-1) or below (+1), if any."""
    shop = item.shop
    ordered = sorted(shop.items, key=lambda i: i.position)
    for position, each in enumerate(ordered):
        each.position = position  # close any gaps first
    index = ordered.index(item)
    other = index + step
    if 0 <= other < len(ordered):
        ordered[index].position, ordered[other].position = other, index
    db.session.flush()


def set_note(item: ShopProduct, note: str) -> None:
    """The seller's note: plain text, line breaks kept, at most ``MAX_NOTE``."""
    note = (note or "").replace("\r\n", "\n").strip()
    if len(note) > MAX_NOTE:
        raise ShopError(_l("Keep the note under %(n)d characters.", n=MAX_NOTE))
    item.note = note
    db.session.flush()


def set_featured(item: ShopProduct, featured: bool) -> None:
    """Pin a product to the top of the shop (at most ``MAX_FEATURED``)."""
    if featured and not item.featured:
        count = sum(1 for i in item.shop.items if i.featured)
        if count >= MAX_FEATURED:
            raise ShopError(
                _l("Feature at most %(n)d products; unpin one first.", n=MAX_FEATURED)
            )
    item.featured = featured
    db.session.flush()


def shop_items(shop: Shop) -> list[ShopProduct]:
    """The shop's products as shown: featured first, then the seller's order,
    with products and photos loaded in a fixed number of queries."""
    statement = (
        select(ShopProduct)
        .where(ShopProduct.shop_id == shop.id)
        .options(selectinload(ShopProduct.product).selectinload(Product.images))
        .order_by(ShopProduct.featured.desc(), ShopProduct.position)
    )
    return list(db.session.scalars(statement))


def find_shop(slug: str) -> tuple[Shop | None, bool]:
    """The shop at ``slug`` and whether ``slug`` is an old address of it."""
    shop = db.session.scalar(
        select(Shop).where(Shop.slug == slug).options(joinedload(Shop.owner))
    )
    if shop is not None:
        return shop, False
    alias = db.session.get(ShopAlias, slug)
    return (db.session.get(Shop, alias.shop_id), True) if alias else (None, False)


# Attribution


def referral_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="referral")


def referral_cookie(shop_id: int, secure: bool) -> str:
    """The referral cookie crediting the shop ``shop_id`` from now on, as a
    ``Set-Cookie`` value: its id, signed and dated."""
    days = current_app.config["REFERRAL_WINDOW_DAYS"]
    return attribution_cookie(REFERRAL_COOKIE, referral_token(shop_id), days, secure)


def referral_token(shop_id: int) -> str:
    """The signed value of the referral cookie for the shop ``shop_id`` (dated now)."""
    return referral_serializer().dumps(shop_id)


def attribution_cookie(name: str, value: str, days: int, secure: bool) -> str:
    """A ``Set-Cookie`` value for one of the cookies that say who brought a
    visitor: kept ``days``, never read by scripts, sent along from other sites'
    links (a shared link is how visitors come)."""
    return dump_cookie(
        name, value, max_age=days * 86400, httponly=True, samesite="Lax", secure=secure
    )


def referring_shop(token: str | None) -> Shop | None:
    """The open shop a referral cookie names, if it is genuine and within the
    window."""
    if not token:
        return None
    window = timedelta(days=current_app.config["REFERRAL_WINDOW_DAYS"])
    try:
        shop_id = referral_serializer().loads(token, max_age=window.total_seconds())
    except BadSignature:  # forged, mangled or expired
        return None
    shop = db.session.get(Shop, shop_id) if isinstance(shop_id, int) else None
    return shop if shop is not None and shop.is_open else None


def keeps_referral(current: str | None, new_shop: Shop) -> bool:
    """Whether a visit through ``new_shop`` leaves the existing cookie as it is:
    with first-click attribution, a still-valid cookie for another shop holds."""
    if current_app.config["REFERRAL_CLICK"] != "first":
        return False
    shop = referring_shop(current)
    return shop is not None and shop.id != new_shop.id


def is_bot(user_agent: str) -> bool:
    return not user_agent or bool(BOT_AGENTS.search(user_agent))


#: Visits this process recorded lately: a visitor reloading a page costs no write.
recent_visits: OrderedDict[str, None] = OrderedDict()
RECENT_VISITS = 10_000
recent_lock = threading.Lock()


def customer_code(phone: str) -> str:
    """The code a customer's shares carry (``?by=``) so the seller can see whose
    shares brought visitors: the same for a phone everywhere, and not the phone."""
    return _customer_code(current_app.secret_key, phone)


@lru_cache(maxsize=65_536)
def _customer_code(key: str, phone: str) -> str:
    # A seller's customers page needs every customer's code on each request.
    digest = hmac.digest(key.encode(), f"customer:{phone}".encode(), "sha256")
    return base64.b32encode(digest[:10]).decode()[:10].lower()


def known_visitor() -> str | None:
    """This browser's anonymous visitor id, if it has a valid one."""
    value = request.cookies.get(VISITOR_COOKIE, "")
    return value if VISITOR_ID.match(value) else None


def visit_key(shop_id: int, product_id: int | None, visitor: str, day: date) -> str:
    """What makes a visit count once: a visitor's first look at a page in a day."""
    return f"{shop_id}:{product_id or 0}:{visitor}:{day}"


def counted_lately(key: str) -> bool:
    """Whether this process recorded the visit ``key`` lately (no write needed)."""
    with recent_lock:
        return key in recent_visits


def record_visit(
    shop: Shop,
    product: Product | None,
    visitor: str,
    channel: str = "link",
    sharer: str | None = None,
) -> None:
    """Count ``visitor`` on this shop page once a day (the shop's day), with how
    they came: ``channel`` ("link" or "qr") and the ``sharer``'s customer code.

    A repeat within the day is skipped in memory when this process saw it, and
    otherwise ignored by the database's unique key. The insert runs in its own
    short transaction as its first statement, so a GET holds SQLite's write lock
    only for that moment; on SQLite, in a view that writes, it joins the view's
    transaction instead (and counts when the view commits). A visitor new to
    the shop is added to its ``ShopVisitor`` list in the same transaction.
    """
    day = local_day(utcnow())
    once = visit_key(shop.id, product.id if product else None, visitor, day)
    with recent_lock:
        if once in recent_visits:
            return
        recent_visits[once] = None
        if len(recent_visits) > RECENT_VISITS:
            recent_visits.popitem(last=False)
    values = {
        "shop_id": shop.id,
        "product_id": product.id if product else None,
        "visitor": visitor,
        "day": day,
        "once": once,
        "channel": channel,
        "sharer": sharer,
    }
    dialect = postgresql if db.engine.dialect.name == "postgresql" else sqlite
    statements = [
        dialect.insert(Visit).values(values).on_conflict_do_nothing(),
        dialect.insert(ShopVisitor)
        .values(shop_id=shop.id, visitor=visitor)
        .on_conflict_do_nothing(),
    ]
    if dialect is sqlite and holds_write_lock():
        # A view that writes (``@writes``) took SQLite's write lock when its
        # transaction began: a second connection would wait for it in vain.
        for statement in statements:
            db.session.execute(statement)
        return
    with db.engine.begin() as connection:
        for statement in statements:
            connection.execute(statement)


def remember_visitors() -> None:
    """Add the visitors of visits inserted in bulk (the demo's history) to their
    shops' ``ShopVisitor`` lists, as ``record_visit`` does one at a time."""
    dialect = postgresql if db.engine.dialect.name == "postgresql" else sqlite
    db.session.execute(
        dialect.insert(ShopVisitor)
        .from_select(
            ["shop_id", "visitor"],
            # WHERE keeps SQLite from reading ON CONFLICT as a join's ON.
            select(Visit.shop_id, Visit.visitor).distinct().where(true()),
        )
        .on_conflict_do_nothing()
    )


def holds_write_lock() -> bool:
    """Whether this request's session has begun a transaction that took SQLite's
    write lock up front (see ``storefront.database.may_write``)."""
    return has_request_context() and may_write() and db.session().in_transaction()


def attributed_shop(
    referral_cookie: str | None, phone: str | None, buyer: User | None = None
) -> Shop | None:
    """The shop an order belongs to: the referral cookie's shop if valid, else
    the shop the customer's phone is bound to, else None (a house sale). A shop
    never gets its own seller's purchases, recognised by phone or by the signed-in
    ``buyer``."""
    phone = normalise_phone(phone) if phone else None
    candidates = [referring_shop(referral_cookie)]
    if phone and current_app.config["BINDING_POLICY"] != "off":
        candidates.append(bound_shop(phone))
    for shop in candidates:
        if shop is None or not shop.is_open:
            continue
        own = (phone is not None and shop.owner.phone == phone) or (
            buyer is not None and shop.owner_id == buyer.id
        )
        if not own:
            return shop
    return None


def bound_shop(phone: str) -> Shop | None:
    binding = db.session.get(CustomerBinding, phone)
    if binding is None or binding.expires_at <= utcnow():
        return None
    return db.session.get(Shop, binding.shop_id)


def bind_customer(phone: str, shop: Shop) -> None:
    """After an order attributed to ``shop``: bind the customer's phone to it as
    the binding policy says (first-bind keeps an unexpired binding; override
    rebinds; off does nothing)."""
    policy = current_app.config["BINDING_POLICY"]
    if policy == "off" or not shop.is_open:
        return
    phone = normalise_phone(phone)
    binding = db.session.get(CustomerBinding, phone)
    now = utcnow()
    if binding is not None and binding.expires_at > now and policy == "first-bind":
        return
    if shop.owner.phone == phone:
        return  # a seller is not their own customer
    binding = binding or CustomerBinding(phone=phone)
    binding.shop_id = shop.id
    binding.bound_at = now
    binding.expires_at = now + timedelta(days=current_app.config["BINDING_DAYS"])
    db.session.add(binding)
    db.session.flush()
