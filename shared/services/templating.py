"""A tiny, safe template language for bot definitions: `{{ path.to.value | filter: "arg" }}`.

Syntax
    {{ documento }}                      a variable (see "Name resolution")
    {{ vars.cliente.nombre }}            dotted lookup into nested mappings
    {{ slots.0.label }}                  a numeric segment indexes a list
    {{ nombre | default: "cliente" }}    a default when the value is missing (or null)
    {{ monto | money }}                  filters apply left to right: {{ x | default: 0 | money }}

Placeholders may have whitespace inside the braces. Text outside placeholders is copied verbatim; an
unmatched `{{` is a syntax error (there is no escaping: the language has no other syntax to escape).

Safety: there is no code execution and no attribute access. A path only walks `Mapping` keys and list
indexes; anything else (objects, strings, numbers) ends the walk as "missing". Filters are a fixed list.

Name resolution: a path whose first segment is one of the reserved namespaces (`vars`, `input`, `contact`,
`secret`) and present at the top level of the context is looked up there. Any other ("bare") name is looked
up first in `context["vars"]` and then at the top level, so `{{documento}}` is `{{vars.documento}}`. A
variable that happens to be called `secret` therefore can never stand in for the real secrets.

Missing values raise `TemplateError(path)` unless a `default` filter supplies one.

Filters
    default: <literal>  the literal (a "quoted" or 'quoted' string, a number, true, false or null) when the
                        value is missing or null
    upper, lower        text case
    money               a number as Spanish-style currency: "$ 1.234.567,89" (thousands ".", decimals ",",
                        always two decimals rounded half-up, "-$ 1.234,50" when negative). Numbers and
                        numeric strings ("1234.5") are accepted.
    date                an ISO date or date-time ("2024-11-23", "2024-11-23T09:00:00Z") as "23/11/2024"
    datetime            an ISO date-time as "23/11/2024 09:00" (the time as written, in its own offset)
    urlencode           percent-encodes everything except unreserved characters (for query strings/paths)
    json                JSON-encodes the value (compact, non-ASCII kept)

Rendering to text: strings as they are, null as "", booleans as "true"/"false", numbers with `str`,
mappings and lists as compact JSON. `render_value` renders JSON-like structures recursively; a string that
is exactly one placeholder ("{{monto}}") is replaced by the value itself, keeping its type.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote

RESERVED_NAMESPACES = frozenset({"vars", "input", "contact", "secret"})
FILTERS = frozenset({"default", "upper", "lower", "money", "date", "datetime", "urlencode", "json"})

_PATH = re.compile(r"^[^\W\d][\w-]*(?:\.[\w-]+)*$")
_FILTER = re.compile(r"^([a-z_]+)\s*(?::\s*(.+?))?$", re.DOTALL)
_NUMBER = re.compile(r"^-?\d+(?:\.\d+)?$")
_MAX_TEMPLATE_CHARS = 100_000


class TemplateError(ValueError):
    """A template could not be rendered: `path` is the variable (or the template fragment) at fault."""

    def __init__(self, path: str, reason: str = "missing") -> None:
        super().__init__(f"{reason}: {path}")
        self.path = path
        self.reason = reason


class TemplateSyntaxError(TemplateError):
    """The template itself is malformed (unclosed braces, bad path, unknown filter, bad argument)."""

    def __init__(self, fragment: str, reason: str = "syntax") -> None:
        super().__init__(fragment, reason)


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


@dataclass(frozen=True)
class _Filter:
    name: str
    has_arg: bool = False
    arg: Any = None


@dataclass(frozen=True)
class Placeholder:
    path: str
    filters: tuple[_Filter, ...]
    source: str  # the whole "{{ ... }}" as written


_Placeholder = Placeholder
_Part = str | Placeholder


# --- parsing -------------------------------------------------------------------------------------------

def _split_pipes(expr: str) -> list[str]:
    """Split on `|` outside quotes."""
    parts: list[str] = []
    current: list[str] = []
    quote_char: str | None = None
    for ch in expr:
        if quote_char:
            current.append(ch)
            if ch == quote_char:
                quote_char = None
        elif ch in "\"'":
            quote_char = ch
            current.append(ch)
        elif ch == "|":
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return parts


def _literal(text: str, source: str) -> Any:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        inner = text[1:-1]
        if text[0] in inner:
            raise TemplateSyntaxError(source, "bad filter argument")
        return inner
    if _NUMBER.match(text):
        return int(text) if "." not in text else float(text)
    if text in ("true", "false", "null"):
        return {"true": True, "false": False, "null": None}[text]
    raise TemplateSyntaxError(source, "bad filter argument")


def _parse_placeholder(inner: str, source: str) -> _Placeholder:
    pieces = _split_pipes(inner)
    path = pieces[0].strip()
    if not _PATH.match(path):
        raise TemplateSyntaxError(source, "bad variable path")
    filters: list[_Filter] = []
    for piece in pieces[1:]:
        match = _FILTER.match(piece.strip())
        if not match or match[1] not in FILTERS:
            raise TemplateSyntaxError(source, "unknown filter")
        name, arg = match[1], match[2]
        if name == "default":
            if arg is None:
                raise TemplateSyntaxError(source, "default needs a value")
            filters.append(_Filter(name, True, _literal(arg, source)))
        elif arg is not None:
            raise TemplateSyntaxError(source, f"{name} takes no argument")
        else:
            filters.append(_Filter(name))
    return _Placeholder(path=path, filters=tuple(filters), source=source)


def _parse(template: str) -> list[_Part]:
    if len(template) > _MAX_TEMPLATE_CHARS:
        raise TemplateSyntaxError(template[:40] + "...", "template too long")
    parts: list[_Part] = []
    pos = 0
    while True:
        start = template.find("{{", pos)
        if start < 0:
            if pos < len(template):
                parts.append(template[pos:])
            return parts
        if start > pos:
            parts.append(template[pos:start])
        i = start + 2
        quote_char: str | None = None
        end = -1
        while i < len(template):
            ch = template[i]
            if quote_char:
                if ch == quote_char:
                    quote_char = None
            elif ch in "\"'":
                quote_char = ch
            elif template.startswith("}}", i):
                end = i
                break
            i += 1
        if end < 0:
            raise TemplateSyntaxError(template[start:start + 40], "unclosed placeholder")
        parts.append(_parse_placeholder(template[start + 2:end], template[start:end + 2]))
        pos = end + 2


def parse(template: str) -> list[str | Placeholder]:
    """The template as literal text and placeholders, in order; raises TemplateSyntaxError."""
    return _parse(template)


def validate(template: str) -> None:
    """Raise TemplateSyntaxError when the template is malformed."""
    _parse(template)


# --- evaluation ----------------------------------------------------------------------------------------

def walk(value: Any, segments: Sequence[str]) -> Any:
    """Follow `segments` through mappings (string keys) and lists (non-negative indexes); MISSING when any
    step fails. Never touches attributes."""
    for segment in segments:
        if isinstance(value, Mapping):
            if segment not in value:
                return MISSING
            value = value[segment]
        elif isinstance(value, list | tuple):
            if not segment.isdigit() or not segment.isascii():
                return MISSING
            index = int(segment)
            if index >= len(value):
                return MISSING
            value = value[index]
        else:
            return MISSING
    return value


def lookup(path: str, context: Mapping[str, Any]) -> Any:
    """The value at `path` in `context` (see "Name resolution"), or MISSING."""
    segments = path.split(".")
    head = segments[0]
    if head in RESERVED_NAMESPACES and head in context:
        return walk(context, segments)
    local = context.get("vars")
    if isinstance(local, Mapping) and head in local:
        return walk(local, segments)
    return walk(context, segments)


def _money(value: Any, path: str) -> str:
    if isinstance(value, bool):
        raise TemplateError(path, "money needs a number")
    try:
        amount = Decimal(str(value).strip()) if isinstance(value, int | float | Decimal | str) else None
    except InvalidOperation:
        amount = None
    if amount is None or not amount.is_finite():
        raise TemplateError(path, "money needs a number")
    rounded = amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    sign = "-" if rounded < 0 else ""
    whole, _, cents = f"{abs(rounded):.2f}".partition(".")
    grouped = f"{int(whole):,}".replace(",", ".")
    return f"{sign}$ {grouped},{cents}"


def _date(value: Any, path: str) -> str:
    if isinstance(value, datetime | date):
        day = value
    elif isinstance(value, str):
        text = value.strip()
        try:
            day = date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text)
        except ValueError:
            raise TemplateError(path, "date needs an ISO date") from None
    else:
        raise TemplateError(path, "date needs an ISO date")
    return f"{day.day:02d}/{day.month:02d}/{day.year:04d}"


def to_text(value: Any) -> str:
    """How a value is written into text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping | list | tuple):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    return str(value)


def _apply(placeholder: _Placeholder, context: Mapping[str, Any]) -> Any:
    value = lookup(placeholder.path, context)
    path = placeholder.path
    for filt in placeholder.filters:
        if filt.name == "default":
            if value is MISSING or value is None:
                value = filt.arg
            continue
        if value is MISSING:
            raise TemplateError(path)
        if filt.name == "upper":
            value = to_text(value).upper()
        elif filt.name == "lower":
            value = to_text(value).lower()
        elif filt.name == "money":
            value = _money(value, path)
        elif filt.name == "date":
            value = _date(value, path)
        elif filt.name == "datetime":
            day_text = _date(value, path)
            moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value).strip())
            value = f"{day_text} {moment.hour:02d}:{moment.minute:02d}"
        elif filt.name == "urlencode":
            value = quote(to_text(value), safe="")
        elif filt.name == "json":
            value = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    if value is MISSING:
        raise TemplateError(path)
    return value


def render(template: str, context: Mapping[str, Any], *, escape: Callable[[str, str], str] | None = None) -> str:
    """Render `template` with `context`. Raises TemplateError (missing value, bad filter input) or
    TemplateSyntaxError.

    `escape(path, text)`, when given, is applied to every placeholder's text except those whose last filter
    is `urlencode` (already escaped): the integrations runner percent-encodes values it puts into URLs.
    """
    out: list[str] = []
    for part in _parse(template):
        if isinstance(part, str):
            out.append(part)
            continue
        text = to_text(_apply(part, context))
        already_escaped = bool(part.filters) and part.filters[-1].name == "urlencode"
        out.append(escape(part.path, text) if escape and not already_escaped else text)
    return "".join(out)


def render_value(value: Any, context: Mapping[str, Any]) -> Any:
    """Render every string inside a JSON-like value (dict values and list items, recursively; keys are
    literal). A string that is exactly one placeholder becomes the value itself, keeping its type."""
    if isinstance(value, str):
        parts = _parse(value)
        if len(parts) == 1 and isinstance(parts[0], _Placeholder):
            return _apply(parts[0], context)
        return render(value, context)
    if isinstance(value, Mapping):
        return {key: render_value(item, context) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [render_value(item, context) for item in value]
    return value


def referenced_paths(template_or_value: Any) -> set[str]:
    """Every variable path a template (or a JSON-like value holding templates) uses, as written.
    Raises TemplateSyntaxError on malformed templates."""
    found: set[str] = set()
    if isinstance(template_or_value, str):
        found.update(part.path for part in _parse(template_or_value) if isinstance(part, _Placeholder))
    elif isinstance(template_or_value, Mapping):
        for item in template_or_value.values():
            found |= referenced_paths(item)
    elif isinstance(template_or_value, list | tuple):
        for item in template_or_value:
            found |= referenced_paths(item)
    return found


def placeholder_count(template: str) -> int:
    """How many placeholders the template has."""
    return sum(1 for part in _parse(template) if isinstance(part, _Placeholder))


def literal_text(template: str) -> str:
    """The template with every placeholder removed (what is not templated)."""
    return "".join(part for part in _parse(template) if isinstance(part, str))
