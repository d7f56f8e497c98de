"""Accounts: creating users, checking passwords, ending sessions."""

import functools
import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from storefront.accounts.models import Role, User, new_session_token
from storefront.database import add_unique
from storefront.errors import DomainError
from storefront.extensions import db
from storefront.phones import PhoneError, normalise_phone

#: argon2id at the OWASP minimum (19 MiB, 2 passes, 1 lane): strong, and cheap enough
#: for a 1 GB server to check several sign-ins at once.
hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
MIN_PASSWORD_LENGTH = 8
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class AccountError(DomainError):
    pass


def hash_password(password: str) -> str:
    return hasher.hash(password)


def check_password_rules(password: str) -> None:
    """Raise ``AccountError`` when ``password`` is too weak to accept: shorter
    than 8 characters, or one of the passwords people choose most."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(_l("Use at least %(n)d characters.", n=MIN_PASSWORD_LENGTH))
    if password.lower() in common_passwords():
        raise AccountError(
            _l("This is one of the most common passwords. Please choose another.")
        )


@functools.cache
def common_passwords() -> frozenset[str]:
    """The 30,000 most common passwords in leaked lists (zxcvbn's), read once."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


def normalise_email(email: str) -> str:
    return email.strip().lower()


def checked_email(email: str) -> str:
    """``email`` normalised; ``AccountError`` if it is not an address."""
    email = normalise_email(email)
    if not EMAIL_PATTERN.match(email) or len(email) > 254:
        raise AccountError(_l("Enter an email address such as name@example.com."))
    return email


def check_login(login: str) -> None:
    """Raise ``AccountError`` or ``PhoneError`` unless ``login`` is an email
    address or a mobile number (a sign-up's sign-in name)."""
    if "@" in login:
        checked_email(login)
    else:
        normalise_phone(login)


def find_user(login: str) -> User | None:
    """The user whose email or mobile number ``login`` is, or None."""
    if "@" in login:
        return db.session.scalar(
            select(User).where(User.email == normalise_email(login))
        )
    try:
        phone = normalise_phone(login)
    except PhoneError:
        return None
    return db.session.scalar(select(User).where(User.phone == phone))


def create_user(
    email: str | None, name: str, password: str, role: Role, phone: str | None = None
) -> User:
    """Add a user known by an email, a mobile number or both.

    Raises ``AccountError`` for a malformed or taken email or number, a missing
    name or a weak password.
    """
    if email is not None:
        email = checked_email(email)
        if find_user(email) is not None:
            raise AccountError(_l("An account with this email already exists."))
    if phone is not None:
        phone = normalise_phone(phone)
        if find_user(phone) is not None:
            raise AccountError(_l("An account with this mobile number already exists."))
    if email is None and phone is None:
        raise AccountError(_l("Enter an email address or a mobile number."))
    if not name.strip():
        raise AccountError(_l("Enter a name."))
    check_password_rules(password)
    user = User(
        email=email,
        phone=phone,
        name=name.strip(),
        password_hash=hash_password(password),
        role=role,
    )
    if not add_unique(user):  # the same email or number signed up a moment ago
        raise AccountError(_l("An account with this email or number already exists."))
    return user


def authenticate(login: str, password: str) -> User | None:
    """The active user with this email or mobile number and password, or None.

    Upgrades the stored hash when the hashing parameters have changed.
    """
    user = find_user(login)
    if user is None:
        hasher.hash(password)  # same work as a real check: no timing hint
        return None
    try:
        hasher.verify(user.password_hash, password)
    except (VerifyMismatchError, InvalidHashError):
        return None
    if not user.active:
        return None
    if hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


def end_sessions(user: User) -> None:
    """Sign ``user`` out everywhere: cookies holding the old token stop working."""
    user.session_token = new_session_token()
    db.session.flush()


def change_password(user: User, current: str, new: str) -> None:
    """Set a new password and end every other session.

    Raises ``AccountError`` when ``current`` is wrong or ``new`` is too weak.
    """
    try:
        hasher.verify(user.password_hash, current)
    except (VerifyMismatchError, InvalidHashError):
        raise AccountError(_l("Your current password is incorrect.")) from None
    check_password_rules(new)
    user.password_hash = hash_password(new)
    end_sessions(user)
