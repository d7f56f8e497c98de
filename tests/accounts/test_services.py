"""Account rules: password hashing, sign-in checks, sessions ended on demand."""

import pytest

from storefront.accounts.models import Role, User
from storefront.accounts.services import (
    AccountError,
    authenticate,
    change_password,
    create_user,
    end_sessions,
)
from storefront.extensions import db
from tests.factories import PASSWORD


def test_passwords_are_hashed_with_argon2id_at_owasp_parameters(app):
    with app.app_context():
        user = create_user("a@example.com", "A", PASSWORD, Role.SELLER)
        assert user.password_hash.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
        assert PASSWORD not in user.password_hash


def test_authenticate(app):
    with app.app_context():
        user = create_user("Mixed@Example.com ", "A", PASSWORD, Role.SELLER)
        assert user.email == "mixed@example.com"
        assert authenticate("MIXED@example.com", PASSWORD) is user
        assert authenticate("mixed@example.com", PASSWORD + "x") is None
        assert authenticate("nobody@example.com", PASSWORD) is None
        user.active = False
        assert authenticate("mixed@example.com", PASSWORD) is None


@pytest.mark.parametrize(
    ("email", "name", "password", "message"),
    [
        ("not-an-email", "A", PASSWORD, "email address"),
        ("a@example.com", "  ", PASSWORD, "Enter a name"),
        ("a@example.com", "A", "short", "at least 8"),
        ("a@example.com", "A", "Password1", "most common passwords"),
        ("a@example.com", "A", "iloveyou123", "most common passwords"),
        ("taken@example.com", "A", PASSWORD, "already exists"),
    ],
)
def test_create_user_refuses_bad_input(app, email, name, password, message):
    with app.app_context():
        create_user("taken@example.com", "T", PASSWORD, Role.SELLER)
        with pytest.raises(AccountError, match=message):
            create_user(email, name, password, Role.SELLER)
        assert db.session.query(User).count() == 1


def test_end_sessions_and_change_password_replace_the_session_token(app):
    with app.app_context():
        user = create_user("a@example.com", "A", PASSWORD, Role.OPERATOR)
        first = user.session_token
        end_sessions(user)
        second = user.session_token
        assert second != first
        with pytest.raises(AccountError, match="current password"):
            change_password(user, "wrong password", "new password 1")
        assert user.session_token == second
        with pytest.raises(AccountError, match="at least 8"):
            change_password(user, PASSWORD, "short")
        change_password(user, PASSWORD, "new password 1")
        assert user.session_token != second
        assert authenticate("a@example.com", "new password 1") is user
