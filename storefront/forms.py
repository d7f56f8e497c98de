"""Form pieces shared by every domain."""

from collections.abc import Callable

from flask_babel import lazy_gettext as _l
from wtforms import IntegerField, StringField
from wtforms.validators import ValidationError

from storefront.errors import DomainError
from storefront.money import currency, to_major, to_minor


def domain_rule(check: Callable[[str], object]):
    """A validator that runs a service's own check on the field's value, its
    ``DomainError`` becoming the field's message: the rule stays in the service,
    and a form shows it beside the field with the others, all at once."""

    def validator(form, field) -> None:
        try:
            check(field.data or "")
        except DomainError as error:
            raise ValidationError(str(error)) from None

    return validator


class MoneyField(StringField):
    """An amount typed in major units (``12.50``), held as integer minor units."""

    def _value(self) -> str:
        if self.raw_data:
            return self.raw_data[0]
        return "" if self.data is None else str(to_major(self.data, currency()))

    def process_formdata(self, valuelist):
        self.data = None
        if valuelist and valuelist[0].strip():
            try:
                self.data = to_minor(valuelist[0], currency())
            except ValueError:
                raise ValueError(_l("Enter an amount such as 12.50.")) from None


class WholeNumberField(IntegerField):
    """An integer, or None for anything else ("abc", "1.5", ""), so that one
    validator (``InputRequired``, ``NumberRange``...) gives one clear message
    instead of WTForms' "Not a valid integer value." besides."""

    def process_formdata(self, valuelist):
        if valuelist:
            try:
                self.data = int(valuelist[0])
            except ValueError:
                self.data = None


class PercentField(StringField):
    """A percentage typed as ``12.5``, held as basis points (``1250``)."""

    def _value(self) -> str:
        if self.raw_data:
            return self.raw_data[0]
        return "" if self.data is None else f"{self.data / 100:g}"

    def process_formdata(self, valuelist):
        self.data = None
        if valuelist and valuelist[0].strip():
            try:
                basis_points = to_minor(valuelist[0], "USD")  # two decimals
            except ValueError:
                basis_points = -1
            if not 0 <= basis_points <= 10000:
                raise ValueError(_l("Enter a percentage from 0 to 100."))
            self.data = basis_points
