"""Operators and sellers: one user table, sign-in, passwords."""

from flask import Blueprint

bp = Blueprint("accounts", __name__)

from storefront.accounts import views  # noqa: E402, F401
