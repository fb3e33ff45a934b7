"""Typed slots for `collect` nodes: parse what a customer typed into a clean value, or say why not.

Spanish-speaking conventions first: "1.500.000" and "$ 1.500,50" are amounts, "15/03/1990" is a day-first
date, "15 de marzo de 1990" too; document numbers are checked with the country's check digit where one
exists (Chilean RUT, Uruguayan CI, Brazilian CPF) and by length elsewhere.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from shared.services.phone import InvalidPhone, normalize_phone
from shared.services.text_norm import fold, strip_accents


@dataclass(frozen=True)
class SlotResult:
    ok: bool
    value: Any = None
    reason: str | None = None  # why it was refused (for logs and the default reprompt)


def _bad(reason: str) -> SlotResult:
    return SlotResult(False, reason=reason)


_EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$")
_MONTHS = {"enero": 1, "febrero": 2, "marzo": 3, "abril": 4, "mayo": 5, "junio": 6, "julio": 7, "agosto": 8,
           "septiembre": 9, "setiembre": 9, "octubre": 10, "noviembre": 11, "diciembre": 12, "january": 1,
           "february": 2, "march": 3, "april": 4, "may": 5, "june": 6, "july": 7, "august": 8, "september": 9,
           "october": 10, "november": 11, "december": 12}
_YES = {"si", "s", "sip", "dale", "ok", "okay", "claro", "afirmativo", "correcto", "de acuerdo", "yes", "y", "yep",
        "bueno", "esta bien", "por supuesto", "confirmo", "1"}
_NO = {"no", "n", "nop", "nope", "negativo", "para nada", "cancelar", "2"}
_PARTICLES = {"de", "del", "la", "las", "los", "y", "da", "do", "dos", "das", "van", "von"}
_MULTIPLIERS = {"mil": 1_000, "k": 1_000, "lucas": 1_000, "luca": 1_000, "millon": 1_000_000,
                "millones": 1_000_000, "palo": 1_000_000, "palos": 1_000_000, "m": 1_000_000}


def parse_amount(text: str) -> Decimal | None:
    """'$ 1.500.000', '1500000', '1.234,56', '1,234.56', '150 mil', '1,5 millones', 'USD 300' -> Decimal."""
    raw = strip_accents(text.lower()).replace("$", " ").replace("€", " ")
    raw = re.sub(r"\b(ars|usd|us|clp|mxn|cop|pen|uyu|brl|pesos?|dolares?|reales?|soles?)\b", " ", raw).strip()
    match = re.fullmatch(r"([0-9][0-9.,]*(?: [0-9]{3})*)\s*([a-z]+)?", raw)
    if not match:
        return None
    number, word = match.group(1).replace(" ", ""), match.group(2)
    multiplier = 1
    if word:
        if word not in _MULTIPLIERS:
            return None
        multiplier = _MULTIPLIERS[word]
    value = _decimal(number)
    return None if value is None else value * multiplier


def _decimal(number: str) -> Decimal | None:
    dots, commas = number.count("."), number.count(",")
    try:
        if dots and commas:
            decimal_sep = "," if number.rfind(",") > number.rfind(".") else "."
            thousands = "." if decimal_sep == "," else ","
            return Decimal(number.replace(thousands, "").replace(decimal_sep, "."))
        for sep in (".", ","):
            count = number.count(sep)
            if not count:
                continue
            head, _, tail = number.rpartition(sep)
            if count == 1 and len(tail) != 3:
                return Decimal(head.replace(sep, "") + "." + tail)  # a decimal separator: "1,5" / "10.25"
            groups = number.split(sep)
            if all(len(g) == 3 for g in groups[1:]) and 1 <= len(groups[0]) <= 3:
                return Decimal("".join(groups))  # thousands separators: "1.500.000"
            return None
        return Decimal(number)
    except InvalidOperation:
        return None


def _plain(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def parse_date(text: str) -> date | None:
    raw = text.strip().lower()
    try:
        m = re.fullmatch(r"([0-9]{4})[-/.]([0-9]{1,2})[-/.]([0-9]{1,2})", raw)
        if m:
            return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        m = re.fullmatch(r"([0-9]{1,2})[-/.]([0-9]{1,2})[-/.]([0-9]{2}|[0-9]{4})", raw)
        if m:
            year = int(m.group(3))
            if year < 100:
                year += 2000 if year <= date.today().year % 100 else 1900
            return date(year, int(m.group(2)), int(m.group(1)))
        m = re.fullmatch(r"([0-9]{1,2})\s+(?:de\s+)?([a-z]+)\s+(?:de\s+|del\s+)?([0-9]{4})", fold(raw))
        if m and m.group(2) in _MONTHS:
            return date(int(m.group(3)), _MONTHS[m.group(2)], int(m.group(1)))
    except ValueError:
        return None
    return None


def _rut_ok(body: str, check: str) -> bool:
    total, factor = 0, 2
    for digit in reversed(body):
        total += int(digit) * factor
        factor = 2 if factor == 7 else factor + 1
    expected = 11 - total % 11
    return check.upper() == {11: "0", 10: "K"}.get(expected, str(expected))


def _uy_ci_ok(digits: str) -> bool:
    body, check = digits[:-1].rjust(7, "0"), int(digits[-1])
    total = sum(int(d) * w for d, w in zip(body, (2, 9, 8, 7, 6, 3, 4), strict=True))
    return (10 - total % 10) % 10 == check


def _cpf_ok(digits: str) -> bool:
    if len(set(digits)) == 1:
        return False
    for size in (9, 10):
        total = sum(int(d) * w for d, w in zip(digits[:size], range(size + 1, 1, -1), strict=True))
        if (total * 10 % 11) % 10 != int(digits[size]):
            return False
    return True


def parse_document(text: str, country: str | None) -> SlotResult:
    raw = text.strip().upper().replace(" ", "")
    if country == "MX":
        return SlotResult(True, raw) if re.fullmatch(r"[A-Z]{4}[0-9]{6}[HM][A-Z]{5}[A-Z0-9][0-9]", raw) else \
            _bad("curp_format")
    cleaned = re.sub(r"[.\-]", "", raw)
    if country == "CL":
        m = re.fullmatch(r"([0-9]{7,8})([0-9K])", cleaned)
        if not m or not _rut_ok(m.group(1), m.group(2)):
            return _bad("rut_check_digit")
        return SlotResult(True, f"{m.group(1)}-{m.group(2)}")
    if not re.fullmatch(r"[0-9]+", cleaned):  # ASCII digits only ("²" is a digit to str.isdigit)
        return _bad("digits_only")
    if country == "UY":
        return SlotResult(True, cleaned) if 7 <= len(cleaned) <= 8 and _uy_ci_ok(cleaned) else _bad("ci_check_digit")
    if country == "BR":
        return SlotResult(True, cleaned) if len(cleaned) == 11 and _cpf_ok(cleaned) else _bad("cpf_check_digit")
    lengths = {"AR": (7, 8), "PE": (8, 8), "CO": (6, 10)}.get(country or "", (6, 12))
    if not lengths[0] <= len(cleaned) <= lengths[1]:
        return _bad("length")
    return SlotResult(True, cleaned)


def parse_full_name(text: str) -> SlotResult:
    name = " ".join(text.split())
    parts = name.split(" ")
    if len(parts) < 2 or len(name) > 120:
        return _bad("two_words")
    for part in parts:
        letters = part.replace("'", "").replace("-", "").replace(".", "")
        if not letters or not all(unicodedata.category(ch).startswith("L") for ch in letters):
            return _bad("letters_only")
    if sum(len(p) for p in parts) < 4:
        return _bad("too_short")
    if not (name.islower() or name.isupper()):
        return SlotResult(True, name)  # mixed case: kept as typed ("María José de la Torre")
    return SlotResult(True, " ".join(p.lower() if i and p.lower() in _PARTICLES else p[:1].upper() + p[1:].lower()
                                     for i, p in enumerate(parts)))


def parse_yes_no(text: str) -> SlotResult:
    folded = fold(text)
    if folded in _YES or folded.split(" ")[0] in {"si", "dale", "claro", "yes"}:
        return SlotResult(True, True)
    if folded in _NO or folded.split(" ")[0] == "no":
        return SlotResult(True, False)
    return _bad("yes_no")


def validate_slot(slot: str, text: str | None, media: list[dict[str, Any]], *, pattern: str | None = None,
                  minimum: float | None = None, maximum: float | None = None, min_length: int | None = None,
                  max_length: int | None = None, choices: list[str] | None = None,
                  country: str | None = None) -> SlotResult:
    """The value for a slot from one (coalesced) customer turn."""
    if slot in ("image", "file"):
        wanted = [m for m in media if slot == "file" and m.get("type") in ("image", "document")
                  or m.get("type") == "image"]
        return SlotResult(True, wanted[-1]) if wanted else _bad(f"expected_{slot}")
    if not text or not text.strip():
        return _bad("empty")
    text = text.strip()
    if pattern and not re.fullmatch(pattern, text):
        return _bad("pattern")
    result: SlotResult
    if slot == "document_id":
        result = parse_document(text, country)
    elif slot == "full_name":
        result = parse_full_name(text)
    elif slot == "email":
        email = text.strip().strip("<>").lower()
        result = SlotResult(True, email) if _EMAIL.fullmatch(email) and len(email) <= 254 else _bad("email_format")
    elif slot == "phone":
        try:
            result = SlotResult(True, normalize_phone(text, default_country=country or "AR"))
        except InvalidPhone:
            result = _bad("phone_format")
    elif slot == "date":
        parsed = parse_date(text)
        result = SlotResult(True, parsed.isoformat()) if parsed else _bad("date_format")
    elif slot in ("amount", "integer"):
        amount = parse_amount(text)
        if amount is None or (slot == "integer" and amount != amount.to_integral_value()):
            return _bad("number_format")
        if minimum is not None and amount < Decimal(str(minimum)):
            return _bad("below_min")
        if maximum is not None and amount > Decimal(str(maximum)):
            return _bad("above_max")
        result = SlotResult(True, _plain(amount))
    elif slot == "yes_no":
        result = parse_yes_no(text)
    elif slot == "choice":
        options = choices or []
        folded = fold(text)
        picked = next((c for c in options if fold(c) == folded), None)
        if picked is None and folded.isdigit() and 1 <= int(folded) <= len(options):
            picked = options[int(folded) - 1]
        result = SlotResult(True, picked) if picked else _bad("not_a_choice")
    else:
        result = SlotResult(True, text)
    if result.ok and isinstance(result.value, str) and slot in ("text", "full_name"):
        if min_length is not None and len(result.value) < min_length:
            return _bad("too_short")
        if max_length is not None and len(result.value) > max_length:
            return _bad("too_long")
    return result
