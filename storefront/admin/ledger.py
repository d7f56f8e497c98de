"""Operator back office for the referral ledger: commission settings, what each
seller is owed, recording payouts, and the payout history with its CSV."""

import secrets

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from storefront.admin import bp
from storefront.admin.forms import CommissionSettingsForm, PayoutForm
from storefront.catalog.models import Product
from storefront.database import writes
from storefront.errors import DomainError
from storefront.exports import csv_response
from storefront.extensions import db
from storefront.htmx import render
from storefront.ledger import services as ledger
from storefront.ledger.models import Account, AccountKind, Payout
from storefront.money import currency, format_money, to_major
from storefront.settings import get_setting, set_setting
from storefront.shops.models import Shop
from storefront.timeutil import local_time

PAGE_SIZE = 30
A = AccountKind


@bp.route("/commissions", methods=["GET", "POST"])
def commissions():
    """Commission rates, the after-sale window and the minimum payout; and the
    products that have a rate of their own. Saving comes back to the page."""
    form = CommissionSettingsForm()
    if form.validate_on_submit():
        for name, value in form.setting_values().items():
            set_setting(name, value)
        db.session.commit()
        flash(_("Commission settings saved."))
        return redirect(url_for("admin.commissions"))
    return render(
        "admin/commissions.html",
        status=422 if form.is_submitted() else 200,
        form=form if form.is_submitted() else CommissionSettingsForm.current(),
        overrides=db.session.scalars(
            select(Product)
            .where(Product.commission_bp.is_not(None))
            .order_by(Product.name)
        ).all(),
    )


@bp.get("/payouts")
@writes
def payouts():
    """What sellers are owed, most available first, after releasing what has
    fallen due: those with at least the minimum payout available, or with
    ``all=1`` every seller with earnings. 30 a page."""
    ledger.settle_due()
    db.session.commit()  # keep what it released
    minimum = get_setting("MINIMUM_PAYOUT")
    show_all = request.args.get("all") == "1"
    available = func.sum(Account.balance).filter(Account.kind == A.AVAILABLE)
    statement = (
        select(Shop)
        .join(Account, Account.shop_id == Shop.id)
        .options(selectinload(Shop.owner))
        .group_by(Shop.id)
        .order_by(available.desc(), Shop.id)
    )
    if not show_all:
        statement = statement.having(available >= max(minimum, 1))
    page = db.paginate(statement, per_page=PAGE_SIZE, count=True)
    return render(
        "admin/payouts.html",
        page=page,
        owed=ledger.balances_of([shop.id for shop in page.items]),
        show_all=show_all,
        minimum=minimum,
        totals=ledger.seller_totals(),
    )


@bp.route("/payouts/<int:shop_id>", methods=["GET", "POST"])
@writes
def shop_payouts(shop_id: int):
    """One seller's balances and ledger lines, the form to record a payout
    (at most what is available, at least the minimum) and their payout
    history. A refused payout re-shows the form with the reason, 422."""
    shop = db.get_or_404(Shop, shop_id)
    form = PayoutForm()
    status = 200
    if form.validate_on_submit():
        try:
            payout = ledger.record_payout(
                shop,
                form.amount.data,
                form.method.data,
                form.reference.data,
                current_user,
                form.key.data,
            )
        except DomainError as error:
            db.session.rollback()
            form.amount.errors.append(str(error))
        else:
            db.session.commit()
            flash(
                _("Payout of %(amount)s recorded.", amount=format_money(payout.amount))
            )
            return redirect(url_for("admin.shop_payouts", shop_id=shop.id))
    if form.is_submitted():
        status = 422
    else:
        form.key.data = secrets.token_urlsafe(24)
    balances = ledger.balances(shop)
    db.session.commit()  # keep what it released: the payout needs it available
    if not form.is_submitted():
        form.amount.data = max(balances[A.AVAILABLE], 0) or None
    return render(
        "admin/shop_payouts.html",
        status=status,
        shop=shop,
        form=form,
        balances=balances,
        minimum=get_setting("MINIMUM_PAYOUT"),
        lines=ledger.earnings_lines(shop, limit=20),
        reason=ledger.reason,
        history=db.session.scalars(
            select(Payout)
            .where(Payout.shop_id == shop.id)
            .options(selectinload(Payout.actor))
            .order_by(Payout.id.desc())
            .limit(50)
        ).all(),
    )


def payout_history():
    return (
        select(Payout)
        .options(selectinload(Payout.shop), selectinload(Payout.actor))
        .order_by(Payout.id.desc())
    )


@bp.get("/payouts/history")
def payout_list():
    """Every payout, newest first, 30 a page, with a link to the CSV."""
    page = db.paginate(payout_history(), per_page=PAGE_SIZE, count=True)
    return render("admin/payout_history.html", page=page)


@bp.get("/payouts.csv")
def payouts_csv():
    """Every payout as a CSV file, amounts in major units."""
    code = currency()
    return csv_response(
        "payouts.csv",
        ["date", "shop", "seller", "amount", "currency", "method", "reference", "by"],
        (
            [
                local_time(payout.at),
                payout.shop.name,
                payout.shop.owner.name,
                to_major(payout.amount, code),
                code,
                payout.method,
                payout.reference,
                payout.actor.name,
            ]
            for payout in db.session.scalars(payout_history())
        ),
    )
