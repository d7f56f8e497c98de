"""Sign-in and password forms."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from storefront.accounts.services import check_password_rules
from storefront.forms import domain_rule


class LoginForm(FlaskForm):
    login = StringField(
        _l("Email or mobile number"), validators=[DataRequired(), Length(max=254)]
    )
    password = PasswordField(
        _l("Password"), validators=[DataRequired(), Length(max=200)]
    )


class PasswordForm(FlaskForm):
    current = PasswordField(_l("Current password"), validators=[DataRequired()])
    new = PasswordField(
        _l("New password"),
        validators=[DataRequired(), Length(max=200), domain_rule(check_password_rules)],
    )
    confirm = PasswordField(
        _l("Confirm new password"),
        validators=[
            DataRequired(),
            EqualTo("new", message=_l("The passwords do not match.")),
        ],
    )
