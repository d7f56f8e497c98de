"""Sign-up, shop profile and curation forms."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import HiddenField, PasswordField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from storefront.accounts.services import check_login, check_password_rules
from storefront.forms import domain_rule


class JoinForm(FlaskForm):
    name = StringField(_l("Your name"), validators=[DataRequired(), Length(max=80)])
    login = StringField(
        _l("Mobile number or email"),
        validators=[DataRequired(), Length(max=254), domain_rule(check_login)],
        description=_l("You sign in with it."),
    )
    password = PasswordField(
        _l("Password"),
        validators=[DataRequired(), Length(max=200), domain_rule(check_password_rules)],
        description=_l("At least 8 characters."),
    )
    shop_name = StringField(
        _l("Shop name"), validators=[DataRequired(), Length(max=60)]
    )
    #: The recruiting shop's slug, from /join?ref=<slug>.
    ref = HiddenField()


class ProfileForm(FlaskForm):
    name = StringField(_l("Shop name"), validators=[DataRequired(), Length(max=60)])
    slug = StringField(
        _l("Shop address"),
        validators=[DataRequired(), Length(max=32)],
        description=_l("Your link is /s/<address>. Old links keep working."),
    )
    bio = TextAreaField(
        _l("About you"),
        default="",
        validators=[Length(max=500)],
        description=_l("A line or two customers see first."),
    )
    contact = StringField(
        _l("Contact"),
        default="",
        validators=[Length(max=60)],
        description=_l("For example your WeChat ID."),
    )


class AvatarForm(FlaskForm):
    avatar = FileField(
        _l("New photo"), validators=[FileRequired(_l("Choose a photo."))]
    )


class NoteForm(FlaskForm):
    #: Its length is checked by the service, after line endings are normalised.
    note = TextAreaField(_l("Your note"), default="")
