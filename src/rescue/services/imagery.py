"""What a photo's bytes say about it: its real type, its size, and what its metadata claims.

The type is read from the content by Pillow, never from the file's name or
the client's `Content-Type`: a JPEG, PNG or WebP image that decodes, or a
refusal. EXIF may claim when and where the photo was taken (phones write the
GPS position); both are kept as claims (the record says "the photo says",
not "it was"). The position is personal data about whoever held the camera,
so copies served to anyone but auditors have it removed.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from PIL import Image, UnidentifiedImageError

from rescue.domain.errors import Invalid

CONTENT_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
MAX_PIXELS = 80_000_000  # a decompression bomb is refused, not decoded

# EXIF tags (CIPA DC-008).
GPS_IFD = 0x8825
EXIF_IFD = 0x8769
DATETIME = 0x0132
DATETIME_ORIGINAL = 0x9003
GPS_LAT_REF, GPS_LAT, GPS_LON_REF, GPS_LON = 1, 2, 3, 4


@dataclass(frozen=True, slots=True)
class PhotoFacts:
    content_type: str
    width: int
    height: int
    taken_at: str | None  # as the camera wrote it, ISO-like, no zone (EXIF has none)
    gps: dict[str, float] | None  # {"lat", "lon"} the metadata claims


def inspect(data: bytes) -> PhotoFacts:
    """The photo's facts; `Invalid("file", ...)` for anything that is not a whole image."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            kind = image.format or ""
            if kind not in CONTENT_TYPES:
                raise Invalid("file", f"a photo must be JPEG, PNG or WebP, not {kind or 'this'}")
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise Invalid("file", f"the photo has {width}x{height} pixels; too many")
            exif = image.getexif()
            image.load()  # decodes the pixels: a truncated or corrupt file is refused here
    except Invalid:
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        raise Invalid("file", "the file is not a readable JPEG, PNG or WebP image") from None
    return PhotoFacts(CONTENT_TYPES[kind], width, height, _taken_at(exif), _gps(exif))


def _taken_at(exif: Any) -> str | None:
    try:
        raw = exif.get_ifd(EXIF_IFD).get(DATETIME_ORIGINAL) or exif.get(DATETIME)
        if not isinstance(raw, str):
            return None
        return datetime.strptime(raw.strip("\x00 "), "%Y:%m:%d %H:%M:%S").isoformat()
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def _degrees(value: Any) -> float:
    d, m, s = (float(part) for part in value)
    return d + m / 60 + s / 3600


def _gps(exif: Any) -> dict[str, float] | None:
    try:
        gps = exif.get_ifd(GPS_IFD)
        if GPS_LAT not in gps or GPS_LON not in gps:
            return None
        lat = _degrees(gps[GPS_LAT]) * (-1 if gps.get(GPS_LAT_REF) == "S" else 1)
        lon = _degrees(gps[GPS_LON]) * (-1 if gps.get(GPS_LON_REF) == "W" else 1)
    except (ValueError, TypeError, ZeroDivisionError, KeyError, AttributeError):
        return None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    return {"lat": round(lat, 6), "lon": round(lon, 6)}


def without_location(data: bytes) -> bytes:
    """The photo without its GPS metadata (re-encoded); as it is if it has none."""
    with Image.open(io.BytesIO(data)) as image:
        exif = image.getexif()
        if GPS_IFD not in exif:
            return data
        del exif[GPS_IFD]
        kind = image.format or "JPEG"
        out = io.BytesIO()
        options: dict[str, Any] = {"exif": exif.tobytes()}
        if kind == "JPEG":
            options["quality"] = "keep"  # the source's own quantisation: no visible loss
        elif kind == "WEBP":
            options["quality"] = 90
        image.save(out, format=kind, **options)
        return out.getvalue()


def sample_photo(
    text_colour: tuple[int, int, int],
    *,
    lat: float | None = None,
    lon: float | None = None,
    taken_at: datetime | None = None,
    size: tuple[int, int] = (96, 64),
) -> bytes:
    """A small JPEG with the EXIF a phone would write (position, time): the simulator's
    crews send these, and the tests use them."""
    image = Image.new("RGB", size, (235, 238, 242))
    for x in range(size[0]):
        for y in range(size[1] // 3, 2 * size[1] // 3):
            image.putpixel((x, y), text_colour)
    exif = Image.Exif()
    if taken_at is not None:
        stamp = taken_at.strftime("%Y:%m:%d %H:%M:%S")
        exif[DATETIME] = stamp
        exif.get_ifd(EXIF_IFD)[DATETIME_ORIGINAL] = stamp
    if lat is not None and lon is not None:
        gps = exif.get_ifd(GPS_IFD)
        gps[GPS_LAT_REF] = "N" if lat >= 0 else "S"
        gps[GPS_LAT] = _dms(abs(lat))
        gps[GPS_LON_REF] = "E" if lon >= 0 else "W"
        gps[GPS_LON] = _dms(abs(lon))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=80, exif=exif.tobytes())
    return out.getvalue()


def _dms(value: float) -> tuple[float, float, float]:
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    seconds = round((value - degrees - minutes / 60) * 3600, 4)
    return (float(degrees), float(minutes), seconds)
