"""The local Graph emulator: template registry, Meta's template send checks, throughput limits, faults, stats.

Calls GraphEmulator.handle directly (no server); limits run on an injected clock.
"""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest

from infra.local.graph_emulator import GraphEmulator

AUTH = {"authorization": "Bearer local-token"}
WABA = "102290129340398"
SEND = "/local/graph/v23.0/1234567890/messages"
TEMPLATES = f"/local/graph/v23.0/{WABA}/message_templates"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def call(graph: GraphEmulator, method: str, path: str, body: Any = None, *, query: str = "",
         headers: dict[str, str] | None = None) -> tuple[int, Any]:
    raw = json.dumps(body).encode() if body is not None else b""
    reply = graph.handle(method, path, AUTH if headers is None else headers, raw, query=query)
    assert reply is not None
    status, _, payload = reply
    return status, json.loads(payload)


def text(to: str) -> dict[str, Any]:
    return {"messaging_product": "whatsapp", "to": to, "type": "text", "text": {"body": "hola"}}


def template_send(name: str, language: str, *params: str, to: str = "5491155550001",
                  named: dict[str, str] | None = None) -> dict[str, Any]:
    parameters: list[dict[str, Any]] = [{"type": "text", "text": p} for p in params]
    if named:
        parameters = [{"type": "text", "parameter_name": k, "text": v} for k, v in named.items()]
    template: dict[str, Any] = {"name": name, "language": {"code": language}}
    if parameters:
        template["components"] = [{"type": "body", "parameters": parameters}]
    return {"messaging_product": "whatsapp", "to": to, "type": "template", "template": template}


def body_component(text_: str) -> list[dict[str, Any]]:
    return [{"type": "BODY", "text": text_}]


def error_code(answer: Any) -> int:
    return int(answer["error"]["code"])


# -- the template registry ---------------------------------------------------------------------------------

def test_template_list_pages_with_limit_and_after_cursor() -> None:
    graph = GraphEmulator(base_url="http://127.0.0.1:9")
    graph.seed_templates(WABA, [{"name": f"promo_{i}", "language": "es_AR", "category": "MARKETING",
                                 "components": body_component("Hola {{1}}")} for i in range(3)])

    status, first = call(graph, "GET", TEMPLATES, query="limit=2")
    assert status == 200
    assert [t["name"] for t in first["data"]] == ["promo_0", "promo_1"]
    assert set(first["paging"]["cursors"]) == {"before", "after"}
    assert first["paging"]["next"].startswith(f"http://127.0.0.1:9{TEMPLATES}?")

    next_query = first["paging"]["next"].split("?", 1)[1]
    status, second = call(graph, "GET", TEMPLATES, query=next_query)
    assert status == 200
    assert [t["name"] for t in second["data"]] == ["promo_2"]
    assert "next" not in second["paging"]


def test_template_objects_have_metas_shape() -> None:
    graph = GraphEmulator()
    graph.seed_templates(WABA, [{"name": "bienvenida", "language": "es", "category": "utility",
                                 "components": [{"type": "body", "text": "Hola {{1}}"}]}])

    _, page = call(graph, "GET", TEMPLATES + "?limit=25")  # a raw target with its query works too
    [template] = page["data"]
    assert isinstance(template["id"], str) and template["id"].isdigit()
    assert {k: v for k, v in template.items() if k != "id"} == {
        "name": "bienvenida", "language": "es", "status": "APPROVED", "category": "UTILITY",
        "components": [{"type": "BODY", "text": "Hola {{1}}"}], "parameter_format": "POSITIONAL",
        "quality_score": {"score": "UNKNOWN"}}
    assert call(graph, "GET", f"/local/graph/v23.0/{template['id']}")[1] == template


def test_template_list_filters_by_status_and_is_empty_for_an_unknown_waba() -> None:
    graph = GraphEmulator()
    graph.seed_templates(WABA, [{"name": "a", "language": "es"}, {"name": "b", "language": "es", "status": "PAUSED"}])

    assert [t["name"] for t in call(graph, "GET", TEMPLATES, query="status=PAUSED")[1]["data"]] == ["b"]
    assert call(graph, "GET", "/local/graph/v23.0/999/message_templates")[1] == {"data": []}


def test_created_template_is_pending_and_a_duplicate_is_refused() -> None:
    graph = GraphEmulator()
    create = {"name": "seasonal_promotion", "language": "en", "category": "MARKETING", "components": [
        {"type": "body", "text": "Shop until {{1}}", "example": {"body_text": [["August"]]}},
        {"type": "buttons", "buttons": [{"type": "quick_reply", "text": "Stop"}]}]}

    status, created = call(graph, "POST", TEMPLATES, create)
    assert status == 200
    assert created["status"] == "PENDING" and created["category"] == "MARKETING" and created["id"].isdigit()
    [listed] = call(graph, "GET", TEMPLATES)[1]["data"]
    assert listed["status"] == "PENDING"
    assert [c["type"] for c in listed["components"]] == ["BODY", "BUTTONS"]
    assert listed["components"][1]["buttons"][0]["type"] == "QUICK_REPLY"

    status, duplicate = call(graph, "POST", TEMPLATES, create)
    assert status == 400
    assert (duplicate["error"]["code"], duplicate["error"]["error_subcode"]) == (100, 2388024)
    assert call(graph, "POST", TEMPLATES, {**create, "language": "es"})[0] == 200  # another language is fine


@pytest.mark.parametrize("change", [{"name": "Seasonal-Promo"}, {"name": ""}, {"category": "PROMO"},
                                    {"components": None}])
def test_invalid_template_create_is_a_graph_400(change: dict[str, Any]) -> None:
    graph = GraphEmulator()
    create = {"name": "ok_name", "language": "en", "category": "UTILITY", "components": body_component("Hi")}

    status, answer = call(graph, "POST", TEMPLATES, {**create, **change})

    assert status == 400 and error_code(answer) == 100 and answer["error"]["type"] == "OAuthException"
    assert graph.templates(WABA) == []


def test_template_delete_by_name_removes_every_language() -> None:
    graph = GraphEmulator()
    graph.seed_templates(WABA, [{"name": "gone", "language": "es"}, {"name": "gone", "language": "en"},
                                {"name": "kept", "language": "es"}])

    assert call(graph, "DELETE", TEMPLATES, query="name=gone") == (200, {"success": True})
    assert [t["name"] for t in graph.templates(WABA)] == ["kept"]
    assert call(graph, "DELETE", TEMPLATES, query="name=gone")[0] == 400


def test_template_api_needs_a_token() -> None:
    graph = GraphEmulator()
    assert call(graph, "GET", TEMPLATES, headers={})[0] == 401


# -- review and the message_template_status_update webhook -------------------------------------------------

def test_review_changes_status_and_posts_metas_status_update_webhook() -> None:
    posted: list[tuple[str, dict[str, Any]]] = []
    graph = GraphEmulator(account_sink=lambda waba, body: posted.append((waba, body)))
    [seeded] = graph.seed_templates(WABA, [{"name": "abandoned_cart", "language": "en", "status": "PENDING",
                                            "category": "MARKETING"}])

    status, answer = call(graph, "POST", "/local/graph/templates/review", {
        "waba_id": WABA, "name": "abandoned_cart", "language": "en", "event": "REJECTED",
        "reason": "INVALID_FORMAT", "rejection_info": {"reason": "Variables", "recommendation": "Fix them"}})

    assert status == 200
    [(waba, body)] = posted
    assert waba == WABA and answer["webhook"] == body
    [entry] = body["entry"]
    assert body["object"] == "whatsapp_business_account"
    assert entry["id"] == WABA and isinstance(entry["time"], int)
    assert entry["changes"] == [{"field": "message_template_status_update", "value": {
        "event": "REJECTED", "message_template_id": int(seeded["id"]), "message_template_name": "abandoned_cart",
        "message_template_language": "en", "reason": "INVALID_FORMAT", "message_template_category": "MARKETING",
        "rejection_info": {"reason": "Variables", "recommendation": "Fix them"}}}]
    [listed] = graph.templates(WABA)
    assert listed["status"] == "REJECTED" and listed["rejected_reason"] == "INVALID_FORMAT"


def test_disabled_review_carries_disable_info_and_unknown_template_is_404() -> None:
    graph = GraphEmulator()
    graph.seed_templates(WABA, [{"name": "old", "language": "es"}])

    webhook = graph.review(WABA, "old", "es", "DISABLED")

    value = webhook["entry"][0]["changes"][0]["value"]
    assert value["event"] == "DISABLED" and "disable_date" in value["disable_info"]
    assert graph.templates(WABA)[0]["status"] == "DISABLED"
    status, _ = call(graph, "POST", "/local/graph/templates/review",
                     {"waba_id": WABA, "name": "missing", "language": "es", "event": "APPROVED"})
    assert status == 404


def test_auto_approve_approves_a_created_template_and_emits_the_webhook() -> None:
    approved = threading.Event()
    events: list[dict[str, Any]] = []

    def sink(waba: str, body: dict[str, Any]) -> None:
        events.append(body["entry"][0]["changes"][0]["value"])
        approved.set()

    graph = GraphEmulator(account_sink=sink, auto_approve=True, auto_approve_delay_s=0.01)
    _, created = call(graph, "POST", TEMPLATES, {"name": "otp", "language": "en", "category": "AUTHENTICATION",
                                                 "components": [{"type": "BODY"}]})

    assert created["status"] == "PENDING"
    assert approved.wait(5)
    assert events[0]["event"] == "APPROVED" and events[0]["message_template_id"] == int(created["id"])
    assert graph.templates(WABA)[0]["status"] == "APPROVED"


# -- template sends ----------------------------------------------------------------------------------------

def test_any_template_is_accepted_while_none_are_registered() -> None:
    graph = GraphEmulator()
    assert call(graph, "POST", SEND, template_send("whatever", "es_AR"))[0] == 200


@pytest.fixture
def registered() -> GraphEmulator:
    graph = GraphEmulator()
    graph.seed_templates(WABA, [
        {"name": "recordatorio", "language": "es_AR", "components": body_component("Hola {{1}}, vence {{2}}. {{1}}")},
        {"name": "pendiente", "language": "es_AR", "status": "PENDING"},
        {"name": "pausada", "language": "es_AR", "status": "PAUSED"},
        {"name": "deshabilitada", "language": "es_AR", "status": "DISABLED"},
        {"name": "pedido", "language": "en_US", "parameter_format": "NAMED",
         "components": body_component("Thanks {{first_name}}, order {{order_number}}")},
        {"name": "codigo", "language": "es", "category": "AUTHENTICATION",
         "components": [{"type": "BODY", "add_security_recommendation": True}]},
    ])
    graph.seed_templates("other-waba", [{"name": "otra_waba", "language": "es", "components": body_component("Hi")}])
    return graph


@pytest.mark.parametrize(("payload", "code"), [
    (template_send("no_existe", "es_AR"), 132001),
    (template_send("recordatorio", "es", "Ana", "mañana"), 132001),  # not in that language
    (template_send("pendiente", "es_AR"), 132001),
    (template_send("pausada", "es_AR"), 132015),
    (template_send("deshabilitada", "es_AR"), 132016),
    (template_send("recordatorio", "es_AR", "Ana"), 132000),
    (template_send("recordatorio", "es_AR"), 132000),
    (template_send("pedido", "en_US", named={"first_name": "Ana", "order_id": "1"}), 132000),
])
def test_template_send_is_refused_with_metas_code(registered: GraphEmulator, payload: dict[str, Any],
                                                  code: int) -> None:
    status, answer = call(registered, "POST", SEND, payload)

    assert status == 400 and error_code(answer) == code
    assert answer["error"]["error_data"]["messaging_product"] == "whatsapp"
    assert registered.requests[-1]["status"] == 400
    assert registered.stats()["template_rejected"] == 1 and registered.stats()["accepted"] == 0


@pytest.mark.parametrize("payload", [
    template_send("recordatorio", "es_AR", "Ana", "mañana"),  # {{1}} twice counts once
    template_send("pedido", "en_US", named={"order_number": "1", "first_name": "Ana"}),
    template_send("codigo", "es", "123456"),  # authentication: the code is the one body parameter
    template_send("otra_waba", "es"),  # any WABA's templates count
])
def test_approved_template_with_matching_parameters_is_accepted(registered: GraphEmulator,
                                                                payload: dict[str, Any]) -> None:
    status, answer = call(registered, "POST", SEND, payload)
    assert status == 200 and answer["messages"][0]["message_status"] == "accepted"


def test_template_send_reports_its_category_in_the_sent_status_pricing(registered: GraphEmulator) -> None:
    sent = threading.Event()
    pricing: list[dict[str, Any]] = []

    def sink(pni: str, body: dict[str, Any]) -> None:
        status = body["entry"][0]["changes"][0]["value"]["statuses"][0]
        if status["status"] == "sent":
            pricing.append(status["pricing"])
            sent.set()

    registered.status_sink = sink
    call(registered, "POST", SEND, template_send("otra_waba", "es"))

    assert sent.wait(5)
    assert pricing == [{"billable": True, "pricing_model": "PMP", "type": "regular", "category": "utility"}]


# -- throughput ----------------------------------------------------------------------------------------------

def test_throughput_limit_refuses_sends_beyond_the_sliding_second() -> None:
    clock = FakeClock()
    graph = GraphEmulator(clock=clock)
    assert call(graph, "POST", "/local/graph/throughput", {"mps": 2})[1]["mps"] == 2

    statuses = [call(graph, "POST", SEND, text(f"54911000000{i}"))[0] for i in range(2)]
    status, throttled = call(graph, "POST", SEND, text("549110000009"))

    assert statuses == [200, 200]
    assert status == 400
    assert throttled["error"] | {"fbtrace_id": None} == {
        "message": "(#130429) Rate limit hit", "type": "OAuthException", "code": 130429,
        "error_data": {"messaging_product": "whatsapp", "details": "Cloud API message throughput has been reached."},
        "fbtrace_id": None}
    assert call(graph, "POST", "/local/graph/v23.0/other-number/messages", text("549110000009"))[0] == 200
    clock.now += 0.5
    assert call(graph, "POST", SEND, text("549110000009"))[0] == 400
    clock.now += 0.51  # the first two sends left the window
    assert call(graph, "POST", SEND, text("549110000009"))[0] == 200
    assert [r["status"] for r in graph.requests] == [200, 200, 400, 200, 400, 200]
    assert graph.stats()["throttled"] == 2


def test_throttle_status_can_be_429() -> None:
    graph = GraphEmulator(clock=FakeClock(), mps_limit=1, throttle_status=429)
    call(graph, "POST", SEND, text("1"))
    status, answer = call(graph, "POST", SEND, text("2"))
    assert (status, error_code(answer)) == (429, 130429)


def test_pair_limit_refuses_a_burst_to_the_same_recipient() -> None:
    clock = FakeClock()
    graph = GraphEmulator(clock=clock)
    call(graph, "POST", "/local/graph/throughput", {"pair_limit": True, "pair_burst": 3})

    statuses = [call(graph, "POST", SEND, text("5491155550001"))[0] for _ in range(3)]
    status, refused = call(graph, "POST", SEND, text("5491155550001"))

    assert statuses == [200, 200, 200]
    assert (status, error_code(refused)) == (400, 131056)
    assert call(graph, "POST", SEND, text("5491155550002"))[0] == 200  # another recipient
    clock.now += 6.0
    assert call(graph, "POST", SEND, text("5491155550001"))[0] == 200
    assert graph.stats()["pair_limited"] == 1


# -- faults ------------------------------------------------------------------------------------------------

def test_fault_for_one_recipient_leaves_the_others_alone() -> None:
    graph = GraphEmulator()
    call(graph, "POST", "/local/graph/faults", {"to": "5491155550003", "status": 400, "times": -1, "details": "No.",
                                                "error": {"code": 131026, "message": "(#131026) Undeliverable"}})

    assert call(graph, "POST", SEND, text("5491155550001"))[0] == 200
    refused = [call(graph, "POST", SEND, text("5491155550003")) for _ in range(3)]

    assert [status for status, _ in refused] == [400, 400, 400]  # times -1: unlimited
    assert refused[0][1]["error"]["code"] == 131026
    assert refused[0][1]["error"]["error_data"] == {"messaging_product": "whatsapp", "details": "No."}
    assert graph.stats()["faults_served"] == 3


def test_every_nth_send_gets_the_fault() -> None:
    graph = GraphEmulator()
    call(graph, "POST", "/local/graph/faults", {"every": 3, "status": 503})  # times defaults to unlimited

    statuses = [call(graph, "POST", SEND, text(str(i)))[0] for i in range(7)]

    assert statuses == [200, 200, 503, 200, 200, 503, 200]


def test_times_still_limits_a_fault() -> None:
    graph = GraphEmulator()
    call(graph, "POST", "/local/graph/faults", {"status": 429, "times": 2, "error": {"code": 130429}})
    statuses = [call(graph, "POST", SEND, text("1"))[0] for _ in range(3)]
    assert statuses == [429, 429, 200]


# -- stats, config, reset ------------------------------------------------------------------------------------

def test_stats_count_accepted_sends_per_recipient() -> None:
    graph = GraphEmulator()
    call(graph, "POST", "/local/graph/faults", {"to": "c", "status": 500})
    for to in ("a", "b", "b", "c", "c"):
        call(graph, "POST", SEND, text(to))
    call(graph, "POST", SEND, {"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.X"})

    status, stats = call(graph, "GET", "/local/graph/stats")

    assert status == 200
    assert stats["accepted"] == 4 and stats["accepted_by_to"] == {"a": 1, "b": 2, "c": 1}
    assert (stats["recipients"], stats["duplicates"], stats["faults_served"]) == (3, 1, 1)
    assert stats["read_receipts"] == 1 and stats["requests"] == 6
    call(graph, "DELETE", "/local/graph/stats")
    assert graph.stats()["accepted"] == 0


def test_without_bodies_requests_keep_only_path_to_and_status() -> None:
    graph = GraphEmulator()
    call(graph, "POST", "/local/graph/config", {"record_bodies": False})

    call(graph, "POST", SEND, text("5491155550001"))

    assert graph.requests == [{"path": SEND, "to": "5491155550001", "status": 200}]


def test_reset_forgets_state_and_restores_constructor_limits() -> None:
    graph = GraphEmulator(clock=FakeClock(), mps_limit=100)
    graph.seed_templates(WABA, [{"name": "t", "language": "es"}])
    call(graph, "POST", "/local/graph/throughput", {"mps": 1, "pair_limit": True})
    call(graph, "POST", "/local/graph/config", {"record_bodies": False})
    call(graph, "POST", SEND, text("1"))

    assert call(graph, "DELETE", "/local/graph/requests")[0] == 200

    assert (graph.requests, graph.templates(), graph.stats()["accepted"]) == ([], [], 0)
    assert (graph.mps_limit, graph.pair_limit, graph.record_bodies) == (100, False, True)


def test_existing_send_response_and_token_check_are_unchanged() -> None:
    graph = GraphEmulator()
    status, answer = call(graph, "POST", SEND, text("5491155550001"))
    assert status == 200
    assert answer["contacts"] == [{"input": "5491155550001", "wa_id": "5491155550001"}]
    assert answer["messages"][0]["id"].startswith("wamid.")
    assert graph.requests == [{"path": SEND, "body": text("5491155550001"), "status": 200}]
    assert call(graph, "POST", SEND, text("1"), headers={})[0] == 401
    assert graph.handle("GET", "/elsewhere", AUTH, b"") is None
