"""Segment filters: validate a filter against one tenant's fields, and compile it to a predicate.

`compile_filter` turns a filter (see `shared.models.segments`) into a plain Python callable built from closures:
no eval, no expression strings, no attribute names taken from the request. Each condition reads one whitelisted
contact attribute through a fixed reader function and compares it with a value that was checked and normalized
at compile time. Filter values are only ever data.

Matching rules:
- text is compared case- and accent-insensitively, with runs of whitespace collapsed ('José  Pérez' matches
  'jose perez'; ñ folds to n). Phones are compared by their digits only ('+54 9 11 5555-0101' = '5491155550101').
- multi-valued fields (phone, email, channel) match when any of the contact's values matches; their negations
  (`neq`, `has_none`) match when none does.
- a missing value never matches, except for `exists: false`, `neq` and `has_none`; consent without a record is
  the value `none`.
- `within_days: n` means from `now - n days` up to `now`, both included; `between` includes both ends.
- datetimes in filter values need a timezone offset; a bare date (YYYY-MM-DD) means 00:00 UTC. Naive datetimes
  on a contact, and a naive `now`, are read as UTC.
- contacts merged into another contact (`merged_into` set) never match.
"""

from __future__ import annotations

import operator
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any, NamedTuple, TypeVar, get_args

from pydantic import ValidationError

from shared.errors import DomainError
from shared.models.crm import TAG, Contact, CustomFieldDef, IdentityKind, LifecycleStage
from shared.models.segments import (
    BUILTIN_FIELDS,
    CONSENT_VALUES,
    CUSTOM_FIELD_TYPES,
    NODE_TAGS,
    OPS_BY_TYPE,
    AllGroup,
    AnyGroup,
    Condition,
    FieldType,
    FilterNode,
    FilterTooLarge,
    NotGroup,
    parse_filter,
)

Predicate = Callable[[Contact, datetime], bool]
"""`(contact, now) -> bool`; `now` anchors relative conditions such as `within_days`."""

T = TypeVar("T")
Reader = Callable[[Contact], T]

MAX_WITHIN_DAYS = 3650


class FilterProblem(NamedTuple):
    """One problem of a filter: where (`all[2].field`; "" for the whole filter) and why."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class SegmentInvalid(DomainError, ValueError):
    """A filter that does not parse, or does not fit the tenant's fields.

    `problems` lists every problem found, structured; `errors` the same as lines
    (`all[2].field: unknown field 'fields.ciudad'`); str() joins them with "; ".
    """

    def __init__(self, problems: Sequence[FilterProblem]) -> None:
        self.problems: tuple[FilterProblem, ...] = tuple(problems)
        self.errors: tuple[str, ...] = tuple(str(p) for p in self.problems)
        super().__init__("; ".join(self.errors))


class _BadValue(Exception):
    """A condition's value does not fit its field and operator (internal; becomes a SegmentInvalid line)."""


# --------------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------------


def compile_filter(filter: FilterNode | Mapping[str, Any], field_defs: Mapping[str, CustomFieldDef]) -> Predicate:
    """Validate a filter (raw JSON or parsed) against the whitelist and the tenant's custom field definitions
    (keyed by field key), and return its predicate. Raises SegmentInvalid listing every problem found."""
    try:
        node = parse_filter(filter)
    except ValidationError as exc:
        raise SegmentInvalid(_describe(exc)) from None
    errors: list[FilterProblem] = []
    predicate = _compile_node(node, "", field_defs, errors)
    if errors:
        raise SegmentInvalid(errors)

    def matches(contact: Contact, now: datetime) -> bool:
        return contact.merged_into is None and predicate(contact, _utc(now))

    return matches


def segment_matches(contacts: Iterable[Contact], predicate: Predicate, now: datetime) -> Iterator[Contact]:
    """The contacts that match, lazily, in the order given. Merged contacts are skipped whatever the predicate."""
    for contact in contacts:
        if contact.merged_into is None and predicate(contact, now):
            yield contact


def fold_text(text: str) -> str:
    """Case-, accent- and spacing-insensitive form used for every text comparison ('  José ' -> 'jose')."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(bare.casefold().split())


# --------------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------------


def _path(loc: Iterable[int | str]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part not in NODE_TAGS:  # union tags name the node kind, not a place in the document
            out += f".{part}" if out else part
    return out


def _describe(exc: ValidationError) -> list[FilterProblem]:
    problems = []
    for error in exc.errors(include_url=False):
        path, message = _path(error["loc"]), error["msg"]
        if error["type"] == "value_error":
            cause = error["ctx"]["error"]
            if isinstance(cause, FilterTooLarge):  # raised on the whole filter; it carries its own path
                path, message = _at(path, cause.path) if cause.path else path, cause.reason
            else:
                message = str(cause)
        problems.append(FilterProblem(path, message))
    return problems


def _at(path: str, part: str) -> str:
    return f"{path}.{part}" if path else part


# --------------------------------------------------------------------------------------------------
# Tree
# --------------------------------------------------------------------------------------------------


def _compile_node(node: FilterNode, path: str, defs: Mapping[str, CustomFieldDef],
                  errors: list[FilterProblem]) -> Predicate:
    if isinstance(node, AllGroup):
        every = tuple(_compile_node(item, f"{_at(path, 'all')}[{i}]", defs, errors) for i, item in enumerate(node.all))
        return lambda contact, now: all(p(contact, now) for p in every)
    if isinstance(node, AnyGroup):
        some = tuple(_compile_node(item, f"{_at(path, 'any')}[{i}]", defs, errors) for i, item in enumerate(node.any))
        return lambda contact, now: any(p(contact, now) for p in some)
    if isinstance(node, NotGroup):
        inner = _compile_node(node.not_, _at(path, "not"), defs, errors)
        return lambda contact, now: not inner(contact, now)
    return _compile_condition(node, path, defs, errors)


def _never(contact: Contact, now: datetime) -> bool:
    return False


def _compile_condition(cond: Condition, path: str, defs: Mapping[str, CustomFieldDef],
                       errors: list[FilterProblem]) -> Predicate:
    key = cond.custom_key
    field_def = defs.get(key) if key is not None else None
    if key is not None and (field_def is None or field_def.key != key):
        errors.append(FilterProblem(_at(path, "field"), f"unknown field {cond.field!r}"))
        return _never
    field_type: FieldType = CUSTOM_FIELD_TYPES[field_def.type] if field_def is not None else BUILTIN_FIELDS[cond.field]
    allowed = OPS_BY_TYPE[field_type]
    if cond.op not in allowed:
        errors.append(FilterProblem(_at(path, "op"), f"operator {cond.op!r} does not apply to {field_type} field"
                                                     f" {cond.field!r} (use {', '.join(sorted(allowed))})"))
        return _never
    try:
        return _BUILDERS[field_type](cond, field_def)
    except _BadValue as exc:
        errors.append(FilterProblem(_at(path, "value"), str(exc)))
        return _never


# --------------------------------------------------------------------------------------------------
# Values: checked and normalized once, at compile time
# --------------------------------------------------------------------------------------------------


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _need_bool(cond: Condition) -> bool:
    if not isinstance(cond.value, bool):
        raise _BadValue(f"{cond.op!r} expects true or false")
    return cond.value


def _need_str(cond: Condition) -> str:
    if not isinstance(cond.value, str):
        raise _BadValue(f"{cond.op!r} expects a string")
    return cond.value


def _need_str_list(cond: Condition) -> list[str]:
    value = cond.value
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise _BadValue(f"{cond.op!r} expects a non-empty list of strings")
    return [v for v in value if isinstance(v, str)]


def _need_number(cond: Condition) -> float:
    value = cond.value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _BadValue(f"{cond.op!r} expects a number")
    return value


def _empty_range(what: str) -> _BadValue:
    return _BadValue(f"'between' expects [low, high] with low <= high, got {what[:80]}")


def _choice(value: str, allowed: frozenset[str], what: str) -> str:
    if value not in allowed:
        raise _BadValue(f"unknown {what} {value[:60]!r} (use {', '.join(sorted(allowed))})")
    return value


_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _parse_date(value: object) -> date:
    if isinstance(value, str) and _ISO_DATE.match(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise _BadValue(f"expected a date as YYYY-MM-DD, got {str(value)[:40]!r}")


def _parse_datetime(value: object) -> datetime:
    if isinstance(value, str) and _ISO_DATE.match(value):
        day = _parse_date(value)
        return datetime(day.year, day.month, day.day, tzinfo=UTC)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            parsed = None
        if parsed is not None:
            if parsed.tzinfo is None:
                raise _BadValue(f"datetime {value[:40]!r} needs a timezone offset (e.g. 2026-03-01T09:00:00-03:00)")
            return parsed.astimezone(UTC)
    raise _BadValue(f"expected an ISO 8601 datetime with offset, or a date YYYY-MM-DD, got {str(value)[:40]!r}")


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


# --------------------------------------------------------------------------------------------------
# Readers: one fixed function per whitelisted attribute
# --------------------------------------------------------------------------------------------------


def _digits(text: str) -> str:
    return re.sub(r"[^0-9]", "", text)


def _folded(values: Iterable[str], normalize: Callable[[str], str] = fold_text) -> tuple[str, ...]:
    return tuple(v for v in (normalize(raw) for raw in values) if v)


def _maybe(text: str | None) -> tuple[str, ...]:
    return _folded((text,)) if text else ()


def _consent(purpose: str) -> Reader[frozenset[str]]:
    def read(contact: Contact) -> frozenset[str]:
        record = contact.consent.get(purpose)
        return frozenset({record.status if record is not None else "none"})

    return read


def _moment(read: Callable[[Contact], datetime | None]) -> Reader[datetime | None]:
    def read_utc(contact: Contact) -> datetime | None:
        value = read(contact)
        return _utc(value) if value is not None else None

    return read_utc


_TEXT_READERS: Mapping[str, Reader[tuple[str, ...]]] = {
    "name": lambda c: _maybe(c.name),
    "language": lambda c: _maybe(c.language),
    "owner_agent_id": lambda c: _maybe(c.owner_agent_id),
    "email": lambda c: _folded(c.emails),
    "phone": lambda c: _folded(c.phones, _digits),
}

_ENUM_FIELDS: Mapping[str, tuple[frozenset[str], Reader[frozenset[str]]]] = {
    "lifecycle": (frozenset(get_args(LifecycleStage)), lambda c: frozenset({c.lifecycle})),
    "channel": (frozenset(get_args(IdentityKind)), lambda c: frozenset(i.kind for i in c.identities)),
    "consent.marketing": (frozenset(CONSENT_VALUES), _consent("marketing")),
    "consent.utility": (frozenset(CONSENT_VALUES), _consent("utility")),
}

_DATETIME_READERS: Mapping[str, Reader[datetime | None]] = {
    "created_at": _moment(lambda c: c.created_at),
    "last_inbound_at": _moment(lambda c: c.last_inbound_at),
    "last_outbound_at": _moment(lambda c: c.last_outbound_at),
}


def _custom(key: str) -> Reader[Any]:
    return lambda contact: contact.fields.get(key)


def _custom_text(key: str) -> Reader[tuple[str, ...]]:
    read = _custom(key)
    return lambda contact: _maybe(value) if isinstance(value := read(contact), str) else ()


def _custom_number(key: str) -> Reader[float | None]:
    read = _custom(key)
    return lambda contact: value if _is_number(value := read(contact)) else None


def _custom_boolean(key: str) -> Reader[bool | None]:
    read = _custom(key)
    return lambda contact: value if isinstance(value := read(contact), bool) else None


def _custom_date(key: str) -> Reader[date | None]:
    read = _custom(key)

    def read_date(contact: Contact) -> date | None:
        value = read(contact)
        if isinstance(value, str) and _ISO_DATE.match(value):
            try:
                return date.fromisoformat(value)
            except ValueError:
                return None
        return None

    return read_date


def _custom_list(key: str) -> Reader[frozenset[str]]:
    read = _custom(key)

    def read_items(contact: Contact) -> frozenset[str]:
        value = read(contact)
        items = [value] if isinstance(value, str) else value if isinstance(value, list) else []
        return frozenset(_folded(v for v in items if isinstance(v, str)))

    return read_items


# --------------------------------------------------------------------------------------------------
# Builders: one per field type; (condition, custom field definition or None) -> predicate
# --------------------------------------------------------------------------------------------------


def _build_text(cond: Condition, field_def: CustomFieldDef | None) -> Predicate:
    read = _custom_text(field_def.key) if field_def is not None else _TEXT_READERS[cond.field]
    normalize = _digits if cond.field == "phone" else fold_text

    def needle(raw: str) -> str:
        value = normalize(raw)
        if not value:
            raise _BadValue("a phone number needs digits" if cond.field == "phone" else "text must not be empty")
        return value

    op = cond.op
    if op == "exists":
        wanted = _need_bool(cond)
        return lambda contact, now: bool(read(contact)) is wanted
    if op == "in":
        options = frozenset(needle(v) for v in _need_str_list(cond))
        return lambda contact, now: any(v in options for v in read(contact))
    text = needle(_need_str(cond))
    if op == "eq":
        return lambda contact, now: text in read(contact)
    if op == "neq":
        return lambda contact, now: text not in read(contact)
    if op == "contains":
        return lambda contact, now: any(text in v for v in read(contact))
    return lambda contact, now: any(v.startswith(text) for v in read(contact))  # starts_with


def _tag_value(raw: str) -> str:
    if not re.match(TAG, raw):
        raise _BadValue(f"not a valid tag: {raw[:60]!r}")
    return fold_text(raw)


def _build_tags(cond: Condition, field_def: CustomFieldDef | None) -> Predicate:
    def read(contact: Contact) -> frozenset[str]:
        return frozenset(_folded(contact.tags))

    return _build_set_ops(cond, read, _tag_value)


def _build_set_ops(cond: Condition, read: Reader[frozenset[str]], item: Callable[[str], str]) -> Predicate:
    """has / has_any / has_all / has_none over a set of folded strings (tags, list custom fields)."""
    if cond.op == "has":
        one = item(_need_str(cond))
        return lambda contact, now: one in read(contact)
    wanted = frozenset(item(v) for v in _need_str_list(cond))
    if cond.op == "has_any":
        return lambda contact, now: not wanted.isdisjoint(read(contact))
    if cond.op == "has_all":
        return lambda contact, now: wanted <= read(contact)
    return lambda contact, now: wanted.isdisjoint(read(contact))  # has_none


def _build_list(cond: Condition, field_def: CustomFieldDef | None) -> Predicate:
    assert field_def is not None  # list fields are custom fields only
    options = {fold_text(o): o for o in field_def.options}

    def item(raw: str) -> str:
        folded = fold_text(raw)
        if not folded:
            raise _BadValue("text must not be empty")
        if options and folded not in options:
            raise _BadValue(f"not an option of {cond.field!r}: {raw[:60]!r}")
        return folded

    return _build_set_ops(cond, _custom_list(field_def.key), item)


def _build_enum(cond: Condition, field_def: CustomFieldDef | None) -> Predicate:
    allowed, read = _ENUM_FIELDS[cond.field]
    what = f"{cond.field} value"
    if cond.op == "in":
        wanted = frozenset(_choice(v, allowed, what) for v in _need_str_list(cond))
        return lambda contact, now: not wanted.isdisjoint(read(contact))
    one = _choice(_need_str(cond), allowed, what)
    if cond.op == "eq":
        return lambda contact, now: one in read(contact)
    return lambda contact, now: one not in read(contact)  # neq


def _build_datetime(cond: Condition, field_def: CustomFieldDef | None) -> Predicate:
    read = _DATETIME_READERS[cond.field]
    if cond.op == "exists":
        wanted = _need_bool(cond)
        return lambda contact, now: (read(contact) is not None) is wanted
    if cond.op == "within_days":
        days = cond.value
        if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= MAX_WITHIN_DAYS:
            raise _BadValue(f"'within_days' expects a whole number of days from 1 to {MAX_WITHIN_DAYS}")
        span = timedelta(days=days)

        def within(contact: Contact, now: datetime) -> bool:
            value = read(contact)
            return value is not None and now - span <= value <= now

        return within
    moment = _parse_datetime(cond.value)
    compare = operator.lt if cond.op == "before" else operator.gt
    return lambda contact, now: (value := read(contact)) is not None and compare(value, moment)


_NUMBER_COMPARE: Mapping[str, Callable[[Any, Any], bool]] = {
    "eq": operator.eq, "gt": operator.gt, "gte": operator.ge, "lt": operator.lt, "lte": operator.le,
}


def _build_number(cond: Condition, field_def: CustomFieldDef | None) -> Predicate:
    assert field_def is not None  # number fields are custom fields only
    read = _custom_number(field_def.key)
    if cond.op == "exists":
        wanted = _need_bool(cond)
        return lambda contact, now: (read(contact) is not None) is wanted
    if cond.op == "between":
        value = cond.value
        if not isinstance(value, list) or len(value) != 2 or not all(_is_number(v) for v in value):
            raise _BadValue("'between' expects [low, high] as two numbers")
        low, high = (float(v) for v in value if isinstance(v, int | float))
        if low > high:
            raise _empty_range(str(value))
        return lambda contact, now: (number := read(contact)) is not None and low <= number <= high
    target = _need_number(cond)
    if cond.op == "neq":
        return lambda contact, now: read(contact) != target
    compare = _NUMBER_COMPARE[cond.op]
    return lambda contact, now: (number := read(contact)) is not None and compare(number, target)


def _build_boolean(cond: Condition, field_def: CustomFieldDef | None) -> Predicate:
    wanted = _need_bool(cond)  # the only operator is eq
    if field_def is None:  # over_cap
        return lambda contact, now: contact.over_cap is wanted
    read = _custom_boolean(field_def.key)
    return lambda contact, now: read(contact) is wanted


def _build_date(cond: Condition, field_def: CustomFieldDef | None) -> Predicate:
    assert field_def is not None  # date fields are custom fields only
    read = _custom_date(field_def.key)
    if cond.op == "between":
        value = cond.value
        if not isinstance(value, list) or len(value) != 2:
            raise _BadValue("'between' expects [first, last] as two dates YYYY-MM-DD")
        first, last = (_parse_date(v) for v in value)
        if first > last:
            raise _empty_range(str(value))
        return lambda contact, now: (day := read(contact)) is not None and first <= day <= last
    target = _parse_date(cond.value)
    compare: Callable[[Any, Any], bool] = {"eq": operator.eq, "before": operator.lt, "after": operator.gt}[cond.op]
    return lambda contact, now: (day := read(contact)) is not None and compare(day, target)


_BUILDERS: Mapping[FieldType, Callable[[Condition, CustomFieldDef | None], Predicate]] = {
    "text": _build_text,
    "tags": _build_tags,
    "enum": _build_enum,
    "datetime": _build_datetime,
    "number": _build_number,
    "boolean": _build_boolean,
    "date": _build_date,
    "list": _build_list,
}
