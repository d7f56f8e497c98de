"""A shop page's product grid, rendered once per change and kept in memory.

The grid (dozens of cards, each with a photo, a price, stock and the seller's note)
is most of what a shop page costs. Each worker process keeps the latest rendering
per shop and language, under a version that moves whenever anything it shows does:

- the shop's ``slug`` (every card links under it) and ``revision``, which the
  listener below moves on any change to one of its ``ShopProduct`` rows (a pick,
  a note, the order, a featured flag);
- how many products it lists and the sum of their ``Product.revision``: each goes
  up with any change to its row (price, stock, name, active; also plain UPDATE
  statements like taking stock at checkout) and, by the listener below, to its
  images. Revisions only go up, so for one list the sum moves whenever any does.

The version is read with one small query on every view, before the products, so a
page never shows a price or a stock level older than the database's, whichever
worker made the change. (For visitors who are not signed in, the whole page around
the grid is kept too: ``storefront.shops.pages``.)
"""

import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

from flask import current_app, render_template
from markupsafe import Markup
from sqlalchemy import event, func, inspect, select
from sqlalchemy.orm import Session

from storefront.catalog.models import Product, ProductImage
from storefront.extensions import db
from storefront.shops.models import Shop, ShopProduct
from storefront.shops.services import shop_items
from storefront.templating import locale_code


class Kept:
    """Renderings kept by one process: key → (version, what was rendered), least
    recently used first, at most ``size`` of them. A rendering is only handed
    back under the version it was made for."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.rendered: OrderedDict[Hashable, tuple[tuple, Any]] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: Hashable, version: tuple) -> Any:
        with self.lock:
            kept = self.rendered.get(key)
            if kept is None or kept[0] != version:
                return None
            self.rendered.move_to_end(key)
            return kept[1]

    def put(self, key: Hashable, version: tuple, value: Any) -> None:
        with self.lock:
            self.rendered[key] = (version, value)
            self.rendered.move_to_end(key)
            while len(self.rendered) > self.size:
                self.rendered.popitem(last=False)


def listed(shop_id) -> tuple:
    """How many products the shop lists and the sum of their revisions, as two
    scalar subqueries (``shop_id`` may be a column, for a query over shops)."""
    items = select(ShopProduct).where(ShopProduct.shop_id == shop_id)
    return (
        items.with_only_columns(func.count()).scalar_subquery(),
        items.join(Product, Product.id == ShopProduct.product_id)
        .with_only_columns(func.coalesce(func.sum(Product.revision), 0))
        .scalar_subquery(),
    )


def version(shop: Shop) -> tuple:
    """What the shop's grid shows is the same exactly when this is."""
    # On the session's connection, past the ORM: this runs on every shop view.
    count, revisions = db.session.connection().execute(select(*listed(shop.id))).one()
    return shop.slug, shop.revision, count, revisions


def grid(shop: Shop) -> Markup:
    """The shop's products as cards (empty when it lists none), rendered only
    when something on them changed since this process last rendered them."""
    grids = current_app.extensions.setdefault(
        "shop_grids", Kept(current_app.config["SHOP_GRID_CACHE"])
    )
    key = (shop.id, locale_code())
    current = version(shop)
    html = grids.get(key, current)
    if html is None:
        count = current[2]
        items = shop_items(shop) if count else []
        html = Markup(
            render_template("shops/_grid.html", shop=shop, items=items) if count else ""
        )
        grids.put(key, current, html)
    return html


@event.listens_for(Session, "before_flush")
def move_revisions(session: Session, _context, _instances) -> None:
    """A change to a shop's product list moves the shop's revision; a change to a
    product's images moves the product's (its own row moves by itself)."""
    for row in (*session.new, *session.dirty, *session.deleted):
        if isinstance(row, ShopProduct):
            bump(row.shop or session.get(Shop, row.shop_id))
        elif isinstance(row, ProductImage):
            bump(row.product or session.get(Product, row.product_id))


def bump(row: Shop | Product | None) -> None:
    """Move ``row``'s revision on by one, in the database (no lost updates)."""
    if row is not None and inspect(row).persistent:
        row.revision = type(row).revision + 1
