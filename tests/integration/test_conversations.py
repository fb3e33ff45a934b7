"""Scripted dialogues with the Spanish demo bot, end to end on the local stack.

Each tests/conversations/*.yaml file is one scenario: a WhatsApp user (infra/local/simulator.py) sends signed
webhooks to the `bank` channel and every step checks what the platform sent back through the Graph emulator.

Script format (one action per step, then the checks for that step's replies):

    name: crédito feliz
    wa_id: "5491100000101"          # distinct per file: the stack is shared by the whole session
    contact_name: Lucía Fernández   # optional profile name
    steps:
      - user: hola                  # actions: user (text) | tap (option title or id of the last interactive
        expect: ["¿En qué te puedo ayudar?"]  #  message) | otp (true: the last code sent; "wrong": another one)
      - tap: Solicitar un crédito   #  | image (true or a caption) | document (file name) | burst (texts sent
        expect: ["DNI"]             #  within 0.3 s: answered together)
      - otp: true
        expect_none: ["error"]      # strings that must NOT be in the replies
        expect_count: 1             # exactly this many replies (waits a little longer to be sure)
        timeout: 45                 # seconds to wait for the first reply (default 30)
      - user: "¿hola?"
        expect_silence: true        # the bot must not answer (e.g. after a handoff); waits `timeout` (4 s)
      - expect_handoff: {team: cobranzas}   # checks without an action apply to the whole conversation:
      - expect_email: {to: tarjetas@banco-demo.example, subject: "DNI 40111222"}   # sent through SES (moto)
      - expect_pdf: solicitud-credito.pdf   # a document with that file name was sent and its link is a PDF

Strings match case-insensitively with accents folded. A failing step shows the whole transcript so far.

The dialogues run at the same time (CONVERSATIONS_PARALLEL, default 16; 1 runs them one by one; those with a
`burst` step run afterwards, alone, because their assertion is about timing): each step
takes about 3 s (the 1 s burst window, the turn, then 1.5 s without news), so one by one the file takes ~3 min
and in parallel about one minute. `-k <file stem>` runs one dialogue.
"""

from __future__ import annotations

import email
import email.header
import json
import os
import threading
import time
import unicodedata
import urllib.parse
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml

from infra.local.provision import REGION, DemoChannel
from infra.local.simulator import Reply, Simulator
from infra.local.stack import LocalStack
from infra.topology import EVENT_SOURCE

pytestmark = pytest.mark.integration

SCRIPTS = Path(__file__).resolve().parents[1] / "conversations"
BANK_API_KEY = "banco-api-key"
ACCOUNT_ID = "123456789012"  # moto's default account: its SES backend holds the emails the bot sent
ACTIONS = ("user", "tap", "otp", "image", "document", "burst")
CHECKS = ("expect", "expect_none", "expect_count", "expect_silence", "expect_handoff", "expect_email", "expect_pdf",
          "timeout")
DEFAULT_TIMEOUT_S = 30.0  # wait for a step's first reply (only a failing step waits this long)
SILENCE_TIMEOUT_S = 4.0  # how long "no answer" is watched
SETTLE_S = 1.5  # replies are complete once nothing new came for this long
LATE_GRACE_S = 10.0  # more time for an expected reply that came after the settle time
COUNT_GRACE_S = 2.0  # with expect_count: listen a little longer for a late extra reply
PARALLEL = int(os.environ.get("CONVERSATIONS_PARALLEL", "16"))

# Scenarios that fail because of a product bug (file stem -> reason). Keep the scenario; fix the product.
KNOWN_BUGS: dict[str, str] = {}


def fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).casefold().split())


def load_script(path: Path) -> dict[str, Any]:
    script = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(script, dict), f"{path.name}: a mapping is expected"
    unknown = set(script) - {"name", "wa_id", "contact_name", "description", "steps"}
    assert not unknown, f"{path.name}: unknown keys {sorted(unknown)}"
    assert isinstance(script.get("wa_id"), str) and script["wa_id"].isdigit(), f"{path.name}: wa_id (quoted digits)"
    steps = script.get("steps")
    assert isinstance(steps, list) and steps, f"{path.name}: steps"
    for index, step in enumerate(steps, 1):
        assert isinstance(step, dict), f"{path.name} step {index}: a mapping is expected"
        bad = set(step) - set(ACTIONS) - set(CHECKS)
        assert not bad, f"{path.name} step {index}: unknown keys {sorted(bad)}"
        actions = [key for key in ACTIONS if key in step]
        assert len(actions) <= 1, f"{path.name} step {index}: one action per step, got {actions}"
        assert actions or set(step) & set(CHECKS), f"{path.name} step {index}: nothing to do"
    return script


def _params() -> list[Any]:
    params = []
    for path in sorted(SCRIPTS.glob("*.yaml")):
        marks = [pytest.mark.xfail(strict=True, reason=KNOWN_BUGS[path.stem])] if path.stem in KNOWN_BUGS else []
        params.append(pytest.param(path, id=path.stem, marks=marks))
    return params


# -- side effects the replies do not show ---------------------------------------------------------------------
@dataclass
class HandoffLog:
    """HandoffRequested events, captured by an extra EventBridge rule that targets a queue of this module."""

    queue_url: str
    seen: list[dict[str, Any]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def drain(self) -> None:
        sqs = boto3.session.Session().client("sqs", region_name=REGION)  # one per call: dialogues run in threads
        with self._lock:
            while True:
                got = sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
                messages = got.get("Messages", [])
                if not messages:
                    return
                for message in messages:
                    self.seen.append(json.loads(message["Body"]).get("detail") or {})
                    sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])

    def wait(self, contact_key: str, timeout: float = 10.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while True:
            self.drain()
            with self._lock:
                found = [d for d in self.seen if d.get("contact_key") == contact_key]
            if found or time.monotonic() >= deadline:
                return found
            time.sleep(0.3)


@pytest.fixture(scope="module")
def handoffs(stack: LocalStack) -> Iterator[HandoffLog]:
    sqs = boto3.client("sqs", region_name=REGION)
    events = boto3.client("events", region_name=REGION)
    name = f"{stack.prefix}-conversations-handoffs"
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name=name, EventBusName=stack.resources.bus_name, State="ENABLED", EventPattern=json.dumps({
        "source": [EVENT_SOURCE], "detail-type": ["HandoffRequested"]}))
    events.put_targets(Rule=name, EventBusName=stack.resources.bus_name, Targets=[{"Id": "handoffs", "Arn": arn}])
    yield HandoffLog(url)
    events.remove_targets(Rule=name, EventBusName=stack.resources.bus_name, Ids=["handoffs"])
    events.delete_rule(Name=name, EventBusName=stack.resources.bus_name)
    sqs.delete_queue(QueueUrl=url)


def sent_emails() -> list[dict[str, Any]]:
    """Emails moto's SES accepted (the stack runs moto's server in this process)."""
    from moto.ses.models import ses_backends

    out = []
    for message in list(ses_backends[ACCOUNT_ID][REGION].sent_messages):
        raw = getattr(message, "raw_data", None)
        if raw is not None:
            parsed = email.message_from_string(raw)
            subject = str(email.header.make_header(email.header.decode_header(parsed.get("Subject", ""))))
            to = list(getattr(message, "destinations", []) or []) or [parsed.get("To", "")]
        else:
            subject = str(getattr(message, "subject", ""))
            destinations = getattr(message, "destinations", {}) or {}
            to = list(destinations.get("ToAddresses", [])) if isinstance(destinations, dict) else list(destinations)
        out.append({"to": [str(t) for t in to], "subject": subject})
    return out


def api_get(stack: LocalStack, path: str) -> Any:
    request = urllib.request.Request(stack.url + path, headers={"Authorization": f"Bearer {BANK_API_KEY}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def conversation_of(stack: LocalStack, channel_id: str, wa_id: str) -> dict[str, Any] | None:
    """The newest conversation of this contact on the channel (GET /v1/conversations, newest first)."""
    cursor = None
    while True:
        query = f"?channel_id={channel_id}&limit=100" + (f"&cursor={urllib.parse.quote(cursor)}" if cursor else "")
        page = api_get(stack, "/v1/conversations" + query)
        for item in page["items"]:
            if item.get("contact_key") == wa_id:
                return dict(item)
        cursor = page.get("next_cursor")
        if not cursor:
            return None


# -- running a script ---------------------------------------------------------------------------------------
class DialogueFailed(AssertionError):
    pass


class Dialogue:
    def __init__(self, path: Path, script: dict[str, Any], stack: LocalStack, bank: DemoChannel,
                 handoffs: HandoffLog) -> None:
        self.path, self.script, self.stack, self.bank, self.handoffs = path, script, stack, bank, handoffs
        self.sim = Simulator(stack.url, phone_number_id=bank.phone_number_id, app_secret=bank.app_secret,
                                    channel_id=bank.channel_id, wa_id=script["wa_id"],
                                    name=script.get("contact_name", "Cliente Prueba"),
                                    display_phone_number=bank.display_phone_number, settle_s=SETTLE_S)
        self.step_no = 0
        self.step: dict[str, Any] = {}

    def fail(self, problem: str) -> None:
        header = f"{self.path.name} ({self.script.get('name', '')}), step {self.step_no} {self.step}:\n  {problem}"
        raise DialogueFailed(f"{header}\n--- transcript ---\n{self.sim.format_transcript()}")

    def run(self) -> None:
        for number, step in enumerate(self.script["steps"], 1):
            self.step_no, self.step = number, step
            self.check(step, self.act(step))

    def act(self, step: dict[str, Any]) -> list[Reply] | None:
        sim = self.sim
        action = next((key for key in ACTIONS if key in step), None)
        if action is None:
            sim.poll()
            return None
        value = step[action]
        try:
            if action == "user":
                sim.send_text(str(value))
            elif action == "tap":
                sim.tap(str(value))
            elif action == "otp":
                code = sim.last_otp_code()
                if code is None:
                    self.fail("no verification code was sent")
                assert code is not None
                sim.send_text(code if value is True else "".join(str((int(d) + 1) % 10) if d.isdigit() else d
                                                                 for d in code))
            elif action == "image":
                sim.send_image(caption=None if value is True else str(value))
            elif action == "document":
                sim.send_document(str(value))
            elif action == "burst":
                for text in value:
                    sim.send_text(str(text))
                    time.sleep(0.1)
        except Exception as exc:  # noqa: BLE001 - shown with the transcript
            self.fail(f"could not {action}: {exc}")
        silent = bool(step.get("expect_silence"))
        timeout = float(step.get("timeout", SILENCE_TIMEOUT_S if silent else DEFAULT_TIMEOUT_S))
        replies = sim.replies(timeout)
        # A reply still missing may be one that came later than the settle time (a loaded machine: browser tests
        # run beside these); give it LATE_GRACE_S more before the check fails. Unwanted texts are still checked
        # over everything collected.
        deadline = time.monotonic() + LATE_GRACE_S
        while replies and not silent and time.monotonic() < deadline and any(
                fold(str(w)) not in fold("\n".join(r.text for r in replies)) for w in step.get("expect") or []):
            replies += sim.replies(min(2.0, max(0.1, deadline - time.monotonic())))
        if "expect_count" in step:
            replies += sim.replies(COUNT_GRACE_S)  # anything late would be a second answer
        return replies

    def check(self, step: dict[str, Any], replies: list[Reply] | None) -> None:
        if replies is None:  # a check-only step looks at the whole conversation
            shown = "\n".join(text for who, text in self.sim.transcript if who == "bot")
        else:
            shown = "\n".join(r.text for r in replies)
            if step.get("expect_silence") and replies:
                self.fail(f"the bot was expected to stay silent, it sent {len(replies)} message(s)")
            if not replies and not step.get("expect_silence") and (step.get("expect") or "expect_count" in step):
                self.fail(f"no reply within {step.get('timeout', DEFAULT_TIMEOUT_S)} s")
        for wanted in step.get("expect") or []:
            if fold(str(wanted)) not in fold(shown):
                self.fail(f"expected {wanted!r} in the replies:\n{shown}")
        for unwanted in step.get("expect_none") or []:
            if fold(str(unwanted)) in fold(shown):
                self.fail(f"did not expect {unwanted!r} in the replies:\n{shown}")
        if "expect_count" in step and replies is not None and len(replies) != int(step["expect_count"]):
            self.fail(f"expected exactly {step['expect_count']} replies, got {len(replies)}")
        if "expect_handoff" in step:
            self.check_handoff(step["expect_handoff"] or {})
        if "expect_email" in step:
            self.check_email(step["expect_email"])
        if "expect_pdf" in step:
            self.check_pdf(str(step["expect_pdf"]))

    def check_handoff(self, spec: dict[str, Any]) -> None:
        wa_id = self.script["wa_id"]
        found = self.handoffs.wait(wa_id)
        if not found:
            self.fail("no HandoffRequested event for this contact")
        team = spec.get("team")
        if team and not any(d.get("team") == team for d in found):
            self.fail(f"expected a handoff to team {team!r}, got {[d.get('team') for d in found]}")
        conversation = conversation_of(self.stack, self.bank.channel_id, wa_id)
        if conversation is None:
            self.fail("GET /v1/conversations does not list this contact's conversation")
        assert conversation is not None
        session = api_get(self.stack, f"/v1/conversations/{conversation['conversation_id']}/bot")
        if session.get("paused") != "handoff":
            self.fail(f"the bot session is not paused by a handoff: {session}")

    def check_email(self, spec: dict[str, Any]) -> None:
        deadline = time.monotonic() + 5
        while True:
            mails = sent_emails()
            match = [m for m in mails if spec.get("to") in m["to"]
                     and fold(str(spec.get("subject", ""))) in fold(m["subject"])]
            if match:
                return
            if time.monotonic() >= deadline:
                self.fail(f"no email to {spec.get('to')} with subject {spec.get('subject')!r}: "
                          f"{[m for m in mails if spec.get('to') in m['to']]}")
            time.sleep(0.3)

    def check_pdf(self, filename: str) -> None:
        docs = [r for r in self.sim.received if r.kind == "document"
                and (r.payload.get("document") or {}).get("filename") == filename]
        if not docs:
            self.fail(f"no document {filename!r} was sent")
        link = (docs[-1].payload.get("document") or {}).get("link")
        if not link:
            self.fail(f"the document {filename!r} has no link")
        with urllib.request.urlopen(str(link), timeout=30) as response:
            data = response.read()
        if not data.startswith(b"%PDF"):
            self.fail(f"the document link does not serve a PDF: {data[:40]!r}")


@dataclass
class Outcome:
    failure: str | None
    seconds: float


def run_dialogue(path: Path, stack: LocalStack, bank: DemoChannel, handoffs: HandoffLog) -> Outcome:
    started = time.monotonic()
    dialogue: Dialogue | None = None
    try:
        dialogue = Dialogue(path, load_script(path), stack, bank, handoffs)
        dialogue.run()
    except DialogueFailed as failure:
        return Outcome(str(failure), time.monotonic() - started)
    except Exception as exc:  # noqa: BLE001 - reported by the test of this script
        where = f", step {dialogue.step_no} {dialogue.step}" if dialogue else ""
        transcript = f"\n--- transcript ---\n{dialogue.sim.format_transcript()}" if dialogue else ""
        return Outcome(f"{path.name}{where}: {type(exc).__name__}: {exc}{transcript}", time.monotonic() - started)
    return Outcome(None, time.monotonic() - started)


def _length(path: Path) -> int:
    try:
        return len(load_script(path)["steps"])
    except (AssertionError, OSError, yaml.YAMLError):
        return 0  # its own test reports what is wrong with it


@pytest.fixture(scope="module")
def outcomes(request: pytest.FixtureRequest, stack: LocalStack, bank: DemoChannel,
             handoffs: HandoffLog) -> dict[Path, Outcome]:
    """Run the selected dialogues once, PARALLEL at a time (each has its own contact, so they are independent
    and the stack serves them like concurrent customers); each test then reports its own dialogue."""
    selected = [item.callspec.params["path"] for item in request.session.items
                if getattr(item, "originalname", None) == "test_conversation" and hasattr(item, "callspec")]
    selected.sort(key=_length, reverse=True)  # the longest dialogues first
    timed = [path for path in selected if _has_burst(path)]
    with ThreadPoolExecutor(max_workers=max(1, PARALLEL)) as pool:
        futures = {path: pool.submit(run_dialogue, path, stack, bank, handoffs) for path in selected
                   if path not in timed}
        done = {path: future.result() for path, future in futures.items()}
    # A burst is answered once when its fragments reach the bot within the bot's coalescing window (2 s). Here the
    # whole stack shares one interpreter with the other dialogues, which can hold a fragment back longer than
    # that; in AWS each function has its own. So bursts run after the others, on a stack that is not saturated.
    return done | {path: run_dialogue(path, stack, bank, handoffs) for path in timed}


def _has_burst(path: Path) -> bool:
    try:
        return any("burst" in step for step in load_script(path)["steps"])
    except (AssertionError, OSError, yaml.YAMLError):
        return False


@pytest.mark.parametrize("path", _params())
def test_conversation(path: Path, outcomes: dict[Path, Outcome], request: pytest.FixtureRequest) -> None:
    outcome = outcomes[path]
    request.node.user_properties.append(("dialogue_seconds", round(outcome.seconds, 1)))
    if outcome.failure is not None:
        pytest.fail(outcome.failure, pytrace=False)


def test_scripts_are_well_formed_and_use_distinct_contacts() -> None:
    paths = sorted(SCRIPTS.glob("*.yaml"))
    assert paths, "no scripts in tests/conversations"
    wa_ids = [load_script(p)["wa_id"] for p in paths]
    assert len(wa_ids) == len(set(wa_ids)), "each dialogue needs its own wa_id"
    assert set(KNOWN_BUGS) <= {p.stem for p in paths}
