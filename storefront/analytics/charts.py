"""What the dashboard draws and how it writes its numbers: sparkline geometry for
inline SVG (no chart JavaScript), and measures formatted for the visitor's
locale, "—" where a number cannot be known."""

from dataclasses import dataclass
from datetime import date

from babel.dates import format_interval, format_skeleton
from flask_babel import format_decimal, format_percent, get_locale

from storefront.money import format_money

#: The viewBox of a sparkline; CSS stretches it to the card's width.
WIDTH, HEIGHT = 100, 30
#: Room above and below the line so the stroke is not clipped.
PAD = 2
#: Shown for a number that cannot be known (a ratio of nothing).
DASH = "—"


def coordinate(value: float) -> str:
    """``12.34`` → ``"12.3"``, ``40.0`` → ``"40"``: small markup."""
    return f"{round(value, 1):g}"


@dataclass(frozen=True)
class Spark:
    """A sparkline's path (``""`` when no day has a value) and the height of its
    zero line, in viewBox units."""

    path: str
    baseline: str
    width: int = WIDTH
    height: int = HEIGHT


def spark(
    values: list[float | None], width: int = WIDTH, height: int = HEIGHT
) -> Spark:
    """One point a day, left to right, scaled from 0 (or the lowest value, if
    negative) at the bottom to the highest at the top. A None day is a gap; a
    point alone between gaps is drawn as a dot (``h0`` with round caps). All
    zeros (or all None) lie on the baseline: nothing is divided by zero."""
    known = [value for value in values if value is not None]
    low = min([0.0, *known])
    high = max([0.0, *known])
    scale = (height - 2 * PAD) / (high - low) if high > low else 0.0
    step = width / (len(values) - 1) if len(values) > 1 else 0.0

    def y(value: float) -> str:
        return coordinate(height - PAD - (value - low) * scale)

    segments: list[list[tuple[str, str]]] = []
    gap = True
    for index, value in enumerate(values):
        if value is None:
            gap = True
            continue
        if gap:
            segments.append([])
            gap = False
        x = index * step if len(values) > 1 else width / 2
        segments[-1].append((coordinate(x), y(value)))
    return Spark("".join(draw(points) for points in segments), y(0.0), width, height)


def draw(points: list[tuple[str, str]]) -> str:
    """Path commands through ``points`` (x, y): a flat stretch is one ``H``
    (quiet days make short markup); a point alone is a zero-length ``h0``,
    which round caps draw as a dot."""
    (x, y), *rest = points
    path = f"M{x} {y}"
    if not rest:
        return path + "h0"
    for index, (x, y) in enumerate(rest):
        before = points[index][1]
        after = rest[index + 1][1] if index + 1 < len(rest) else None
        if y == before == after:
            continue  # the middle of a flat stretch
        path += f"H{x}" if y == before else f"L{x} {y}"
    return path


@dataclass(frozen=True)
class Trend:
    """What a sparkline shows, for its text alternative: the first and last
    known values and the highest."""

    first: float
    last: float
    highest: float


def trend(values: list[float | None]) -> Trend | None:
    """The series summed up for a screen reader; None when no day has a value."""
    known = [value for value in values if value is not None]
    if not known:
        return None
    return Trend(known[0], known[-1], max(known))


def format_measure(value: float | None, kind: str = "count") -> str:
    """A dashboard number: ``count`` (1,234), ``percent`` (33.3%), ``money``
    (minor units, ¥12.50) or ``decimal`` (1.25, at least one decimal); "—"
    for None."""
    if value is None:
        return DASH
    if kind == "percent":
        return format_percent(value, "#,##0.#%")
    if kind == "money":
        return format_money(round(value))
    if kind == "decimal":
        return format_decimal(value, "#,##0.0#")
    return format_decimal(value, "#,##0")


def format_change(value: float) -> str:
    """A relative change without its sign (the arrow says which way): 25%."""
    return format_percent(abs(value), "#,##0%")


def is_same(value: float) -> bool:
    """True when a change rounds to 0%: shown as no change, not ↑ 0%."""
    return round(abs(value) * 100) == 0


def short_day(day: date) -> str:
    """``Nov 1`` / ``11月1日``: a day of the shown period, in the visitor's locale."""
    return format_skeleton("MMMd", day, locale=get_locale())


def date_range(first: date, last: date) -> str:
    """``Nov 1 – 30, 2025``: a period in the visitor's locale (one day: that day)."""
    return format_interval(first, last, "yMMMd", locale=get_locale())
