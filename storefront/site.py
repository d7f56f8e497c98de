"""Site-wide routes: health check and language choice."""

import functools

from babel import Locale
from flask import (
    Blueprint,
    current_app,
    has_request_context,
    jsonify,
    redirect,
    request,
    url_for,
)
from sqlalchemy import text

from storefront.accounts.views import safe_next
from storefront.extensions import db

bp = Blueprint("site", __name__)

#: The cookie that remembers a visitor's language choice.
LANGUAGE_COOKIE = "lang"


@bp.get("/healthz")
def healthz():
    """200 ``{"status": "ok", "db": "ok"}`` while the database answers, else 503."""
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:  # any failure to reach the database is the answer
        current_app.logger.exception("health check: database did not answer")
        return jsonify(status="error", db="error"), 503
    return jsonify(status="ok", db="ok")


@bp.post("/lang")
def set_language():
    """Remember the chosen UI language in a cookie and go back where the visitor was.

    An unknown language is ignored (the page stays as it was).
    """
    response = redirect(safe_next(request.form.get("next")) or url_for("catalog.index"))
    choice = request.form.get("lang", "")
    if choice in current_app.config["LANGUAGES"]:
        response.set_cookie(
            LANGUAGE_COOKIE, choice, max_age=365 * 86400, samesite="Lax", httponly=True
        )
    return response


def select_locale() -> Locale:
    """The UI language of this request, parsed once per process (Babel's parsing
    costs more than the rest of choosing it)."""
    return parsed_locale(chosen_language())


@functools.cache
def parsed_locale(code: str) -> Locale:
    return Locale.parse(code)


def chosen_language() -> str:
    """The visitor's choice, else the best match for Accept-Language, else the
    default. Any Chinese variant gets Simplified Chinese."""
    if not has_request_context():  # commands speak the default language
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    languages = current_app.config["LANGUAGES"]
    choice = request.cookies.get(LANGUAGE_COOKIE)
    if choice in languages:
        return choice
    if best := request.accept_languages.best_match(languages):
        return best
    for language in request.accept_languages.values():
        if language.lower().startswith("zh") and "zh_CN" in languages:
            return "zh_CN"
    return current_app.config["BABEL_DEFAULT_LOCALE"]
