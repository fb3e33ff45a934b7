"""E.164 phone normalization for contact identity (stdlib only), tuned for Latin American numbering quirks.

One subscriber, one key: the forms that split contacts elsewhere map to a single canonical E.164 string.

- Argentina: mobiles are ``+54 9 <area> <local>``; domestic ``0 <area> 15 <local>`` and international ``+54 <area> 15
  <local>`` are the same line. Canonical ``+549`` + 10 digits; landlines ``+54`` + 10 digits.
- Mexico: the mobile ``1`` after ``+52`` was dropped in 2019 (WhatsApp still sends ``521…``). Canonical ``+52`` + 10.
- Brazil: mobiles have a 9th digit; 8-digit subscriber parts starting 6-9 are mobiles missing it. Canonical
  ``+55`` + DDD + 9 digits for mobiles, + 8 digits for landlines (2-5).

Error messages say why a number was refused but never repeat the number (no PII in logs).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["InvalidPhone", "normalize_phone", "phone_variants", "whatsapp_wa_id_to_e164"]

E164_MAX_DIGITS = 15
_DIGITS = frozenset("0123456789")
# Written between digit groups by humans: whitespace, dashes (ASCII and Unicode), dots, slashes, parentheses.
_SEPARATORS = frozenset("-.()/\u2010\u2011\u2012\u2013\u2014\u2212")


class InvalidPhone(ValueError):
    """The text is not a phone number we can put in E.164 form; the message says why."""


@dataclass(frozen=True, slots=True)
class _Plan:
    """A country calling code's numbering plan, as far as normalization needs it."""

    code: str
    name: str  # for messages: ISO alpha-2, or "NANP" for +1
    min_len: int  # national significant number (after the country code)
    max_len: int
    trunk: str = "0"  # national prefix stripped from domestic forms ("" when the plan has none)
    leading_zero: bool = False  # Italy keeps the 0 of landlines in the international form
    extra_idd: tuple[str, ...] = ()  # international prefixes besides "00" (regular expressions)
    canon: Callable[[_Plan, str], str] | None = None  # national significant number -> canonical one
    domestic: Callable[[_Plan, str], str] | None = None  # domestically dialled digits -> national significant number

    def length_error(self, got: int) -> InvalidPhone:
        expected = str(self.min_len) if self.min_len == self.max_len else f"{self.min_len} to {self.max_len}"
        which = "too short" if got < self.min_len else "too long"
        return InvalidPhone(f"{which}: {self.name} numbers have {expected} digits after +{self.code}, got {got}")


# --- country rules ---------------------------------------------------------------------------------------------------


def _generic_canon(plan: _Plan, nsn: str) -> str:
    if nsn.startswith("0") and not plan.leading_zero:
        raise InvalidPhone(f"{plan.name} numbers cannot start with 0 after +{plan.code}")
    if not plan.min_len <= len(nsn) <= plan.max_len:
        raise plan.length_error(len(nsn))
    return nsn


def _generic_domestic(plan: _Plan, digits: str) -> str:
    if plan.trunk and digits.startswith(plan.trunk):
        return digits[len(plan.trunk):]
    return digits


def _strip_ar_mobile_15(nsn: str) -> str:
    """12 digits = area code + '15' + local number; the area code and local number always total 10 digits.

    11 is the only 2-digit area code. After a 3-digit code the '15' sits at [3:5], after a 4-digit code at [4:6]; both
    cannot match at once (that would need nsn[4] to be '5' and '1'), and local numbers never start with 1. Where an
    area code ends in 15 (3715) and is followed by the '15' prefix, either match removes the same digits.
    """
    if nsn.startswith("11"):
        positions: tuple[int, ...] = (2,)
    elif nsn.startswith("15"):
        raise InvalidPhone("AR mobile number is missing its area code")
    else:
        positions = (3, 4)
    for at in positions:
        if nsn[at:at + 2] == "15":
            return nsn[:at] + nsn[at + 2:]
    raise InvalidPhone("too long: 12 digits after +54 but no '15' mobile prefix after the area code")


def _ar_canon(plan: _Plan, nsn: str) -> str:
    mobile = False
    if nsn.startswith("9"):
        if len(nsn) not in (11, 13):
            which = "too short" if len(nsn) < 11 else "too long"
            raise InvalidPhone(f"{which}: AR mobile numbers have 11 digits after +54 (9 + area code + number)")
        mobile, nsn = True, nsn[1:]
    if len(nsn) == 12:
        mobile, nsn = True, _strip_ar_mobile_15(nsn)
    if len(nsn) != 10:
        raise InvalidPhone(f"{'too short' if len(nsn) < 10 else 'too long'}: AR numbers have 10 digits "
                           f"(area code + number) after +54, or 11 for mobiles (9 first), got {len(nsn)}")
    if nsn.startswith("15"):
        raise InvalidPhone("AR mobile number is missing its area code ('15' is the mobile prefix, not an area code)")
    geographic = nsn.startswith("11") or nsn[0] in "23"
    if not geographic and (mobile or nsn[0] not in "68"):  # 0600/0800/0810 numbers are not mobiles
        raise InvalidPhone("invalid AR area code: area codes are 11 or start with 2 or 3")
    return "9" + nsn if mobile else nsn


def _ar_domestic(plan: _Plan, digits: str) -> str:
    return digits[1:] if digits.startswith("0") else digits  # 0 11 15 2345-6789


def _mx_canon(plan: _Plan, nsn: str) -> str:
    if len(nsn) == 11 and nsn.startswith("1"):  # pre-2019 mobile form +52 1 …
        nsn = nsn[1:]
    if len(nsn) != 10:
        raise plan.length_error(len(nsn))
    if nsn[0] in "01":
        raise InvalidPhone("invalid MX area code: MX numbers start with 2-9 after +52")
    return nsn


def _mx_domestic(plan: _Plan, digits: str) -> str:
    # Pre-2019 national prefixes: 044/045 (mobile, local/long distance), 01 (long distance), 1 (mobile).
    for prefix, total in (("044", 13), ("045", 13), ("01", 12), ("1", 11)):
        if len(digits) == total and digits.startswith(prefix):
            return digits[len(prefix):]
    return digits


# Brazilian area codes (DDD) in use.
_BR_DDD = frozenset({
    "11", "12", "13", "14", "15", "16", "17", "18", "19", "21", "22", "24", "27", "28", "31", "32", "33", "34", "35",
    "37", "38", "41", "42", "43", "44", "45", "46", "47", "48", "49", "51", "53", "54", "55", "61", "62", "63", "64",
    "65", "66", "67", "68", "69", "71", "73", "74", "75", "77", "79", "81", "82", "83", "84", "85", "86", "87", "88",
    "89", "91", "92", "93", "94", "95", "96", "97", "98", "99",
})


def _br_canon(plan: _Plan, nsn: str) -> str:
    if not plan.min_len <= len(nsn) <= plan.max_len:
        raise plan.length_error(len(nsn))
    ddd, subscriber = nsn[:2], nsn[2:]
    if ddd not in _BR_DDD:
        raise InvalidPhone("invalid BR area code (DDD)")
    first = subscriber[0]
    if len(subscriber) == 9:
        if first != "9":
            raise InvalidPhone("BR 9-digit subscriber numbers are mobiles and start with 9")
        return nsn
    if first in "6789":  # a mobile written without its 9th digit (pre-2016 form, older WhatsApp wa_ids)
        return ddd + "9" + subscriber
    if first in "2345":  # landline
        return nsn
    raise InvalidPhone("BR subscriber numbers cannot start with 0 or 1")


def _br_domestic(plan: _Plan, digits: str) -> str:
    if digits.startswith("0"):  # trunk 0, optionally followed by a 2-digit carrier code: 0 XX DDD number
        digits = digits[1:]
        if len(digits) in (12, 13):
            digits = digits[2:]
    return digits


def _co_canon(plan: _Plan, nsn: str) -> str:
    if len(nsn) != 10:
        raise plan.length_error(len(nsn))
    if not (nsn.startswith("3") or nsn.startswith("60")):
        raise InvalidPhone("invalid CO number: mobiles start with 3 and landlines with 60 after +57")
    return nsn


def _cl_canon(plan: _Plan, nsn: str) -> str:
    if len(nsn) != 9:
        raise plan.length_error(len(nsn))
    if nsn[0] in "01":
        raise InvalidPhone("invalid CL number: CL numbers start with 2-9 after +56")
    return nsn


def _pe_canon(plan: _Plan, nsn: str) -> str:
    if not plan.min_len <= len(nsn) <= plan.max_len:
        raise plan.length_error(len(nsn))
    if len(nsn) == 9 and nsn[0] != "9":
        raise InvalidPhone("invalid PE number: 9-digit numbers are mobiles and start with 9")
    if len(nsn) == 8 and nsn[0] in "09":
        raise InvalidPhone("invalid PE number: landlines start with 1-8 after +51")
    return nsn


def _uy_canon(plan: _Plan, nsn: str) -> str:
    if len(nsn) != 8:
        raise plan.length_error(len(nsn))
    if nsn[0] not in "249":
        raise InvalidPhone("invalid UY number: UY numbers start with 2, 4 or 9 after +598")
    return nsn


def _nanp_canon(plan: _Plan, nsn: str) -> str:
    if len(nsn) != 10:
        raise plan.length_error(len(nsn))
    if nsn[0] in "01":
        raise InvalidPhone("invalid NANP area code: it cannot start with 0 or 1")
    if nsn[3] in "01":
        raise InvalidPhone("invalid NANP exchange code: it cannot start with 0 or 1")
    return nsn


def _nanp_domestic(plan: _Plan, digits: str) -> str:
    return digits[1:] if len(digits) == 11 and digits.startswith("1") else digits


# --- the table -------------------------------------------------------------------------------------------------------

_NANP = _Plan("1", "NANP", 10, 10, trunk="", extra_idd=("011",), canon=_nanp_canon, domestic=_nanp_domestic)
_NANP_REGIONS = (
    "US", "CA", "AG", "AI", "AS", "BB", "BM", "BS", "DM", "DO", "GD", "GU", "JM",
    "KN", "KY", "LC", "MP", "MS", "PR", "SX", "TC", "TT", "VC", "VG", "VI",
)

_PLANS: dict[str, _Plan] = {
    # South America
    "AR": _Plan("54", "AR", 10, 13, canon=_ar_canon, domestic=_ar_domestic),
    "BR": _Plan("55", "BR", 10, 11, extra_idd=(r"00\d\d",), canon=_br_canon, domestic=_br_domestic),
    "CL": _Plan("56", "CL", 9, 9, canon=_cl_canon),
    "CO": _Plan("57", "CO", 10, 10, trunk="", extra_idd=("00[579]", "00(?:414|444|456|468)"), canon=_co_canon),
    "PE": _Plan("51", "PE", 8, 9, canon=_pe_canon),
    "UY": _Plan("598", "UY", 8, 8, canon=_uy_canon),
    "VE": _Plan("58", "VE", 10, 10),
    "BO": _Plan("591", "BO", 8, 8),
    "EC": _Plan("593", "EC", 8, 9),
    "PY": _Plan("595", "PY", 6, 9),
    "GY": _Plan("592", "GY", 7, 7, trunk=""),
    "SR": _Plan("597", "SR", 6, 7, trunk=""),
    "GF": _Plan("594", "GF", 9, 9),
    "FK": _Plan("500", "FK", 5, 5, trunk=""),
    # Mexico, Central America, Caribbean outside the NANP
    "MX": _Plan("52", "MX", 10, 10, trunk="", canon=_mx_canon, domestic=_mx_domestic),
    "BZ": _Plan("501", "BZ", 7, 7, trunk=""),
    "GT": _Plan("502", "GT", 8, 8, trunk=""),
    "SV": _Plan("503", "SV", 7, 8, trunk=""),
    "HN": _Plan("504", "HN", 8, 8, trunk=""),
    "NI": _Plan("505", "NI", 8, 8, trunk=""),
    "CR": _Plan("506", "CR", 8, 10, trunk=""),
    "PA": _Plan("507", "PA", 7, 8, trunk=""),
    "PM": _Plan("508", "PM", 6, 6),
    "HT": _Plan("509", "HT", 8, 8, trunk=""),
    "CU": _Plan("53", "CU", 6, 8),
    "GP": _Plan("590", "GP", 9, 9),
    "MQ": _Plan("596", "MQ", 9, 9),
    "CW": _Plan("599", "CW", 7, 8, trunk=""),
    "AW": _Plan("297", "AW", 7, 7, trunk=""),
    "GL": _Plan("299", "GL", 6, 6, trunk=""),
    # Europe
    "ES": _Plan("34", "ES", 9, 9, trunk=""),
    "PT": _Plan("351", "PT", 9, 9, trunk=""),
    "GB": _Plan("44", "GB", 7, 10),
    "DE": _Plan("49", "DE", 5, 13),
    "FR": _Plan("33", "FR", 9, 9),
    "IT": _Plan("39", "IT", 6, 11, trunk="", leading_zero=True),
    **dict.fromkeys(_NANP_REGIONS, _NANP),
}
# Regions sharing another's calling code.
_PLANS.update({"BL": _PLANS["GP"], "MF": _PLANS["GP"], "BQ": _PLANS["CW"], "UK": _PLANS["GB"]})

# Country calling codes are prefix-free, so at most one of a number's 1-, 2- and 3-digit prefixes is in here.
_BY_CODE: dict[str, _Plan] = {plan.code: plan for plan in _PLANS.values()}


# --- parsing ---------------------------------------------------------------------------------------------------------


def _scan(raw: str) -> tuple[str, bool]:
    """The digits of `raw` and whether '+' marked it international; separators dropped, anything else refused."""
    if not isinstance(raw, str):
        raise InvalidPhone(f"expected a string, got {type(raw).__name__}")
    digits: list[str] = []
    plus = False
    for ch in raw:
        if ch in _DIGITS:
            digits.append(ch)
        elif ch.isspace() or ch in _SEPARATORS:
            continue
        elif ch == "+":
            if plus or digits:
                raise InvalidPhone("'+' is only allowed once, before the first digit")
            plus = True
        elif ch.isalpha():
            raise InvalidPhone("contains letters")
        else:
            raise InvalidPhone(f"unexpected character {ch!r}")
    if not digits:
        raise InvalidPhone("empty: no digits")
    return "".join(digits), plus


def _finish(plan: _Plan, nsn: str) -> str:
    canonical = (plan.canon or _generic_canon)(plan, nsn)
    if len(plan.code) + len(canonical) > E164_MAX_DIGITS:  # the table's lengths keep this from happening
        raise InvalidPhone(f"too long: E.164 numbers have at most {E164_MAX_DIGITS} digits")
    return "+" + plan.code + canonical


def _international(digits: str) -> str:
    """Digits that start with the country calling code."""
    if len(digits) > E164_MAX_DIGITS + 3:  # room for AR '15' / MX '1' / '(0)' forms, not for junk
        raise InvalidPhone(f"too long: E.164 numbers have at most {E164_MAX_DIGITS} digits")
    if digits.startswith("0"):
        raise InvalidPhone("country calling codes cannot start with 0")
    plan = next((_BY_CODE[digits[:n]] for n in (1, 2, 3) if digits[:n] in _BY_CODE), None)
    if plan is None:
        raise InvalidPhone(f"unknown country calling code (+{digits[:3]}…)")
    nsn = digits[len(plan.code):]
    if not nsn:
        raise InvalidPhone(f"too short: only the country calling code +{plan.code}")
    if plan.trunk and nsn.startswith(plan.trunk):  # "+44 (0)20 …": the trunk prefix written after the code
        nsn = nsn[len(plan.trunk):]
    return _finish(plan, nsn)


def _plan_for(country: str) -> _Plan:
    plan = _PLANS.get(country.strip().upper())
    if plan is None:
        raise InvalidPhone(f"unknown default_country {country!r} (expected an ISO 3166 alpha-2 code we support)")
    return plan


def _from_idd(plan: _Plan, digits: str) -> str | None:
    """Digits dialled with an international prefix from `plan`'s country; None when none of its prefixes matches."""
    first_error: InvalidPhone | None = None
    for idd in ("00", *plan.extra_idd):
        match = re.match(idd, digits)
        if match is None:
            continue
        try:
            return _international(digits[match.end():])
        except InvalidPhone as error:  # "00" then a carrier code (BR, CO) reads as a wrong country code at first
            first_error = first_error or error
    if first_error is not None:
        raise first_error
    return None


def normalize_phone(raw: str, *, default_country: str | None = None) -> str:
    """Return the canonical E.164 form ('+5491123456789'). Raises InvalidPhone.

    '+' or '00' marks an international number. Other digits are read as a national number of `default_country`
    (ISO 3166 alpha-2) when given, falling back to "already starts with that country's code" (e.g. "5491123456789"
    with default_country="AR"); without a default country they must start with the country calling code, as
    WhatsApp wa_ids do.
    """
    digits, plus = _scan(raw)
    if plus:
        return _international(digits)
    if default_country is None:
        if digits.startswith("00"):
            return _international(digits[2:])
        if digits.startswith("0"):
            raise InvalidPhone("national number (leading 0) without default_country")
        return _international(digits)
    plan = _plan_for(default_country)
    from_idd = _from_idd(plan, digits)
    if from_idd is not None:
        return from_idd
    try:
        return _finish(plan, (plan.domestic or _generic_domestic)(plan, digits))
    except InvalidPhone as national_error:
        if digits.startswith(plan.code):
            try:
                return _international(digits)
            except InvalidPhone:
                pass
        raise national_error from None


def whatsapp_wa_id_to_e164(wa_id: str) -> str:
    """The canonical E.164 form of a WhatsApp wa_id (digits with the country code, no '+')."""
    if not isinstance(wa_id, str):
        raise InvalidPhone(f"expected a string, got {type(wa_id).__name__}")
    digits = wa_id.strip()
    if not digits or not set(digits) <= _DIGITS:
        raise InvalidPhone("a wa_id contains digits only")
    return _international(digits)


def phone_variants(e164: str) -> tuple[str, ...]:
    """Other spellings the same subscriber may arrive under (e.g. WhatsApp wa_id forms), canonical first.

    All are E.164 strings. AR: +549X and +54X (the same line: a number block is either fixed or mobile, so the 9
    only says how to route it; a bare +54X is kept as written because it may be a landline). MX: +52X and +521X.
    BR mobiles: +55 DDD 9XXXXXXXX and the 8-digit form when that form still reads as a mobile (6-9).
    """
    canonical = normalize_phone(e164)
    variants = [canonical]
    if canonical.startswith("+549"):
        variants.append("+54" + canonical[4:])
    elif canonical.startswith("+54") and (canonical[3:5] == "11" or canonical[3] in "23"):
        variants.append("+549" + canonical[3:])
    elif canonical.startswith("+52"):
        variants.append("+521" + canonical[3:])
    elif canonical.startswith("+55") and len(canonical) == 14 and canonical[6] in "6789":
        variants.append(canonical[:5] + canonical[6:])
    return tuple(dict.fromkeys(variants))
