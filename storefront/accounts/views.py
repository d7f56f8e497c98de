"""Sign in, sign out, change password."""

from urllib.parse import urlsplit

from flask import current_app, flash, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from storefront.accounts import bp
from storefront.accounts.forms import LoginForm, PasswordForm
from storefront.accounts.models import User
from storefront.accounts.services import (
    AccountError,
    authenticate,
    change_password,
    end_sessions,
)
from storefront.extensions import db, limiter, login_manager
from storefront.htmx import render


@login_manager.user_loader
def load_user(session_token: str) -> User | None:
    return db.session.scalar(
        db.select(User).filter_by(session_token=session_token, active=True)
    )


def safe_next(target: str | None) -> str | None:
    """``target`` if it is a path on this site, else None (no open redirects)."""
    if not target:
        return None
    parts = urlsplit(target)
    if (
        parts.scheme
        or parts.netloc
        or not target.startswith("/")
        or target.startswith("//")
    ):
        return None
    return target


def home_for(user: User) -> str:
    return (
        url_for("admin.index") if user.is_operator else url_for("analytics.dashboard")
    )


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])
def login():
    """Sign in with an email or mobile number and the password; rate-limited per
    client address. A wrong login or password re-renders the form with one
    message (422) that does not say which of the two was wrong.
    """
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        user = authenticate(form.login.data, form.password.data)
        if user is not None:
            db.session.commit()
            session.clear()  # a fresh session: nothing carried over from before
            session.permanent = True
            login_user(user)
            return redirect(safe_next(request.args.get("next")) or home_for(user))
        form.form_errors.append(_("Wrong email or password."))
    if form.is_submitted():
        status = 422
    return render("accounts/login.html", status=status, form=form)


@bp.post("/logout")
@login_required
def logout():
    """Sign out, and end this user's sessions on every device."""
    end_sessions(current_user)
    db.session.commit()
    logout_user()
    session.clear()
    flash(_("You are signed out."))
    return redirect(url_for("catalog.index"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def password():
    """Change the password; every other session of this user ends."""
    user: User = current_user._get_current_object()
    form = PasswordForm()
    status = 200
    if form.validate_on_submit():
        try:
            change_password(user, form.current.data, form.new.data)
        except AccountError as error:
            form.form_errors.append(str(error))
        else:
            db.session.commit()
            login_user(user)  # this device stays signed in, under the new token
            flash(_("Your password has been changed. Other devices are signed out."))
            return redirect(home_for(user))
    if form.is_submitted():
        status = 422
    return render("accounts/password.html", status=status, form=form)
