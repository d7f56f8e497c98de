from flask import request
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf, Optional, ValidationError

from storefront.analytics.services import MAX_DAYS, PRESETS, Period
from storefront.timeutil import local_day, utcnow

DEFAULT_DAYS = 30


class PeriodForm(FlaskForm):
    """Which days a report covers: the last 7, 30 or 90, or ``start``–``end``.
    Read from the query string; a bad range keeps the default period and says
    what was wrong. (A field left empty skips its own checks, so a range with
    one end missing is refused in ``validate``.)"""

    class Meta:
        csrf = False  # a GET form: it only chooses what to show

    days = SelectField(
        _l("Period"),
        choices=[SelectChoice(str(n), _l("%(n)d days", n=n)) for n in PRESETS],
        default=str(DEFAULT_DAYS),
        validators=[
            Optional(),
            AnyOf(
                [str(n) for n in PRESETS],
                _l("Choose 7, 30 or 90 days, or a first and a last day."),
            ),
        ],
        validate_choice=False,  # AnyOf says it better
    )
    start = DateField(_l("From"), validators=[Optional()])
    end = DateField(_l("To"), validators=[Optional()])

    @property
    def is_custom(self) -> bool:
        return bool(self.start.data and self.end.data)

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if bool(self.start.data) != bool(self.end.data) and not self.end.errors:
            self.end.errors = [_l("Choose both the first and the last day.")]
            return False
        return valid

    def validate_end(self, field):
        if not self.is_custom:
            return
        if field.data < self.start.data:
            raise ValidationError(_l("The last day comes before the first."))
        if field.data > local_day(utcnow()):
            raise ValidationError(_l("The last day is in the future."))
        if (field.data - self.start.data).days + 1 > MAX_DAYS:
            raise ValidationError(_l("Choose at most %(n)d days.", n=MAX_DAYS))

    def period(self) -> Period:
        """The chosen period; call after ``validate``. Invalid → the default."""
        if self.errors:
            return Period.last_days(DEFAULT_DAYS)
        if self.is_custom:
            return Period(self.start.data, self.end.data)
        return Period.last_days(int(self.days.data or DEFAULT_DAYS))


def chosen_period() -> tuple[PeriodForm, int]:
    """The period form read from the query string, and the status to answer
    with: 422 (which htmx swaps in, like any refused form) when the range it
    asks for cannot be shown."""
    form = PeriodForm(request.args)
    return form, 200 if form.validate() else 422
