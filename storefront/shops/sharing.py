"""Sharing rules: which link a share carries, its QR code and its poster.

A share always carries a seller when there is one (the page's shop, else the shop
that referred the visitor), so a customer passing a link on keeps crediting the
seller who brought them. A customer's share also carries their code (``?by=``),
so the seller sees whose shares brought visitors; QR codes, on screen and on
posters, add ``?via=qr`` so a scan counts as the QR channel (the link to copy
stays without it).
"""

import re
from functools import lru_cache
from io import BytesIO
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import segno
from flask import current_app, url_for
from flask_babel import gettext as _
from markupsafe import Markup, escape
from PIL import Image, ImageDraw, ImageFont, ImageOps

from storefront.catalog.models import Product
from storefront.money import format_money
from storefront.shops import services
from storefront.shops.models import Shop

#: Poster size in pixels: portrait, the width chat apps show full-screen.
POSTER_SIZE = (750, 1200)
MARGIN = 40
#: Side of the square the QR code fills on a poster; at least 240 px scans well.
QR_BOX = 270
#: Where the text and the QR code start, below the picture.
TEXT_TOP = 750
INK, MUTED, ACCENT = "#1f2328", "#646b73", "#c2410c"
TINT = "#fbeee6"
#: Posters are PNG (sharp text and QR); photos are reduced to this many colours.
POSTER_COLOURS = 256

#: Runs of Latin letters/digits stay together; everything else (CJK, punctuation,
#: spaces) is its own token, so Chinese wraps between any two characters.
WORD = re.compile(r"[^\s\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef]+|\s+|.")
#: Closing punctuation that may not start a line (it hangs at the end instead).
NO_LINE_START = set("，。、！？：；）」』》〉】,.!?:;)")

#: Font paths already reported missing, so the log says it once per process.
_missing_fonts: set[str] = set()


# The link


def share_url(shop: Shop | None, product: Product | None) -> str:
    """The absolute link to share: the product in ``shop``, the shop itself, or
    (no shop) the house product page."""
    if shop is not None and product is not None:
        return url_for(
            "shops.shop_product",
            slug=shop.slug,
            product_slug=product.slug,
            _external=True,
        )
    if shop is not None:
        return url_for("shops.shop", slug=shop.slug, _external=True)
    if product is not None:
        return url_for("catalog.product", slug=product.slug, _external=True)
    raise ValueError("share_url needs a shop or a product")


def with_params(url: str, **params: str | None) -> str:
    """``url`` with the query ``params`` set (empty ones left out), keeping its
    own query: ``/g/x?r=mei&by=…``, ``/s/mei?by=…``."""
    extra = {name: value for name, value in params.items() if value}
    if not extra:
        return url
    parts = urlsplit(url)
    query = [
        (name, value)
        for name, value in parse_qsl(parts.query, keep_blank_values=True)
        if name not in extra
    ]
    return urlunsplit(parts._replace(query=urlencode([*query, *extra.items()])))


def sharer(code: str | None) -> str | None:
    """``code`` if it is a customer's sharing code (``?by=``), else None."""
    return code if code and services.CUSTOMER_CODE.match(code) else None


def qr_link(url: str) -> str:
    """What a QR code of ``url`` encodes: the link marked as scanned."""
    return with_params(url, via="qr")


def by_sharer(panel: dict, code: str | None) -> dict:
    """A share panel's context (``share_link``, ``share_qr``, ``poster_url``,
    ``shop``) as shared by the customer with sharing ``code``: link, QR code and
    poster carry ``?by=``. Unchanged without a valid code, or without a shop to
    credit (visits are only counted for shops)."""
    code = sharer(code)
    if code is None or panel.get("shop") is None:
        return panel
    link = with_params(panel["share_link"], by=code)
    return {
        **panel,
        "share_link": link,
        "share_qr": qr_svg(link),
        "poster_url": with_params(panel["poster_url"], by=code),
    }


def share_title(shop: Shop | None, product: Product | None) -> str:
    """What the share is called in a chat: the product's name, else the shop's."""
    if product is not None:
        return product.name
    return shop.name if shop is not None else current_app.config["SHOP_NAME"]


def qr_svg(url: str) -> Markup:
    """An inline SVG QR code of ``url`` marked as scanned (``qr_link``):
    scalable by CSS (no fixed size), on a white background so it scans in dark
    mode too, named for screen readers (by the link as shared)."""
    label = _("QR code for %(url)s", url=url)
    svg = make_qr(qr_link(url)).svg_inline(
        scale=4, border=2, light="#fff", omitsize=True, title=label, svgclass="qr"
    )
    return Markup(
        svg.replace("<svg ", f'<svg role="img" aria-label="{escape(label)}" ', 1)
    )


def make_qr(url: str) -> segno.QRCode:
    # Never a Micro QR, which many phone scanners cannot read; segno raises the
    # error correction above "M" when that costs no extra size.
    return segno.make_qr(url, error="m")


# The poster


def poster_font(size: int, bold: bool = False) -> ImageFont.ImageFont:
    """The configured CJK font (``POSTER_FONT``/``POSTER_FONT_BOLD``) at ``size``.

    A missing or unreadable file is logged once and replaced by Pillow's own
    font, which has no Chinese glyphs but never stops a poster from rendering.
    """
    path = current_app.config["POSTER_FONT_BOLD" if bold else "POSTER_FONT"]
    try:
        return _truetype(path, size)
    except OSError:
        if path not in _missing_fonts:
            _missing_fonts.add(path)
            current_app.logger.warning(
                "poster font %r missing; posters will show no Chinese", path
            )
        return ImageFont.load_default(size=size)


def _truetype(path: str, size: int) -> ImageFont.FreeTypeFont:
    """``path`` at ``size``; in a collection (.ttc), its Simplified Chinese face.

    Not cached: loading takes well under a millisecond, and a FreeType face must
    not be shared by threads drawing at the same time.
    """
    return ImageFont.truetype(path, size, index=_sc_index(path))


@lru_cache(maxsize=4)
def _sc_index(path: str) -> int:
    if not path.lower().endswith(".ttc"):
        return 0
    # Noto's collection starts with the Japanese face; some characters differ.
    for index in range(16):
        try:
            family, _style = ImageFont.truetype(path, 12, index=index).getname()
        except OSError:
            break
        if family and family.endswith(" SC"):
            return index
    return 0


def wrap_text(text: str, font, width: int, max_lines: int) -> list[str]:
    """``text`` broken into at most ``max_lines`` lines no wider than ``width``:
    between words for Latin text, between any two characters for Chinese. Text
    that does not fit ends in an ellipsis."""
    lines: list[str] = []
    line = ""
    for token in WORD.findall(" ".join(text.split())):
        if font.getlength(line + token) <= width or token in NO_LINE_START:
            line += token
        elif token.isspace():
            lines.append(line)
            line = ""
        elif font.getlength(token) <= width:
            lines.append(line.rstrip())
            line = token
        else:  # a word longer than the line: break it anywhere
            for char in token:
                if line and font.getlength(line + char) > width:
                    lines.append(line)
                    line = ""
                line += char
    lines.append(line.rstrip())
    lines = [each for each in lines if each]
    if len(lines) > max_lines:
        last = lines[max_lines - 1]
        while last and font.getlength(last + "…") > width:
            last = last[:-1]
        lines = [*lines[: max_lines - 1], last.rstrip() + "…"]
    return lines


def poster_png(
    url: str, product: Product | None, shop: Shop | None, price: int | None = None
) -> bytes:
    """A portrait share poster as PNG bytes: the product (photo, name, price and
    whose pick it is) or, without a product, the shop (avatar, name, bio and a few
    of its products), with a QR code of ``url`` (marked as scanned: ``qr_link``)
    big enough to scan from a screen.
    ``price`` (a group's price) replaces the product's, which is struck through.
    """
    if product is None and shop is None:
        raise ValueError("poster_png needs a shop or a product")
    poster = Image.new("RGB", POSTER_SIZE, "#fff")
    draw = ImageDraw.Draw(poster)
    # Top: the picture; then text on the left and the QR code on the right.
    qr_left = POSTER_SIZE[0] - MARGIN - QR_BOX
    column = qr_left - 30 - MARGIN
    if product is not None:
        _product_top(poster, product)
        y = _lines(draw, TEXT_TOP, product.name, poster_font(40, True), column, 3)
        y = _price(draw, y + 12, product, price)
        if shop is not None:
            pick = _("%(name)s's pick", name=shop.owner.name)
            _lines(draw, y + 12, pick, poster_font(28), column, 2, MUTED)
    else:
        _shop_top(poster, shop)
        bio = shop.bio or _(
            "Scan to see what %(name)s picked for you.", name=shop.owner.name
        )
        _lines(draw, TEXT_TOP, bio, poster_font(30), column, 6)
    _qr(poster, qr_link(url), (qr_left, TEXT_TOP))
    _footer(draw, shop)
    return _encode(poster)


def _footer(draw: ImageDraw.ImageDraw, shop: Shop | None) -> None:
    """Under the QR code what to do with it; at the bottom whose poster it is."""
    width, height = POSTER_SIZE
    font = poster_font(22)
    centre = width - MARGIN - QR_BOX // 2
    y = TEXT_TOP + QR_BOX + 20
    for line in wrap_text(_("Scan or long-press to open"), font, QR_BOX + 40, 2):
        draw.text((centre, y), line, font=font, fill=MUTED, anchor="ma")
        y += 30
    line_y = height - 80
    draw.line((MARGIN, line_y, width - MARGIN, line_y), fill="#e3e5e8", width=2)
    if shop is not None:
        name = f"{shop.name} · {shop.owner.name}"
    else:
        name = current_app.config["SHOP_NAME"]
    font = poster_font(26, bold=True)
    for line in wrap_text(name, font, width - 2 * MARGIN, 1):
        draw.text((width // 2, line_y + 40), line, font=font, fill=INK, anchor="mm")


def _lines(draw, y, text, font, width, max_lines, fill=INK) -> int:
    """Draw ``text`` wrapped at (MARGIN, y); returns the y below it."""
    step = round(font.size * 1.35)
    for line in wrap_text(text, font, width, max_lines):
        draw.text((MARGIN, y), line, font=font, fill=fill)
        y += step
    return y


def _price(draw, y, product: Product, special: int | None = None) -> int:
    now, before = (
        (product.price, product.compare_at_price)
        if special is None
        else (special, product.price)
    )
    font = poster_font(52, bold=True)
    price = format_money(now)
    draw.text((MARGIN, y), price, font=font, fill=ACCENT)
    if before:
        was = format_money(before)
        small = poster_font(28)
        x = MARGIN + font.getlength(price) + 16
        baseline = y + font.getmetrics()[0]
        draw.text((x, baseline), was, font=small, fill=MUTED, anchor="ls")
        middle = baseline - small.size // 3
        draw.line((x, middle, x + small.getlength(was), middle), fill=MUTED, width=2)
    return y + 72


def _product_top(poster: Image.Image, product: Product) -> None:
    """The product's cover photo in a rounded square, or a tinted panel with its
    first character when it has none."""
    box = (MARGIN, MARGIN, POSTER_SIZE[0] - MARGIN, 710)
    photo = _photo(product)
    if photo is None:
        _panel(poster, box, TINT, product.name[:1], ACCENT)
    else:
        _paste_rounded(poster, photo, box)


def _shop_top(poster: Image.Image, shop: Shop) -> None:
    """An accent panel with the shop's avatar (or initial) and name, above up to
    three of its products' photos."""
    width = POSTER_SIZE[0]
    photos = [p for p in (_photo(item.product) for item in _shown_items(shop)) if p]
    panel_bottom = 480 if photos else 710
    box = (MARGIN, MARGIN, width - MARGIN, panel_bottom)
    _panel(poster, box, ACCENT, "", ACCENT)
    draw = ImageDraw.Draw(poster)
    centre = width // 2
    avatar = _avatar(shop)
    side = 180
    top = MARGIN + (40 if photos else 110)
    disc = (centre - side // 2, top, centre + side // 2, top + side)
    if avatar is not None:
        mask = Image.new("L", (side, side), 0)
        ImageDraw.Draw(mask).ellipse((0, 0, side - 1, side - 1), fill=255)
        poster.paste(ImageOps.fit(avatar, (side, side)), disc[:2], mask)
    else:
        draw.ellipse(disc, fill="#fff")
        initial = shop.name[:1]
        font = poster_font(96, bold=True)
        draw.text(
            (centre, top + side // 2), initial, font=font, fill=ACCENT, anchor="mm"
        )
    y = top + side + 24
    font = poster_font(48, bold=True)
    for line in wrap_text(shop.name, font, width - 4 * MARGIN, 2):
        draw.text((centre, y), line, font=font, fill="#fff", anchor="ma")
        y += 64
    byline = _("by %(name)s", name=shop.owner.name)
    draw.text(
        (centre, y + 4), byline, font=poster_font(28), fill="#fde7da", anchor="ma"
    )
    gap, count = 20, 3
    side = (width - 2 * MARGIN - gap * (count - 1)) // count
    shown = photos[:count]
    left = (width - len(shown) * side - (len(shown) - 1) * gap) // 2  # centred
    for photo in shown:
        _paste_rounded(poster, photo, (left, 500, left + side, 500 + side))
        left += side + gap


def _shown_items(shop: Shop) -> list:
    return [i for i in services.shop_items(shop) if i.product.active][:3]


def _panel(poster, box, colour, letter: str, letter_colour) -> None:
    draw = ImageDraw.Draw(poster)
    draw.rounded_rectangle(box, radius=24, fill=colour)
    if letter.strip():
        centre = ((box[0] + box[2]) // 2, (box[1] + box[3]) // 2)
        font = poster_font(240, bold=True)
        draw.text(centre, letter, font=font, fill=letter_colour, anchor="mm")


def _paste_rounded(poster: Image.Image, photo: Image.Image, box) -> None:
    size = (box[2] - box[0], box[3] - box[1])
    fitted = ImageOps.fit(photo, size, Image.LANCZOS)
    mask = Image.new("L", size, 0)
    ImageDraw.Draw(mask).rounded_rectangle((0, 0, *size), radius=24, fill=255)
    poster.paste(fitted, box[:2], mask)


def _photo(product: Product) -> Image.Image | None:
    """The widest stored file of the product's cover, flattened on white; None
    without a photo or when the file is gone."""
    cover = product.cover
    if cover is None:
        return None
    return _open(cover.filename(max(cover.width_list)))


def _avatar(shop: Shop) -> Image.Image | None:
    if not shop.avatar_key:
        return None
    return _open(f"{shop.avatar_key}-{max(services.AVATAR_WIDTHS)}.webp")


def _open(filename: str) -> Image.Image | None:
    path = services.upload_folder() / filename
    try:
        with Image.open(path) as image:
            image.load()
    except OSError:
        current_app.logger.warning("poster: cannot read %s", path)
        return None
    if image.mode in ("RGBA", "LA", "P"):
        flat = Image.new("RGB", image.size, "#fff")
        flat.paste(image.convert("RGBA"), mask=image.convert("RGBA"))
        return flat
    return image.convert("RGB")


def _qr(poster: Image.Image, url: str, at: tuple[int, int]) -> None:
    """Paste ``url``'s QR code, whole modules only, centred in the QR box."""
    qr = make_qr(url)
    modules = qr.symbol_size(scale=1, border=0)[0]
    scale = max(QR_BOX // modules, -(-240 // modules))
    buffer = BytesIO()
    qr.save(buffer, kind="png", scale=scale, border=0)
    image = Image.open(BytesIO(buffer.getvalue())).convert("RGB")
    offset = (QR_BOX - image.width) // 2
    poster.paste(image, (at[0] + offset, at[1] + offset))


def _encode(poster: Image.Image) -> bytes:
    """PNG with a 256-colour palette: a third of the bytes of full colour, text
    and QR still crisp, photos dithered so they do not band. (Octree keeps small
    patches of colour that median cut averages away, and is the fastest.)"""
    reduced = poster.quantize(
        POSTER_COLOURS,
        method=Image.Quantize.FASTOCTREE,
        dither=Image.Dither.FLOYDSTEINBERG,
    )
    buffer = BytesIO()
    reduced.save(buffer, "PNG", optimize=True)
    return buffer.getvalue()
