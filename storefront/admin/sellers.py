"""Operator back office: sellers and their shops, and run-time settings."""

from flask import abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from jinja2_fragments.flask import render_block
from markupsafe import Markup

from storefront.accounts.models import User
from storefront.admin import bp
from storefront.admin.forms import RecruiterForm, SettingsForm, ShopStatusForm
from storefront.errors import DomainError
from storefront.extensions import db
from storefront.htmx import is_partial, render
from storefront.phones import masked
from storefront.settings import set_setting
from storefront.shops.models import Shop, ShopStatus
from storefront.shops.services import (
    find_shop,
    pending_count,
    seller_search,
    set_recruiter,
    set_status,
)

SELLERS_PAGE_SIZE = 30
#: Status filter of the seller list: query value → status (None: any).
STATUS_FILTERS = {"": None, **{status.value: status for status in ShopStatus}}


def seller_contact(user: User) -> str:
    """How the list shows a seller: the email, else the phone half hidden."""
    return user.email or (masked(user.phone) if user.phone else "")


@bp.get("/sellers")
def sellers():
    """Sellers and their shops, with search-as-you-type (``q``) and a status
    filter (``status``: pending/active/suspended); htmx requests get only the
    result list. An unknown status is a 400."""
    status = request.args.get("status", "")
    if status not in STATUS_FILTERS:
        abort(400)
    return sellers_page(STATUS_FILTERS[status])


def sellers_page(status: ShopStatus | None):
    """The list page (or its results block for htmx), one page of shops."""
    page = db.paginate(
        seller_search(request.args.get("q", ""), status),
        per_page=SELLERS_PAGE_SIZE,
        count=True,
    )
    return render(
        "admin/sellers.html",
        "seller_results",
        page=page,
        shops=page.items,
        status_filter=status.value if status else "",
        pending=pending_count(),
        contact=seller_contact,
    )


@bp.post("/sellers/<int:shop_id>/status")
def shop_status(shop_id: int):
    """Approve a waiting shop, suspend one or reopen it (``status``: active or
    suspended); answers with the shop's row (htmx) or goes back to the list.
    Any other status is a 422 with a message and changes nothing; an unknown
    shop is a 404."""
    shop = db.get_or_404(Shop, shop_id)
    form = ShopStatusForm()
    if not form.validate_on_submit():
        return seller_row_error(shop, form.status.errors)
    set_status(shop, form.new_status)
    db.session.commit()
    if shop.status is ShopStatus.SUSPENDED:
        return seller_row_done(shop, _("%(shop)s is suspended.", shop=shop.name))
    return seller_row_done(shop, _("%(shop)s is open.", shop=shop.name))


@bp.post("/sellers/<int:shop_id>/recruiter")
def shop_recruiter(shop_id: int):
    """Record which shop recruited this one (``recruiter``: its address), or
    clear it when empty. An unknown address, the shop itself or a recruiting
    loop is a 422 with the message and changes nothing; an unknown shop is a
    404."""
    shop = db.get_or_404(Shop, shop_id)
    form = RecruiterForm()
    if not form.validate_on_submit():
        return seller_row_error(shop, form.recruiter.errors, form)
    recruiter = None
    if form.recruiter.data:
        recruiter, _old_address = find_shop(form.recruiter.data)
        if recruiter is None:
            return seller_row_error(shop, [_("No shop has that address.")], form)
    try:
        set_recruiter(shop, recruiter)
    except DomainError as error:
        db.session.rollback()
        return seller_row_error(shop, [str(error)], form)
    db.session.commit()
    if recruiter is None:
        return seller_row_done(
            shop, _("%(shop)s has no recruiter now.", shop=shop.name)
        )
    return seller_row_done(
        shop,
        _(
            "%(shop)s was recruited by %(recruiter)s.",
            shop=shop.name,
            recruiter=recruiter.name,
        ),
    )


def seller_row_done(shop: Shop, message: str):
    """After a change: the row for htmx (with the waiting count out of band),
    else back to the list, post/redirect/get."""
    if not is_partial():
        flash(message)
        return redirect(url_for("admin.sellers", _anchor=f"shop-{shop.id}"))
    return seller_row(shop, RecruiterForm(formdata=None), [], 200, saved=message)


def seller_row_error(shop: Shop, errors: list, form: RecruiterForm | None = None):
    """A refused change, 422: the row with the messages for htmx; without
    JavaScript, the sellers page showing just that shop's row with them, to try
    again."""
    messages = [str(error) for error in errors]
    form = form or RecruiterForm(formdata=None)
    if not is_partial():
        return render(
            "admin/sellers.html",
            status=422,
            page=None,
            shops=[shop],
            status_filter="",
            pending=pending_count(),
            contact=seller_contact,
            recruiter_form=form,
            errors=messages,
        )
    return seller_row(shop, form, messages, 422)


def seller_row(shop: Shop, form: RecruiterForm, errors: list, code: int, saved=""):
    """The row alone, with the waiting-for-approval count swapped out of band."""
    pending_oob = Markup(
        render_block(
            "admin/sellers.html", "pending_count", pending=pending_count(), oob=True
        )
    )
    response = render(
        "admin/_seller_row.html",
        status=code,
        shop=shop,
        recruiter_form=form,
        errors=errors,
        saved=saved,
        contact=seller_contact,
        pending_oob=pending_oob,
    )
    response.vary.add("HX-Request")
    return response


@bp.route("/settings", methods=["GET", "POST"])
def settings():
    """The operator's run-time settings (for now: whether new sellers wait for
    approval). Saving stores each value and comes back to the page."""
    form = SettingsForm()
    if form.validate_on_submit():
        for name, value in form.setting_values().items():
            set_setting(name, value)
        db.session.commit()
        flash(_("Settings saved."))
        return redirect(url_for("admin.settings"))
    if form.is_submitted():
        return render("admin/settings.html", status=422, form=form)
    return render("admin/settings.html", form=SettingsForm.current())
