"""CSV downloads that open safely in a spreadsheet."""

import csv
from collections.abc import Iterable
from io import StringIO
from numbers import Number

from flask import Response

#: A cell starting with one of these is a formula to Excel and LibreOffice.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell(value) -> str:
    """``value`` as text, with a leading quote when a spreadsheet would run it
    (numbers stay numbers: -5 is not a formula)."""
    if isinstance(value, Number):
        return str(value)
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def csv_response(filename: str, header: list[str], rows: Iterable[list]) -> Response:
    """A CSV download (UTF-8 with a byte-order mark, so Excel reads Chinese)."""
    out = StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows([cell(value) for value in row] for row in rows)
    return Response(
        "\ufeff" + out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
