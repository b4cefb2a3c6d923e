"""Pure input checks: each returns a normalised value or raises ``ValueError``.

The functions are written to sit behind pydantic v2 ``AfterValidator``s, so a
bad value comes back from the API as a 422 that names the field; the message
itself is read by a hotline operator, so it says what is wrong and what is
expected, never just "invalid".

Rules
-----
VIN (``check_vin``)
    Stripped and upper-cased; exactly 17 characters; digits and the letters
    A-Z except I, O and Q (they would be confused with 1 and 0); the 9th
    character is the check digit of ISO 3779 / the North American scheme,
    which GB 16735 also makes mandatory for Chinese VINs. Letters are
    transliterated A-H = 1-8, J-R = 1-9 (no Q, and O is not used),
    S-Z = 2-9; each of the 17 values is multiplied by the weights
    8 7 6 5 4 3 2 10 0 9 8 7 6 5 4 3 2, the sum is taken modulo 11, and a
    remainder of 10 is written 'X'.

Phone (``check_phone``)
    Separators (spaces, dashes, dots, brackets) are ignored; a leading +86,
    0086 or 86 country code is dropped. Then the number must be one of:

    - a mobile: 11 digits, ``1`` then ``3``-``9`` -> ``13800138000``;
    - a landline: ``0`` + area code + a 7-8 digit local number. The area code
      length follows the national numbering plan: ``010`` and ``02x`` are two
      digits after the 0 (local number 8 digits), every other code is three
      (local number 7 or 8 digits) -> ``0371-66299555``, ``010-12345678``;
    - a 400/800 service number: ``400`` or ``800`` + 7 digits ->
      ``800-8837000`` (the form the maker prints for its complaint hotline).

    Extensions are not accepted: the hotline calls the number back, it does
    not dial through a switchboard.

Coordinates (``check_latitude``, ``check_longitude``)
    Finite numbers within -90..90 and -180..180 degrees (WGS-84, as reported
    by phones and van GPS units).

Dates and times
    ``check_not_future_date`` rejects a date after today in China
    (Asia/Shanghai), which is the calendar the purchase invoice uses.
    ``check_recorded_at`` requires a time-zone-aware instant (a naive time from
    a tablet could be local or UTC and the eight hours matter), rejects one
    more than ``tolerance_s`` seconds ahead of the server clock (device clocks
    drift a little, a day ahead is a broken clock) and returns it in UTC.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

__all__ = [
    "CHINA_TZ",
    "check_latitude",
    "check_longitude",
    "check_not_future_date",
    "check_phone",
    "check_recorded_at",
    "check_vin",
    "vin_check_digit",
    "vin_with_check_digit",
]

CHINA_TZ = ZoneInfo("Asia/Shanghai")

# ---------------------------------------------------------------------------
# VIN

_VIN_LENGTH = 17
_VIN_CHECK_POSITION = 8  # 0-based index of the 9th character
_VIN_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)
_VIN_LETTER_VALUES = {
    **dict(zip("ABCDEFGH", range(1, 9), strict=True)),
    **dict(zip("JKLMN", range(1, 6), strict=True)),
    "P": 7,
    "R": 9,
    **dict(zip("STUVWXYZ", range(2, 10), strict=True)),
}
_VIN_VALUES = {**{str(d): d for d in range(10)}, **_VIN_LETTER_VALUES}


def _vin_shape(vin: str) -> str:
    """Normalise and check length and alphabet; return the upper-cased VIN."""
    vin = vin.strip().upper()
    if len(vin) != _VIN_LENGTH:
        raise ValueError(f"VIN must be exactly 17 characters, got {len(vin)} ({vin!r})")
    for position, char in enumerate(vin, start=1):
        if char in "IOQ":
            raise ValueError(
                f"VIN must not contain the letter {char!r} (character {position}); "
                "I, O and Q are never used in a VIN, check for 1 or 0"
            )
        if char not in _VIN_VALUES:
            raise ValueError(
                f"VIN may contain only digits and the letters A-Z (without I, O, Q); "
                f"character {position} is {char!r}"
            )
    return vin


def vin_check_digit(vin: str) -> str:
    """The check digit ('0'-'9' or 'X') that position 9 of ``vin`` should hold.

    The 9th character itself has weight 0, so whatever it holds does not
    matter; ``vin`` must already have the right length and alphabet.
    """
    total = sum(_VIN_VALUES[c] * w for c, w in zip(vin, _VIN_WEIGHTS, strict=True))
    remainder = total % 11
    return "X" if remainder == 10 else str(remainder)


def check_vin(vin: str) -> str:
    """Return ``vin`` stripped and upper-cased if it is a well-formed VIN."""
    vin = _vin_shape(vin)
    expected = vin_check_digit(vin)
    actual = vin[_VIN_CHECK_POSITION]
    if actual != expected:
        raise ValueError(
            f"VIN check digit (9th character) should be {expected!r}, got {actual!r}; "
            "the VIN was probably mistyped, read it again from the windscreen or licence"
        )
    return vin


def vin_with_check_digit(first17: str) -> str:
    """Return ``first17`` with its 9th character replaced by the correct check digit.

    Used by tests and the simulator to turn a made-up VIN into a valid one;
    the input's 9th character is a placeholder and may be anything legal.
    """
    vin = _vin_shape(first17)
    pos = _VIN_CHECK_POSITION
    return vin[:pos] + vin_check_digit(vin) + vin[pos + 1 :]


# ---------------------------------------------------------------------------
# Phone numbers

_PHONE_ALLOWED = re.compile(r"\+?[0-9 \-.()]+")
_MOBILE = re.compile(r"1[3-9][0-9]{9}")
_SERVICE = re.compile(r"(400|800)([0-9]{7})")
_PHONE_EXPECTED = (
    "expected a Chinese mobile number (11 digits starting 13-19, e.g. 13800138000), "
    "a landline with its area code (e.g. 0371-66299555) "
    "or a 400/800 service number (e.g. 800-8837000)"
)


def _national_digits(phone: str) -> str:
    """Digits of ``phone`` without separators and without the +86 country code."""
    plus = phone.startswith("+")
    digits = re.sub(r"[^0-9]", "", phone)
    if plus or digits.startswith("00"):
        if digits.startswith("0086"):
            digits = digits[4:]
        elif plus and digits.startswith("86"):
            digits = digits[2:]
        else:
            raise ValueError(
                f"phone number {phone!r} is not a Chinese number (country code 86); "
                + _PHONE_EXPECTED
            )
    elif digits.startswith("86"):
        # No domestic number begins with 86 (mobiles start with 1, landlines
        # with 0, service numbers with 400/800), so a bare 86 is the country code.
        digits = digits[2:]
    else:
        return digits
    # In international form the landline's trunk 0 is dropped ("+86 371 ...");
    # mobiles and 400/800 numbers are written the same either way.
    if not (_MOBILE.fullmatch(digits) or _SERVICE.fullmatch(digits) or digits.startswith("0")):
        digits = "0" + digits
    return digits


def _landline(digits: str, phone: str) -> str:
    # Numbering plan: 010 and 020-029 are the big cities with two-digit codes
    # and eight-digit local numbers; every other code has three digits.
    two_digit_area = digits[1:2] in ("1", "2")
    if digits[1:2] == "1" and digits[2:3] != "0":
        raise ValueError(
            f"phone number {phone!r}: no area code starts 01 except 010 (Beijing); "
            + _PHONE_EXPECTED
        )
    area, local = (digits[:3], digits[3:]) if two_digit_area else (digits[:4], digits[4:])
    allowed = (8,) if two_digit_area else (7, 8)
    if len(local) not in allowed:
        wanted = "8 digits" if two_digit_area else "7 or 8 digits"
        raise ValueError(
            f"phone number {phone!r}: the local number after area code {area} "
            f"should have {wanted}, got {len(local)} (extensions are not accepted)"
        )
    return f"{area}-{local}"


def check_phone(phone: str) -> str:
    """Normalise a Chinese phone number (see the module docstring for the forms)."""
    text = phone.strip()
    if not text:
        raise ValueError("phone number is empty; " + _PHONE_EXPECTED)
    if not _PHONE_ALLOWED.fullmatch(text):
        raise ValueError(
            f"phone number {phone!r} may contain only digits, spaces, dashes, "
            "brackets and a leading +"
        )
    digits = _national_digits(text)
    if _MOBILE.fullmatch(digits):
        return digits
    service = _SERVICE.fullmatch(digits)
    if service:
        return f"{service.group(1)}-{service.group(2)}"
    if digits.startswith("0") and len(digits) > 1:
        return _landline(digits, phone)
    if digits.startswith("1") and len(digits) == 11:
        raise ValueError(
            f"phone number {phone!r}: a mobile number's second digit is 3-9, "
            f"got {digits[1]!r}; " + _PHONE_EXPECTED
        )
    if digits.startswith("1"):
        raise ValueError(
            f"phone number {phone!r}: a mobile number has 11 digits, got {len(digits)}; "
            + _PHONE_EXPECTED
        )
    if digits[:3] in ("400", "800"):
        raise ValueError(
            f"phone number {phone!r}: a {digits[:3]} service number has 10 digits, "
            f"got {len(digits)}"
        )
    raise ValueError(f"phone number {phone!r} is not recognised; " + _PHONE_EXPECTED)


# ---------------------------------------------------------------------------
# Coordinates


def _check_degrees(value: float, name: str, limit: float) -> float:
    v = float(value)
    if not math.isfinite(v):
        raise ValueError(f"{name} must be a finite number of degrees, got {value!r}")
    if not -limit <= v <= limit:
        raise ValueError(
            f"{name} must be between {-limit:g} and {limit:g} degrees, got {value!r}"
            + ("; latitude and longitude may be swapped" if name == "latitude" else "")
        )
    return v


def check_latitude(v: float) -> float:
    """Return ``v`` as a float if it is a finite latitude in -90..90 degrees."""
    return _check_degrees(v, "latitude", 90.0)


def check_longitude(v: float) -> float:
    """Return ``v`` as a float if it is a finite longitude in -180..180 degrees."""
    return _check_degrees(v, "longitude", 180.0)


# ---------------------------------------------------------------------------
# Dates and times


def check_not_future_date(d: date, today: date | None = None) -> date:
    """Return ``d`` if it is not after ``today`` (default: today in Asia/Shanghai)."""
    if isinstance(d, datetime):
        # A datetime is a date subclass but does not compare with one.
        d = d.date()
    if today is None:
        today = datetime.now(CHINA_TZ).date()
    if d > today:
        raise ValueError(
            f"date {d.isoformat()} is in the future (today in China is "
            f"{today.isoformat()}); expected today or an earlier date"
        )
    return d


def check_recorded_at(
    t: datetime, now: datetime | None = None, tolerance_s: float = 120
) -> datetime:
    """Return ``t`` in UTC if it carries an offset and is not ahead of ``now``.

    ``now`` (default: the system clock) must itself be aware; ``t`` may be up
    to ``tolerance_s`` seconds ahead of it to allow for device clock drift.
    """
    if t.tzinfo is None or t.utcoffset() is None:
        raise ValueError(
            f"time {t.isoformat()} has no time zone; include an offset such as Z "
            "or +08:00 (e.g. 2024-05-01T08:30:00+08:00)"
        )
    if now is None:
        now = datetime.now(UTC)
    elif now.tzinfo is None or now.utcoffset() is None:
        # A caller bug, not bad input: it must not surface as a 422.
        raise TypeError("check_recorded_at: now must be timezone-aware")
    ahead = t - now
    if ahead > timedelta(seconds=tolerance_s):
        raise ValueError(
            f"time {t.isoformat()} is {ahead.total_seconds():.0f} s in the future "
            f"(server time {now.astimezone(UTC).isoformat()}, at most "
            f"{tolerance_s:g} s of clock drift allowed); check the device clock"
        )
    try:
        return t.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00:00+02:00 is in the year 0 in UTC
        raise ValueError(f"time {t.isoformat()} is out of range in UTC") from None
