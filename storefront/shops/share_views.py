"""Share panels and posters for shop pages, products in a shop and house products.

Each page has ``…/share`` (the panel: link, QR code, poster, Web Share; the whole
page on a plain GET, only the panel for htmx) and ``…/poster.png``. Shops that are
not open have nothing to share: their addresses are a 404 here. A customer's
order page asks for them with ``?by=<their sharing code>``, which the shared
link, its QR code and poster then carry.
"""

from flask import Response, request, url_for
from sqlalchemy import select

from storefront.catalog.models import Product
from storefront.extensions import db, limiter
from storefront.htmx import render
from storefront.shops import bp, services, sharing
from storefront.shops.models import Shop, ShopProduct
from storefront.shops.views import load_shop

#: Posters cost real CPU to draw; a person needs a handful, not hundreds.
POSTER_RATE_LIMIT = "30 per minute"

# Templates pass a group's invite panel through it on a member's order page.
bp.add_app_template_global(sharing.by_sharer, "by_sharer")


def picked_product(shop: Shop, product_slug: str) -> Product:
    """The product at ``product_slug`` if ``shop`` picked it, else a 404."""
    statement = (
        select(Product)
        .join(ShopProduct, ShopProduct.product_id == Product.id)
        .where(ShopProduct.shop_id == shop.id, Product.slug == product_slug)
    )
    return db.first_or_404(statement)


def house_product(product_slug: str) -> tuple[Product, Shop | None]:
    """The product at ``product_slug`` (or a 404) and the shop that referred this
    visitor, whose link a share must keep."""
    product = db.first_or_404(select(Product).filter_by(slug=product_slug))
    return product, services.referring_shop(
        request.cookies.get(services.REFERRAL_COOKIE)
    )


def shared_by(shop: Shop | None) -> str | None:
    """The sharing customer's code (``?by=``), when valid and there is a shop
    for the visits it brings (house pages count no visits)."""
    return sharing.sharer(request.args.get("by")) if shop is not None else None


def panel(shop: Shop | None, product: Product | None, poster_url: str):
    """The share page, or only its panel for htmx."""
    code = shared_by(shop)
    link = sharing.with_params(sharing.share_url(shop, product), by=code)
    return render(
        "shops/share.html",
        "share_panel",
        shop=shop,
        product=product,
        share_link=link,
        share_title=sharing.share_title(shop, product),
        share_qr=sharing.qr_svg(link),
        poster_url=sharing.with_params(poster_url, by=code),
    )


def poster(shop: Shop | None, product: Product | None, name: str) -> Response:
    """The poster PNG as a download named ``name``-poster.png."""
    link = sharing.with_params(sharing.share_url(shop, product), by=shared_by(shop))
    png = sharing.poster_png(link, product, shop)
    response = Response(png, mimetype="image/png")
    response.headers.set(
        "Content-Disposition", "attachment", filename=f"{name}-poster.png"
    )
    # Private: the house product poster depends on the visitor's referral cookie.
    response.cache_control.private = True
    response.cache_control.max_age = 300
    response.vary.add("Cookie")
    return response


@bp.get("/s/<slug>/share")
def shop_share(slug: str):
    """Share a shop page: its link, QR code and poster. 404 unless the shop is
    open; an old slug redirects."""
    shop = load_shop(slug, open_only=True)
    return panel(shop, None, url_for("shops.shop_poster", slug=shop.slug))


@bp.get("/s/<slug>/p/<product_slug>/share")
def shop_product_share(slug: str, product_slug: str):
    """Share a product as this seller shows it. 404 unless the shop is open and
    picked the product; an old slug redirects."""
    shop = load_shop(slug, open_only=True)
    product = picked_product(shop, product_slug)
    poster_url = url_for(
        "shops.shop_product_poster", slug=shop.slug, product_slug=product.slug
    )
    return panel(shop, product, poster_url)


@bp.get("/p/<product_slug>/share")
def product_share(product_slug: str):
    """Share a house product page. A visitor a seller referred shares the
    product in that seller's shop, so the seller keeps the credit."""
    product, shop = house_product(product_slug)
    poster_url = url_for("shops.product_poster", product_slug=product.slug)
    return panel(shop, product, poster_url)


@bp.get("/s/<slug>/poster.png")
@limiter.limit(POSTER_RATE_LIMIT)
def shop_poster(slug: str):
    """The shop's share poster (PNG download). 404 unless the shop is open."""
    shop = load_shop(slug, open_only=True)
    return poster(shop, None, shop.slug)


@bp.get("/s/<slug>/p/<product_slug>/poster.png")
@limiter.limit(POSTER_RATE_LIMIT)
def shop_product_poster(slug: str, product_slug: str):
    """A poster of a product the shop picked (PNG download), else a 404."""
    shop = load_shop(slug, open_only=True)
    product = picked_product(shop, product_slug)
    return poster(shop, product, f"{shop.slug}-{product.slug}")


@bp.get("/p/<product_slug>/poster.png")
@limiter.limit(POSTER_RATE_LIMIT)
def product_poster(product_slug: str):
    """A house product's poster (PNG download), in the referring seller's name
    when a seller brought this visitor."""
    product, shop = house_product(product_slug)
    name = f"{shop.slug}-{product.slug}" if shop else product.slug
    return poster(shop, product, name)
