"""Sign-up, the seller's back office under /me (products, catalog, profile; the
dashboard at /me itself is analytics'), and the public shop pages."""

import secrets
from functools import wraps

from flask import (
    abort,
    current_app,
    flash,
    g,
    redirect,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user
from sqlalchemy import select

from storefront.catalog.models import Product
from storefront.catalog.services import product_search
from storefront.errors import DomainError
from storefront.extensions import db, limiter
from storefront.htmx import is_partial, render
from storefront.shops import bp, pages, services, sharing
from storefront.shops.forms import AvatarForm, JoinForm, NoteForm, ProfileForm
from storefront.shops.grid import grid
from storefront.shops.models import Shop, ShopProduct
from storefront.templating import url_with

CATALOG_PAGE_SIZE = 30


# Attribution: who brought this visitor


@bp.before_app_request
def referral_link():
    """Any URL with ``?r=<shop slug>`` credits that shop, like a shop page does."""
    slug = request.args.get("r")
    if not slug or request.method != "GET":
        return
    shop, _old = services.find_shop(slug)
    if shop is None:
        return
    product = None
    if request.endpoint == "catalog.product":
        product = db.session.scalar(
            select(Product).filter_by(slug=request.view_args["slug"])
        )
    attribute_visit(shop, product)


def attribute_visit(shop: Shop, product: Product | None = None) -> None:
    """Set the referral cookie for ``shop`` (unless first-click holds another) and
    count the visit, except for bots and the seller looking at their own shop."""
    if not shop.is_open or shop.owned_by(current_user):
        return  # a seller neither credits nor counts their own visits
    if not services.keeps_referral(request.cookies.get(services.REFERRAL_COOKIE), shop):
        g.referral_shop = shop
    if not services.is_bot(request.user_agent.string):
        channel = "qr" if request.args.get("via") == "qr" else "link"
        sharer = sharing.sharer(request.args.get("by"))
        services.record_visit(shop, product, visitor_id(), channel, sharer)


def visitor_id() -> str:
    """The anonymous id in the visitor's cookie, made on the first visit."""
    value = services.known_visitor()
    if value is None:
        value = g.new_visitor = secrets.token_urlsafe(16)
    return value


@bp.after_app_request
def attribution_cookies(response):
    if shop := g.pop("referral_shop", None):
        response.headers.add(
            "Set-Cookie", services.referral_cookie(shop.id, request.is_secure)
        )
    if visitor := g.pop("new_visitor", None):
        response.headers.add(
            "Set-Cookie",
            services.attribution_cookie(
                services.VISITOR_COOKIE, visitor, 2 * 365, request.is_secure
            ),
        )
    return response


# Public shop pages


def load_shop(slug: str, open_only: bool = False) -> Shop:
    """The shop at ``slug``; an old slug redirects (301) to the same page under the
    new one; unknown (or, with ``open_only``, not open) is a 404."""
    shop, old = services.find_shop(slug)
    if shop is None or (open_only and not shop.is_open):
        abort(404)
    if old:
        abort(redirect(url_with(slug=shop.slug), 301))
    return shop


@bp.get("/s/<slug>")
def shop(slug: str):
    """A seller's shop: their face, bio and notes first, featured products on top.

    A pending shop shows its products to its own seller only; a suspended one says
    it is closed. Visiting credits the shop (cookie) and counts a visit.
    """
    shop = load_shop(slug)
    attribute_visit(shop)
    if pages.for_anyone(shop):
        return pages.kept_page(shop)
    show = shop.is_open or shop.owned_by(current_user)
    return render("shops/shop.html", shop=shop, grid=grid(shop) if show else "")


@bp.get("/s/<slug>/p/<product_slug>")
def shop_product(slug: str, product_slug: str):
    """A product as this seller shows it, with their note. A product the seller
    has since dropped still shows (the link lives on in chats), without a note.
    A live group-buy offer shows as on the house page; groups started from here
    are credited to this shop (the visit sets the referral cookie)."""
    from storefront.groupbuy.views import offer_context  # groupbuy imports shops

    shop = load_shop(slug)
    product = db.first_or_404(select(Product).filter_by(slug=product_slug))
    if not (shop.is_open or shop.owned_by(current_user)):
        # A shop that is not open shows nothing of its own: the plain product.
        return render("catalog/product.html", product=product, **offer_context(product))
    attribute_visit(shop, product)
    item = db.session.scalar(
        select(ShopProduct).filter_by(shop_id=shop.id, product_id=product.id)
    )
    return render(
        "catalog/product.html",
        product=product,
        shop=shop,
        item=item,
        **offer_context(product),
    )


# Sign-up


@bp.route("/join", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["SIGNUP_RATE_LIMIT"], methods=["POST"])
def join():
    """Open a shop: free, in a minute. ``?ref=<shop slug>`` records the recruiter.

    A new shop has nothing to show or sell yet, so the seller lands on the
    catalog to pick products, not on the (empty) dashboard; later sign-ins land
    on the dashboard, which points an empty shop back to the catalog. Someone
    already signed in goes to the dashboard. Bad input re-renders the form with
    messages (422) and writes nothing.
    """
    if current_user.is_authenticated:
        return redirect(url_for("analytics.dashboard"))
    form = JoinForm()
    if not form.is_submitted():
        form.ref.data = request.args.get("ref", "")
    recruiter = services.find_shop(form.ref.data)[0] if form.ref.data else None
    if form.validate_on_submit():
        try:
            shop = services.sign_up(
                form.name.data,
                form.login.data.strip(),
                form.password.data,
                form.shop_name.data,
                recruiter,
            )
        except DomainError as error:
            db.session.rollback()
            form.form_errors.append(str(error))
        else:
            db.session.commit()
            session.clear()
            session.permanent = True
            login_user(shop.owner)
            flash(_("Your shop is open. Pick a few products to share."))
            return redirect(url_for("shops.catalog"))
    status = 422 if form.is_submitted() else 200
    return render("shops/join.html", status=status, form=form, recruiter=recruiter)


# The seller's back office


def seller_required(view):
    """Signed-in sellers with a shop only; the shop is ``g.shop``."""

    @wraps(view)
    @login_required
    def wrapper(*args, **kwargs):
        g.shop = db.session.scalar(select(Shop).filter_by(owner_id=current_user.id))
        if g.shop is None:
            abort(403)
        return view(*args, **kwargs)

    return wrapper


def own_item(item_id: int) -> ShopProduct:
    """A product of the signed-in seller's shop; anyone else's is a 404."""
    item = db.get_or_404(ShopProduct, item_id)
    if item.shop_id != g.shop.id:
        abort(404)
    return item


@bp.get("/me/products")
@seller_required
def products():
    """The seller's shop at a glance: status, link and share panel, and the
    products with their notes, to reorder, feature, annotate or remove."""
    return curation_page()


def curation_page(status: int = 200, error: str | None = None):
    return render(
        "shops/me.html",
        "curation",
        status=status,
        error=error,
        shop=g.shop,
        items=services.shop_items(g.shop),
    )


def after_curation_change():
    """htmx gets the refreshed list; without JavaScript, back to /me/products."""
    db.session.commit()
    if is_partial():
        return curation_page()
    return redirect(url_for("shops.products"))


@bp.post("/me/items/<int:item_id>/remove")
@seller_required
def remove_item(item_id: int):
    """Take a product out of the shop (the catalog keeps it)."""
    services.remove_product(own_item(item_id))
    return after_curation_change()


@bp.post("/me/items/<int:item_id>/up")
@seller_required
def move_up(item_id: int):
    """Move a product one place up."""
    services.move_product(own_item(item_id), -1)
    return after_curation_change()


@bp.post("/me/items/<int:item_id>/down")
@seller_required
def move_down(item_id: int):
    """Move a product one place down."""
    services.move_product(own_item(item_id), +1)
    return after_curation_change()


@bp.post("/me/items/<int:item_id>/feature")
@seller_required
def toggle_featured(item_id: int):
    """Pin a product to the top of the shop, or unpin it; more than the limit is
    refused with a message."""
    item = own_item(item_id)
    try:
        services.set_featured(item, not item.featured)
    except DomainError as error:
        db.session.rollback()
        if is_partial():
            return curation_page(422, str(error))
        flash(str(error), "error")
        return redirect(url_for("shops.products"))
    return after_curation_change()


@bp.post("/me/items/<int:item_id>/note")
@seller_required
def save_note(item_id: int):
    """Save the seller's note on a product; answers with that product's row."""
    item = own_item(item_id)
    note = NoteForm().note.data
    error = None
    try:
        services.set_note(item, note)
    except DomainError as refused:
        db.session.rollback()
        error = str(refused)
    else:
        db.session.commit()
    if not is_partial():
        flash(error or _("Note saved."), "error" if error else "message")
        return redirect(url_for("shops.products"))
    return render(
        "shops/_item.html",
        status=422 if error else 200,
        item=item,
        note=note if error else item.note,
        note_error=error,
        saved=not error,
    )


@bp.get("/me/catalog")
@seller_required
def catalog():
    """Browse and search the catalog (``q``) to pick products; htmx requests get
    only the results."""
    page = db.paginate(
        product_search(request.args.get("q", ""), active=True),
        per_page=CATALOG_PAGE_SIZE,
        count=True,
    )
    picked = {item.product_id for item in g.shop.items}
    return render("shops/catalog.html", "catalog_results", page=page, picked=picked)


@bp.post("/me/catalog/<int:product_id>")
@seller_required
def pick(product_id: int):
    """Add a catalog product to the shop; answers with its result row."""
    product = db.get_or_404(Product, product_id)
    if not product.active:
        abort(404)
    services.add_product(g.shop, product)
    db.session.commit()
    if not is_partial():
        flash(_("Added to your shop."))
        return redirect(url_for("shops.catalog", q=request.args.get("q", "")))
    return render("shops/_pick.html", product=product, picked={product.id})


@bp.route("/me/profile", methods=["GET", "POST"])
@seller_required
def profile():
    """The shop's name, address, bio, contact and photo."""
    shop = g.shop
    form = ProfileForm(obj=shop)
    if form.validate_on_submit():
        try:
            services.update_profile(
                shop, form.name.data, form.slug.data, form.bio.data, form.contact.data
            )
        except DomainError as error:
            db.session.rollback()
            form.form_errors.append(str(error))
        else:
            db.session.commit()
            flash(_("Saved."))
            return redirect(url_for("shops.profile"))
    status = 422 if form.is_submitted() else 200
    return render(
        "shops/profile.html",
        status=status,
        form=form,
        avatar_form=AvatarForm(),
        shop=shop,
    )


@bp.post("/me/avatar")
@seller_required
def avatar():
    """Upload the seller's photo (cropped square); a bad file changes nothing."""
    form = AvatarForm()
    if form.validate_on_submit():
        try:
            services.set_avatar(g.shop, form.avatar.data.read())
        except DomainError as error:
            form.avatar.errors.append(str(error))
        else:
            db.session.commit()
            flash(_("Photo updated."))
            return redirect(url_for("shops.profile"))
    return render(
        "shops/profile.html",
        status=422,
        form=ProfileForm(obj=g.shop, formdata=None),
        avatar_form=form,
        shop=g.shop,
    )


from storefront.shops import share_views  # noqa: E402, F401
