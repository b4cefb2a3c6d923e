"""The pure input checks of rescue.validation: accepted forms, normalisation, messages."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Annotated

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import AfterValidator, BaseModel, ValidationError

from rescue.domain.validation import (
    check_latitude,
    check_longitude,
    check_not_future_date,
    check_phone,
    check_recorded_at,
    check_vin,
    vin_check_digit,
    vin_with_check_digit,
)

# The textbook example of the North American check digit (remainder 10 -> 'X').
TEXTBOOK_VIN = "1M8GDM9AXKP042788"
# Zhengzhou Nissan's WMI is LJN; the 9th character here is a placeholder.
ZHENGZHOU_NISSAN = "LJNTGU2S0JN000001"
VIN_ALPHABET = "0123456789ABCDEFGHJKLMNPRSTUVWXYZ"


# --- VIN -------------------------------------------------------------------


def test_textbook_vin_is_valid() -> None:
    assert check_vin(TEXTBOOK_VIN) == TEXTBOOK_VIN


def test_vin_is_stripped_and_upper_cased() -> None:
    assert check_vin("  1m8gdm9axkp042788\n") == TEXTBOOK_VIN


def test_vin_with_check_digit_makes_a_chinese_vin_valid() -> None:
    # 1. A made-up Zhengzhou Nissan VIN gets its check digit computed.
    vin = vin_with_check_digit(ZHENGZHOU_NISSAN)
    assert vin == "LJNTGU2S4JN000001"
    # 2. Only position 9 changed, and the result passes the check.
    assert vin[:8] + vin[9:] == ZHENGZHOU_NISSAN[:8] + ZHENGZHOU_NISSAN[9:]
    assert check_vin(vin) == vin


def test_vin_with_check_digit_keeps_a_valid_vin() -> None:
    assert vin_with_check_digit(TEXTBOOK_VIN) == TEXTBOOK_VIN
    assert vin_with_check_digit("1M8GDM9A0KP042788") == TEXTBOOK_VIN


def test_wrong_check_digit_names_expected_and_actual() -> None:
    vin = vin_with_check_digit(ZHENGZHOU_NISSAN)  # check digit '4'
    wrong = vin[:8] + "3" + vin[9:]
    with pytest.raises(
        ValueError, match=r"VIN check digit \(9th character\) should be '4', got '3'"
    ):
        check_vin(wrong)


def test_textbook_vin_with_digit_instead_of_x_is_rejected() -> None:
    with pytest.raises(ValueError, match="should be 'X', got '0'"):
        check_vin("1M8GDM9A0KP042788")


@pytest.mark.parametrize("letter", ["I", "O", "Q"])
def test_vin_letters_i_o_q_are_rejected(letter: str) -> None:
    vin = "LJN" + letter + "GU2S4JN000001"
    with pytest.raises(
        ValueError, match=f"must not contain the letter '{letter}' \\(character 4\\)"
    ):
        check_vin(vin)


@pytest.mark.parametrize("vin", ["LJNTGU2S4JN00000*", "LJNTGU2S4JN 00001", "LJNTGU2S4JN0000É1"])
def test_vin_other_characters_are_rejected(vin: str) -> None:
    with pytest.raises(ValueError, match="only digits and the letters A-Z"):
        check_vin(vin)


@pytest.mark.parametrize("vin", ["", "LJNTGU2S4JN00001", "LJNTGU2S4JN0000011", "1M8GDM9AXKP04278"])
def test_vin_wrong_length_is_rejected(vin: str) -> None:
    with pytest.raises(ValueError, match=f"exactly 17 characters, got {len(vin)}"):
        check_vin(vin)


def test_vin_with_check_digit_rejects_bad_shape() -> None:
    with pytest.raises(ValueError, match="17 characters"):
        vin_with_check_digit("LJNTGU2S")
    with pytest.raises(ValueError, match="'O'"):
        vin_with_check_digit("LJNTGU2S0JN0O0001")


@given(st.text(alphabet=VIN_ALPHABET, min_size=17, max_size=17))
def test_any_vin_made_valid_passes_and_any_other_digit_fails(raw: str) -> None:
    vin = vin_with_check_digit(raw)
    assert check_vin(vin) == vin
    for other in "0123456789X":
        if other != vin[8]:
            with pytest.raises(ValueError, match="check digit"):
                check_vin(vin[:8] + other + vin[9:])


def _vin_value(c: str) -> int:
    # Transliteration of the standard, restated here independently of the module.
    if c.isdigit():
        return int(c)
    for letters, first in (("ABCDEFGH", 1), ("JKLMN", 1), ("P", 7), ("R", 9), ("STUVWXYZ", 2)):
        if c in letters:
            return first + letters.index(c)
    raise AssertionError(c)


@given(
    st.text(alphabet=VIN_ALPHABET, min_size=17, max_size=17),
    st.integers(min_value=0, max_value=16).filter(lambda i: i != 8),
    st.sampled_from(VIN_ALPHABET),
)
def test_any_single_character_typo_is_caught(raw: str, position: int, typo: str) -> None:
    # Every weight outside position 9 is 2..10 and 11 is prime, so changing one
    # character to another with a different value always changes the sum mod 11.
    vin = vin_with_check_digit(raw)
    if _vin_value(typo) == _vin_value(vin[position]):
        return
    with pytest.raises(ValueError, match="check digit"):
        check_vin(vin[:position] + typo + vin[position + 1 :])


def test_check_digit_matches_a_hand_computation() -> None:
    weights = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)
    vin = vin_with_check_digit(ZHENGZHOU_NISSAN)
    remainder = sum(_vin_value(c) * w for c, w in zip(vin, weights, strict=True)) % 11
    assert vin_check_digit(vin) == vin[8] == ("X" if remainder == 10 else str(remainder))


# --- phone -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        # mobiles, with and without country code and separators
        ("13800138000", "13800138000"),
        ("138 0013 8000", "13800138000"),
        ("138-0013-8000", "13800138000"),
        ("+86 138 0013 8000", "13800138000"),
        ("+8613800138000", "13800138000"),
        ("86 13800138000", "13800138000"),
        ("0086-138-0013-8000", "13800138000"),
        ("19912345678", "19912345678"),
        # landlines
        ("0371-66299555", "0371-66299555"),
        ("037166299555", "0371-66299555"),
        ("(0371)66299555", "0371-66299555"),
        ("(0371) 6629-9555", "0371-66299555"),
        ("010 12345678", "010-12345678"),
        ("021-87654321", "021-87654321"),
        ("0898-6123456", "0898-6123456"),  # 7-digit local number
        ("+86 371 6629 9555", "0371-66299555"),  # international form drops the 0
        ("+86 10 1234 5678", "010-12345678"),
        ("+86 (0)371 66299555", "0371-66299555"),
        # service numbers
        ("800-8837000", "800-8837000"),
        ("8008837000", "800-8837000"),
        ("400-810-5050", "400-8105050"),
        ("400 810 5050", "400-8105050"),
    ],
)
def test_phone_forms_are_normalised(raw: str, normalised: str) -> None:
    assert check_phone(raw) == normalised


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("12800138000", "second digit is 3-9"),
        ("1380013800", "mobile number has 11 digits, got 10"),
        ("138001380001", "mobile number has 11 digits, got 12"),
        ("0371-662995", "local number after area code 0371 should have 7 or 8 digits, got 6"),
        ("0371-662995551", "should have 7 or 8 digits, got 9"),
        ("010-1234567", "area code 010 should have 8 digits, got 7"),
        ("0371-66299555-801", "extensions are not accepted"),
        ("011-12345678", "no area code starts 01 except 010"),
        ("400-810-505", "400 service number has 10 digits, got 9"),
        ("+1 415 555 0100", "not a Chinese number"),
        ("001 415 555 0100", "not a Chinese number"),
        ("66299555", "not recognised"),
        ("138OO138OOO", "only digits, spaces, dashes"),
        ("phone: 13800138000", "only digits, spaces, dashes"),
        ("138+00138000", "only digits, spaces, dashes"),
    ],
)
def test_bad_phone_numbers_are_rejected_with_a_reason(raw: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        check_phone(raw)


def test_phone_message_says_what_is_expected() -> None:
    with pytest.raises(ValueError) as info:
        check_phone("66299555")
    assert "0371-66299555" in str(info.value)
    assert "mobile" in str(info.value)


# --- coordinates -----------------------------------------------------------


@pytest.mark.parametrize("value", [-90, -90.0, 0, 34.7466, 90.0])
def test_latitudes_in_range(value: float) -> None:
    assert check_latitude(value) == float(value)
    assert isinstance(check_latitude(value), float)


@pytest.mark.parametrize("value", [-180.0, 0, 113.6254, 180])
def test_longitudes_in_range(value: float) -> None:
    assert check_longitude(value) == float(value)


@pytest.mark.parametrize("value", [-90.0001, 90.5, 113.6254])
def test_latitude_out_of_range(value: float) -> None:
    with pytest.raises(ValueError, match="latitude must be between -90 and 90 degrees"):
        check_latitude(value)


def test_swapped_coordinates_get_a_hint() -> None:
    with pytest.raises(ValueError, match="swapped"):
        check_latitude(113.6254)


@pytest.mark.parametrize("value", [-180.01, 180.01, 360.0])
def test_longitude_out_of_range(value: float) -> None:
    with pytest.raises(ValueError, match="longitude must be between -180 and 180 degrees"):
        check_longitude(value)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_coordinates_must_be_finite(value: float) -> None:
    with pytest.raises(ValueError, match="finite"):
        check_latitude(value)
    with pytest.raises(ValueError, match="finite"):
        check_longitude(value)


# --- dates -----------------------------------------------------------------


def test_past_and_today_dates_pass() -> None:
    today = date(2024, 5, 1)
    assert check_not_future_date(date(2023, 1, 15), today) == date(2023, 1, 15)
    assert check_not_future_date(today, today) == today


def test_future_date_is_rejected() -> None:
    with pytest.raises(ValueError, match="2024-05-02 is in the future"):
        check_not_future_date(date(2024, 5, 2), today=date(2024, 5, 1))


def test_default_today_is_china_time() -> None:
    # Asia/Shanghai is UTC+8 all year (no daylight saving).
    china_today = datetime.now(timezone(timedelta(hours=8))).date()
    assert check_not_future_date(china_today) == china_today
    with pytest.raises(ValueError, match="future"):
        check_not_future_date(china_today + timedelta(days=1))


def test_datetime_given_as_date_is_compared_by_its_date() -> None:
    assert check_not_future_date(datetime(2024, 5, 1, 23, 0), date(2024, 5, 1)) == date(2024, 5, 1)


# --- recorded_at -----------------------------------------------------------

NOW = datetime(2024, 5, 1, 0, 30, tzinfo=UTC)
BEIJING = timezone(timedelta(hours=8))


def test_aware_time_is_returned_in_utc() -> None:
    t = datetime(2024, 5, 1, 8, 29, tzinfo=BEIJING)
    result = check_recorded_at(t, now=NOW)
    assert result == t
    assert result.tzinfo == UTC
    assert result.hour == 0


def test_naive_time_is_rejected_with_offset_hint() -> None:
    with pytest.raises(ValueError, match=r"no time zone; include an offset such as Z or \+08:00"):
        check_recorded_at(datetime(2024, 5, 1, 8, 29), now=NOW)


def test_small_clock_drift_is_tolerated() -> None:
    t = NOW + timedelta(seconds=119)
    assert check_recorded_at(t, now=NOW) == t
    assert check_recorded_at(NOW + timedelta(seconds=120), now=NOW) == NOW + timedelta(seconds=120)


def test_future_time_beyond_tolerance_is_rejected() -> None:
    with pytest.raises(ValueError, match="300 s in the future"):
        check_recorded_at(NOW + timedelta(seconds=300), now=NOW)
    with pytest.raises(ValueError, match="in the future"):
        check_recorded_at(NOW + timedelta(seconds=10), now=NOW, tolerance_s=5)


def test_eight_hours_ahead_as_utc_is_caught() -> None:
    # A tablet sending Beijing wall-clock time labelled Z is 8 h in the future.
    wrong = datetime(2024, 5, 1, 8, 30, tzinfo=UTC)
    with pytest.raises(ValueError, match="check the device clock"):
        check_recorded_at(wrong, now=NOW)


def test_default_now_is_the_system_clock() -> None:
    t = datetime.now(UTC) - timedelta(seconds=1)
    assert check_recorded_at(t) == t
    with pytest.raises(ValueError, match="future"):
        check_recorded_at(datetime.now(UTC) + timedelta(hours=1))


def test_naive_now_is_a_programming_error() -> None:
    with pytest.raises(TypeError):
        check_recorded_at(NOW, now=datetime(2024, 5, 1))


# --- use from pydantic -----------------------------------------------------


class _Call(BaseModel):
    vin: Annotated[str, AfterValidator(check_vin)]
    phone: Annotated[str, AfterValidator(check_phone)]
    lat: Annotated[float, AfterValidator(check_latitude)]
    lon: Annotated[float, AfterValidator(check_longitude)]
    sold_on: Annotated[date, AfterValidator(check_not_future_date)]
    recorded_at: Annotated[datetime, AfterValidator(check_recorded_at)]


def test_validators_normalise_inside_a_pydantic_model() -> None:
    call = _Call.model_validate(
        {
            "vin": "1m8gdm9axkp042788",
            "phone": "+86 371 6629 9555",
            "lat": "34.7466",
            "lon": 113.6254,
            "sold_on": "2020-03-01",
            "recorded_at": "2024-05-01T08:29:00+08:00",
        }
    )
    assert call.vin == TEXTBOOK_VIN
    assert call.phone == "0371-66299555"
    assert call.recorded_at.tzinfo == UTC


def test_pydantic_error_names_the_field_and_keeps_the_message() -> None:
    with pytest.raises(ValidationError) as info:
        _Call.model_validate(
            {
                "vin": "1M8GDM9A0KP042788",
                "phone": "13800138000",
                "lat": 34.7,
                "lon": 113.6,
                "sold_on": "2020-03-01",
                "recorded_at": "2024-05-01T08:29:00",
            }
        )
    errors = {e["loc"][0]: e["msg"] for e in info.value.errors()}
    assert set(errors) == {"vin", "recorded_at"}
    assert "should be 'X', got '0'" in errors["vin"]
    assert "include an offset" in errors["recorded_at"]


def test_a_time_out_of_range_in_utc_is_rejected_not_a_crash() -> None:
    # The first minute of year 1 at UTC+02:03 is in year 0 in UTC, which datetime cannot hold.
    t = datetime(1, 1, 1, 0, 0, tzinfo=timezone(timedelta(hours=2, minutes=3)))
    with pytest.raises(ValueError, match="out of range"):
        check_recorded_at(t, now=NOW)
