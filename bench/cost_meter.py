"""Counting what AWS would bill, on the local stack: the instrument behind bench/cost_profile.py.

A `Meter` hooks botocore on the default session (every client the handlers build) and the local `FunctionHost`,
and records per (phase, function):
- invocations, records and the handler thread's CPU time (``time.thread_time``; the bookkeeping of the hooks
  themselves is subtracted, and the CPU of the broadcast sender's pool threads is added to the function that
  submitted the work);
- every AWS call by service and operation;
- DynamoDB request units from item sizes, as DynamoDB computes them (read-write-operations.html, cited in
  ../shared/reference/aws-cost-limits-reliability.md:95): a write is ceil(size / 1 KB) units of the larger of the
  item before and after it (a delete: the item deleted; a failed conditional write: the item as it stands, at
  least 1), x2 in a transaction; every GSI whose entry is added, changed or removed costs its own write units
  (+1 WRU per GSI projecting a changed attribute, :208; a key change is a delete plus a put). A read is
  ceil(size / 4 KB) units (a Query sums the sizes of every item it evaluated, before filters and projections),
  x0.5 when eventually consistent, x2 in a transaction; a miss still costs 1 unit (0.5). The item images come
  from shadow reads on a client without these hooks, so they are neither counted nor timed;
- SQS requests (each 64 KB chunk of a send is one request, :112), EventBridge events (per 64 KB chunk, :121) and
  the SQS sends EventBridge makes to the rule targets those events match (infra.topology.RULES);
- HTTP calls to channel APIs (the Graph API emulator here): their latency is assumed, not measured.
"""

from __future__ import annotations

import base64
import json
import math
import re
import statistics
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from infra import topology

KB = 1024
CHUNK = 64 * KB  # SQS and EventBridge bill each 64 KB chunk of a payload as one request / event
TYPES = {"S", "N", "B", "SS", "NS", "BS", "M", "L", "NULL", "BOOL"}
WRITES = {"PutItem", "UpdateItem", "DeleteItem"}
KEYS = (topology.TABLE.pk, topology.TABLE.sk)
GSIS = tuple((g.pk, g.sk) for g in topology.TABLE.gsis)
_PLACEHOLDER = re.compile(r"[#:][A-Za-z0-9_]+")


@dataclass
class Tally:
    """What one function did during one phase."""

    invocations: int = 0
    records: int = 0
    samples: list[tuple[float, int]] = field(default_factory=list)  # (CPU s, records) of each invocation or call
    pool_cpu_s: float = 0.0  # CPU of pool threads working for this function
    calls: Counter[str] = field(default_factory=Counter)  # "dynamodb:PutItem" -> n
    wru: float = 0.0
    rru: float = 0.0
    sqs_requests: Counter[str] = field(default_factory=Counter)  # "fifo" | "standard" -> requests
    eb_events: float = 0.0
    channel_calls: int = 0  # sequential HTTP calls to a channel API (the handler waits for each)
    pooled_channel_calls: int = 0  # sent from a pool of `concurrency` threads (the handler waits for 1/concurrency)

    @property
    def aws_calls(self) -> int:
        return sum(self.calls.values())

    @property
    def cpu_s(self) -> float:
        """The median CPU time per record times the records (a shared machine's GC pauses and lock waits are
        outliers, not the handler's cost), plus the pool threads' CPU."""
        if not self.samples:
            return self.pool_cpu_s
        per_record = statistics.median(cpu / max(records, 1) for cpu, records in self.samples)
        return per_record * sum(max(records, 1) for _, records in self.samples) + self.pool_cpu_s


# -- DynamoDB item sizes (wire format: {"S": "..."}, {"N": "12"}, ...) ---------------------------------------
def _number_size(text: str) -> int:
    digits = text.lstrip("-").replace(".", "").lstrip("0").split("e")[0].split("E")[0]
    return (max(len(digits), 1) + 1) // 2 + 1


def attribute_size(value: dict[str, Any]) -> int:
    """Bytes DynamoDB counts for one attribute value (names are added by the caller)."""
    ((kind, data),) = value.items()
    if kind == "S":
        return len(data.encode())
    if kind == "N":
        return _number_size(data)
    if kind == "B":
        return len(base64.b64decode(data))
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(s.encode()) for s in data)
    if kind == "NS":
        return sum(_number_size(n) for n in data)
    if kind == "BS":
        return sum(len(base64.b64decode(b)) for b in data)
    if kind == "M":
        return 3 + sum(len(k.encode()) + attribute_size(v) + 1 for k, v in data.items())
    return 3 + sum(attribute_size(v) + 1 for v in data)  # L


def item_size(item: dict[str, Any] | None) -> int:
    return sum(len(k.encode()) + attribute_size(v) for k, v in (item or {}).items())


def write_units(size: int) -> int:
    return max(1, math.ceil(size / KB))


def read_units(size: int) -> int:
    return max(1, math.ceil(size / (4 * KB)))


def gsi_write_units(before: dict[str, Any] | None, after: dict[str, Any] | None) -> int:
    """Index writes of one table write: a put, an update or a delete of each GSI entry (projection ALL)."""
    units = 0
    for pk, sk in GSIS:
        had = bool(before) and pk in before and sk in before  # type: ignore[operator]
        has = bool(after) and pk in after and sk in after  # type: ignore[operator]
        if had and has:
            if (before[pk], before[sk]) != (after[pk], after[sk]):  # type: ignore[index]
                units += write_units(item_size(before)) + write_units(item_size(after))
            elif before != after:
                units += write_units(item_size(after))
        elif had:
            units += write_units(item_size(before))
        elif has:
            units += write_units(item_size(after))
    return units


def _key(item: dict[str, Any]) -> dict[str, Any]:
    return {k: item[k] for k in KEYS if k in item}


def _prune(request: dict[str, Any]) -> dict[str, Any]:
    """A Query/Scan replayed without filter and projection (to size every item it evaluated); placeholders the
    remaining expressions no longer use are dropped, as DynamoDB refuses unused ones."""
    replay = {k: v for k, v in request.items()
              if k not in ("FilterExpression", "ProjectionExpression", "Select", "AttributesToGet",
                           "ReturnConsumedCapacity")}
    used = set(_PLACEHOLDER.findall(replay.get("KeyConditionExpression", "")))
    for part in ("ExpressionAttributeNames", "ExpressionAttributeValues"):
        kept = {k: v for k, v in replay.get(part, {}).items() if k in used}
        if kept:
            replay[part] = kept
        else:
            replay.pop(part, None)
    return replay


class Meter:
    def __init__(self, host: Any, raw_dynamodb: Any) -> None:
        self.host = host
        self.raw = raw_dynamodb  # a client without the hooks: the shadow reads
        self.phase: str | None = None
        self.tallies: dict[tuple[str, str], Tally] = {}
        self._lock = threading.Lock()
        self._local = threading.local()
        self._rules = [(rule.pattern(), topology.queue(rule.target_queue).fifo) for rule in topology.RULES]

    # -- bookkeeping -----------------------------------------------------------------------------------------
    def tally(self, phase: str, function: str) -> Tally:
        with self._lock:
            return self.tallies.setdefault((phase, function), Tally())

    def _where(self) -> tuple[str, str] | None:
        function = getattr(self.host.current, "function", None)
        if self.phase is None or not function:
            return None
        return self.phase, function

    @contextmanager
    def _overhead(self) -> Iterator[None]:
        """Time spent in the hooks is the bench's, not the handler's: it is subtracted from the CPU time."""
        started = time.thread_time()
        try:
            yield
        finally:
            self._local.overhead = getattr(self._local, "overhead", 0.0) + time.thread_time() - started

    def _cpu(self) -> float:
        return time.thread_time() - getattr(self._local, "overhead", 0.0)

    # -- installation ----------------------------------------------------------------------------------------
    def install(self, session: Any) -> Callable[[], None]:
        """Hook botocore (the default session), the function host, channel HTTP calls and thread pools."""
        import httpx

        session.events.register("before-call", self._before_call)
        session.events.register_first("after-call.dynamodb", self._after_dynamodb)
        original_invoke, original_send = self.host.invoke, httpx.Client.send
        original_submit = ThreadPoolExecutor.submit
        meter = self

        def invoke(name: str, event: dict[str, Any]) -> dict[str, Any]:
            phase, started = meter.phase, meter._cpu()
            try:
                return original_invoke(name, event)  # type: ignore[no-any-return]
            finally:
                if phase is not None:
                    tally, records = meter.tally(phase, name), len(event.get("Records") or []) or 1
                    tally.invocations += 1
                    tally.records += records
                    tally.samples.append((meter._cpu() - started, records))

        def send(client: Any, request: Any, **kwargs: Any) -> Any:
            where = meter._where()
            if where is not None and "/local/graph/" in str(request.url):
                tally = meter.tally(*where)
                if getattr(meter._local, "pooled", False):
                    tally.pooled_channel_calls += 1
                else:
                    tally.channel_calls += 1
            return original_send(client, request, **kwargs)

        def submit(pool: Any, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
            where = meter._where()
            if where is None:
                return original_submit(pool, fn, *args, **kwargs)

            def run() -> Any:  # in the pool thread: counted as the submitting function's work
                meter.host.current.function, meter._local.pooled = where[1], True
                started = meter._cpu()
                try:
                    return fn(*args, **kwargs)
                finally:
                    meter.tally(*where).pool_cpu_s += meter._cpu() - started
                    meter.host.current.function, meter._local.pooled = None, False

            return original_submit(pool, run)

        self.host.invoke = invoke
        httpx.Client.send = send  # type: ignore[method-assign]
        ThreadPoolExecutor.submit = submit  # type: ignore[method-assign]

        def uninstall() -> None:
            session.events.unregister("before-call", self._before_call)
            session.events.unregister("after-call.dynamodb", self._after_dynamodb)
            self.host.invoke = original_invoke
            httpx.Client.send = original_send  # type: ignore[method-assign]
            ThreadPoolExecutor.submit = original_submit  # type: ignore[method-assign]

        return uninstall

    @contextmanager
    def running_as(self, function: str) -> Iterator[None]:
        """Driver code that stands for work done inside `function` (a service call the API function makes): its
        calls and CPU count for that function, without an invocation (the REST request itself is not counted)."""
        self.host.current.function = function
        phase, started = self.phase, self._cpu()
        try:
            yield
        finally:
            self.host.current.function = None
            if phase is not None:
                self.tally(phase, function).samples.append((self._cpu() - started, 1))

    # -- botocore hooks --------------------------------------------------------------------------------------
    def _before_call(self, model: Any, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        where = self._where()
        if where is None:
            return
        with self._overhead():
            service = model.service_model.service_id.hyphenize()
            tally = self.tally(*where)
            tally.calls[f"{service}:{model.name}"] += 1
            body = params.get("body") or b""
            request = json.loads(body) if body[:1] in (b"{", "{") else {}
            if service == "dynamodb":
                context["cost_meter"] = (where, request, self._images_before(model.name, request))
            elif service == "sqs":
                self._sqs(tally, model.name, request)
            elif service == "eventbridge" and model.name == "PutEvents":
                self._events(tally, request)

    def _after_dynamodb(self, http_response: Any, model: Any, context: dict[str, Any], **_: Any) -> None:
        pending = context.pop("cost_meter", None)
        if pending is None:
            return
        with self._overhead():
            where, request, before = pending
            ok = http_response.status_code < 300
            response = json.loads(http_response.content or b"{}")
            wru, rru = self._units(model.name, request, response, before, ok)
            tally = self.tally(*where)
            tally.wru += wru
            tally.rru += rru

    # -- DynamoDB --------------------------------------------------------------------------------------------
    def _shadow(self, table: str, key: dict[str, Any]) -> dict[str, Any] | None:
        item = self.raw.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")
        return item  # type: ignore[no-any-return]

    def _targets(self, operation: str, request: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
        """(kind, table, key) of every item a write touches."""
        if operation == "PutItem":
            return [("Put", request["TableName"], _key(request["Item"]))]
        if operation in ("UpdateItem", "DeleteItem"):
            return [(operation[:-4], request["TableName"], request["Key"])]
        if operation == "TransactWriteItems":
            out = []
            for entry in request["TransactItems"]:
                ((kind, spec),) = entry.items()
                out.append((kind, spec["TableName"], _key(spec["Item"]) if kind == "Put" else spec["Key"]))
            return out
        if operation == "BatchWriteItem":
            return [("Put", table, _key(w["PutRequest"]["Item"])) if "PutRequest" in w
                    else ("Delete", table, w["DeleteRequest"]["Key"])
                    for table, writes in request["RequestItems"].items() for w in writes]
        return []

    def _images_before(self, operation: str, request: dict[str, Any]) -> list[dict[str, Any] | None]:
        return [self._shadow(table, key) for _, table, key in self._targets(operation, request)]

    def _units(self, operation: str, request: dict[str, Any], response: dict[str, Any],
               before: list[dict[str, Any] | None], ok: bool) -> tuple[float, float]:
        targets = self._targets(operation, request)
        if targets:
            factor = 2 if operation == "TransactWriteItems" else 1
            wru = 0.0
            for (kind, table, key), old in zip(targets, before, strict=True):
                if not ok or kind == "ConditionCheck":
                    wru += factor * write_units(item_size(old))
                    continue
                new = self._shadow(table, key)
                wru += factor * write_units(max(item_size(old), item_size(new)))
                wru += gsi_write_units(old, new)
            return wru, 0.0
        if not ok:
            return 0.0, 1.0  # a refused read (throttle, validation): assume the minimum
        eventual = 0.5 if not request.get("ConsistentRead") else 1.0
        if operation == "GetItem":
            return 0.0, eventual * read_units(item_size(response.get("Item")))
        if operation == "BatchGetItem":
            units = 0.0
            for table, spec in request["RequestItems"].items():
                factor = 1.0 if spec.get("ConsistentRead") else 0.5
                found = {json.dumps(_key(i), sort_keys=True): i for i in response.get("Responses", {}).get(table, [])}
                for key in spec["Keys"]:
                    units += factor * read_units(item_size(found.get(json.dumps(key, sort_keys=True))))
            return 0.0, units
        if operation == "TransactGetItems":
            return 0.0, sum(2.0 * read_units(item_size(r.get("Item"))) for r in response.get("Responses", []))
        if operation in ("Query", "Scan"):
            if "IndexName" in request:
                eventual = 0.5  # a GSI read is always eventually consistent
            items = response.get("Items", [])
            if response.get("ScannedCount", len(items)) != len(items) or "ProjectionExpression" in request \
                    or request.get("Select") not in (None, "ALL_ATTRIBUTES"):
                replay = getattr(self.raw, "query" if operation == "Query" else "scan")(**_prune(request))
                items = replay.get("Items", [])
            return 0.0, eventual * read_units(sum(item_size(i) for i in items))
        return 0.0, 0.0  # DescribeTable and other control-plane calls: no request units

    # -- SQS and EventBridge ---------------------------------------------------------------------------------
    @staticmethod
    def _sqs(tally: Tally, operation: str, request: dict[str, Any]) -> None:
        kind = "fifo" if str(request.get("QueueUrl", "")).endswith(".fifo") else "standard"
        if operation == "SendMessage":
            size = len(str(request.get("MessageBody", "")).encode())
        elif operation == "SendMessageBatch":
            size = sum(len(str(e.get("MessageBody", "")).encode()) for e in request.get("Entries", []))
        else:
            size = 0
        tally.sqs_requests[kind] += max(1, math.ceil(size / CHUNK))

    def _events(self, tally: Tally, request: dict[str, Any]) -> None:
        for entry in request.get("Entries", []):
            size = sum(len(str(entry.get(k, "")).encode()) for k in ("Source", "DetailType", "Detail", "Resources"))
            tally.eb_events += max(1, math.ceil(size / CHUNK))
            detail = json.loads(entry.get("Detail") or "{}")
            for pattern, fifo in self._rules:
                if _matches(pattern, entry, detail):
                    tally.sqs_requests["fifo" if fifo else "standard"] += 1  # EventBridge's send to the target


def _matches(pattern: dict[str, Any], entry: dict[str, Any], detail: dict[str, Any]) -> bool:
    """The subset of EventBridge patterns infra.topology.RULES uses: source, detail-type, equality on detail."""
    if entry.get("Source") not in pattern.get("source", [entry.get("Source")]):
        return False
    if entry.get("DetailType") not in pattern.get("detail-type", [entry.get("DetailType")]):
        return False
    return all(detail.get(k) in allowed for k, allowed in pattern.get("detail", {}).items())
