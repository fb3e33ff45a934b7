"""PII redaction before text reaches a language model, and restoration after.

`redact(text)` swaps personal data for stable placeholders (`[EMAIL_1]`, `[PHONE_1]`, `[DOC_1]`, `[CARD_1]`,
`[ACCOUNT_1]`) and returns the mapping back to the originals. A `Redactor` keeps one mapping for a whole bot
turn: the same value always gets the same placeholder, customer text and tool results share the numbering, and
`restore()` puts the real values back into the model's tool-call arguments (so integrations receive real data)
and into the reply shown to the customer (who may see their own data).

What is redacted, in this order (an earlier kind wins where spans overlap):

1. EMAIL    addresses (`local@domain.tld`).
2. ACCOUNT  IBANs (country code + check digits, mod-97 valid, spaces allowed).
3. DOC      MX CURP (18 characters), CL RUT/RUN with a valid mod-11 check digit (`12.345.678-5`, `12345678-K`).
4. Numbers, read as runs of digits joined by single spaces, dots, dashes or parentheses (`+54 9 11 5555-6666`,
   `30.123.456`); a run is cut into the longest pieces that classify, left to right:
   - CARD     13-19 digits, plain or grouped by 4 (or Amex/Diners 4-6-5 / 4-6-4) with spaces or dashes,
              Luhn-valid; a grouped 16-digit number failing Luhn too (a mistyped card is still a card).
   - ACCOUNT  22 digits (AR CBU/CVU) or 18 digits (MX CLABE), plain or grouped by 4; 8-22 digits right after
              an account keyword (cuenta, cta, cbu, cvu, clabe, iban...).
   - DOC      CPF `123.456.789-09`, CUIT/CUIL `20-12345678-9`, dotted DNI/cédula `30.123.456` / `1.012.345.678`
              (7-10 digits; a run ending in `.000` is read as an amount unless a document keyword precedes it),
              11 plain digits that pass the CUIT or CPF check, 8 plain digits (AR DNI, PE DNI, CO cédula), and
              6-11 plain digits right after a document keyword (dni, documento, cédula, cc, ci, rut, cuit, cuil,
              cpf, curp, nit, rfc, pasaporte...).
   - PHONE    `+` and 8-15 digits (E.164); 8-15 digits written with spaces, dashes, parentheses or non-thousands
              dots (`11 5555-6666`, `(011) 4555-6666`, `4555-6666`); 9-15 plain digits; 8 plain digits after a phone
              keyword (tel, cel, whatsapp...).

What is NOT redacted (on purpose, so the model can still help):

- Amounts: numbers after a currency sign or code (`$`, `US$`, `S/`, `€`, `ARS`, `CLP`, `COP`, `MXN`...) or an amount
  word (monto, importe, total, precio, saldo, valor, cuota), or followed by a currency word (pesos, dólares, mil,
  millones, k, lucas...); numbers with a decimal comma (`1.500,50`); round dotted amounts (`1.500.000`).
- Dates (`12/03/2024`, `12-03-2024`, `2024-03-12`, `12.03.2024`), times, years and short numbers (up to 7 digits
  without a document keyword: `50000`, `1500000`, order numbers).
- Plain numbers after an order/ticket keyword (pedido, orden, factura, ticket, reclamo, seguimiento, envío...),
  except card/account/formatted-document shapes which are always redacted.
- Names, street addresses and free text: detecting those needs a model; keep them out of tool results you feed
  back, or extend this module.

Over-redaction is cheap (the model works with the placeholder and integrations get the real value back);
under-redaction leaks. When in doubt a long number is redacted.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

KINDS = ("EMAIL", "PHONE", "DOC", "CARD", "ACCOUNT")

# Placeholders as written by us ("[PHONE_1]") and as models sometimes echo them without brackets ("PHONE_1").
_PLACEHOLDER = re.compile(r"\[?\b(EMAIL|PHONE|DOC|CARD|ACCOUNT)_(\d+)\b\]?")
_BRACKETED = re.compile(r"\[(EMAIL|PHONE|DOC|CARD|ACCOUNT)_(\d+)\]")

_EMAIL = re.compile(r"(?<![\w.+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}(?![\w-])")
_IBAN = re.compile(r"(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}", re.IGNORECASE)
_CURP = re.compile(r"(?<![A-Za-z0-9])[A-Z]{4}\d{6}[HMX][A-Z]{5}[A-Z0-9]\d(?![A-Za-z0-9])", re.IGNORECASE)
_RUT = re.compile(r"(?<![\w.\-])(\d{1,2}\.\d{3}\.\d{3}|\d{7,8})-([\dkK])(?![\w\-]|[.,]\d)")
# A run of digits joined by single separators; never glued to letters, and not the start or end of a decimal.
_NUM_RUN = re.compile(r"(?<![\w.,/+\-])\+?(?:\(\d+\)|\d+)(?:[ .\-]?(?:\(\d+\)|\d+))*(?![\w/]|[.,]\d)")

_CPF = re.compile(r"\d{3}\.\d{3}\.\d{3}-\d{2}")
_CUIT = re.compile(r"\d{2}-\d{8}-\d")
_DOTTED_THOUSANDS = re.compile(r"\d{1,3}(?:\.\d{3})+")
_DATE_DMY = re.compile(r"(\d{1,2})[-./](\d{1,2})[-./](\d{2}|\d{4})")
_DATE_YMD = re.compile(r"(\d{4})[-./](\d{1,2})[-./](\d{1,2})")

_WINDOW = 32
_MAX_PARTS = 8  # a phone is at most ~6 space-separated groups, a card 4-5
_DOC_BEFORE = re.compile(
    r"(?:\b(?:dni|d\.n\.i|documento|doc|c[ée]dula|cc|c\.c|ci|c\.i|rut|run|cuit|cuil|cpf|curp|nit|rfc|ine|"
    r"identificaci[óo]n|identidad|pasaporte|document|national id|id number|tax id|passport)\b)[^\d\n]{0,20}$")
_PHONE_BEFORE = re.compile(
    r"(?:\b(?:tel|tel[ée]fono|telf|cel|celular|m[óo]vil|whats\w*|wsp|wpp|llam\w*|contacto|fono|phone|mobile|cell)\b)[^\d\n]{0,20}$")
_ACCOUNT_BEFORE = re.compile(
    r"(?:\b(?:cuenta|cta|cbu|cvu|clabe|iban|account|nro de cuenta|caja de ahorro)\b)[^\d\n]{0,20}$")
_NOT_PII_BEFORE = re.compile(
    r"(?:\b(?:pedido|orden|order|factura|ticket|reclamo|caso|seguimiento|tracking|env[íi]o|gu[íi]a|sku|producto|"
    r"art[íi]culo|turno|reserva|c[óo]digo|comprobante|operaci[óo]n|transacci[óo]n)\b)[^\d\n]{0,20}$")
_AMOUNT_BEFORE = re.compile(
    r"(?:\$|us\$|u\$s|u\$d|r\$|s/\.?|€|\b(?:usd|ars|clp|cop|mxn|pen|uyu|brl|eur|bob|pyg|gtq|crc|dop|"
    r"monto|importe|total|precio|saldo|valor|cuota|cuesta|cuestan|sale|salen|vale|valen|pagu[ée]|cobr\w*)\b)"
    r"[\s:]*$")
_AMOUNT_AFTER = re.compile(
    r"^\s*(?:\$|€|%|(?:pesos|peso|d[óo]lares|dolar|d[óo]lar|usd|ars|clp|cop|mxn|pen|uyu|brl|eur|soles|reales|"
    r"euros|mil|millones|mill[óo]n|k|lucas|palos|cop|mensuales|por mes|al mes|cuotas)\b)")


@dataclass(frozen=True)
class Redaction:
    text: str
    mapping: dict[str, str] = field(default_factory=dict)


def redact(text: str) -> Redaction:
    """Redact one text with a fresh Redactor."""
    redactor = Redactor()
    redacted = redactor.redact(text)
    return Redaction(redacted, redactor.mapping)


def restore(value: Any, mapping: Mapping[str, str]) -> Any:
    """Put the originals back into a string, or into every string inside dicts/lists/tuples."""
    return Redactor(mapping).restore(value)


class Redactor:
    """One turn's placeholder table: redact several texts, restore model output."""

    def __init__(self, mapping: Mapping[str, str] | None = None) -> None:
        self._mapping: dict[str, str] = {}
        self._by_value: dict[tuple[str, str], str] = {}
        self._next: dict[str, int] = dict.fromkeys(KINDS, 1)
        for placeholder, original in (mapping or {}).items():
            match = _BRACKETED.fullmatch(placeholder)
            if match is None:
                continue
            kind = match.group(1)
            self._mapping[placeholder] = original
            self._by_value.setdefault((kind, _normalize(kind, original)), placeholder)
            self._next[kind] = max(self._next[kind], int(match.group(2)) + 1)

    @property
    def mapping(self) -> dict[str, str]:
        """placeholder -> original, a copy."""
        return dict(self._mapping)

    def reserve(self, texts: Iterable[str]) -> None:
        """Never hand out placeholders already present in these texts (e.g. a persisted history whose mapping
        was lost), so old and new data cannot share a name."""
        for text in texts:
            for kind, number in _BRACKETED.findall(text):
                self._next[kind] = max(self._next[kind], int(number) + 1)

    # --- redaction -------------------------------------------------------------------------------------------

    def redact(self, text: str, *, context: str = "") -> str:
        """`text` with personal data replaced by placeholders. `context` is read as if it preceded the text
        (used for dict keys: "dni" makes a bare 8-digit value a document)."""
        if not text:
            return text
        text = self._replace(text, _EMAIL, lambda m: ("EMAIL", m.group(0)))
        text = self._replace(text, _IBAN, _iban_judge)
        text = self._replace(text, _CURP, lambda m: ("DOC", m.group(0)))
        text = self._replace(text, _RUT, lambda m: ("DOC", m.group(0)) if _rut_valid(m.group(1), m.group(2)) else None)
        return self._redact_numbers(text, context)

    def redact_value(self, value: Any, *, context: str = "") -> Any:
        """Redact every string inside a JSON-like value; dict keys give context to their values, and integers
        under a personal-data key (e.g. {"dni": 30123456}) become placeholders too."""
        if isinstance(value, str):
            return self.redact(value, context=context)
        if isinstance(value, bool) or value is None or isinstance(value, float):
            return value
        if isinstance(value, int):
            as_text = str(value)
            redacted = self.redact(as_text, context=context)
            return redacted if redacted != as_text else value
        if isinstance(value, Mapping):
            return {key: self.redact_value(item, context=f"{_key_words(key)}: ") for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [self.redact_value(item, context=context) for item in value]
        return value

    def _replace(self, text: str, pattern: re.Pattern[str], judge: _Judge) -> str:
        out: list[str] = []
        last = 0
        for match in pattern.finditer(text):
            verdict = judge(match)
            if verdict is None:
                continue
            kind, original = verdict  # `original` is the match or a prefix of it
            out.append(text[last:match.start()])
            out.append(self._placeholder(kind, original))
            last = match.start() + len(original)
        out.append(text[last:])
        return "".join(out)

    def _redact_numbers(self, text: str, context: str) -> str:
        out: list[str] = []
        last = 0
        for match in _NUM_RUN.finditer(text):
            run_start = match.start()
            parts = match.group(0).split(" ")
            offsets: list[int] = []
            position = run_start
            for part in parts:
                offsets.append(position)
                position += len(part) + 1
            i = 0
            while i < len(parts):
                for j in range(min(len(parts), i + _MAX_PARTS), i, -1):
                    start = offsets[i]
                    candidate = " ".join(parts[i:j])
                    end = start + len(candidate)
                    before = (context + text[:start])[-_WINDOW:].lower()
                    after = text[end:end + 16].lower()
                    kind = _classify(candidate, before, after)
                    if kind is not None:
                        out.append(text[last:start])
                        out.append(self._placeholder(kind, candidate))
                        last = end
                        i = j
                        break
                else:
                    i += 1
        out.append(text[last:])
        return "".join(out)

    def _placeholder(self, kind: str, original: str) -> str:
        key = (kind, _normalize(kind, original))
        existing = self._by_value.get(key)
        if existing is not None:
            return existing
        placeholder = f"[{kind}_{self._next[kind]}]"
        self._next[kind] += 1
        self._by_value[key] = placeholder
        self._mapping[placeholder] = original
        return placeholder

    # --- restoration -----------------------------------------------------------------------------------------

    def restore(self, value: Any) -> Any:
        """Originals back in place of known placeholders, recursively through dicts, lists and tuples.
        Unknown placeholders are left as they are."""
        if isinstance(value, str):
            if not self._mapping:
                return value
            return _PLACEHOLDER.sub(self._restore_match, value)
        if isinstance(value, Mapping):
            return {key: self.restore(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [self.restore(item) for item in value]
        return value

    def _restore_match(self, match: re.Match[str]) -> str:
        placeholder = f"[{match.group(1)}_{match.group(2)}]"
        original = self._mapping.get(placeholder)
        return original if original is not None else match.group(0)


_Judge = Callable[[re.Match[str]], tuple[str, str] | None]


def _iban_judge(match: re.Match[str]) -> tuple[str, str] | None:
    """The longest IBAN-valid prefix of the match (a following upper-case word may have been swallowed)."""
    text = match.group(0)
    for end in range(len(text), 14, -1):
        prefix = text[:end]
        if not prefix.endswith(" ") and _iban_valid(prefix):
            return "ACCOUNT", prefix
    return None


def _key_words(key: object) -> str:
    return re.sub(r"[_\-.]+", " ", str(key)).lower()


# --- classification ------------------------------------------------------------------------------------------

def _classify(candidate: str, before: str, after: str) -> str | None:
    """The kind of a numeric run, or None when it is not (or should not be treated as) personal data."""
    digits = re.sub(r"\D", "", candidate)
    n = len(digits)
    if n < 6:
        return None
    has_plus = candidate.startswith("+")
    separators = set(re.sub(r"[\d+]", "", candidate))
    if _is_date(candidate) or _AMOUNT_BEFORE.search(before) or _AMOUNT_AFTER.search(after):
        return None
    card_shape = not has_plus and separators <= {" ", "-"} and _card_grouping(candidate)
    if card_shape and n == 18 and _clabe_valid(digits):
        return "ACCOUNT"
    if card_shape and 13 <= n <= 19 and (_luhn_valid(digits) or (separators and n == 16)):
        return "CARD"  # a grouped 16-digit number that fails Luhn is a mistyped card: still a card
    if card_shape and n in (18, 22):
        return "ACCOUNT"
    if _CPF.fullmatch(candidate) or _CUIT.fullmatch(candidate):
        return "DOC"
    if _ACCOUNT_BEFORE.search(before) and 8 <= n <= 22 and separators <= {" ", "-"}:
        return "ACCOUNT"
    doc_context = bool(_DOC_BEFORE.search(before))
    phone_context = bool(_PHONE_BEFORE.search(before))
    if _DOTTED_THOUSANDS.fullmatch(candidate):
        if doc_context and 6 <= n <= 11:
            return "DOC"
        if 7 <= n <= 10 and not candidate.endswith(".000") and not _NOT_PII_BEFORE.search(before):
            return "DOC"
        return None
    if has_plus:
        return "PHONE" if 8 <= n <= 15 else None
    if separators:
        if separators <= {" ", "-", "(", ")", "."} and 8 <= n <= 15:
            return "DOC" if doc_context else "PHONE"
        return None
    # Plain digits.
    if doc_context and 6 <= n <= 11:
        return "DOC"
    if phone_context and 8 <= n <= 15:
        return "PHONE"
    if _NOT_PII_BEFORE.search(before):
        return None
    if n == 11:
        return "DOC" if _cuit_valid(digits) or _cpf_valid(digits) else "PHONE"
    if 9 <= n <= 15:
        return "PHONE"
    if n == 8:
        return "DOC"
    return None


def _card_grouping(candidate: str) -> bool:
    """Plain digits, groups of four (the last one shorter), or Amex/Diners 4-6-5 / 4-6-4."""
    lengths = [len(group) for group in re.split(r"[ -]", candidate)]
    if len(lengths) == 1:
        return True
    return (all(length == 4 for length in lengths[:-1]) and 1 <= lengths[-1] <= 4) or lengths in ([4, 6, 5],
                                                                                                  [4, 6, 4])


def _is_date(candidate: str) -> bool:
    match = _DATE_DMY.fullmatch(candidate)
    if match is not None:
        day, month = int(match.group(1)), int(match.group(2))
        return (1 <= day <= 31 and 1 <= month <= 12) or (1 <= month <= 31 and 1 <= day <= 12)
    match = _DATE_YMD.fullmatch(candidate)
    if match is not None:
        month, day = int(match.group(2)), int(match.group(3))
        return 1 <= month <= 12 and 1 <= day <= 31
    return False


def _normalize(kind: str, value: str) -> str:
    if kind == "EMAIL":
        return value.lower()
    if kind in ("DOC", "ACCOUNT"):
        return re.sub(r"[^0-9A-Za-z]", "", value).upper()
    return re.sub(r"\D", "", value)


def _luhn_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def _clabe_valid(digits: str) -> bool:
    weights = (3, 7, 1)
    total = sum(int(d) * weights[i % 3] % 10 for i, d in enumerate(digits[:17]))
    return (10 - total % 10) % 10 == int(digits[17])


def _cuit_valid(digits: str) -> bool:
    if len(digits) != 11 or digits[:2] not in {"20", "23", "24", "25", "26", "27", "30", "33", "34"}:
        return False
    weights = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)
    check = 11 - sum(int(d) * w for d, w in zip(digits[:10], weights, strict=True)) % 11
    check = 0 if check == 11 else 9 if check == 10 else check
    return check == int(digits[10])


def _cpf_valid(digits: str) -> bool:
    if len(digits) != 11 or len(set(digits)) == 1:
        return False
    for length in (9, 10):
        total = sum(int(d) * w for d, w in zip(digits[:length], range(length + 1, 1, -1), strict=True))
        check = total * 10 % 11 % 10
        if check != int(digits[length]):
            return False
    return True


def _rut_valid(body: str, check: str) -> bool:
    number = body.replace(".", "")
    total = 0
    factor = 2
    for char in reversed(number):
        total += int(char) * factor
        factor = 2 if factor == 7 else factor + 1
    expected = 11 - total % 11
    digit = "0" if expected == 11 else "K" if expected == 10 else str(expected)
    return digit == check.upper()


def _iban_valid(candidate: str) -> bool:
    compact = candidate.replace(" ", "").upper()
    if not 15 <= len(compact) <= 34:
        return False
    rearranged = compact[4:] + compact[:4]
    numeric = "".join(str(int(char, 36)) for char in rearranged)
    return int(numeric) % 97 == 1
