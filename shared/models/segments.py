"""Segments: saved contact filters, and the schema of the filter language.

A filter is a tree of plain JSON. A leaf is a condition, a node is a group::

    {"all": [
        {"field": "lifecycle", "op": "in", "value": ["lead", "qualified"]},
        {"any": [{"field": "tags", "op": "has", "value": "vip"},
                 {"field": "fields.puntos", "op": "gte", "value": 1000}]},
        {"not": {"field": "consent.marketing", "op": "eq", "value": "opted_out"}}
    ]}

The language is closed on purpose (an injection in a competitor's filter language is why):

- fields come from a whitelist (`BUILTIN_FIELDS`, plus `fields.<key>` for tenant custom fields);
- operators come from a fixed set; which operator fits which field type is `OPS_BY_TYPE`;
- a value is JSON data (a string, number, boolean, null, or a flat list of those), never an object, and it is
  only ever compared with contact data: nothing is spliced into a query or an expression;
- the size is bounded: groups nest at most `MAX_DEPTH` deep, a filter holds at most `MAX_CONDITIONS` conditions.

Parsing checks the shape. Whether a filter makes sense for one tenant (its custom fields, the operator for the
field type, the type of each value) is checked by `shared.services.segments.compile_filter`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    Tag,
    TypeAdapter,
    field_validator,
)

from shared.models.crm import FIELD_KEY

MAX_DEPTH = 4
MAX_CONDITIONS = 50
MAX_GROUPS = 100
MAX_GROUP_ITEMS = MAX_CONDITIONS
MAX_VALUE_ITEMS = 100
MAX_VALUE_LENGTH = 500

FieldType = Literal["text", "tags", "enum", "datetime", "number", "boolean", "date", "list"]
Op = Literal[
    "eq", "neq", "contains", "starts_with", "in", "exists",
    "has", "has_any", "has_all", "has_none",
    "before", "after", "within_days",
    "gt", "gte", "lt", "lte", "between",
]
OPS: frozenset[str] = frozenset(get_args(Op))

OPS_BY_TYPE: Mapping[FieldType, frozenset[str]] = {
    "text": frozenset({"eq", "neq", "contains", "starts_with", "in", "exists"}),
    "tags": frozenset({"has", "has_any", "has_all", "has_none"}),
    "enum": frozenset({"eq", "neq", "in"}),
    "datetime": frozenset({"before", "after", "within_days", "exists"}),
    "number": frozenset({"eq", "neq", "gt", "gte", "lt", "lte", "between", "exists"}),
    "boolean": frozenset({"eq"}),
    "date": frozenset({"eq", "before", "after", "between"}),
    "list": frozenset({"has", "has_any"}),
}

# The whitelist of contact attributes a filter may read, with their type.
BUILTIN_FIELDS: Mapping[str, FieldType] = {
    "name": "text",
    "tags": "tags",
    "lifecycle": "enum",
    "language": "text",
    "owner_agent_id": "text",
    "channel": "enum",
    "consent.marketing": "enum",
    "consent.utility": "enum",
    "last_inbound_at": "datetime",
    "last_outbound_at": "datetime",
    "created_at": "datetime",
    "over_cap": "boolean",
    "phone": "text",
    "email": "text",
}
CUSTOM_FIELD_PREFIX = "fields."
# Custom field type (CustomFieldDef.type) -> filter field type.
CUSTOM_FIELD_TYPES: Mapping[str, FieldType] = {
    "text": "text",
    "number": "number",
    "date": "date",
    "boolean": "boolean",
    "list": "list",
}
CONSENT_VALUES: tuple[str, ...] = ("opted_in", "opted_out", "none")

_CUSTOM_KEY = re.compile(FIELD_KEY)

Scalar = StrictBool | StrictInt | StrictFloat | Annotated[StrictStr, Field(max_length=MAX_VALUE_LENGTH)] | None
Value = Scalar | Annotated[list[Scalar], Field(max_length=MAX_VALUE_ITEMS)]


def _is_scalar(value: object) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, str):
        return len(value) <= MAX_VALUE_LENGTH
    return value is None or isinstance(value, bool | int)


class Condition(BaseModel):
    """One test of one contact attribute: `{"field": ..., "op": ..., "value": ...}`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    field: str = Field(max_length=len(CUSTOM_FIELD_PREFIX) + 40, description="A whitelisted field or fields.<key>")
    op: Op
    value: Value = Field(description="JSON data compared with the contact's value; never an object")

    @field_validator("field", mode="before")
    @classmethod
    def _known_field(cls, value: Any) -> Any:
        if not isinstance(value, str):
            raise ValueError("must be a string")
        if value in BUILTIN_FIELDS:
            return value
        if value.startswith(CUSTOM_FIELD_PREFIX) and _CUSTOM_KEY.match(value.removeprefix(CUSTOM_FIELD_PREFIX)):
            return value
        raise ValueError(f"unknown field {value[:60]!r}")

    @field_validator("op", mode="before")
    @classmethod
    def _known_op(cls, value: Any) -> Any:
        if not isinstance(value, str) or value not in OPS:
            raise ValueError(f"unknown operator {str(value)[:30]!r}")
        return value

    @field_validator("value", mode="before")
    @classmethod
    def _plain_data(cls, value: Any) -> Any:
        # One clear message instead of the union's list of mismatches; objects ({"$ne": null}) never pass.
        if isinstance(value, list):
            if len(value) > MAX_VALUE_ITEMS:
                raise ValueError(f"a list value holds at most {MAX_VALUE_ITEMS} items")
            if all(_is_scalar(item) for item in value):
                return value
        elif _is_scalar(value):
            return value
        raise ValueError(
            f"must be a string (up to {MAX_VALUE_LENGTH} characters), a finite number, a boolean, null,"
            " or a list of those; never an object")

    @property
    def custom_key(self) -> str | None:
        """The custom field key for `fields.<key>`, else None."""
        return self.field.removeprefix(CUSTOM_FIELD_PREFIX) if self.field.startswith(CUSTOM_FIELD_PREFIX) else None


class AllGroup(BaseModel):
    """Matches when every item matches."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    all: list[FilterNode] = Field(min_length=1, max_length=MAX_GROUP_ITEMS)


class AnyGroup(BaseModel):
    """Matches when at least one item matches."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    any: list[FilterNode] = Field(min_length=1, max_length=MAX_GROUP_ITEMS)


class NotGroup(BaseModel):
    """Matches when its item does not match. Written `{"not": {...}}`."""

    model_config = ConfigDict(frozen=True, extra="forbid", validate_by_name=True, validate_by_alias=True,
                              serialize_by_alias=True)

    not_: FilterNode = Field(alias="not")


def _node_tag(value: Any) -> str | None:
    if isinstance(value, Mapping):
        for key, tag in (("field", "condition"), ("all", "all_group"), ("any", "any_group"), ("not", "not_group")):
            if key in value:
                return tag
        return None
    return _MODEL_TAGS.get(type(value))


_MODEL_TAGS: dict[type, str] = {Condition: "condition", AllGroup: "all_group", AnyGroup: "any_group",
                                NotGroup: "not_group"}
NODE_TAGS: frozenset[str] = frozenset(_MODEL_TAGS.values())

FilterNode = Annotated[
    Annotated[Condition, Tag("condition")]
    | Annotated[AllGroup, Tag("all_group")]
    | Annotated[AnyGroup, Tag("any_group")]
    | Annotated[NotGroup, Tag("not_group")],
    Discriminator(
        _node_tag,
        custom_error_type="filter_node",
        custom_error_message='expected a condition {"field", "op", "value"} or a group {"all"|"any"|"not"}',
    ),
]

AllGroup.model_rebuild()
AnyGroup.model_rebuild()
NotGroup.model_rebuild()


def _group_items(node: object) -> tuple[str, list[Any]] | None:
    """(key, items) of a group, raw or parsed; None for anything that is not a group."""
    if isinstance(node, AllGroup):
        return "all", list(node.all)
    if isinstance(node, AnyGroup):
        return "any", list(node.any)
    if isinstance(node, NotGroup):
        return "not", [node.not_]
    if isinstance(node, Mapping) and "field" not in node:
        for key in ("all", "any"):
            items = node.get(key)
            if isinstance(items, list):
                return key, items
        if "not" in node:
            return "not", [node["not"]]
    return None


class FilterTooLarge(ValueError):
    """A size bound crossed; `path` locates the group at fault ("" for the whole filter)."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}" if path else reason)


def check_bounds(node: object) -> object:
    """Refuse a filter that nests too deep or holds too much, before anything walks it recursively.

    Works on raw JSON and on parsed nodes. Iterative, and it stops at the first limit crossed, so a hostile
    payload costs at most a few hundred steps. Depth counts groups: `{"all": [condition]}` is one level.
    """
    conditions = groups = 0
    stack: list[tuple[str, object, int]] = [("", node, 0)]
    while stack:
        path, current, depth = stack.pop()
        group = _group_items(current)
        if group is None:
            if isinstance(current, Condition | Mapping):
                conditions += 1
                if conditions > MAX_CONDITIONS:
                    raise FilterTooLarge("", f"a filter holds at most {MAX_CONDITIONS} conditions")
            continue
        key, items = group
        here = f"{path}.{key}" if path else key
        groups += 1
        if depth + 1 > MAX_DEPTH:
            raise FilterTooLarge(here, f"groups nest at most {MAX_DEPTH} levels deep")
        if groups > MAX_GROUPS:
            raise FilterTooLarge("", f"a filter holds at most {MAX_GROUPS} groups")
        if len(items) > MAX_GROUP_ITEMS:
            raise FilterTooLarge(here, f"a group holds at most {MAX_GROUP_ITEMS} items")
        if key == "not":
            stack.append((here, items[0], depth + 1))
        else:
            stack.extend((f"{here}[{i}]", item, depth + 1) for i, item in reversed(list(enumerate(items))))
    return node


# A whole filter: the tree with its size bounds. Use this type wherever a filter is accepted.
Filter = Annotated[FilterNode, BeforeValidator(check_bounds)]
FILTER_ADAPTER: TypeAdapter[Condition | AllGroup | AnyGroup | NotGroup] = TypeAdapter(Filter)


def parse_filter(raw: object) -> Condition | AllGroup | AnyGroup | NotGroup:
    """Validate raw JSON (or already parsed nodes) as a filter; raises pydantic.ValidationError."""
    return FILTER_ADAPTER.validate_python(raw)


class SegmentInput(BaseModel):
    """POST/PUT /v1/segments. The filter is also checked against the tenant's custom fields (compile_filter)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=100)
    description: str | None = Field(default=None, max_length=500)
    filter: Filter


class Segment(BaseModel):
    """A saved filter of one tenant. Membership is computed when used, never stored."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    segment_id: str
    tenant_id: str
    name: str = Field(min_length=1, max_length=100)
    description: str | None = Field(default=None, max_length=500)
    filter: Filter
    created_at: datetime
    updated_at: datetime
