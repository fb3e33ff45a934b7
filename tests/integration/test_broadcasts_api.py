"""Templates and broadcasts through the REST API on the local stack, against the Graph emulator.

Own tenant and channel (no bot): templates synced from the emulator's WABA, parameter validation, Meta's review
and account webhooks, then broadcasts: audience with consent, duplicates and exclusions, preview, cost and tier,
paced sending with injected faults, statuses and replies attributed, STOP/BAJA, the failed view and a real retry,
pause by a paused template, schedule, and tenant isolation.
"""

from __future__ import annotations

import itertools
import secrets
import time
from datetime import UTC, datetime
from typing import Any

import pytest

from infra.local.provision import DemoChannel, DemoTenant, seed_channel, seed_tenant
from infra.local.stack import LocalStack
from tests.integration.api_client import Answer, call
from tests.integration.conftest import graph_requests, inject_fault, wait_for
from tests.integration.payloads import envelope, status, text_message

pytestmark = pytest.mark.integration

TENANT = "bc-api"
KEY = "bc-api-key"
OTHER_KEY = "bc-api-otro-key"
WABA = "300000000000003"
CHANNEL = DemoChannel(tenant_id=TENANT, channel_id="bc-api-wa", phone_number_id="300000000000033",
                      display_phone_number="15550003333", waba_id=WABA, app_secret="bc-api-app-secret",
                      verify_token="bc-api-verify", access_token="bc-api-access-token", auto_reply_text="")
_numbers = itertools.count(1)
_run = secrets.randbelow(9000) + 1000

UTILITY = {"name": "aviso_cuota", "language": "es", "category": "UTILITY", "status": "APPROVED", "components": [
    {"type": "BODY", "text": "Hola {{1}}, tu cuota de {{2}} vence mañana.",
     "example": {"body_text": [["Ana", "$ 100"]]}}]}
PROMO = {"name": "promo_verano", "language": "es", "category": "MARKETING", "status": "APPROVED", "components": [
    {"type": "BODY", "text": "Hola {{1}}, tenemos una oferta para vos: {{2}} de descuento.",
     "example": {"body_text": [["Ana", "20%"]]}},
    {"type": "BUTTONS", "buttons": [{"type": "URL", "text": "Ver", "url": "https://tienda.example/p/{{1}}",
                                     "example": ["A1"]}]}]}
DISGUISED = {"name": "aviso_oferta", "language": "es", "category": "UTILITY", "status": "APPROVED", "components": [
    {"type": "BODY", "text": "Hola {{1}}, aprovechá 50% de descuento solo por hoy en toda la tienda. ¡Comprá ahora!",
     "example": {"body_text": [["Ana"]]}}]}


def new_wa_id() -> str:
    return f"54911{_run}{next(_numbers):04d}"


def api(stack: LocalStack, method: str, path: str, body: Any = None, key: str = KEY) -> Answer:
    return call(stack, method, path, body, key=key)


@pytest.fixture(scope="module")
def tenant(stack: LocalStack) -> LocalStack:
    seed_tenant(stack.resources, DemoTenant(tenant_id=TENANT, name="Tienda Broadcasts", api_key=KEY,
                                            max_contacts=5000))
    seed_tenant(stack.resources, DemoTenant(tenant_id="bc-api-otro", name="Otro", api_key=OTHER_KEY))
    seed_channel(stack.resources, CHANNEL)
    stack.account_channels[WABA] = (CHANNEL.channel_id, CHANNEL.app_secret)
    return stack


@pytest.fixture
def templates(tenant: LocalStack) -> LocalStack:
    tenant.graph.seed_templates(WABA, [UTILITY, PROMO, DISGUISED])
    synced = api(tenant, "POST", f"/v1/channels/{CHANNEL.channel_id}/templates/sync")
    assert synced.status == 200, synced.text
    return tenant


def post(stack: LocalStack, body: dict[str, Any]) -> None:
    for entry in body["entry"]:  # this channel's number (the payload helpers default to the demo channel's)
        for change in entry["changes"]:
            metadata = change["value"].get("metadata")
            if metadata:
                metadata["phone_number_id"] = CHANNEL.phone_number_id
    code, answer = stack.post_webhook(body, secret=CHANNEL.app_secret, channel_id=CHANNEL.channel_id)
    assert code == 200, answer


def contact(stack: LocalStack, name: str, *, marketing: str | None = None, phone: str | None = None,
            tags: list[str] | None = None, whatsapp: bool = True) -> tuple[str, str]:
    wa = phone or new_wa_id()
    identities = [{"kind": "whatsapp", "value": wa, "channel_id": CHANNEL.channel_id}] if whatsapp else []
    created = api(stack, "POST", "/v1/contacts", {"name": name, "phone": "+" + wa, "tags": tags or [],
                                                  "identities": identities})
    assert created.status == 201, created.text
    cid = created.body["contact_id"]
    if marketing:
        assert api(stack, "POST", f"/v1/contacts/{cid}/consent", {
            "purpose": "marketing", "status": marketing, "source": "web_form"}).status in (200, 201)
    return cid, wa


def sends(stack: LocalStack) -> list[dict[str, Any]]:
    return [r for r in graph_requests(stack) if r["path"].endswith(f"{CHANNEL.phone_number_id}/messages")
            and r["status"] == 200 and (r["body"] or {}).get("type") == "template"]


def wait_status(stack: LocalStack, bid: str, *wanted: str, timeout: float = 60) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        got = api(stack, "GET", f"/v1/broadcasts/{bid}").body
        return got if got and got["status"] in wanted else None
    return dict(wait_for(check, timeout=timeout))


def broadcast(stack: LocalStack, template: dict[str, Any], audience: dict[str, Any],
              variables: dict[str, Any], **extra: Any) -> str:
    created = api(stack, "POST", "/v1/broadcasts", {
        "name": f"Campaña {template['name']}", "channel_id": CHANNEL.channel_id, "template_name": template["name"],
        "template_language": "es", "audience": audience, "variables": variables, **extra})
    assert created.status == 201, created.text
    return str(created.body["broadcast_id"])


# -- templates --------------------------------------------------------------------------------------------------

def test_sync_lists_templates_with_lint_and_validates_parameters(templates: LocalStack) -> None:
    listed = api(templates, "GET", f"/v1/channels/{CHANNEL.channel_id}/templates")
    assert listed.status == 200, listed.text
    by_name = {t["name"]: t for t in listed.body["items"]}
    assert {"aviso_cuota", "promo_verano", "aviso_oferta"} <= set(by_name)
    assert by_name["promo_verano"]["category"] == "MARKETING" and by_name["promo_verano"]["status"] == "APPROVED"
    assert [f["rule"] for f in by_name["aviso_oferta"]["lint"]] == ["marketing_in_utility"]
    assert by_name["aviso_cuota"]["lint"] == []

    path = f"/v1/channels/{CHANNEL.channel_id}/templates/promo_verano/validate"
    bad = api(templates, "POST", path, {"language": "es", "parameters": {"body.1": "Ana\nLinea", "button.0": "a b"}})
    assert bad.status == 422, bad.text
    where = {e["location"] for e in bad.body["errors"]}
    assert {"body.1", "body.2", "button.0"} <= where  # newline, missing, space in URL suffix: all at once
    good = api(templates, "POST", path, {"language": "es", "parameters": {"body.1": "Ana", "body.2": "20%",
                                                                          "button.0": "X9"}})
    assert good.status == 200, good.text
    assert good.body["components"][0] == {"type": "body", "parameters": [{"type": "text", "text": "Ana"},
                                                                          {"type": "text", "text": "20%"}]}
    assert good.body["components"][1]["sub_type"] == "url" and good.body["components"][1]["index"] == "0"

    # gone from Meta → DELETED on the next sync
    templates.graph.reset()
    templates.graph.seed_templates(WABA, [UTILITY, PROMO])
    again = api(templates, "POST", f"/v1/channels/{CHANNEL.channel_id}/templates/sync").body
    assert again["removed"] == 1
    gone = api(templates, "GET", f"/v1/channels/{CHANNEL.channel_id}/templates/aviso_oferta?language=es").body
    assert gone["status"] == "DELETED"


def test_created_template_waits_for_review_and_meta_webhooks_update_health(templates: LocalStack) -> None:
    name = f"bienvenida_{_run}"
    body = {"name": name, "language": "es", "category": "UTILITY", "components": [
        {"type": "BODY", "text": "Hola {{1}}, tu cuenta ya está activa y podés operar desde hoy.",
         "example": {"body_text": [["Ana"]]}}]}
    created = api(templates, "POST", f"/v1/channels/{CHANNEL.channel_id}/templates", body)
    assert created.status == 201, created.text
    assert created.body["status"] == "PENDING"
    assert api(templates, "POST", f"/v1/channels/{CHANNEL.channel_id}/templates", body).status == 409
    broken = {**body, "name": f"roto_{_run}", "components": [{"type": "BODY", "text": "{{1}}"}]}
    refused = api(templates, "POST", f"/v1/channels/{CHANNEL.channel_id}/templates", broken)
    assert refused.status == 422 and refused.body["errors"], refused.text

    templates.graph.review(WABA, name, "es", "REJECTED", reason="INVALID_FORMAT")  # the account webhook is posted
    path = f"/v1/channels/{CHANNEL.channel_id}/templates/{name}?language=es"
    rejected = wait_for(lambda: (t := api(templates, "GET", path).body) and t["status"] == "REJECTED" and t)
    assert rejected["rejected_reason"] == "INVALID_FORMAT"

    post(templates, envelope({"display_phone_number": CHANNEL.display_phone_number, "event": "FLAGGED",
                              "current_limit": "TIER_10K"}, field="phone_number_quality_update"))
    post(templates, envelope({"display_phone_number": CHANNEL.display_phone_number, "event": "FLAGGED",
                              "current_limit": "TIER_10K"}, field="phone_number_quality_update"))  # Meta retries
    health = wait_for(lambda: (h := api(templates, "GET", f"/v1/channels/{CHANNEL.channel_id}/health").body)
                      and h["health"]["messaging_limit"] == "TIER_10K" and h)
    assert health["health"]["daily_limit"] == 10_000 and health["health"]["quality_event"] == "FLAGGED"
    flagged = [e for e in health["events"] if e["field"] == "phone_number_quality_update"]
    assert len(flagged) == 1 and flagged[0]["severity"] == "warning"  # stored once, despite the redelivery
    assert any(e["field"] == "message_template_status_update" for e in health["events"])


# -- broadcasts ---------------------------------------------------------------------------------------------------

def test_marketing_broadcast_end_to_end(templates: LocalStack) -> None:
    tag = f"verano{_run}"
    ana, ana_wa = contact(templates, "Ana Pérez", marketing="opted_in", tags=[tag])
    beto, beto_wa = contact(templates, "Beto Gómez", marketing="opted_in", tags=[tag])
    _, caro_wa = contact(templates, "Caro Ruiz", marketing="opted_in", tags=[tag])
    _, dani_wa = contact(templates, "Dani Sosa", marketing="opted_in", tags=[tag])
    contact(templates, "Eli Sin Consentimiento", tags=[tag])
    contact(templates, "Fede Baja", marketing="opted_out", tags=[tag])
    contact(templates, "Gabi Excluida", marketing="opted_in", tags=[tag, "vip"])
    contact(templates, "Ana Duplicada", marketing="opted_in", tags=[tag], phone=ana_wa, whatsapp=False)
    bid = broadcast(templates, PROMO, {"tags": [tag], "exclude_tags": ["vip"]},
                    {"body.1": {"field": "first_name", "default": "cliente"}, "body.2": {"value": "20%"},
                     "button.0": {"field": "codigo", "default": "VERANO"}})

    preview = api(templates, "POST", f"/v1/broadcasts/{bid}/preview", {"contact_id": ana})
    assert preview.status == 200, preview.text
    assert preview.body["eligible"] and "Hola Ana, tenemos una oferta" in preview.body["rendered"]["body"]

    # faults: Beto's first send fails transiently, Caro is not a WhatsApp user, Dani hits the marketing cap
    inject_fault(templates, to=beto_wa, status=500, error={"code": 131000, "message": "Something went wrong"})
    inject_fault(templates, to=caro_wa, status=400, times=1,
                 error={"code": 131026, "message": "Message undeliverable"}, details="not a WhatsApp user")
    inject_fault(templates, to=dani_wa, status=400, times=1,
                 error={"code": 131049, "message": "healthy ecosystem engagement"})

    assert api(templates, "POST", f"/v1/broadcasts/{bid}/prepare").status == 202
    ready = wait_status(templates, bid, "ready")
    prepared = ready["prepared"]
    assert prepared["eligible"] == 4 and prepared["duplicates"] == 1  # Ana's phone twice: one recipient
    assert prepared["excluded"] == {"no_opt_in": 1, "opted_out": 1, "excluded_tag": 1}
    cost = prepared["cost"]
    assert cost["lines"][0]["market"] == "argentina" and cost["lines"][0]["count"] == 5  # before dedupe
    assert float(cost["total"]) == pytest.approx(5 * float(cost["lines"][0]["unit_price"]))
    excluded = api(templates, "GET", f"/v1/broadcasts/{bid}/recipients?status=excluded").body["items"]
    assert sorted(e["reason"] for e in excluded) == ["excluded_tag", "no_opt_in", "opted_out"]

    assert api(templates, "POST", f"/v1/broadcasts/{bid}/start", {}).status == 202
    done = wait_status(templates, bid, "completed", timeout=90)
    counts = done["counts"]
    assert counts["sent"] == 2 and counts["failed"] == 2 and counts["total"] == 4, counts
    sent = sends(templates)
    by_to: dict[str, int] = {}
    for s in sent:
        by_to[s["body"]["to"]] = by_to.get(s["body"]["to"], 0) + 1
    attempts = [r for r in graph_requests(templates) if (r["body"] or {}).get("to") == beto_wa]
    assert [r["status"] for r in attempts] == [500, 200] and by_to[beto_wa] == 1  # retried by its error class
    today = datetime.now(UTC).date().isoformat()  # accepted sends are counted by group (BroadcastGroupSent)
    wait_for(lambda: api(templates, "GET", f"/v1/reports/messages?from={today}&to={today}&tz=UTC")
             .body["totals"]["out_by"].get("broadcast", 0) >= 2)
    ana_send = next(s for s in sent if s["body"]["to"] == ana_wa)
    assert ana_send["body"]["template"]["components"][0]["parameters"][0] == {"type": "text", "text": "Ana"}
    assert ana_send["body"]["biz_opaque_callback_data"].startswith(f"bc:{bid}:")

    failed = {r["to"]: r for r in api(templates, "GET", f"/v1/broadcasts/{bid}/recipients?status=failed"
                                      ).body["items"]}
    assert set(failed) == {caro_wa, dani_wa}
    assert failed[caro_wa]["error_code"] == 131026 and failed[caro_wa]["error_class"] == "permanent"
    assert failed[caro_wa]["error_details"] == "not a WhatsApp user"
    assert failed[dani_wa]["error_class"] == "marketing_cap" and failed[dani_wa]["retry_at"]

    # statuses and a reply, attributed by the callback data and the reply pointer
    callback = ana_send["body"]["biz_opaque_callback_data"]
    wamid = "wamid.BC" + secrets.token_hex(8)
    post(templates, status(wamid, "delivered", ana_wa, callback=callback))
    post(templates, status(wamid, "read", ana_wa, callback=callback))
    post(templates, status(wamid, "read", ana_wa, callback=callback))  # a redelivery moves nothing
    post(templates, text_message(ana_wa, "¡Me interesa!"))
    report = wait_for(lambda: (r := api(templates, "GET", f"/v1/broadcasts/{bid}/report").body)
                      and r["counts"]["replied"] == 1 and r)
    assert report["counts"]["delivered"] == 1 and report["counts"]["read"] == 1
    assert report["read_rate"] == 1.0
    assert {f["code"] for f in report["failure_reasons"]} == {131026, 131049}
    assert report["cost"]["billable_deliveries"] == {"argentina": 1}

    # BAJA opts out of marketing
    post(templates, text_message(beto_wa, "BAJA"))
    wait_for(lambda: api(templates, "GET", f"/v1/contacts/{beto}").body["consent"]["marketing"]["status"]
             == "opted_out")

    # retry: permanent ones on demand (the fault is gone now), marketing_cap waits its 24 h
    retried = api(templates, "POST", f"/v1/broadcasts/{bid}/retry", {})
    assert retried.status == 200, retried.text
    assert retried.body == {"retried": 1, "skipped": {"marketing_cap_waiting": 1}}
    final = wait_status(templates, bid, "completed", timeout=60)
    assert final["counts"]["sent"] == 3 and final["counts"]["failed"] == 1
    caro = [r["status"] for r in graph_requests(templates) if (r["body"] or {}).get("to") == caro_wa]
    assert caro == [400, 200]  # refused once with 131026, resent by the retry and accepted


def test_paused_template_pauses_the_broadcast_and_schedule_waits(templates: LocalStack) -> None:
    tag = f"cuota{_run}"
    for i in range(3):
        contact(templates, f"Cliente {i}", tags=[tag])
    bid = broadcast(templates, UTILITY, {"tags": [tag]},
                    {"body.1": {"field": "name"}, "body.2": {"value": "$ 1.000"}})
    future = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(time.time() + 3 * 86400))
    started = api(templates, "POST", f"/v1/broadcasts/{bid}/start", {"at": future, "time_zone": "UTC"})
    assert started.status == 202, started.text
    scheduled = wait_status(templates, bid, "scheduled")
    assert scheduled["prepared"]["eligible"] == 3

    templates.graph.review(WABA, "aviso_cuota", "es", "PAUSED", other_info={
        "title": "FIRST_PAUSE", "description": "paused for 3 hours"})
    paused = wait_status(templates, bid, "paused")
    assert "PAUSED" in paused["paused_reason"]
    assert sends(templates) == []
    resumed = api(templates, "POST", f"/v1/broadcasts/{bid}/resume")
    assert resumed.status == 200 and resumed.body["status"] == "scheduled"  # back to waiting for its time
    assert api(templates, "POST", f"/v1/broadcasts/{bid}/cancel").body["status"] == "cancelled"
    assert api(templates, "POST", f"/v1/broadcasts/{bid}/resume").status == 409


def test_tier_check_refuses_an_audience_over_the_limit(templates: LocalStack) -> None:
    tag = f"tier{_run}"
    for i in range(3):
        contact(templates, f"Tier {i}", tags=[tag])
    post(templates, envelope({"max_daily_conversations_per_business": 2}, field="business_capability_update"))
    wait_for(lambda: api(templates, "GET", f"/v1/channels/{CHANNEL.channel_id}/health").body["health"][
        "daily_limit"] == 2)
    try:
        bid = broadcast(templates, UTILITY, {"tags": [tag]}, {"body.1": {"field": "name"}, "body.2": {"value": "1"}})
        api(templates, "POST", f"/v1/broadcasts/{bid}/prepare")
        ready = wait_status(templates, bid, "ready")
        assert ready["prepared"]["tier"]["fits"] is False and ready["prepared"]["tier"]["limit"] == 2
        refused = api(templates, "POST", f"/v1/broadcasts/{bid}/start", {})
        assert refused.status == 409 and "messaging limit" in refused.body["detail"], refused.text
        forced = api(templates, "POST", f"/v1/broadcasts/{bid}/start", {"allow_over_tier": True})
        assert forced.status == 202 and forced.body["status"] == "sending"
        wait_status(templates, bid, "completed")
    finally:
        post(templates, envelope({"max_daily_conversations_per_business": "TIER_UNLIMITED"},
                                 field="business_capability_update"))


def test_bad_input_and_isolation(templates: LocalStack) -> None:
    unknown = api(templates, "POST", "/v1/broadcasts", {
        "name": "x", "channel_id": CHANNEL.channel_id, "template_name": "promo_verano", "template_language": "es",
        "audience": {"tags": ["a"]}, "variables": {"body.9": {"value": "x"}}})
    assert unknown.status == 422 and unknown.body["errors"][0]["location"] == "variables.body.9"
    two_sources = api(templates, "POST", "/v1/broadcasts", {
        "name": "x", "channel_id": CHANNEL.channel_id, "template_name": "promo_verano", "template_language": "es",
        "audience": {"tags": ["a"], "segment_id": "sg_x"}})
    assert two_sources.status == 422
    missing = api(templates, "POST", "/v1/broadcasts", {
        "name": "x", "channel_id": CHANNEL.channel_id, "template_name": "no_existe", "template_language": "es",
        "audience": {"tags": ["a"]}})
    assert missing.status == 404
    bid = broadcast(templates, UTILITY, {"contact_ids": ["ct_nadie"]}, {})
    assert api(templates, "GET", f"/v1/broadcasts/{bid}", key=OTHER_KEY).status == 404
    assert api(templates, "POST", f"/v1/broadcasts/{bid}/start", {}, key=OTHER_KEY).status == 404
    other_channel = api(templates, "GET", f"/v1/channels/{CHANNEL.channel_id}/templates", key=OTHER_KEY)
    assert other_channel.status == 404
    assert api(templates, "POST", f"/v1/broadcasts/{bid}/pause").status == 409  # a draft cannot be paused
    assert api(templates, "POST", f"/v1/broadcasts/{bid}/start", {"at": "2030-01-01T10:00:00",
                                                                  "time_zone": "Mars/Base"}).status == 422
    # an audience of nobody completes at once, explained
    api(templates, "POST", f"/v1/broadcasts/{bid}/prepare")
    done = wait_status(templates, bid, "completed")
    assert done["prepared"]["eligible"] == 0 and done["prepared"]["excluded"] == {"no_whatsapp": 1}
