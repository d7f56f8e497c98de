"""One URL, two answers: the whole page, or just the block htmx asked to swap."""

from flask import Response, make_response, render_template, request
from jinja2_fragments.flask import render_block


def is_partial() -> bool:
    """True for an htmx request that swaps a region (not boosted, not a history
    restore, both of which need the whole page)."""
    hx = request.htmx
    return bool(hx) and not hx.boosted and not hx.history_restore_request


def render(template: str, block: str | None = None, status: int = 200, **context):
    """Render ``template``, or only its ``block`` when htmx asked for a region.

    Responses that can branch on ``HX-Request`` say so in ``Vary`` so no cache mixes
    the page and the fragment up.
    """
    if block and is_partial():
        html = render_block(template, block, **context)
    else:
        html = render_template(template, **context)
    response: Response = make_response(html, status)
    if block:
        response.vary.add("HX-Request")
    return response
