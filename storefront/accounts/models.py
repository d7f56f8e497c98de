"""The user table shared by operators and sellers."""

import enum
import secrets
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import CheckConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from storefront.database import str_enum
from storefront.extensions import db
from storefront.timeutil import utcnow


class Role(enum.StrEnum):
    OPERATOR = "operator"
    SELLER = "seller"


def new_session_token() -> str:
    return secrets.token_urlsafe(24)


class User(UserMixin, db.Model):
    __tablename__ = "users"  # "user" is a reserved word in PostgreSQL

    __table_args__ = (
        CheckConstraint("email IS NOT NULL OR phone IS NOT NULL", name="can_sign_in"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Either (or both) signs in: the email lower-cased, the phone as E.164.
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    phone: Mapped[str | None] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(80))
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(str_enum(Role))
    #: What the session cookie carries instead of the id; replaced on logout and
    #: password change, which signs out every session that still holds the old one.
    session_token: Mapped[str] = mapped_column(
        String(64), unique=True, default=new_session_token
    )
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def get_id(self) -> str:
        return self.session_token

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_operator(self) -> bool:
        return self.role is Role.OPERATOR

    def __repr__(self) -> str:
        return f"<User {self.email or self.phone} {self.role.value}>"
