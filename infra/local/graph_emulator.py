"""A local emulator of Meta's Graph API (the parts the platform uses), with injectable faults and limits.

Graph API (Bearer token required):
- POST   /local/graph/{version}/{phone_number_id}/messages   -> Meta's send response, or an error: an injected
     fault, a throughput/pair limit (130429/131056) or a template check (132000/132001/132015/132016)
- GET    /local/graph/{version}/{media_id}                   -> media info with a download URL
     (or the template object when the id is a template's)
- GET    /local/graph/media/{media_id}                       -> the media bytes
- GET    /local/graph/{version}/{waba_id}/message_templates  -> {"data": [...], "paging": {"cursors": {...}, "next"}}
     query: limit (25), after, name, status, category, language
- POST   /local/graph/{version}/{waba_id}/message_templates  -> {"id", "status": "PENDING", "category"}
- DELETE /local/graph/{version}/{waba_id}/message_templates?name=..[&hsm_id=..] -> {"success": true}

Test helpers (no token):
- GET    /local/graph/requests        -> every request received, in arrival order; DELETE resets everything
- POST   /local/graph/faults          -> queue faults: {"path_contains": "/messages", "status": 429,
     "error": {"code": 130429, "message": "..."}, "times": 2, "delay_s": 0, "to": "549...", "every": 10,
     "details": "..."}; times -1 = unlimited (the default when `every` is given); DELETE clears them
- POST   /local/graph/media           {"media_id", "data_b64", "mime_type"} -> register downloadable media
- GET    /local/graph/cdn/{media_id}  -> the same bytes without a token: a Messenger/Instagram attachment URL
- POST   /local/graph/templates       {"waba_id", "templates": [...]} -> seed (status APPROVED unless given);
     GET lists every WABA's templates; DELETE clears them
- POST   /local/graph/templates/review {"waba_id", "name", "language", "event", "reason", ...} -> change a
     template's status and post a message_template_status_update webhook to `account_sink`
- GET|POST /local/graph/throughput    {"mps": 80, "pair_limit": false, "pair_burst": 45, "pair_window_s": 6,
     "status": 400}
- GET|POST /local/graph/config        {"record_bodies": true, "auto_approve": false}
- GET    /local/graph/stats           -> accepted sends (total and per `to`), throttled, faults served; DELETE zeroes

Messenger and Instagram (Page tokens): see infra/local/page_emulator.py (/me, /me/messages, subscribed_apps,
messenger_profile; helpers /local/graph/pages/calls and /local/graph/pages/config).

Optionally (status_sink) it posts sent/delivered/read status webhooks back, as Meta does.

Throttling answers HTTP 400 by default: that is how Cloud API reports 130429/131056 in practice (the code, not
the HTTP status, carries the meaning); `status` on /throughput switches it to 429.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import re
import secrets
import threading
import time
import urllib.parse
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from infra.local.page_emulator import PageEmulator

Reply = tuple[int, dict[str, str], bytes]
Sink = Callable[[str, dict[str, Any]], None]

_SEND = re.compile(r"^/local/graph/(?P<version>v[\d.]+)/(?P<pni>[^/]+)/messages$")
_TEMPLATES = re.compile(r"^/local/graph/(?P<version>v[\d.]+)/(?P<waba>[^/]+)/message_templates$")
_MEDIA_INFO = re.compile(r"^/local/graph/(?P<version>v[\d.]+)/(?P<media_id>[^/]+)$")
_MEDIA_BYTES = re.compile(r"^/local/graph/media/(?P<media_id>[^/]+)$")
_TEMPLATE_NAME = re.compile(r"^[a-z0-9_]{1,512}$")
_PLACEHOLDER = re.compile(r"\{\{\s*([^{}]+?)\s*\}\}")
CATEGORIES = frozenset({"MARKETING", "UTILITY", "AUTHENTICATION"})
# review event -> the template status it leaves behind (other events: status = event; None = unchanged)
_EVENT_STATUS: dict[str, str | None] = {"REINSTATED": "APPROVED", "UNARCHIVED": "APPROVED", "UNPAUSED": "APPROVED",
                                        "FLAGGED": None, "LOCKED": None, "UNLOCKED": None}
_PAIR_PRUNE_EVERY = 10_000


def _json(status: int, body: Any) -> Reply:
    return status, {"Content-Type": "application/json"}, json.dumps(body).encode()


def _graph_error(status: int, code: int, message: str, *, details: str | None = None, subcode: int | None = None,
                 user_title: str | None = None, user_msg: str | None = None) -> Reply:
    error: dict[str, Any] = {"message": message, "type": "OAuthException", "code": code}
    if subcode is not None:
        error["error_subcode"] = subcode
    if user_title is not None:
        error["error_user_title"] = user_title
    if user_msg is not None:
        error["error_user_msg"] = user_msg
    if details is not None:
        error["error_data"] = {"messaging_product": "whatsapp", "details": details}
    error["fbtrace_id"] = "local-" + secrets.token_hex(6)
    return _json(status, {"error": error})


def _invalid(message: str, **kwargs: Any) -> Reply:
    return _graph_error(400, 100, message, **kwargs)


def _cursor(seq: int) -> str:
    return base64.urlsafe_b64encode(str(seq).encode()).decode().rstrip("=")


def _uncursor(cursor: str) -> int:
    return int(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode())


def _upper(value: Any) -> Any:
    return value.upper() if isinstance(value, str) else value


def _normalize_components(components: list[Any]) -> list[Any]:
    """Meta answers with upper-case component, format and button types, whatever case was submitted."""
    out: list[Any] = []
    for component in components:
        if not isinstance(component, dict):
            out.append(component)
            continue
        item = {**component}
        for key in ("type", "format"):
            if key in item:
                item[key] = _upper(item[key])
        if isinstance(item.get("buttons"), list):
            item["buttons"] = [{**b, "type": _upper(b.get("type"))} if isinstance(b, dict) else b
                               for b in item["buttons"]]
        out.append(item)
    return out


def _body_placeholders(template: dict[str, Any]) -> list[str]:
    """The distinct {{…}} placeholders of the BODY, in order of first appearance."""
    for component in template.get("components") or []:
        if isinstance(component, dict) and _upper(component.get("type")) == "BODY":
            text = component.get("text")
            if not isinstance(text, str):
                # authentication templates have no body text: the one-time code is their single parameter
                return ["1"] if template.get("category") == "AUTHENTICATION" else []
            return list(dict.fromkeys(_PLACEHOLDER.findall(text)))
    return []


def _sent_body_parameters(template: dict[str, Any]) -> list[Any]:
    for component in template.get("components") or []:
        if isinstance(component, dict) and str(component.get("type", "")).lower() == "body":
            parameters = component.get("parameters")
            return parameters if isinstance(parameters, list) else []
    return []


class UnknownTemplate(LookupError):
    """No template with that name and language in that WABA."""


@dataclass
class Fault:
    path_contains: str
    status: int
    error: dict[str, Any] | None
    times: int  # faults left to serve; -1 (any negative) = unlimited
    delay_s: float = 0.0
    to: str | None = None  # only sends whose `to` equals this
    every: int = 0  # serve on every Nth matching request (0 = every one)
    details: str | None = None  # becomes error.error_data.details
    seen: int = 0  # matching requests so far (for `every`)


@dataclass
class _Template:
    seq: int  # insertion order: the paging cursor
    waba_id: str
    data: dict[str, Any]  # the object as Meta returns it


@dataclass
class _Counters:
    accepted: int = 0
    throttled: int = 0
    pair_limited: int = 0
    template_rejected: int = 0
    faults_served: int = 0
    read_receipts: int = 0
    accepted_by_to: dict[str, int] = field(default_factory=dict)


@dataclass
class GraphEmulator:
    base_url: str = ""  # the local server's URL, for media download links and paging URLs
    status_sink: Sink | None = None  # (phone_number_id, statuses webhook body)
    account_sink: Sink | None = None  # (waba_id, message_template_status_update webhook body)
    requests: list[dict[str, Any]] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    media: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    mps_limit: float | None = None  # accepted sends per phone number per sliding second (None = unlimited)
    pair_limit: bool = False  # per (phone number, recipient) burst limit -> 131056
    pair_burst: int = 45  # Meta: 1 message / 6 s per pair, bursts of up to 45
    pair_window_s: float = 6.0
    throttle_status: int = 400  # HTTP status of 130429/131056 answers
    record_bodies: bool = True  # False: `requests` keeps only path, to and status (load tests)
    auto_approve: bool = False  # created templates become APPROVED after auto_approve_delay_s (webhook emitted)
    auto_approve_delay_s: float = 0.3
    clock: Callable[[], float] = time.monotonic  # for the rate windows
    pages: PageEmulator = field(default_factory=PageEmulator)  # Messenger/Instagram Send API and Page setup
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _templates: dict[str, dict[tuple[str, str], _Template]] = field(default_factory=dict)
    _seq: itertools.count[int] = field(default_factory=itertools.count)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1_100_000_000_000_001))
    _rate: dict[str, deque[float]] = field(default_factory=dict)
    _pairs: dict[tuple[str, str], deque[float]] = field(default_factory=dict)
    _pair_ops: int = 0
    _counters: _Counters = field(default_factory=_Counters)
    _defaults: dict[str, Any] = field(default_factory=dict)

    _CONFIG = ("mps_limit", "pair_limit", "pair_burst", "pair_window_s", "throttle_status", "record_bodies",
               "auto_approve", "auto_approve_delay_s")

    def __post_init__(self) -> None:
        self._defaults = {name: getattr(self, name) for name in self._CONFIG}

    def reset(self) -> None:
        """Back to how it was built: no requests, faults, templates, counters or rate history; constructor limits."""
        with self._lock:
            self.requests.clear()
            self.faults.clear()
            self._templates.clear()
            self._rate.clear()
            self._pairs.clear()
            self._counters = _Counters()
            for name, value in self._defaults.items():
                setattr(self, name, value)

    # -- dispatch --------------------------------------------------------------------------------------
    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes, *, query: str = ""
               ) -> Reply | None:
        if not path.startswith("/local/graph"):
            return None
        if "?" in path:  # a raw request target: split its query off
            path, _, inline = path.partition("?")
            query = query or inline
        params = {k: v[-1] for k, v in urllib.parse.parse_qs(query).items()}
        helper = self._helper(method, path, body) or self.pages.helper(method, path, body)
        if helper is not None:
            return helper
        auth = headers.get("authorization", "")
        if not auth.startswith("Bearer ") or len(auth) <= 7:
            return _json(401, {"error": {"message": "Invalid OAuth access token.", "type": "OAuthException",
                                         "code": 190, "fbtrace_id": "local"}})
        page = self.pages.handle(method, path, auth[7:], body, params)  # Messenger/Instagram: Page tokens
        if page is not None:
            return page
        if (m := _MEDIA_BYTES.match(path)) and method == "GET":
            return self._media_bytes(m["media_id"], path)
        if (m := _SEND.match(path)) and method == "POST":
            return self._send(path, m["pni"], body)
        if m := _TEMPLATES.match(path):
            return self._message_templates(method, m["version"], m["waba"], params, body)
        if (m := _MEDIA_INFO.match(path)) and method == "GET":
            return self._media_info(m["media_id"], path)
        return _json(404, {"error": {"message": f"Unknown path components: {path}", "code": 2500}})

    def _helper(self, method: str, path: str, body: bytes) -> Reply | None:
        if path == "/local/graph/requests":
            if method == "DELETE":
                self.reset()
                return _json(200, {"ok": True})
            with self._lock:
                return _json(200, list(self.requests))
        if path == "/local/graph/faults":
            return self._faults(method, body)
        if path == "/local/graph/media" and method == "POST":
            spec = json.loads(body or b"{}")
            self.media[spec["media_id"]] = (base64.b64decode(spec["data_b64"]), spec.get("mime_type", "image/jpeg"))
            return _json(200, {"ok": True})
        if path.startswith("/local/graph/cdn/") and method == "GET":  # Messenger/Instagram attachment URLs
            found = self.media.get(path.rsplit("/", 1)[-1])
            if found is None:
                return _json(404, {"error": {"message": "not found", "code": 100}})
            return 200, {"Content-Type": found[1]}, found[0]
        if path == "/local/graph/templates":
            return self._seed_endpoint(method, body)
        if path == "/local/graph/templates/review" and method == "POST":
            return self._review_endpoint(body)
        if path == "/local/graph/throughput":
            return self._throughput_endpoint(method, body)
        if path == "/local/graph/config":
            return self._config_endpoint(method, body)
        if path == "/local/graph/stats":
            if method == "DELETE":
                with self._lock:
                    self._counters = _Counters()
                return _json(200, {"ok": True})
            return _json(200, self.stats())
        return None

    # -- faults ----------------------------------------------------------------------------------------
    def _faults(self, method: str, body: bytes) -> Reply:
        if method == "DELETE":
            with self._lock:
                self.faults.clear()
            return _json(200, {"ok": True})
        spec = json.loads(body or b"{}")
        items = spec if isinstance(spec, list) else [spec]
        with self._lock:
            for item in items:
                every = int(item.get("every") or 0)
                self.faults.append(Fault(path_contains=item.get("path_contains", "/messages"),
                                         status=int(item.get("status", 500)), error=item.get("error"),
                                         times=int(item.get("times", -1 if every else 1)),
                                         delay_s=float(item.get("delay_s", 0)), to=item.get("to"), every=every,
                                         details=item.get("details")))
        return _json(200, {"ok": True, "queued": len(items)})

    def _take_fault(self, path: str, to: str | None = None) -> Fault | None:
        chosen: Fault | None = None
        with self._lock:
            for fault in self.faults:
                if fault.path_contains not in path or fault.times == 0:
                    continue
                if fault.to is not None and fault.to != to:
                    continue
                if fault.every > 1:
                    fault.seen += 1  # every matching request counts, even when another fault is served
                    if fault.seen % fault.every:
                        continue
                if chosen is None:
                    chosen = fault
                    if fault.times > 0:
                        fault.times -= 1
                    self._counters.faults_served += 1
        return chosen

    def _apply_fault(self, path: str, to: str | None = None) -> Reply | None:
        fault = self._take_fault(path, to)
        if fault is None:
            return None
        if fault.delay_s:
            time.sleep(fault.delay_s)
        error = {"message": "(#131000) Something went wrong", "type": "OAuthException", "code": 131000,
                 "fbtrace_id": "local-fault", **(fault.error or {})}
        if fault.details is not None and "error_data" not in error:
            error["error_data"] = {"messaging_product": "whatsapp", "details": fault.details}
        return _json(fault.status, {"error": error})

    # -- recording -------------------------------------------------------------------------------------
    def _entry(self, path: str, parsed: Any, status: int) -> dict[str, Any]:
        if self.record_bodies:
            return {"path": path, "body": parsed, "status": status}
        return {"path": path, "to": parsed.get("to") if isinstance(parsed, dict) else None, "status": status}

    def _record(self, path: str, parsed: Any, status: int) -> None:
        with self._lock:
            self.requests.append(self._entry(path, parsed, status))

    @staticmethod
    def _parse(body: bytes) -> Any:
        try:
            return json.loads(body) if body else None
        except ValueError:
            return body.decode(errors="replace")

    # -- sends -----------------------------------------------------------------------------------------
    def _send(self, path: str, phone_number_id: str, body: bytes) -> Reply:
        parsed = self._parse(body)
        payload: dict[str, Any] = parsed if isinstance(parsed, dict) else {}
        to = payload.get("to")
        to = to if isinstance(to, str) else ""
        fault = self._apply_fault(path, to or None)
        if fault is not None:
            self._record(path, parsed, fault[0])
            return fault
        if not isinstance(parsed, dict):
            self._record(path, parsed, 400)
            return _invalid("(#100) Invalid parameter", details="The request body is not a JSON object.")
        if payload.get("status") == "read":
            with self._lock:
                self._counters.read_receipts += 1
                self.requests.append(self._entry(path, parsed, 200))
            return _json(200, {"success": True})
        category: str | None = None
        if payload.get("type") == "template":
            refused, category = self._check_template(payload.get("template"))
            if refused is not None:
                with self._lock:
                    self._counters.template_rejected += 1
                    self.requests.append(self._entry(path, parsed, refused[0]))
                return refused
        throttled = self._admit(path, phone_number_id, to, parsed)
        if throttled is not None:
            return throttled
        wamid = "wamid.LOCAL" + secrets.token_hex(12).upper()
        contact = {"input": to, "wa_id": to if to.isdigit() else ""}
        if not to.isdigit():
            contact["user_id"] = to
        if self.status_sink:
            self._emit_statuses(phone_number_id, wamid, to, payload.get("biz_opaque_callback_data"),
                                pricing_category=category)
        return _json(200, {"messaging_product": "whatsapp", "contacts": [contact],
                           "messages": [{"id": wamid, "message_status": "accepted"}]})

    def _admit(self, path: str, phone_number_id: str, to: str, parsed: Any) -> Reply | None:
        """Check the limits and, when within them, count the send as accepted — atomically."""
        with self._lock:
            now = self.clock()
            window: deque[float] | None = None
            if self.mps_limit is not None:
                window = self._rate.setdefault(phone_number_id, deque())
                while window and window[0] <= now - 1.0:
                    window.popleft()
                if len(window) >= self.mps_limit:
                    self._counters.throttled += 1
                    self.requests.append(self._entry(path, parsed, self.throttle_status))
                    return _graph_error(self.throttle_status, 130429, "(#130429) Rate limit hit",
                                        details="Cloud API message throughput has been reached.")
            pair: deque[float] | None = None
            if self.pair_limit and to:
                pair = self._pairs.setdefault((phone_number_id, to), deque())
                while pair and pair[0] <= now - self.pair_window_s:
                    pair.popleft()
                if len(pair) >= self.pair_burst:
                    self._counters.pair_limited += 1
                    self.requests.append(self._entry(path, parsed, self.throttle_status))
                    return _graph_error(
                        self.throttle_status, 131056, "(#131056) (Business Account, Consumer Account) pair rate "
                        "limit hit", details="Message failed to send because there were too many messages sent "
                        "from this phone number to the same phone number in a short period of time.")
            if window is not None:
                window.append(now)
            if pair is not None:
                pair.append(now)
                self._prune_pairs(now)
            self._counters.accepted += 1
            if to:
                self._counters.accepted_by_to[to] = self._counters.accepted_by_to.get(to, 0) + 1
            self.requests.append(self._entry(path, parsed, 200))
        return None

    def _prune_pairs(self, now: float) -> None:
        """Forget recipients with no send in the window, now and then (lock held): bounded memory at 100k sends."""
        self._pair_ops += 1
        if self._pair_ops % _PAIR_PRUNE_EVERY:
            return
        horizon = now - self.pair_window_s
        for key in [k for k, q in self._pairs.items() if not q or q[-1] <= horizon]:
            del self._pairs[key]

    def _check_template(self, spec: Any) -> tuple[Reply | None, str | None]:
        """Meta's send-time template checks: (error reply or None, the template's pricing category)."""
        spec = spec if isinstance(spec, dict) else {}
        name = str(spec.get("name", ""))
        language_spec = spec.get("language")
        language = str(language_spec.get("code", "")) if isinstance(language_spec, dict) else str(language_spec or "")
        with self._lock:
            if not any(self._templates.values()):
                return None, None  # nothing registered: accept any template (older tests and `make dev`)
            found = [t.data for by_key in self._templates.values() if (t := by_key.get((name, language)))]
        found.sort(key=lambda t: t.get("status") != "APPROVED")
        template = found[0] if found else None
        status = template.get("status") if template else None
        if template is None or status not in ("APPROVED", "PAUSED", "DISABLED"):
            return _graph_error(400, 132001, "(#132001) Template name does not exist in the translation",
                                details=f"template name ({name}) does not exist in {language}"), None
        if status == "PAUSED":
            return _graph_error(400, 132015, "(#132015) Template is Paused",
                                details=f"Template {name} is paused due to low quality."), None
        if status == "DISABLED":
            return _graph_error(400, 132016, "(#132016) Template is disabled",
                                details=f"Template {name} has been paused too many times and is disabled."), None
        expected = _body_placeholders(template)
        sent = _sent_body_parameters(spec)
        named = template.get("parameter_format") == "NAMED"
        mismatch = len(sent) != len(expected) or (named and sorted(
            str(p.get("parameter_name")) if isinstance(p, dict) else "" for p in sent) != sorted(expected))
        if mismatch:
            return _graph_error(400, 132000, "(#132000) Number of parameters does not match the expected number "
                                "of params", details=f"body: number of localizable_params ({len(sent)}) does not "
                                f"match the expected number of params ({len(expected)})"), None
        return None, str(template.get("category") or "")

    def _emit_statuses(self, phone_number_id: str, wamid: str, to: str, callback: str | None,
                       pricing_category: str | None = None) -> None:
        """sent, delivered, read ~0.3 s apart; a known template is billed (PMP) under its category."""
        pricing: dict[str, Any] = {"billable": False, "pricing_model": "PMP", "type": "free_customer_service",
                                   "category": "service"}
        if pricing_category:
            pricing = {"billable": True, "pricing_model": "PMP", "type": "regular",
                       "category": pricing_category.lower()}

        def run() -> None:
            for status in ("sent", "delivered", "read"):
                time.sleep(0.3)
                item: dict[str, Any] = {"id": wamid, "status": status, "timestamp": str(int(time.time())),
                                        "recipient_id": to}
                if callback:
                    item["biz_opaque_callback_data"] = callback
                if status == "sent":
                    item["pricing"] = pricing
                body = {"object": "whatsapp_business_account", "entry": [{"id": "0", "changes": [{
                    "field": "messages", "value": {"messaging_product": "whatsapp",
                                                   "metadata": {"display_phone_number": "15550000001",
                                                                "phone_number_id": phone_number_id},
                                                   "statuses": [item]}}]}]}
                assert self.status_sink is not None
                self.status_sink(phone_number_id, body)

        threading.Thread(target=run, daemon=True).start()

    # -- templates -------------------------------------------------------------------------------------
    def seed_templates(self, waba_id: str, templates: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Register templates as Meta would hold them (status APPROVED unless given); same (name, language)
        replaces. Returns the stored objects (with their ids)."""
        stored = []
        with self._lock:
            for spec in templates:
                if not spec.get("name") or not spec.get("language"):
                    raise ValueError("a template needs a name and a language")
                data = self._template_object(spec, status=str(spec.get("status", "APPROVED")).upper())
                self._put(waba_id, data)
                stored.append(dict(data))
        return stored

    def templates(self, waba_id: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(t.data) for w, by_key in self._templates.items() if waba_id in (None, w)
                    for t in sorted(by_key.values(), key=lambda t: t.seq)]

    def _template_object(self, spec: dict[str, Any], *, status: str) -> dict[str, Any]:
        """Meta's GET shape (lock held: draws an id)."""
        data: dict[str, Any] = {
            "id": str(spec.get("id") or next(self._ids)), "name": spec["name"], "language": spec["language"],
            "status": status, "category": str(spec.get("category", "UTILITY")).upper(),
            "components": _normalize_components(list(spec.get("components") or [])),
            "parameter_format": str(spec.get("parameter_format", "POSITIONAL")).upper(),
            "quality_score": spec.get("quality_score") or {"score": "UNKNOWN"},
        }
        for extra in ("previous_category", "correct_category", "rejected_reason", "sub_category"):
            if spec.get(extra) is not None:
                data[extra] = spec[extra]
        return data

    def _put(self, waba_id: str, data: dict[str, Any]) -> None:
        self._templates.setdefault(waba_id, {})[(data["name"], data["language"])] = _Template(
            seq=next(self._seq), waba_id=waba_id, data=data)

    def _find(self, waba_id: str | None, *, name: str | None = None, language: str | None = None,
              template_id: str | None = None) -> _Template | None:
        """Lock held."""
        for w, by_key in self._templates.items():
            if waba_id not in (None, w):
                continue
            if template_id is None:
                found = by_key.get((name or "", language or ""))
            else:
                found = next((t for t in by_key.values() if t.data["id"] == template_id), None)
            if found is not None:
                return found
        return None

    def _message_templates(self, method: str, version: str, waba_id: str, params: dict[str, str],
                           body: bytes) -> Reply:
        if method == "GET":
            return self._list_templates(version, waba_id, params)
        if method == "POST":
            return self._create_template(waba_id, body)
        if method == "DELETE":
            return self._delete_template(waba_id, params)
        return _invalid(f"Unsupported {method} request.")

    def _list_templates(self, version: str, waba_id: str, params: dict[str, str]) -> Reply:
        try:
            limit = max(1, int(params.get("limit", 25)))
            after = _uncursor(params["after"]) if params.get("after") else -1
        except ValueError:
            return _invalid("(#100) Invalid parameter", user_msg="limit or after is not valid")
        filters = {key: params[key] for key in ("name", "status", "category", "language") if params.get(key)}
        with self._lock:
            matching = sorted((t for t in self._templates.get(waba_id, {}).values() if t.seq > after
                               and all(str(t.data.get(k, "")).upper() == v.upper() for k, v in filters.items())),
                              key=lambda t: t.seq)
            page = matching[:limit]
            data = [dict(t.data) for t in page]
        if not page:
            return _json(200, {"data": []})  # Graph omits paging on an empty edge
        paging: dict[str, Any] = {"cursors": {"before": _cursor(page[0].seq), "after": _cursor(page[-1].seq)}}
        if len(matching) > limit:
            query = urllib.parse.urlencode({**filters, "limit": limit, "after": _cursor(page[-1].seq)})
            paging["next"] = f"{self.base_url}/local/graph/{version}/{waba_id}/message_templates?{query}"
        return _json(200, {"data": data, "paging": paging})

    def _create_template(self, waba_id: str, body: bytes) -> Reply:
        spec = self._parse(body)
        if not isinstance(spec, dict):
            return _invalid("(#100) Invalid parameter", user_msg="The request body is not a JSON object.")
        for required in ("name", "language", "category", "components"):
            if not spec.get(required):
                return _invalid(f"(#100) The parameter {required} is required.")
        name, language = spec["name"], spec["language"]
        if not isinstance(name, str) or not _TEMPLATE_NAME.match(name):
            return _invalid("Invalid parameter", user_title="Invalid template name",
                            user_msg="Template names can only contain lowercase letters, numbers and underscores.")
        if str(spec["category"]).upper() not in CATEGORIES:
            return _invalid("Invalid parameter", user_msg=f"Param category must be one of {sorted(CATEGORIES)}.")
        if not isinstance(spec["components"], list):
            return _invalid("(#100) Param components must be an array.")
        with self._lock:
            if (name, language) in self._templates.get(waba_id, {}):
                return _invalid("Invalid parameter", subcode=2388024,
                                user_title="Content in This Language Already Exists",
                                user_msg=f"There is already {language} content for this template. You can create "
                                         "a new template and try again.")
            data = self._template_object({k: v for k, v in spec.items() if k not in ("id", "quality_score")},
                                         status="PENDING")
            self._put(waba_id, data)
        if self.auto_approve:
            threading.Thread(target=self._approve_later, args=(waba_id, name, language), daemon=True).start()
        return _json(200, {"id": data["id"], "status": "PENDING", "category": data["category"]})

    def _approve_later(self, waba_id: str, name: str, language: str) -> None:
        time.sleep(self.auto_approve_delay_s)
        with self._lock:
            template = self._find(waba_id, name=name, language=language)
            pending = template is not None and template.data["status"] == "PENDING"
        if pending:
            self.review(waba_id, name, language, "APPROVED")

    def _delete_template(self, waba_id: str, params: dict[str, str]) -> Reply:
        name, hsm_id = params.get("name"), params.get("hsm_id")
        if not name:
            return _invalid("(#100) The parameter name is required.")
        with self._lock:
            by_key = self._templates.get(waba_id, {})
            doomed = [k for k, t in by_key.items() if k[0] == name and hsm_id in (None, t.data["id"])]
            for key in doomed:
                del by_key[key]
        if not doomed:
            return _invalid("Invalid parameter", user_title="Message template not found",
                            user_msg=f"No message template named {name}.")
        return _json(200, {"success": True})

    def review(self, waba_id: str, name: str, language: str, event: str, reason: str | None = "NONE",
               **info: Any) -> dict[str, Any]:
        """Meta's review outcome: set the template's status and post message_template_status_update.

        `info` may carry other_info / rejection_info / disable_info (Meta's optional blocks). Returns the webhook
        body; raises UnknownTemplate when there is no such template."""
        event = event.upper()
        with self._lock:
            template = self._find(waba_id, name=name, language=language)
            if template is None:
                raise UnknownTemplate(f"no template {name}/{language} in WABA {waba_id}")
            data = template.data
            status = _EVENT_STATUS.get(event, event)
            if event == "DELETED":
                del self._templates[waba_id][(name, language)]
            elif status is not None:
                data["status"] = status
            if event == "FLAGGED":
                data["quality_score"] = {"score": "RED"}
            if event == "REJECTED":
                data["rejected_reason"] = reason or "NONE"
            elif status == "APPROVED":
                data.pop("rejected_reason", None)
            value: dict[str, Any] = {
                "event": event,
                "message_template_id": int(data["id"]) if data["id"].isdigit() else data["id"],
                "message_template_name": name, "message_template_language": language,
                "reason": None if event in ("DELETED", "PENDING_DELETION") else reason,
                "message_template_category": data["category"]}
        if event == "DISABLED":
            info.setdefault("disable_info", {"disable_date": str(int(time.time()))})
        for block in ("disable_info", "other_info", "rejection_info"):
            if info.get(block):
                value[block] = info[block]
        webhook = {"entry": [{"id": waba_id, "time": int(time.time()), "changes": [{
            "value": value, "field": "message_template_status_update"}]}], "object": "whatsapp_business_account"}
        if self.account_sink is not None:
            self.account_sink(waba_id, webhook)
        return webhook

    def _seed_endpoint(self, method: str, body: bytes) -> Reply:
        if method == "GET":
            with self._lock:
                wabas = list(self._templates)
            return _json(200, {waba: self.templates(waba) for waba in wabas})
        if method == "DELETE":
            with self._lock:
                self._templates.clear()
            return _json(200, {"ok": True})
        spec = json.loads(body or b"{}")
        try:
            stored = self.seed_templates(str(spec["waba_id"]), list(spec.get("templates") or []))
        except (KeyError, ValueError) as exc:
            return _json(400, {"error": {"message": f"bad seed: {exc}", "code": 100}})
        return _json(200, {"ok": True, "templates": stored})

    def _review_endpoint(self, body: bytes) -> Reply:
        spec = json.loads(body or b"{}")
        if not all(spec.get(key) for key in ("waba_id", "name", "language")):
            return _json(400, {"error": {"message": "waba_id, name and language are required", "code": 100}})
        blocks = {k: spec[k] for k in ("other_info", "rejection_info", "disable_info") if k in spec}
        try:
            webhook = self.review(str(spec["waba_id"]), spec["name"], spec["language"], spec.get("event", "APPROVED"),
                                  spec.get("reason", "NONE"), **blocks)
        except UnknownTemplate as exc:
            return _json(404, {"error": {"message": str(exc), "code": 100}})
        except Exception as exc:  # the account sink failed: the status did change; say so
            return _json(502, {"error": {"message": f"webhook delivery failed: {exc!r}", "code": 1}})
        return _json(200, {"ok": True, "webhook": webhook})

    # -- limits, config, stats -------------------------------------------------------------------------
    def throughput(self) -> dict[str, Any]:
        return {"mps": self.mps_limit, "pair_limit": self.pair_limit, "pair_burst": self.pair_burst,
                "pair_window_s": self.pair_window_s, "status": self.throttle_status}

    def _throughput_endpoint(self, method: str, body: bytes) -> Reply:
        if method == "POST":
            spec = json.loads(body or b"{}")
            with self._lock:
                if "mps" in spec:
                    self.mps_limit = None if spec["mps"] is None else float(spec["mps"])
                if "pair_limit" in spec:
                    self.pair_limit = bool(spec["pair_limit"])
                if "pair_burst" in spec:
                    self.pair_burst = int(spec["pair_burst"])
                if "pair_window_s" in spec:
                    self.pair_window_s = float(spec["pair_window_s"])
                if "status" in spec:
                    self.throttle_status = int(spec["status"])
                self._rate.clear()
                self._pairs.clear()
        return _json(200, self.throughput())

    def _config_endpoint(self, method: str, body: bytes) -> Reply:
        if method == "POST":
            spec = json.loads(body or b"{}")
            with self._lock:
                if "record_bodies" in spec:
                    self.record_bodies = bool(spec["record_bodies"])
                if "auto_approve" in spec:
                    self.auto_approve = bool(spec["auto_approve"])
                if "auto_approve_delay_s" in spec:
                    self.auto_approve_delay_s = float(spec["auto_approve_delay_s"])
        return _json(200, {"record_bodies": self.record_bodies, "auto_approve": self.auto_approve,
                           "auto_approve_delay_s": self.auto_approve_delay_s})

    def stats(self) -> dict[str, Any]:
        """Counters for load tests; `duplicates` = recipients accepted more than once."""
        with self._lock:
            counters = self._counters
            by_to = dict(counters.accepted_by_to)
            return {"accepted": counters.accepted, "accepted_by_to": by_to, "recipients": len(by_to),
                    "duplicates": sum(1 for n in by_to.values() if n > 1), "throttled": counters.throttled,
                    "pair_limited": counters.pair_limited, "template_rejected": counters.template_rejected,
                    "faults_served": counters.faults_served, "read_receipts": counters.read_receipts,
                    "requests": len(self.requests)}

    # -- media -----------------------------------------------------------------------------------------
    def _media_info(self, media_id: str, path: str) -> Reply:
        fault = self._apply_fault(path)
        if fault is not None:
            self._record(path, None, fault[0])
            return fault
        self._record(path, None, 200)
        if media_id not in self.media:
            with self._lock:
                template = self._find(None, template_id=media_id)
                data = dict(template.data) if template else None
            if data is not None:
                return _json(200, data)
            return _json(404, {"error": {"message": "Unsupported get request. Object does not exist", "code": 100}})
        data_bytes, mime = self.media[media_id]
        return _json(200, {"messaging_product": "whatsapp", "id": media_id, "mime_type": mime,
                           "sha256": hashlib.sha256(data_bytes).hexdigest(), "file_size": str(len(data_bytes)),
                           "url": f"{self.base_url}/local/graph/media/{media_id}"})

    def _media_bytes(self, media_id: str, path: str) -> Reply:
        fault = self._apply_fault(path)
        if fault is not None:
            return fault
        if media_id not in self.media:
            return _json(404, {"error": {"message": "media not found", "code": 100}})
        data, mime = self.media[media_id]
        return 200, {"Content-Type": mime}, data
