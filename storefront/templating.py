"""What every template can use: money, photos, the language switch."""

from urllib.parse import urlencode

from flask import Flask, current_app, request, url_for
from flask_babel import LazyString, get_locale
from markupsafe import Markup, escape

from storefront.money import currency, format_money, format_rate, to_major
from storefront.shops.services import AVATAR_WIDTHS
from storefront.timeutil import local_day, utcnow

#: Language names shown in the switch, each in its own language.
LANGUAGE_NAMES = {"zh_CN": "中文", "en": "English"}


def srcset(image) -> str:
    return ", ".join(
        f"{url_for('catalog.media', filename=image.filename(w))} {w}w"
        for w in image.width_list
    )


def photo(image, sizes: str, alt: str, eager: bool = False) -> Markup:
    """An ``<img>`` with every stored width in srcset, width/height set (no layout
    shift), lazy unless ``eager`` (for the one image above the fold)."""
    smallest = url_for("catalog.media", filename=image.filename(image.width_list[0]))
    loading = 'fetchpriority="high"' if eager else 'loading="lazy" decoding="async"'
    return Markup(
        f'<img src="{smallest}" srcset="{srcset(image)}" sizes="{escape(sizes)}" '
        f'width="{image.width}" height="{image.height}" alt="{escape(alt)}" {loading}>'
    )


def locale_code() -> str:
    """The current locale as configured (``zh_CN``), not as Babel spells it
    (``zh_Hans_CN``)."""
    locale = get_locale()
    return (
        f"{locale.language}_{locale.territory}" if locale.territory else locale.language
    )


def avatar(shop, size: int) -> Markup:
    """The shop's square photo at ``size`` CSS pixels, sharp on 2x screens."""
    small, large = AVATAR_WIDTHS
    src = url_for("catalog.media", filename=f"{shop.avatar_key}-{small}.webp")
    src2x = url_for("catalog.media", filename=f"{shop.avatar_key}-{large}.webp")
    return Markup(
        f'<img class="avatar" src="{src}" srcset="{src} 1x, {src2x} 2x" '
        f'width="{size}" height="{size}" alt="{escape(shop.name)}">'
    )


def url_with(query: dict | None = None, **path) -> str:
    """This page's URL with some path arguments or query values replaced. The
    query is encoded here, never handed to ``url_for``, whose own keywords
    (``_external``, ``endpoint``…) a visitor must not be able to set."""
    url = url_for(request.endpoint, **{**request.view_args, **path})
    args = {**request.args.to_dict(), **(query or {})}
    return f"{url}?{urlencode(args)}" if args else url


def page_url(page: int) -> str:
    """This page's URL, same filters, another page number."""
    return url_with({"page": page})


def as_text(value):
    """What ``{{ value }}`` prints: a lazy translation as the text it is. (Lazy
    strings claim to be markup, ``__html__``, so Jinja would not escape them.)"""
    return str(value) if isinstance(value, LazyString) else value


def register_template_helpers(app: Flask) -> None:
    # Imported here: analytics imports the shop views, which import this module.
    from storefront.analytics import charts

    app.jinja_env.finalize = as_text

    app.jinja_env.filters["money"] = format_money
    app.jinja_env.filters["rate"] = format_rate
    app.jinja_env.filters["major"] = lambda amount: to_major(amount, currency())
    app.jinja_env.globals["photo"] = photo
    app.jinja_env.globals["page_url"] = page_url
    app.jinja_env.globals["avatar"] = avatar
    app.jinja_env.filters["measure"] = charts.format_measure
    app.jinja_env.filters["change"] = charts.format_change
    app.jinja_env.filters["short_day"] = charts.short_day
    app.jinja_env.globals["date_range"] = charts.date_range
    app.jinja_env.globals["spark"] = charts.spark
    app.jinja_env.globals["trend"] = charts.trend
    app.jinja_env.globals["is_same"] = charts.is_same
    app.jinja_env.globals["today"] = lambda: local_day(utcnow())
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True

    @app.context_processor
    def site_context():
        return {
            "shop_name": current_app.config["SHOP_NAME"],
            "languages": [
                (code, LANGUAGE_NAMES.get(code, code))
                for code in current_app.config["LANGUAGES"]
            ],
            "locale": locale_code(),
        }

    @app.after_request
    def vary_on_language(response):
        # Pages are rendered in the visitor's language.
        if response.mimetype == "text/html":
            response.vary.add("Accept-Language")
            response.vary.add("Cookie")
        return response
