"""Load and validate bot definitions: every problem reported with its path (and line, from YAML/JSON text).

Two passes: pydantic checks the shape of each node; then the cross-references are checked (every `next`,
`on_fail`, menu option, branch, jump and trigger points at a node that exists, every integration and intent
a node or trigger names is declared, secrets are never spoken to the customer). A definition with any problem
is refused as a whole — never half-loaded.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, get_args

import yaml
from pydantic import BaseModel, ValidationError

from shared.models import bots as bots_models
from shared.models.bots import (
    AiNode,
    BotDefinition,
    ConditionNode,
    IntegrationNode,
    JumpNode,
    MenuNode,
)
from shared.services.templating import referenced_paths

if TYPE_CHECKING:
    from shared.ports import BotVersion

MAX_SOURCE_BYTES = 300_000


@dataclass(frozen=True)
class DefinitionIssue:
    path: str
    message: str
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        where = f"line {self.line}, " if self.line else ""
        return f"{where}{self.path or '(root)'}: {self.message}"


class DefinitionInvalid(Exception):
    def __init__(self, issues: list[DefinitionIssue]) -> None:
        super().__init__("; ".join(str(i) for i in issues[:5]))
        self.issues = issues


Loc = tuple[str | int, ...]


# -- parsing with positions ----------------------------------------------------------------------------------
class _Positions:
    """Path -> (line, column) of every mapping key and sequence item in a YAML (or JSON) document."""

    def __init__(self, root: yaml.Node | None) -> None:
        self._root = root

    def find(self, loc: Loc) -> tuple[int, int] | None:
        node = self._root
        best: tuple[int, int] | None = (node.start_mark.line + 1, node.start_mark.column + 1) if node else None
        for part in loc:
            if node is None:
                break
            child: yaml.Node | None = None
            if isinstance(node, yaml.MappingNode):
                for key, value in node.value:
                    if isinstance(key, yaml.ScalarNode) and key.value == str(part):
                        best = (key.start_mark.line + 1, key.start_mark.column + 1)
                        child = value
                        break
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
                child = node.value[part]
                best = (child.start_mark.line + 1, child.start_mark.column + 1)
            if child is None:
                continue  # a discriminator tag or a model name inside pydantic's loc: skip it
            node = child
        return best


def _duplicate_keys(node: yaml.Node | None, path: Loc = ()) -> Iterator[DefinitionIssue]:
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            name = str(key.value)
            if name in seen:
                yield DefinitionIssue(_dotted((*path, name)), "duplicate key", key.start_mark.line + 1,
                                      key.start_mark.column + 1)
            seen.add(name)
            yield from _duplicate_keys(value, (*path, name))
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            yield from _duplicate_keys(item, (*path, index))


def _dotted(loc: Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def parse_source(text: str, fmt: Literal["yaml", "json"] | None = None) -> tuple[Any, _Positions]:
    """Parse YAML or JSON text (JSON is YAML, so one parser gives positions for both)."""
    if len(text.encode()) > MAX_SOURCE_BYTES:
        raise DefinitionInvalid([DefinitionIssue("", f"the definition is larger than {MAX_SOURCE_BYTES} bytes")])
    try:
        if fmt == "json":
            data = json.loads(text)
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        if fmt != "json":
            data = yaml.safe_load(text)
    except json.JSONDecodeError as exc:
        raise DefinitionInvalid([DefinitionIssue("", f"invalid JSON: {exc.msg}", exc.lineno, exc.colno)]) from exc
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        raise DefinitionInvalid([DefinitionIssue("", f"invalid YAML: {exc.problem}",
                                                 mark.line + 1 if mark else None,
                                                 mark.column + 1 if mark else None)]) from exc
    except yaml.YAMLError as exc:
        raise DefinitionInvalid([DefinitionIssue("", f"invalid YAML: {exc}")]) from exc
    duplicates = list(_duplicate_keys(root))
    if duplicates:
        raise DefinitionInvalid(duplicates)
    return data, _Positions(root)


# -- validation ------------------------------------------------------------------------------------------------
def load_definition(text: str, fmt: Literal["yaml", "json"] | None = None) -> BotDefinition:
    data, positions = parse_source(text, fmt)
    return validate_definition(data, positions)


def load_version(stored: BotVersion) -> BotDefinition:
    """The definition of a stored bot version (its text, in the format it was uploaded in)."""
    return load_definition(stored.source, "json" if stored.format == "json" else "yaml")


def validate_definition(data: Any, positions: _Positions | None = None) -> BotDefinition:
    def issue(loc: Loc, message: str) -> DefinitionIssue:
        where = positions.find(loc) if positions else None
        return DefinitionIssue(_dotted(loc), message, *(where or (None, None)))

    if not isinstance(data, dict):
        raise DefinitionInvalid([issue((), "a bot definition is a mapping (object) at the top level")])
    try:
        definition = BotDefinition.model_validate(data)
    except ValidationError as exc:
        issues = []
        for error in exc.errors(include_url=False):
            loc = _document_loc(error["loc"])
            message = error["msg"]
            if isinstance(error.get("input"), bool) and error["type"] == "string_type":
                message += " (YAML reads yes/no/on/off/true/false as booleans: put the value in quotes)"
            issues.append(issue(loc, message))
        raise DefinitionInvalid(_unique(issues)) from None
    problems = [issue(loc, message) for loc, message in cross_reference_problems(definition)]
    if problems:
        raise DefinitionInvalid(problems)
    return definition


_MODEL_NAMES = frozenset(name for name, value in vars(bots_models).items()
                         if isinstance(value, type) and issubclass(value, BaseModel))
_NODE_TYPES = frozenset(t for cls in bots_models.NODE_CLASSES for t in get_args(cls.model_fields["type"].annotation))


def _document_loc(loc: tuple[str | int, ...]) -> Loc:
    """pydantic's loc with its own parts removed: union member names, validator wrappers
    ("function-after[...]") and the discriminator value after a node id ("collect")."""
    out: list[str | int] = []
    for part in loc:
        if isinstance(part, str) and (part in _MODEL_NAMES or "[" in part):
            continue
        if isinstance(part, str) and part in _NODE_TYPES and len(out) >= 2 and out[-2] == "nodes":
            continue
        out.append(part)
    return tuple(out)


def _unique(issues: list[DefinitionIssue]) -> list[DefinitionIssue]:
    seen: set[tuple[str, str]] = set()
    out = []
    for item in issues:
        if (item.path, item.message) not in seen:
            seen.add((item.path, item.message))
            out.append(item)
    return out


def resolve_target(definition: BotDefinition, flow: str, target: str) -> tuple[str, str] | None:
    """'node' in the current flow, 'flow' (its start) or 'flow.node'; None when it does not exist."""
    if "." in target:
        flow_id, node_id = target.split(".", 1)
        found = definition.flows.get(flow_id)
        return (flow_id, node_id) if found and node_id in found.nodes else None
    current = definition.flows.get(flow)
    if current and target in current.nodes:
        return flow, target
    other = definition.flows.get(target)
    return (target, other.start) if other and other.start in other.nodes else None


def cross_reference_problems(definition: BotDefinition) -> list[tuple[Loc, str]]:
    problems: list[tuple[Loc, str]] = []
    integrations = {i.name: i for i in definition.integrations}
    if len(integrations) != len(definition.integrations):
        problems.append((("integrations",), "integration names must be unique"))

    def target(loc: Loc, flow: str, value: str | None) -> None:
        if value is not None and resolve_target(definition, flow, value) is None:
            problems.append((loc, f"{value!r} is not a node of flow {flow!r} nor a flow (or flow.node)"))

    if definition.start not in definition.flows:
        problems.append((("start",), f"flow {definition.start!r} does not exist"))
    for flow_id, flow in definition.flows.items():
        base: Loc = ("flows", flow_id)
        if flow.start not in flow.nodes:
            problems.append(((*base, "start"), f"node {flow.start!r} does not exist in flow {flow_id!r}"))
        for node_id, node in flow.nodes.items():
            loc: Loc = (*base, "nodes", node_id)
            for attr in ("next", "on_fail", "on_error", "on_handoff", "on_finish", "default"):
                target((*loc, attr), flow_id, getattr(node, attr, None))
            if isinstance(node, MenuNode):
                for i, option in enumerate(node.options):
                    target((*loc, "options", i, "next"), flow_id, option.next)
            elif isinstance(node, ConditionNode):
                for i, branch in enumerate(node.branches):
                    target((*loc, "branches", i, "next"), flow_id, branch.next)
            elif isinstance(node, JumpNode):
                target((*loc, "to"), flow_id, node.to)
            elif isinstance(node, IntegrationNode):
                spec = integrations.get(node.integration)
                if spec is None:
                    problems.append(((*loc, "integration"), f"integration {node.integration!r} is not declared"))
                else:
                    for name in node.inputs:
                        if name not in spec.parameters:
                            problems.append(((*loc, "inputs", name),
                                             f"{node.integration!r} has no parameter {name!r}"))
                    for name, param in spec.parameters.items():
                        if param.required and name not in node.inputs:
                            problems.append(((*loc, "inputs"), f"missing required input {name!r}"))
            elif isinstance(node, AiNode):
                for i, tool in enumerate(node.tools):
                    if tool not in integrations:
                        problems.append(((*loc, "tools", i), f"integration {tool!r} is not declared"))
                if definition.ai is None:
                    problems.append(((*loc,), "an ai node needs the bot's ai settings"))
            for field, text in _spoken_texts(node):
                if any(path.split(".")[0] == "secret" for path in _paths(text)):
                    problems.append(((*loc, field), "secrets cannot be used in what the bot says or sends"))
            if isinstance(node, IntegrationNode):
                for key, value in node.inputs.items():
                    if any(p.split(".")[0] == "secret" for p in _paths(value)):
                        problems.append(((*loc, "inputs", key), "secrets go in the integration, not the inputs"))
    for i, trigger in enumerate(definition.triggers):
        target(("triggers", i, "to"), definition.start, trigger.to)
        if trigger.intent is not None and trigger.intent not in definition.intents:
            problems.append((("triggers", i, "intent"), f"intent {trigger.intent!r} is not declared in intents"))
    for i, item in enumerate(definition.menu):
        target(("menu", i, "to"), definition.start, item.to)
    if definition.ai is not None:
        for i, tool in enumerate(definition.ai.tools):
            if tool not in integrations:
                problems.append((("ai", "tools", i), f"integration {tool!r} is not declared"))
    channels = list(definition.channels)
    if len(set(channels)) != len(channels):
        problems.append((("channels",), "channels must be unique"))
    return problems


def _spoken_texts(node: Any) -> Iterator[tuple[str, str]]:
    for field in ("text", "prompt", "invalid_text", "expired_text", "caption", "body", "subject", "title"):
        value = getattr(node, field, None)
        if isinstance(value, str):
            yield field, value
    if isinstance(node, MenuNode):
        for option in node.options:
            yield "options", option.title


def _paths(value: Any) -> set[str]:
    try:
        return referenced_paths(value)
    except Exception:  # a malformed template is reported when it is rendered
        return set()
