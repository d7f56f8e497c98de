"""Operator forms for sellers and run-time settings."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, StringField
from wtforms.validators import AnyOf, InputRequired, Length

from storefront.settings import get_setting
from storefront.shops.models import ShopStatus

#: The statuses the operator moves a shop to: approve and reopen both mean
#: active; a shop never goes back to waiting for approval.
OPERATOR_STATUSES = [ShopStatus.ACTIVE.value, ShopStatus.SUSPENDED.value]


def shop_address(text: str | None) -> str:
    """A shop's slug from what the operator typed or pasted: ``mei-tea``,
    ``/s/mei-tea`` or a whole shop link."""
    text = (text or "").strip().lower()
    if "/s/" in text:
        text = text.split("/s/", 1)[1]
    return text.split("?", 1)[0].split("#", 1)[0].strip("/")


class ShopStatusForm(FlaskForm):
    """One of the row's buttons: ``status`` is the shop's new status."""

    status = StringField(
        validators=[
            InputRequired(_l("Choose approve, suspend or reopen.")),
            AnyOf(OPERATOR_STATUSES, _l("Choose approve, suspend or reopen.")),
        ]
    )

    @property
    def new_status(self) -> ShopStatus:
        return ShopStatus(self.status.data)


class RecruiterForm(FlaskForm):
    """The shop whose seller recruited this one, by its address; empty clears."""

    recruiter = StringField(
        _l("Recruited by"),
        filters=[shop_address],
        validators=[Length(max=32, message=_l("No shop has that address."))],
        description=_l("The recruiting shop's address, such as mei-tea."),
    )


class SettingsForm(FlaskForm):
    """The operator's run-time settings.

    Each field saves the setting ``SETTINGS`` names for it; to add a setting, add
    it to ``storefront.settings.RUNTIME_SETTINGS``, add a field here and map it.
    """

    #: Form field name → run-time setting name.
    SETTINGS = {"signup_approval": "SIGNUP_APPROVAL"}

    signup_approval = BooleanField(
        _l("New sellers need my approval"),
        description=_l(
            "When on, a new shop waits in Sellers until you approve it; "
            "when off, it opens at once."
        ),
    )

    @classmethod
    def current(cls) -> "SettingsForm":
        """The form showing the values in force now (not the request's)."""
        data = {field: get_setting(name) for field, name in cls.SETTINGS.items()}
        return cls(formdata=None, data=data)

    def setting_values(self) -> dict:
        """Setting name → the submitted value, for ``set_setting``."""
        return {name: self[field].data for field, name in self.SETTINGS.items()}
