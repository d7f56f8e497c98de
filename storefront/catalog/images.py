"""Product photos: validated by content with Pillow, stored as a few WebP widths."""

import secrets
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path

from flask_babel import lazy_gettext as _l
from PIL import Image, ImageOps, UnidentifiedImageError

from storefront.errors import DomainError

#: Formats accepted from uploads, as Pillow names them; judged by content, not name.
ACCEPTED_FORMATS = {"JPEG", "PNG", "WEBP", "GIF"}


class ImageError(DomainError):
    pass


@dataclass
class ResizedImage:
    """An upload that passed validation, resized, not yet written anywhere."""

    key: str
    width: int
    height: int
    #: WebP bytes by width in pixels.
    files: dict[int, bytes] = field(default_factory=dict)

    @property
    def widths(self) -> str:
        return ",".join(str(w) for w in sorted(self.files))


def resize_upload(
    data: bytes, widths: list[int], max_pixels: int, square: bool = False
) -> ResizedImage:
    """Decode ``data`` as an image and encode it as WebP at each of ``widths``.

    Never enlarges: widths above the original collapse into the original width,
    except with ``square`` (avatars), where the centre square is scaled to the
    largest width first.
    Raises ``ImageError`` for anything that is not a JPEG, PNG, WebP or GIF image of
    at most ``max_pixels`` pixels.
    """
    try:
        with Image.open(BytesIO(data)) as probe:
            if probe.format not in ACCEPTED_FORMATS:
                raise ImageError(_l("Upload a JPEG, PNG, WebP or GIF image."))
            if probe.width * probe.height > max_pixels:
                raise ImageError(_l("That image's resolution is too high."))
            probe.verify()
        with Image.open(BytesIO(data)) as original:
            image = ImageOps.exif_transpose(original)  # phone photos lie sideways
            image = image.convert("RGBA" if has_alpha(image) else "RGB")
            if square:  # avatars: always the full set of sizes, even from a small photo
                image = ImageOps.fit(image, (max(widths),) * 2)
    except ImageError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError):
        raise ImageError(_l("That file is not an image we can read.")) from None
    resized = ResizedImage(
        key=secrets.token_hex(12), width=image.width, height=image.height
    )
    for width in sorted({min(w, image.width) for w in widths}):
        height = max(1, round(image.height * width / image.width))
        copy = (
            image
            if width == image.width
            else image.resize((width, height), Image.LANCZOS)
        )
        buffer = BytesIO()
        copy.save(buffer, "WEBP", quality=80, method=4)
        resized.files[width] = buffer.getvalue()
    widest = max(resized.files)
    resized.width, resized.height = widest, round(image.height * widest / image.width)
    return resized


def has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA") or "transparency" in image.info


def write_files(folder: Path, resized: ResizedImage) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for width, data in resized.files.items():
        (folder / f"{resized.key}-{width}.webp").write_bytes(data)


def delete_files(folder: Path, key: str, widths: list[int]) -> None:
    for width in widths:
        (folder / f"{key}-{width}.webp").unlink(missing_ok=True)
