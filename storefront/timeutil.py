"""Time in one convention: naive UTC datetimes in the database, days in the
shop's time zone (``BABEL_DEFAULT_TIMEZONE``)."""

from datetime import UTC, date, datetime, time

from flask_babel import to_user_timezone, to_utc


def utcnow() -> datetime:
    """The current time as naive UTC, the form every timestamp column stores."""
    return datetime.now(UTC).replace(tzinfo=None)


def local_day(moment: datetime) -> date:
    """The shop's calendar day at ``moment`` (naive UTC)."""
    return to_user_timezone(moment).date()


def local_time(moment: datetime) -> str:
    """``moment`` (naive UTC) on the shop's clock, to the minute, for CSV files."""
    return to_user_timezone(moment).strftime("%Y-%m-%d %H:%M")


def day_start(day: date) -> datetime:
    """The moment (naive UTC) the shop's calendar ``day`` begins."""
    return to_utc(datetime.combine(day, time()))
