"""WhatsApp template variables, and the send-time `components` built from values a caller supplies.

A template's variables are named by *slot*, a stable string a broadcast, a bot or the API can key values by:

- ``header``: the media (``image``, ``video``, ``document``) or ``location`` of a media header;
- ``header.1`` / ``header.<name>``: a variable in a TEXT header;
- ``body.1``, ``body.2``, ... (POSITIONAL) or ``body.<name>`` (NAMED): a variable in the body;
- ``button.<index>``: a URL button's dynamic suffix, a COPY_CODE button's code, a QUICK_REPLY button's payload
  (optional) or an authentication OTP button's code; ``index`` is the button's position in the BUTTONS list,
  which is also the ``index`` Meta expects in the send payload.

`build_components` checks every value (all problems are collected, then raised once as `TemplateParamError`)
and returns the Graph ``template.components`` list with Meta's lower-case send vocabulary. The limits are
Meta's: a body parameter and the substituted body at most 1024 characters, the substituted text header at
most 60, text parameters without newlines, tabs or more than four consecutive spaces (error 132018), a URL
suffix at most 2000 URL-safe characters, a coupon or OTP code at most 15 characters, a payload at most 256.

Whether the template may be sent at all (its status, the customer-service window) is the caller's concern.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from shared.models.templates import MessageTemplate, TemplateButton, TemplateComponent, TemplateInput

__all__ = [
    "BODY_MAX",
    "BODY_PARAM_MAX",
    "CODE_MAX",
    "HEADER_TEXT_MAX",
    "PAYLOAD_MAX",
    "URL_SUFFIX_MAX",
    "ParamProblem",
    "TemplateParamError",
    "TemplateVariable",
    "build_components",
    "is_named",
    "placeholders",
    "render_preview",
    "required_slots",
    "variables_of",
]

BODY_PARAM_MAX = 1024
BODY_MAX = 1024
HEADER_TEXT_MAX = 60
URL_SUFFIX_MAX = 2000
CODE_MAX = 15  # COPY_CODE coupon codes and authentication codes
PAYLOAD_MAX = 256

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")
_TRAILING_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}\s*$")
# Meta error 132018: "Param text cannot have new-line/tab characters or more than 4 consecutive spaces".
_BAD_WHITESPACE = re.compile(r"[\n\r\t]| {5,}")
_URL_UNSAFE = re.compile(r'[\x00-\x1f\x7f<>"{}|\\^`]')
_CURRENCY_CODE = re.compile(r"^[A-Z]{3}$")
_MEDIA_KINDS = frozenset({"image", "video", "document"})

TemplateLike = MessageTemplate | TemplateInput


@dataclass(frozen=True)
class TemplateVariable:
    """One value a send must (or, for a quick-reply payload, may) supply."""

    slot: str  # "header", "header.1", "body.first_name", "button.0", ...
    component: str  # HEADER, BODY or BUTTONS
    kind: str  # text, image, video, document, location, url_suffix, coupon_code, payload, otp_code
    name: str  # the placeholder ("1", "first_name"); the media kind for a media header; the button label
    example: str | None = None  # from the template's example block (a media header's is Meta's upload handle)
    required: bool = True
    max_length: int | None = None
    index: int | None = None  # the button's position in the BUTTONS list


class ParamProblem(NamedTuple):
    slot: str
    message: str

    def __str__(self) -> str:
        return f"{self.slot}: {self.message}"


class TemplateParamError(ValueError):
    """The values do not fit the template; `problems` lists every one of them, in template order."""

    def __init__(self, problems: list[ParamProblem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


# -- reading the template ----------------------------------------------------------------------------------
def placeholders(text: str | None) -> list[str]:
    """The placeholder names in `text` in order of first appearance, each once ("{{1}}" -> "1")."""
    seen: dict[str, None] = {}
    for match in PLACEHOLDER.finditer(text or ""):
        seen.setdefault(match.group(1), None)
    return list(seen)


def _component(template: TemplateLike, kind: str) -> TemplateComponent | None:
    return next((c for c in template.components if c.type == kind), None)


def _header_text(template: TemplateLike) -> str | None:
    header = _component(template, "HEADER")
    if header is None or (header.format or "TEXT") != "TEXT":
        return None
    return header.text


def is_named(template: TemplateLike) -> bool:
    """NAMED parameters: declared so, or a header/body placeholder is not a number (a sync that did not ask
    Meta for `parameter_format` still sends the names right)."""
    if template.parameter_format == "NAMED":
        return True
    body = _component(template, "BODY")
    names = placeholders(_header_text(template)) + placeholders(body.text if body else None)
    return any(not name.isdigit() for name in names)


def _ordered(names: list[str], named: bool) -> list[str]:
    """Positional parameters are sent in number order; named ones in order of appearance."""
    if named or not all(name.isdigit() for name in names):
        return names
    return sorted(names, key=int)


def _text_examples(component: TemplateComponent, prefix: str, named: bool) -> dict[str, str]:
    """Example values by placeholder name from `header_text`/`body_text` or their `*_named_params` forms."""
    example = component.example or {}
    out: dict[str, str] = {}
    for item in example.get(f"{prefix}_text_named_params") or []:
        if isinstance(item, Mapping) and item.get("param_name") is not None and item.get("example") is not None:
            out[str(item["param_name"])] = str(item["example"])
    if named and out:
        return out
    row: Any = example.get(f"{prefix}_text")
    if prefix == "body" and isinstance(row, list) and row and isinstance(row[0], list):
        row = row[0]  # body_text is a list of rows; Meta reads the first
    if isinstance(row, str):
        row = [row]
    if isinstance(row, list):
        positional = [str(name) for name in placeholders(component.text) if name.isdigit()]
        for name in positional:
            position = int(name) - 1
            if 0 <= position < len(row):
                out.setdefault(name, str(row[position]))
    return out


def _first(example: Any) -> str | None:
    if isinstance(example, list):
        return str(example[0]) if example else None
    return None if example is None else str(example)


def _url_example(button: TemplateButton) -> str | None:
    """A dynamic URL's example is either the suffix ("summer2023") or the whole URL; keep the suffix."""
    example = _first(button.example)
    prefix = _TRAILING_PLACEHOLDER.sub("", button.url or "")
    if example is not None and prefix and example.startswith(prefix) and example != prefix:
        return example[len(prefix):]
    return example


def _button_variable(index: int, button: TemplateButton) -> TemplateVariable | None:
    slot = f"button.{index}"
    label = button.text or str(index)
    if button.type == "URL":
        match = _TRAILING_PLACEHOLDER.search(button.url or "")
        if match is None:
            return None
        return TemplateVariable(slot, "BUTTONS", "url_suffix", match.group(1), _url_example(button),
                                max_length=URL_SUFFIX_MAX, index=index)
    if button.type == "COPY_CODE":
        return TemplateVariable(slot, "BUTTONS", "coupon_code", label, _first(button.example),
                                max_length=CODE_MAX, index=index)
    if button.type == "QUICK_REPLY":
        return TemplateVariable(slot, "BUTTONS", "payload", label, None, required=False,
                                max_length=PAYLOAD_MAX, index=index)
    if button.type == "OTP":
        return TemplateVariable(slot, "BUTTONS", "otp_code", label, None, max_length=CODE_MAX, index=index)
    return None  # PHONE_NUMBER, static URL, FLOW, MPM, CATALOG, ...: nothing to supply here


def variables_of(template: TemplateLike) -> list[TemplateVariable]:
    """Every variable of the template, in send order: header, body, then buttons by position."""
    named = is_named(template)
    out: list[TemplateVariable] = []
    header = _component(template, "HEADER")
    if header is not None:
        fmt = (header.format or "TEXT").lower()
        if fmt == "text":
            examples = _text_examples(header, "header", named)
            for name in _ordered(placeholders(header.text), named):
                out.append(TemplateVariable(f"header.{name}", "HEADER", "text", name, examples.get(name),
                                            max_length=HEADER_TEXT_MAX))
        elif fmt in _MEDIA_KINDS:
            handle = _first((header.example or {}).get("header_handle"))
            out.append(TemplateVariable("header", "HEADER", fmt, fmt, handle))
        elif fmt == "location":
            out.append(TemplateVariable("header", "HEADER", "location", fmt))
    body = _component(template, "BODY")
    if body is not None:
        examples = _text_examples(body, "body", named)
        for name in _ordered(placeholders(body.text), named):
            out.append(TemplateVariable(f"body.{name}", "BODY", "text", name, examples.get(name),
                                        max_length=BODY_PARAM_MAX))
    buttons = _component(template, "BUTTONS")
    for index, button in enumerate(buttons.buttons if buttons else []):
        variable = _button_variable(index, button)
        if variable is not None:
            out.append(variable)
    return out


def required_slots(template: TemplateLike) -> list[str]:
    return [v.slot for v in variables_of(template) if v.required]


# -- checking values ---------------------------------------------------------------------------------------
class _Invalid(Exception):
    """One value's problem; `build_components` turns it into a ParamProblem for the slot."""


def _absent(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _as_text(value: Any, what: str = "text") -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise _Invalid(f"expected {what} (a string or a number), got {type(value).__name__}")
    return value if isinstance(value, str) else str(value)


def _check_param_text(text: str, limit: int | None) -> str:
    if not text.strip():
        raise _Invalid("must not be empty")
    if _BAD_WHITESPACE.search(text):
        raise _Invalid("text parameters cannot contain newlines or tabs or more than 4 consecutive spaces")
    if limit is not None and len(text) > limit:
        raise _Invalid(f"text is {len(text)} characters; the limit is {limit}")
    return text


def _only_keys(value: Mapping[str, Any], allowed: set[str], what: str) -> None:
    unknown = sorted(set(value) - allowed)
    if unknown:
        raise _Invalid(f"unexpected {what} keys: {', '.join(map(str, unknown))}")


def _text_param(var: TemplateVariable, value: Any, named: bool) -> tuple[dict[str, Any], str]:
    """The send parameter and the text it stands for (counted against the component's length limit)."""
    name = {"parameter_name": var.name} if named else {}
    if isinstance(value, Mapping):
        kind = value.get("type")
        if kind not in ("currency", "date_time"):
            raise _Invalid("expected text, a number, or a currency/date_time object")
        if var.component != "BODY":
            raise _Invalid("currency and date_time values are only accepted in the body")
        fallback = value.get("fallback_value")
        if not isinstance(fallback, str):
            raise _Invalid(f"{kind} needs a fallback_value string")
        fallback = _check_param_text(fallback, var.max_length)
        if kind == "date_time":
            _only_keys(value, {"type", "fallback_value"}, "date_time")
            return {"type": "date_time", **name, "date_time": {"fallback_value": fallback}}, fallback
        _only_keys(value, {"type", "fallback_value", "code", "amount_1000"}, "currency")
        code, amount = value.get("code"), value.get("amount_1000")
        if not isinstance(code, str) or not _CURRENCY_CODE.match(code):
            raise _Invalid("currency code must be an ISO 4217 code such as USD")
        if isinstance(amount, bool) or not isinstance(amount, int):
            raise _Invalid("currency amount_1000 must be an integer (the amount times 1000)")
        return {"type": "currency", **name,
                "currency": {"fallback_value": fallback, "code": code, "amount_1000": amount}}, fallback
    text = _check_param_text(_as_text(value), var.max_length)
    return {"type": "text", **name, "text": text}, text


def _https_link(link: Any, kind: str) -> str:
    if not isinstance(link, str):
        raise _Invalid(f"{kind} link must be an https URL")
    parts = urlsplit(link.strip())
    if parts.scheme != "https" or not parts.netloc or any(ch.isspace() for ch in link.strip()):
        raise _Invalid(f"{kind} link must be an https URL")
    return link.strip()


def _media_param(var: TemplateVariable, value: Any) -> dict[str, Any]:
    kind = var.kind
    if isinstance(value, str):
        value = {"link": value}
    if not isinstance(value, Mapping):
        raise _Invalid(f"expected an https URL, {{'link': url}} or {{'id': media_id}} for the {kind}")
    allowed = {"link", "id", "filename"} if kind == "document" else {"link", "id"}
    _only_keys(value, allowed, kind)
    if ("link" in value) == ("id" in value):
        raise _Invalid(f"give exactly one of link or id for the {kind}")
    media: dict[str, Any]
    if "link" in value:
        media = {"link": _https_link(value["link"], kind)}
    else:
        media_id = value["id"]
        if isinstance(media_id, bool) or not isinstance(media_id, str | int) or not str(media_id).strip():
            raise _Invalid(f"{kind} id must be a non-empty media id")
        media = {"id": str(media_id).strip()}
    if "filename" in value:
        filename = value["filename"]
        if not isinstance(filename, str) or not filename.strip():
            raise _Invalid("document filename must be a non-empty string")
        media["filename"] = filename
    return {"type": kind, kind: media}


def _coordinate(value: Any, axis: str, bound: int) -> str:
    if isinstance(value, bool):
        raise _Invalid(f"location {axis} must be a number")
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise _Invalid(f"location {axis} must be a number") from None
    if not number.is_finite() or abs(number) > bound:
        raise _Invalid(f"location {axis} must be between -{bound} and {bound}")
    return str(value).strip()


def _location_param(value: Any) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise _Invalid("expected a location object with latitude and longitude")
    _only_keys(value, {"latitude", "longitude", "name", "address"}, "location")
    if "latitude" not in value or "longitude" not in value:
        raise _Invalid("location needs latitude and longitude")
    location = {"latitude": _coordinate(value["latitude"], "latitude", 90),
                "longitude": _coordinate(value["longitude"], "longitude", 180)}
    for key in ("name", "address"):
        if value.get(key) is not None:
            if not isinstance(value[key], str):
                raise _Invalid(f"location {key} must be a string")
            location[key] = value[key]
    return {"type": "location", "location": location}


def _button(var: TemplateVariable, value: Any) -> dict[str, Any]:
    text = _as_text(value)
    if not text.strip():
        raise _Invalid("must not be empty")
    if var.max_length is not None and len(text) > var.max_length:
        what = {"url_suffix": "URL suffix", "coupon_code": "coupon code", "payload": "payload",
                "otp_code": "code"}[var.kind]
        raise _Invalid(f"{what} is {len(text)} characters; the limit is {var.max_length}")
    if var.kind == "url_suffix":
        if any(ch.isspace() for ch in text):
            raise _Invalid("URL suffix must not contain spaces")
        unsafe = sorted(set(_URL_UNSAFE.findall(text)))
        if unsafe:
            raise _Invalid(f"URL suffix contains characters not allowed in a URL: {' '.join(map(repr, unsafe))}")
    index = str(var.index)
    if var.kind == "coupon_code":
        return {"type": "button", "sub_type": "copy_code", "index": index,
                "parameters": [{"type": "coupon_code", "coupon_code": text}]}
    if var.kind == "payload":
        return {"type": "button", "sub_type": "quick_reply", "index": index,
                "parameters": [{"type": "payload", "payload": text}]}
    # url_suffix, and otp_code: Meta sends authentication codes as a url button parameter
    return {"type": "button", "sub_type": "url", "index": index, "parameters": [{"type": "text", "text": text}]}


def _substitute(text: str, values: Mapping[str, str]) -> str:
    return PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)


def build_components(template: TemplateLike, values: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The Graph `template.components` for these values; raises TemplateParamError listing every problem.

    `values` maps slots to values: text slots take a string or a number (or, in the body, a
    ``{"type": "currency"|"date_time", "fallback_value": ..., ...}`` object); a media header takes an https
    URL, ``{"link": url}`` or ``{"id": media_id}`` (documents may add ``filename``); a location header takes
    ``{"latitude", "longitude", "name"?, "address"?}``; buttons take their suffix, code or payload.
    """
    variables = variables_of(template)
    named = is_named(template)
    known = {v.slot for v in variables}
    problems: list[ParamProblem] = []
    header_params: list[dict[str, Any]] = []
    body_params: list[dict[str, Any]] = []
    button_components: list[dict[str, Any]] = []
    texts: dict[str, dict[str, str]] = {"HEADER": {}, "BODY": {}}
    failed: set[str] = set()
    for var in variables:
        value = values.get(var.slot)
        if _absent(value):
            if var.required:
                problems.append(ParamProblem(var.slot, "missing" if value is None else "must not be empty"))
                failed.add(var.component)
            continue
        try:
            if var.kind == "text":
                param, text = _text_param(var, value, named)
                texts[var.component][var.name] = text
                (header_params if var.component == "HEADER" else body_params).append(param)
            elif var.kind in _MEDIA_KINDS:
                header_params.append(_media_param(var, value))
            elif var.kind == "location":
                header_params.append(_location_param(value))
            else:
                button_components.append(_button(var, value))
        except _Invalid as exc:
            problems.append(ParamProblem(var.slot, str(exc)))
            failed.add(var.component)
    problems.extend(ParamProblem(slot, "the template has no such variable") for slot in values if slot not in known)
    problems.extend(_length_problems(template, texts, failed))
    if problems:
        raise TemplateParamError(problems)
    components: list[dict[str, Any]] = []
    if header_params:
        components.append({"type": "header", "parameters": header_params})
    if body_params:
        components.append({"type": "body", "parameters": body_params})
    return components + button_components


def _length_problems(template: TemplateLike, texts: dict[str, dict[str, str]], failed: set[str]) -> list[ParamProblem]:
    """Meta measures the header and body after substitution (error 132005 when too long)."""
    out: list[ParamProblem] = []
    header_text, body = _header_text(template), _component(template, "BODY")
    checks = (("header", "HEADER", header_text, HEADER_TEXT_MAX), ("body", "BODY", body and body.text, BODY_MAX))
    for slot, component, text, limit in checks:
        if text and texts[component] and component not in failed:
            length = len(_substitute(text, texts[component]))
            if length > limit:
                out.append(ParamProblem(slot, f"text after substitution is {length} characters; the limit is {limit}"))
    return out


# -- preview -----------------------------------------------------------------------------------------------
def _preview_text(value: Any) -> str | None:
    if _absent(value):
        return None
    if isinstance(value, Mapping):
        fallback = value.get("fallback_value")
        return str(fallback) if fallback is not None else None
    return str(value)


def _preview_media(kind: str, value: Any) -> str:
    if isinstance(value, Mapping):
        if kind == "location":
            label = value.get("name") or value.get("address")
            where = f"{value.get('latitude')}, {value.get('longitude')}"
            return f"[location: {label} ({where})]" if label else f"[location: {where}]"
        value = value.get("link") or value.get("filename") or value.get("id")
    return f"[{kind}: {value}]" if not _absent(value) else f"[{kind}]"


def render_preview(template: TemplateLike, values: Mapping[str, Any]) -> dict[str, Any]:
    """The message as a person would read it; missing values stay as their placeholder ("{{1}}").

    Returns ``header`` and ``footer`` (text or None), ``body`` (text) and ``buttons``: one dict per button with
    its ``type`` and ``text``, plus ``url`` (suffix substituted), ``phone_number``, ``code`` or ``payload``.
    Lenient by design: nothing is validated here (use `build_components`).
    """
    by_component: dict[str, dict[str, str]] = {"HEADER": {}, "BODY": {}}
    for var in variables_of(template):
        if var.kind == "text":
            text = _preview_text(values.get(var.slot))
            if text is not None:
                by_component[var.component][var.name] = text
    header = _component(template, "HEADER")
    header_preview: str | None = None
    if header is not None:
        fmt = (header.format or "TEXT").lower()
        if fmt == "text":
            header_preview = _substitute(header.text or "", by_component["HEADER"])
        else:
            header_preview = _preview_media(fmt, values.get("header"))
    body, footer, buttons = (_component(template, kind) for kind in ("BODY", "FOOTER", "BUTTONS"))
    return {
        "header": header_preview,
        "body": _substitute(body.text or "", by_component["BODY"]) if body else "",
        "footer": footer.text if footer else None,
        "buttons": [_preview_button(i, b, values.get(f"button.{i}")) for i, b in enumerate(buttons.buttons)]
        if buttons else [],
    }


def _preview_button(index: int, button: TemplateButton, value: Any) -> dict[str, str]:
    out = {"type": button.type, "text": button.text or ""}
    given = None if _absent(value) else str(value)
    if button.type == "URL" and button.url:
        out["url"] = _TRAILING_PLACEHOLDER.sub(lambda m: given or m.group(0), button.url)
    elif button.type == "PHONE_NUMBER" and button.phone_number:
        out["phone_number"] = button.phone_number
    elif button.type in ("COPY_CODE", "OTP"):
        out["code"] = given or _first(button.example) or "{{code}}"
    elif button.type == "QUICK_REPLY" and given:
        out["payload"] = given
    return out
