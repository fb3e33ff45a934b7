"""The cost profile: the AWS resources each counted operation uses, measured on the local stack.

`python -m bench.cost_profile` (also run by `make bench`) writes shared/data/cost_profile.json, which
shared/services/costs.py prices, and prints its BENCHMARKS.md section (`bench.run` puts it in the file;
`python -m bench.cost_profile --write` replaces only this section).

Method. One local stack (moto server, the real handlers, SQS pollers, EventBridge rules to queues, the Graph API
emulator) with the demo tenant: a WhatsApp channel with the demo bot, a second one with neither bot nor auto-reply,
the contact center seeded (one agent, no fallback campaign: a conversation without a bot stays unrouted). Every
path runs once unmeasured (imports, caches, warm containers), then phase by phase with `N` new contacts, waiting
until every queue is empty between phases, while bench/cost_meter.py counts per phase and function (invocations,
records, CPU, AWS calls, request units, SQS and EventBridge requests, channel API calls). Each phase causes known
counted operations per unit, so each operation is a phase or a difference of phases (`operations`):

    first_message      plain channel, new contact    messages_in + conversations_opened
    unrouted_message   plain channel, again          a message nobody handles (the base of the bot phases)
    transfer           to the campaign, agent away   queued           } one assignment (+ its greeting,
    agent_online       the agent comes online        router drains    }   which is messages_out)
    bot_first_message  bot channel, new contact      message + conversations_opened + session start + turn + reply
    bot_menu_answer    "2" at the menu               message + bot_turns + reply
    bot_timeout_check  a stale idle-timeout check    part of bot_turns (each turn schedules one)
    bot_handoff        "asesor"                      message + turn + session end + assignment + replies
    next_message       the agent holds it            messages_in
    agent_reply        one outbound enqueue on       messages_out (from the queue on: what every sender does)
    status_update      sent, delivered, read         status_updates
    close              the agent closes it           conversations_closed
    broadcast          100 recipients of a list      broadcast_messages (preparing the audience included)

Agent actions (transfer, close) run the service call the API function makes, in the bench process as that
function (its memory, CPU and calls); the REST request around it (API Gateway, authorizer, rate-limit window) is
not a counted operation and is left out, as are the REST requests that create and start the broadcast. Lambda
duration is modelled from what was measured: see DURATION.
"""

from __future__ import annotations

import json
import math
import platform
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.cost_meter import Meter, Tally
from infra import topology

ROOT = Path(__file__).resolve().parents[1]
PROFILE = ROOT / "shared" / "data" / "cost_profile.json"
COMMAND = "make bench (python -m bench.run), or python -m bench.cost_profile alone"
N = 10  # contacts (conversations) per phase
WARM_N = 2
BROADCAST_N = 100  # recipients: one broadcast, one bucket
PLAIN = {"channel_id": "bench-plain", "phone_number_id": "100000000000009", "waba_id": "200000000000009"}
TEMPLATE = {"name": "aviso_costos", "language": "es", "category": "UTILITY", "status": "APPROVED", "components": [
    {"type": "BODY", "text": "Hola {{1}}, tu resumen ya está disponible.", "example": {"body_text": [["Ana"]]}}]}

# Lambda duration model. Billed duration per invocation =
#   FIXED_MS + COLD_START_RATE x (RUNTIME_INIT_MS + measured import ms)           per invocation
#   + measured CPU ms x max(1, VCPU_MB / memory)                                   the handler's own work
#   + AWS calls x AWS_CALL_MS + channel API calls x CHANNEL_CALL_MS (/ pool size)  waiting on the network
# Local x86 CPU time stands in for arm64 (Graviton2) Lambda CPU time, one full core for one vCPU.
DURATION: dict[str, float] = {
    # Runtime API round trips and the 1 ms billing granularity (reference :74): an assumption, not measured.
    "fixed_ms_per_invocation": 2.0,
    # "cold starts typically occur in under 1% of invocations" and INIT is billed since 1 Aug 2025 (:31-32).
    "cold_start_rate": 0.01,
    # an empty Python handler's init, p50 114.55 ms (:21); the handler's imports are measured on top.
    "runtime_init_ms": 115.0,
    # 1,769 MB = 1 vCPU worth of credits (:41): below that, CPU work takes proportionally longer.
    "vcpu_mb": 1769.0,
    # DynamoDB promises "single-digit millisecond" latency (:99); the same assumed for SQS and EventBridge calls.
    "aws_call_ms": 5.0,
    # the Graph API round trip dominates a sender, t_msg ~ 250 ms when sequential (:183).
    "channel_call_ms": 250.0,
}
HTTP_FUNCTIONS = {route.function for route in topology.ROUTES}  # each invocation is an API Gateway request


# -- the stack -------------------------------------------------------------------------------------------------
def _bot_file(folder: Path) -> str:
    """The demo bot bound to the demo channel only (the plain channel must have none)."""
    source = (ROOT / "examples" / "bots" / "banco_demo.yaml").read_text(encoding="utf-8")
    path = folder / "banco_demo_bench.yaml"
    path.write_text(source.replace('channels: ["*"]', 'channels: ["demo-whatsapp"]', 1), encoding="utf-8")
    return str(path)


def _start(folder: Path) -> tuple[Any, Meter, Any]:
    import boto3

    from infra.local.provision import DemoChannel, seed_channel, seed_contact_center, seed_demo_bot
    from infra.local.stack import LocalStack

    boto3.DEFAULT_SESSION or boto3.setup_default_session()
    stack = LocalStack(prefix="benchcost", visibility_timeout_s=5, demo_bot=False, schedules=False,
                       extra_env={"BOT_COALESCE_CAP_S": "0"})
    meter = Meter(stack.host, raw_dynamodb=None)
    uninstall = meter.install(boto3.DEFAULT_SESSION)
    stack.start()
    meter.raw = boto3.session.Session().client("dynamodb", region_name="us-east-1")  # no hooks: shadow reads
    seed_demo_bot(stack.tenant.tenant_id, stack.core_banking_url, bot_file=_bot_file(folder))
    stack.agents = seed_contact_center(stack.resources, stack.tenant.tenant_id)
    plain = DemoChannel(channel_id=PLAIN["channel_id"], phone_number_id=PLAIN["phone_number_id"],
                        waba_id=PLAIN["waba_id"], auto_reply_text="")
    seed_channel(stack.resources, plain)
    _open_campaign(stack)
    return stack, meter, uninstall


def _open_campaign(stack: Any) -> None:
    """Room for every measured conversation with the one online agent (the seed allows 3 per agent), and no
    fallback: a conversation without a bot stays unrouted until it is transferred (bot handoffs name the team)."""
    from functions.api import deps
    from shared.models.contact_center import CampaignInput

    center = deps.contact_center()
    campaign = center.get_campaign(stack.tenant.tenant_id, "atencion")
    data = CampaignInput.model_validate({**campaign.model_dump(mode="json", include=set(
        CampaignInput.model_fields)), "max_per_agent": 100, "fallback": False})
    center.replace_campaign(stack.tenant.tenant_id, "atencion", data)


def _principal(stack: Any) -> Any:
    from shared.models.tenancy import SCOPES, Principal

    return Principal(kind="api_key", principal_id="key_localdemo", tenant_id=stack.tenant.tenant_id, scopes=SCOPES)


def _phones(prefix: str, n: int) -> list[str]:
    """Argentine mobiles in WhatsApp's form (549 + area 11 + 8 digits): a broadcast list accepts them."""
    return [f"5491155{prefix}{i:04d}" for i in range(n)]


def _conversations(stack: Any, channel_id: str, phones: list[str]) -> list[str]:
    """The open conversation of each phone on the channel (read through the API, unmeasured)."""
    from tests.integration.api_client import call

    wanted, found, cursor = set(phones), {}, None
    while True:
        page = call(stack, "GET", f"/v1/conversations?status=open&channel_id={channel_id}&limit=100"
                    + (f"&cursor={cursor}" if cursor else "")).body
        for c in page["items"]:
            if c["contact_key"] in wanted:
                found[c["contact_key"]] = c["conversation_id"]
        cursor = page.get("next_cursor")
        if not cursor:
            break
    missing = wanted - set(found)
    assert not missing, f"no open conversation for {sorted(missing)[:3]}"
    return [found[p] for p in phones]


# -- phases ----------------------------------------------------------------------------------------------------
class Run:
    def __init__(self, stack: Any, meter: Meter) -> None:
        self.stack, self.meter = stack, meter
        self.units: dict[str, int] = {}
        self.sends: Counter[str] = Counter()  # channel sends per phase (replies the phase caused)
        self.seconds: dict[str, float] = {}

    def phase(self, name: str | None, units: int, action: Any, *, timeout: float = 60.0,
              excluded: tuple[str, ...] = ()) -> None:
        self.meter.phase = name
        before, started = self.stack.graph_sends(), time.monotonic()
        try:
            action()
            self.stack.wait_idle(timeout=timeout)
        finally:
            self.meter.phase = None
        if name is not None:
            self.units[name] = units
            self.sends[name] = self.stack.graph_sends() - before
            self.seconds[name] = time.monotonic() - started
            for function in excluded:
                self.meter.tallies.pop((name, function), None)

    def webhooks(self, phones: list[str], text: str, channel: dict[str, str] | None = None) -> None:
        from tests.integration.payloads import text_message

        for phone in phones:
            body = text_message(phone, text)
            if channel:
                body["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"] = channel["phone_number_id"]
            status, answer = self.stack.post_webhook(body, channel_id=channel["channel_id"] if channel else None)
            assert status == 200, answer

    def as_api(self, each: Any, ids: list[str]) -> None:
        for conversation_id in ids:
            with self.meter.running_as("api"):
                each(conversation_id)


def _graph_sends(stack: Any) -> int:
    """Messages the Graph API emulator accepted (read receipts are not messages)."""
    return sum(1 for r in stack.graph.requests if r["path"].endswith("/messages") and r["status"] == 200
               and "status" not in (r.get("body") or {}))


def drive(stack: Any, meter: Meter, n: int, *, measured: bool, tag: str) -> Run:
    """Every phase once, with `n` contacts per phase (phases named only when `measured`)."""
    from functions.api import deps
    from shared.models.contact_center import StatusInput

    run = Run(stack, meter)
    who = _principal(stack)
    center = deps.contact_center()

    def name(label: str) -> str | None:
        return label if measured else None

    plain, bot = _phones(f"{tag}1", n), _phones(f"{tag}2", n)
    agent = stack.agents["ana@demo.local"]

    def presence(status: str) -> None:  # not measured itself; the router's work it triggers is
        center.set_status(stack.tenant.tenant_id, agent, StatusInput(status=status), by="bench")

    # No bot and no fallback campaign on the plain channel: its conversations are opened and stay unrouted.
    run.phase(name("first_message"), n, lambda: run.webhooks(plain, "Hola, quiero consultar mi saldo", PLAIN))
    run.phase(name("unrouted_message"), n, lambda: run.webhooks(plain, "¿Hay alguien?", PLAIN))
    plain_conversations = _conversations(stack, PLAIN["channel_id"], plain)
    # An assignment: transferred to the campaign while nobody is online (queued), assigned when the agent comes
    # online (the router drains the queue; the status change's own events are shared by the n conversations).
    run.phase(None, 0, lambda: presence("offline"))
    run.phase(name("transfer"), n, lambda: run.as_api(lambda c: center.transfer(
        who, c, agent_id=None, campaign_id="atencion", note=None), plain_conversations))
    run.phase(name("agent_online"), n, lambda: presence("online"))
    run.phase(name("bot_first_message"), n, lambda: run.webhooks(bot, "hola"))
    run.phase(name("bot_menu_answer"), n, lambda: run.webhooks(bot, "2"))
    bot_conversations = _conversations(stack, stack.demo.channel_id, bot)
    run.phase(name("bot_timeout_check"), n, lambda: _stale_checks(stack, bot_conversations))
    # "asesor": the bot hands off (its session ends) and the router assigns the online agent at once
    run.phase(name("bot_handoff"), n, lambda: run.webhooks(bot, "asesor"))
    run.phase(name("next_message"), n, lambda: run.webhooks(bot, "Gracias, espero la respuesta"))
    run.phase(name("agent_reply"), n, lambda: run.as_api(lambda c: _enqueue_reply(stack, c), bot))
    statuses = _reply_statuses(stack, meter, bot)
    run.phase(name("status_update"), len(statuses), lambda: _post_statuses(stack, statuses))
    run.phase(name("close"), n, lambda: run.as_api(lambda c: center.close(who, c, None), bot_conversations))
    run.phase(None, 0, lambda: [center.close(who, c, None) for c in plain_conversations])
    recipients = BROADCAST_N if measured else 3
    run.phase(name("broadcast"), recipients, lambda: _broadcast(stack, _phones(f"{tag}3", recipients)),
              timeout=120, excluded=("api", "authorizer"))
    return run


REPLY_ORIGIN = "bench-reply"


def _enqueue_reply(stack: Any, contact_key: str) -> None:
    """What every sender (agent reply, bot, workflow) ends with: one request on the outbound FIFO queue."""
    from shared.adapters import aws
    from shared.adapters.sqs import SqsOutboundQueue
    from shared.config import get_settings
    from shared.models.envelopes import OutboundRequest
    from shared.services.queue_keys import dedup_id, thread_group_id

    channel, tenant = stack.demo.channel_id, stack.tenant.tenant_id
    request = OutboundRequest.model_validate({
        "request_id": f"{REPLY_ORIGIN}:{contact_key}:{time.monotonic_ns()}", "tenant_id": tenant,
        "channel_id": channel, "contact_key": contact_key, "to": contact_key, "origin": REPLY_ORIGIN,
        "human_agent": True, "content": {"type": "text", "body": "Hola, ya lo reviso."}})
    SqsOutboundQueue(aws.client("sqs"), get_settings().outbound_queue_url).enqueue(
        request, group_id=thread_group_id(tenant, channel, contact_key), dedup_id=dedup_id(channel, request.request_id))


def _reply_statuses(stack: Any, meter: Meter, phones: list[str]) -> list[dict[str, Any]]:
    """Meta's sent, delivered and read webhooks for the stored replies to these phones (read unmeasured)."""
    from tests.integration.payloads import status

    wanted, items, start = set(phones), [], None
    while True:
        page = meter.raw.scan(TableName=stack.resources.table_name, **({"ExclusiveStartKey": start} if start else {}))
        items += [i for i in page["Items"] if i["sk"]["S"] == "MSG" and i.get("direction", {}).get("S") == "out"
                  and i.get("origin", {}).get("S") == REPLY_ORIGIN
                  and i.get("contact_key", {}).get("S") in wanted and "provider_message_id" in i]
        start = page.get("LastEvaluatedKey")
        if not start:
            break
    now, bodies = int(time.time()), []
    for item in items:
        wamid, to, message_id = (item[k]["S"] for k in ("provider_message_id", "contact_key", "message_id"))
        for offset, value in enumerate(("sent", "delivered", "read")):
            bodies.append(status(wamid, value, to, callback=message_id, ts=now + offset))
    assert len(bodies) == 3 * len(phones), f"{len(bodies)} statuses for {len(phones)} replies"
    return bodies


def _post_statuses(stack: Any, bodies: list[dict[str, Any]]) -> None:
    for body in bodies:
        status, answer = stack.post_webhook(body)
        assert status == 200, answer


def _stale_checks(stack: Any, conversation_ids: list[str]) -> None:
    """One idle-timeout check per conversation that a later turn made stale (what most checks find)."""
    import boto3

    from shared.adapters.bot_delivery import SqsTimeoutScheduler
    from shared.models.events import BotTimeoutCheck

    scheduler = SqsTimeoutScheduler(boto3.session.Session().client("sqs", region_name="us-east-1"),
                                    stack.resources.queue_urls["bot-turn"])  # not counted: the turn sent it
    for conversation_id in conversation_ids:
        scheduler.schedule(BotTimeoutCheck(tenant_id=stack.tenant.tenant_id, channel_id=stack.demo.channel_id,
                                           conversation_id=conversation_id, session_id="superseded", turn=0),
                           delay_s=0)


def _broadcast(stack: Any, phones: list[str]) -> None:
    """A template broadcast to a list: upload, create and start through the REST API (the phase leaves the api and
    authorizer functions out: the REST requests are not part of the operation)."""
    import urllib.request

    from tests.integration.api_client import call

    def api(method: str, path: str, body: Any = None) -> Any:
        answer = call(stack, method, path, body)
        assert answer.status < 300, (path, answer.status, answer.text)
        return answer.body

    data = ("telefono,nombre\n" + "".join(f"+{p},Cliente\n" for p in phones)).encode()
    created = api("POST", "/v1/files", {"name": "audiencia.csv", "content_type": "text/plain",
                                        "size_bytes": len(data)})
    put = urllib.request.Request(created["upload_url"], data=data, method="PUT", headers=created["headers"])
    urllib.request.urlopen(put, timeout=60).read()
    file_id = api("POST", f"/v1/files/{created['file']['file_id']}/confirm")["file_id"]
    bid = api("POST", "/v1/broadcasts", {
        "name": "Resumen", "channel_id": PLAIN["channel_id"], "template_name": TEMPLATE["name"],
        "template_language": "es", "audience": {"list_file_id": file_id},
        "variables": {"body.1": {"field": "nombre", "default": "cliente"}}})["broadcast_id"]
    api("POST", f"/v1/broadcasts/{bid}/start", {})
    deadline = time.monotonic() + 90
    while api("GET", f"/v1/broadcasts/{bid}")["status"] != "completed":
        assert time.monotonic() < deadline, "the broadcast did not complete"
        time.sleep(0.5)


# -- from phases to operations -----------------------------------------------------------------------------------
def import_ms(functions: list[str]) -> dict[str, float]:
    """Each handler's import time in a fresh interpreter (its cold start's own part), one sample each."""
    out = {}
    for function in functions:
        code = (f"import time; t = time.perf_counter(); import functions.{function}.handler; "
                "print((time.perf_counter() - t) * 1000)")
        done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True,
                              env={"PATH": "", "POWERTOOLS_TRACE_DISABLED": "true", "AWS_DEFAULT_REGION": "us-east-1",
                                   "PYTHONPATH": str(ROOT)})
        out[function] = float(done.stdout.strip().splitlines()[-1])
    return out


def resources(function: str, tally: Tally, memory_mb: int, init_ms: float) -> dict[str, float]:
    """The billable quantities of one function's tally (totals for the phase)."""
    d = DURATION
    ms = (tally.invocations * (d["fixed_ms_per_invocation"] + d["cold_start_rate"] * (d["runtime_init_ms"] + init_ms))
          + tally.cpu_s * 1000 * max(1.0, d["vcpu_mb"] / memory_mb)
          + tally.aws_calls * d["aws_call_ms"] + tally.channel_calls * d["channel_call_ms"]
          + tally.pooled_channel_calls * d["channel_call_ms"] / _pool_size())
    # the event source mapping: one ReceiveMessage and one DeleteMessageBatch per batch (:112, requests)
    esm = 0 if function in HTTP_FUNCTIONS or not tally.records else 2 * tally.invocations
    fifo = any(q.fifo for q in _queues_of(function))
    return {
        "lambda.requests": float(tally.invocations),
        "lambda.arm64_gb_seconds": memory_mb / 1024 * ms / 1000,
        "dynamodb.write_request_units": tally.wru,
        "dynamodb.read_request_units": tally.rru,
        "sqs.standard_requests": tally.sqs_requests["standard"] + (0 if fifo else esm),
        "sqs.fifo_requests": tally.sqs_requests["fifo"] + (esm if fifo else 0),
        "eventbridge.custom_events": tally.eb_events,
        "apigateway.http_requests": float(tally.invocations if function in HTTP_FUNCTIONS else 0),
    }


def _queues_of(function: str) -> list[Any]:
    return [q for q in topology.QUEUES if q.consumer == function]


def _pool_size() -> int:
    from shared.config import get_settings

    return get_settings().broadcast_concurrency


def per_phase(meter: Meter, units: dict[str, int], memory: dict[str, int], init: dict[str, float]
              ) -> dict[str, dict[str, Any]]:
    """Per phase and unit: resources, and per function what they came from."""
    out: dict[str, dict[str, Any]] = {}
    for phase, n in units.items():
        totals: Counter[str] = Counter()
        functions, calls = {}, Counter()
        for (p, function), tally in sorted(meter.tallies.items()):
            if p != phase:
                continue
            quantities = resources(function, tally, memory[function], init.get(function, 0.0))
            totals.update(quantities)
            calls.update(tally.calls)
            functions[function] = {
                "invocations": tally.invocations / n, "records": tally.records / n,
                "cpu_ms": tally.cpu_s * 1000 / n, "aws_calls": tally.aws_calls / n,
                "channel_calls": (tally.channel_calls + tally.pooled_channel_calls) / n,
                "gb_seconds": quantities["lambda.arm64_gb_seconds"] / n,
                "wru": tally.wru / n, "rru": tally.rru / n}
        out[phase] = {"n": n, "resources": {k: v / n for k, v in totals.items()},
                      "functions": functions, "calls": {k: v / n for k, v in sorted(calls.items())}}
    return out


def _combine(terms: list[tuple[float, dict[str, float]]]) -> dict[str, float]:
    out: Counter[str] = Counter()
    for weight, vector in terms:
        for key, value in vector.items():
            out[key] += weight * value
    return dict(out)


def operations(phases: dict[str, dict[str, Any]], sends: dict[str, float]) -> dict[str, dict[str, Any]]:
    """Solve the phases for the operations (see the module docstring); a resource that comes out negative (noise
    in a difference) is clamped at 0 and named in `clamped`."""
    r = {k: v["resources"] for k, v in phases.items()}
    c = {k: v["calls"] for k, v in phases.items()}
    ops: dict[str, tuple[list[tuple[float, str]], list[tuple[float, str]], str]] = {}
    # (phase terms, operation terms, how it was measured); phases and operations in the order they are solved
    ops["messages_in"] = ([(1, "next_message")], [], "a customer's text message in a conversation an agent holds "
                          "(WhatsApp webhook): ingest, store, events and every consumer of MessageReceived")
    ops["conversations_opened"] = ([(1, "first_message"), (-1, "unrouted_message")], [],
                                   "a first contact's first message minus a later one, on a channel without bot "
                                   "or fallback campaign: contact created, conversation opened, events, consumers")
    ops["messages_out"] = ([(1, "agent_reply")], [], "a text message from the outbound queue on (what an agent's "
                           "reply, a bot or a workflow enqueue): the sender's Graph API call, the message stored, "
                           "MessageSent and its consumers")
    ops["status_updates"] = ([(1, "status_update")], [], "one status webhook (sent, delivered or read) of a reply: "
                             "ingest, the conditional update, MessageStatusChanged and its consumers")
    ops["assignments"] = ([(1, "transfer"), (1, "agent_online")],
                          [(-sends["transfer"] - sends["agent_online"], "messages_out")],
                          "a conversation transferred to a campaign while no agent is online (queued), then "
                          "assigned when one comes online (the status change's events shared by the conversations): "
                          "ConversationQueued, ConversationAssigned and their consumers (the greeting is messages_out)")
    ops["conversations_closed"] = ([(1, "close")], [(-sends["close"], "messages_out")],
                                   "an agent closes a conversation they hold: the routing transaction, "
                                   "ConversationClosed and its consumers")
    # Bot phases carry a message that neither a bot nor an agent handles: the unrouted message is their base.
    ops["bot_turns"] = ([(1, "bot_menu_answer"), (-1, "unrouted_message"), (1, "bot_timeout_check")],
                        [(-sends["bot_menu_answer"], "messages_out")],
                        "a menu answer in a running session minus an unrouted message and the replies, plus one "
                        "stale idle-timeout check (each turn schedules one)")
    ops["bot_sessions"] = ([(1, "bot_first_message"), (-1, "unrouted_message"),
                            (1, "bot_handoff"), (-1, "unrouted_message")],
                           [(-1, "conversations_opened"), (-2, "bot_turns"), (-1, "assignments"),
                            (-sends["bot_first_message"] - sends["bot_handoff"], "messages_out")],
                           "a session's start (the first message minus an unrouted message, a conversation opened, "
                           "a turn and its replies) and its end by handoff (the handoff turn minus an unrouted "
                           "message, a turn, an assignment and the replies)")
    ops["broadcast_messages"] = ([(1, "broadcast")], [],
                                 f"one recipient of a {BROADCAST_N}-recipient template broadcast to a list: "
                                 "preparing the audience, claiming, pacing, sending, recording (not via the "
                                 "outbound queue; priced instead of messages_out for the same message)")
    solved: dict[str, dict[str, Any]] = {}
    for op, (phase_terms, op_terms, how) in ops.items():
        vector = _combine([(w, r[p]) for w, p in phase_terms] + [(w, solved[o]["raw"]) for w, o in op_terms])
        calls = _combine([(w, c[p]) for w, p in phase_terms] + [(w, solved[o]["calls"]) for w, o in op_terms])
        solved[op] = {"raw": vector, "calls": calls, "how": how,
                      "derived_from": " ".join(f"{'+' if w >= 0 else '-'} {abs(w):g} x {p}"
                                               for w, p in [*phase_terms, *op_terms]).lstrip("+ ")}
    out = {}
    for op, s in solved.items():
        clamped = sorted(k for k, v in s["raw"].items() if v < -1e-9)
        out[op] = {"measured_as": s["how"], "derived_from": s["derived_from"],
                   "resources": {k: round(max(v, 0.0), 6) for k, v in sorted(s["raw"].items())},
                   "calls": {k: round(v, 3) for k, v in sorted(s["calls"].items()) if abs(v) >= 0.0005},
                   "clamped": clamped}
    return out


LEFT_OUT = [
    "Storage (DynamoDB GB-month, S3), data transfer, CloudWatch Logs and metrics, X-Ray, KMS, Secrets Manager and "
    "S3 requests are not priced (their calls are listed per phase in BENCHMARKS.md).",
    "The REST requests of agents and integrators (API Gateway, authorizer, rate-limit window write) are not a "
    "counted operation: an agent's reply, assignment or close is measured as the service call alone.",
    "Media (media_fetcher, S3), email, voice notes and images described by a model: profiled text messages only.",
    "A generative bot turn waits for the model (typically 0.5-3 s of bot_turn duration at 1,024 MB): that wait "
    "is not in bot_turns (a menu turn was measured) and not in the token prices.",
    "Idle sessions that time out: the timeout turn is not measured (a close ends the measured sessions).",
    "Retries, DLQ redrives, the event source mappings' empty polls, the schedules (routing, broadcast and "
    "workflow ticks) and workflows a tenant defines are not attributed per operation.",
    "Warm containers: channel, secret and bot caches were warm; a cold container re-reads them.",
]


def profile(ops: dict[str, dict[str, Any]], memory: dict[str, int], init: dict[str, float],
            started: datetime) -> dict[str, Any]:
    tokens = {f"llm_{d}_tokens#{tier}": {
        "measured_as": f"one {d} token of the {tier} model tier (not measured: priced per token)",
        "derived_from": "", "resources": {f"llm.{tier}.{d}_tokens": 1.0}, "calls": {}, "clamped": []}
        for tier in ("LITE", "PRO") for d in ("input", "output")}
    return {
        "version": started.strftime("%Y-%m-%d"),
        "measured_at": started.isoformat(timespec="seconds"),
        "command": COMMAND,
        "machine": f"{platform.machine()}, Python {platform.python_version()}, {_cores()} cores",
        "method": (f"{N} contacts per phase on the local stack (moto server, real handlers and pollers), every "
                   "path warmed first; AWS calls counted with botocore hooks; DynamoDB units from item sizes; "
                   "per-operation figures are differences of phases (bench/cost_profile.py)."),
        "lambda_memory_mb": dict(sorted(memory.items())),
        "import_ms": {k: round(v, 1) for k, v in sorted(init.items())},
        "duration_model": DURATION,
        "assumptions": [
            "Local x86 CPU time (thread time of the handler, one full core) stands in for arm64 Lambda CPU time; "
            "below 1,769 MB the function has a fraction of a vCPU, so CPU time is scaled by 1,769 / memory.",
            f"Each invocation adds {DURATION['fixed_ms_per_invocation']:g} ms fixed overhead and "
            f"{DURATION['cold_start_rate']:.0%} of a cold start (the runtime's {DURATION['runtime_init_ms']:g} ms "
            "plus the handler's measured import time).",
            f"Each AWS call waits {DURATION['aws_call_ms']:g} ms and each channel API call "
            f"{DURATION['channel_call_ms']:g} ms (divided by the pool size when sent from the broadcast sender's "
            "threads): assumed, not measured (moto and the emulator answer locally).",
            "Lambda requests are the invocations measured locally (small batches at this traffic; AWS batches "
            "up to 10 records when traffic is higher, which lowers requests and fixed overhead).",
            "SQS requests: every call the handlers make, one ReceiveMessage and one DeleteMessageBatch per "
            "consumer invocation (the event source mapping), and one send per EventBridge rule target an event "
            "matches; each 64 KB chunk is a request.",
            "DynamoDB units from item sizes: writes ceil(size / 1 KB) of the larger image, reads ceil(size / 4 KB), "
            "eventually consistent reads half, transactions double, GSI entries (projection ALL) written on "
            "every change of an indexed item.",
        ],
        "left_out": LEFT_OUT,
        "operations": {**ops, **tokens},
    }


def _cores() -> int:
    import os

    return os.cpu_count() or 1


# -- report -----------------------------------------------------------------------------------------------------
def run(imports: dict[str, float] | None = None) -> dict[str, Any]:
    """Measure, write shared/data/cost_profile.json. `imports`: handler import ms already measured (bench.run's
    section 2, medians of 7); the functions it lacks are measured here, one sample each."""
    started = datetime.now(UTC)
    clock = time.monotonic()
    timings: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as folder:
        stack, meter, uninstall = _start(Path(folder))
        stack.graph_sends = lambda: _graph_sends(stack)  # type: ignore[attr-defined]
        try:
            stack.graph.seed_templates(PLAIN["waba_id"], [TEMPLATE])
            from tests.integration.api_client import call

            synced = call(stack, "POST", f"/v1/channels/{PLAIN['channel_id']}/templates/sync")
            assert synced.status == 200, synced.text
            # the broadcast's pace is Meta's limit, not a cost: send as fast as the emulator takes them
            paced = call(stack, "PUT", f"/v1/channels/{PLAIN['channel_id']}/throughput", {"throughput_mps": 1000})
            assert paced.status == 200, paced.text
            timings["start"] = time.monotonic() - clock
            drive(stack, meter, WARM_N, measured=False, tag="0")
            timings["warm-up"] = time.monotonic() - clock - timings["start"]
            measured = drive(stack, meter, N, measured=True, tag="5")
        finally:
            uninstall()
            stack.stop()
    timings |= measured.seconds
    memory = {f.name: f.memory_mb for f in topology.FUNCTIONS}
    used = sorted({f for _, f in meter.tallies})
    mark = time.monotonic()
    known = {f: v for f, v in (imports or {}).items() if f in used}
    init = known | import_ms([f for f in used if f not in known])
    timings["imports"] = time.monotonic() - mark
    phases = per_phase(meter, measured.units, memory, init)
    sends = {p: measured.sends[p] / measured.units[p] for p in measured.units}
    ops = operations(phases, sends)
    document = profile(ops, {f: memory[f] for f in used}, {f: init[f] for f in used if f in init}, started)
    PROFILE.write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return {"document": document, "phases": phases, "sends": sends, "seconds": time.monotonic() - clock,
            "timings": timings}


COLUMNS = ("lambda.requests", "lambda.arm64_gb_seconds", "dynamodb.write_request_units", "dynamodb.read_request_units",
           "sqs.standard_requests", "sqs.fifo_requests", "eventbridge.custom_events", "apigateway.http_requests")


def markdown(result: dict[str, Any]) -> list[str]:
    from shared.services.costs import CostProfile, CostService, PriceList

    doc, phases = result["document"], result["phases"]
    prices = PriceList.load()
    lines = [
        "## 8b. Cost profile: AWS resources per counted operation (measured)", "",
        f"`python -m bench.cost_profile` ({result['seconds']:.0f} s) wrote `shared/data/cost_profile.json` "
        f"(version {doc['version']}), which `GET /v1/costs` prices with `shared/data/aws_price_list.json`. "
        + doc["method"], "",
        "Per unit of each operation (request units, requests, events; Lambda GB-s from the duration model below):",
        "", "| operation | Lambda req | GB-s | WRU | RRU | SQS std | SQS FIFO | EB events | HTTP API | "
            "USD per 1,000 |", "|---|---|---|---|---|---|---|---|---|---|"]
    service = CostService(counts=_NoCounts(), prices=prices, profile=CostProfile.from_dict(doc))
    for op, spec in doc["operations"].items():
        q = spec["resources"]
        per_k = service.price({op: 1000}, month="per-1000").total
        figures = " | ".join(f"{q.get(meter, 0):.{4 if 'seconds' in meter else 2}f}" for meter in COLUMNS)
        lines.append(f"| {op} | {figures} | {per_k:.4f} |")
    lines += ["", "How each was measured (and which differences of phases give it):", ""]
    for op, spec in doc["operations"].items():
        if spec["derived_from"]:
            clamped = f" Clamped at 0: {', '.join(spec['clamped'])}." if spec["clamped"] else ""
            lines.append(f"- `{op}`: {spec['measured_as']}; = {spec['derived_from']}.{clamped}")
    lines += ["", "Per phase and unit, by function (invocations, records, CPU ms, AWS calls, GB-s, WRU, RRU):", "",
              "| phase | function | inv | rec | CPU ms | calls | GB-s | WRU | RRU |",
              "|---|---|---|---|---|---|---|---|---|"]
    for phase, p in phases.items():
        for function, f in p["functions"].items():
            lines.append(f"| {phase} | {function} | {f['invocations']:.2f} | {f['records']:.2f} | {f['cpu_ms']:.1f} | "
                         f"{f['aws_calls']:.2f} | {f['gb_seconds']:.4f} | {f['wru']:.2f} | {f['rru']:.2f} |")
    lines += ["", "AWS calls per unit of each phase (all functions):", ""]
    for phase, p in phases.items():
        lines.append(f"- {phase} (n={p['n']}, channel sends per unit {result['sends'][phase]:.2f}): "
                     + ", ".join(f"{k} {v:.2f}" for k, v in p["calls"].items()))
    d = doc["duration_model"]
    lines += ["", f"Duration model: {d['fixed_ms_per_invocation']:g} ms per invocation + "
              f"{d['cold_start_rate']:.0%} x ({d['runtime_init_ms']:g} ms + import ms) + CPU ms x max(1, "
              f"{d['vcpu_mb']:g} / memory MB) + {d['aws_call_ms']:g} ms per AWS call + {d['channel_call_ms']:g} ms "
              "per channel API call. Import ms (fresh interpreters; `make bench` passes section 2's medians): "
              + ", ".join(f"{k} {v:.0f}" for k, v in doc["import_ms"].items()) + ".", "",
              "Assumptions: " + " ".join(doc["assumptions"]), "", "Left out: " + " ".join(doc["left_out"]), ""]
    example = service.price({"messages_in": 10_000, "messages_out": 10_000}, month="example")
    lines += [f"Example: 10,000 inbound + 10,000 outbound messages = **{example.total} USD** "
              + "(" + ", ".join(f"{k} {v}" for k, v in example.subtotals.items()) + ").", ""]
    return lines


class _NoCounts:
    def month_operations(self, tenant_id: str, month: str) -> dict[str, int]:
        return {}


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    outcome = run()
    lines = markdown(outcome)
    print("\n".join(lines))
    if "--write" in sys.argv:  # only this section of BENCHMARKS.md (make bench rewrites all of them)
        from bench.run import splice

        splice(lines)
    print(f"({math.ceil(outcome['seconds'])} s: "
          + ", ".join(f"{k} {v:.1f}" for k, v in outcome["timings"].items()) + ")")
