"""Broadcast rules that need no store: audience and variables, send-error classes, status moves, template sync."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.models.broadcasts import Recipient, VariableSource
from shared.models.crm import ConsentRecord, Contact, Identity
from shared.models.messages import Identity as MessageIdentity
from shared.models.messages import Pricing, ProviderError, StatusKind, StatusUpdate
from shared.models.templates import LintFinding, MessageTemplate, TemplateComponent
from shared.services.broadcast_audience import (
    Candidate,
    Eligible,
    Excluded,
    address_of,
    bucket_of,
    consent_reason,
    evaluate,
    field_value,
    keyword_consent,
    resolve_params,
)
from shared.services.broadcast_sender import error_class, outcome_class, parse_callback, request_id
from shared.services.broadcast_tracking import _status_move
from shared.services.templates import limit_of, parse_graph_template

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def contact(*, name: str | None = "Ana María López", whatsapp: str | None = None, bsuid: str | None = None,
            phone: str | None = None, email: str | None = None, tags: tuple[str, ...] = (),
            fields: dict[str, Any] | None = None, **consent: str) -> Contact:
    """A CRM contact; keyword arguments `marketing=` / `utility=` give the consent status per purpose."""
    identities = [Identity(kind=kind, value=value) for kind, value in
                  (("whatsapp", whatsapp), ("whatsapp_bsuid", bsuid), ("phone", phone), ("email", email)) if value]
    return Contact(
        tenant_id="t", contact_id="ct_1", name=name, identities=tuple(identities), tags=tags, fields=fields or {},
        consent={purpose: ConsentRecord(status=status, at=T0, source="test") for purpose, status in consent.items()},
        created_at=T0, updated_at=T0)


def template(category: str = "MARKETING") -> MessageTemplate:
    return MessageTemplate(
        tenant_id="t", channel_id="c", name="n", language="es", category=category, status="APPROVED",
        components=[TemplateComponent(type="BODY", text="Hola {{1}}, tu código {{2}}",
                                      example={"body_text": [["Ana", "X"]]})],
        updated_at=datetime.now(UTC))


VARIABLES = {"body.1": VariableSource(field="first_name", default="cliente"), "body.2": VariableSource(field="codigo")}


# -- keyword_consent ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text", ["STOP", "BAJA", "Baja.", "no más mensajes", "Detener promociones", "darme de baja",
                                  " stop "])
def test_stop_like_replies_opt_out(text: str) -> None:
    assert keyword_consent(text) == "opted_out"


@pytest.mark.parametrize("text", ["ALTA", "START", "alta"])
def test_alta_and_start_opt_in(text: str) -> None:
    assert keyword_consent(text) == "opted_in"


@pytest.mark.parametrize("text", ["quiero saber la tasa baja", "BAJA por favor, ¿cómo hago?", "hola", "", None])
def test_keyword_must_be_the_whole_message(text: str | None) -> None:
    assert keyword_consent(text) is None


# -- consent_reason -----------------------------------------------------------------------------------------------
def test_marketing_needs_an_opt_in() -> None:
    assert consent_reason(contact(marketing="opted_in"), "marketing") is None
    assert consent_reason(contact(marketing="opted_out"), "marketing") == "opted_out"
    assert consent_reason(contact(), "marketing") == "no_opt_in"
    assert consent_reason(contact(utility="opted_in"), "marketing") == "no_opt_in"
    assert consent_reason(None, "marketing") == "no_opt_in"


def test_utility_is_excluded_only_by_a_utility_opt_out() -> None:
    assert consent_reason(contact(), "utility") is None
    assert consent_reason(None, "utility") is None
    assert consent_reason(contact(marketing="opted_out"), "utility") is None
    assert consent_reason(contact(utility="opted_out"), "utility") == "opted_out"
    assert consent_reason(contact(utility="opted_in"), "utility") is None


# -- bucket_of ----------------------------------------------------------------------------------------------------
def test_bucket_is_stable_and_within_range() -> None:
    assert bucket_of("5491123456789", 100) == bucket_of("5491123456789", 100)
    assert all(0 <= bucket_of(f"549110000{i:04d}", 7) < 7 for i in range(500))
    assert bucket_of("5491123456789", 0) == 0  # no partitions configured: one bucket


def test_buckets_spread_numbers_evenly() -> None:
    counts = Counter(bucket_of(f"54911{i:08d}", 100) for i in range(10_000))
    assert set(counts) == set(range(100))
    assert all(50 <= n <= 150 for n in counts.values()), (min(counts.values()), max(counts.values()))


# -- address_of ---------------------------------------------------------------------------------------------------
def test_whatsapp_identity_is_preferred_over_phones() -> None:
    c = contact(whatsapp="5491155550000", phone="+5491166660000")
    assert address_of(Candidate(c, phone="+5491177770000"), "AR") == ("5491155550000", "5491155550000")


def test_bsuid_is_the_contact_key_when_known() -> None:
    c = contact(whatsapp="5491155550000", bsuid="AR.123456789")
    assert address_of(Candidate(c), None) == ("5491155550000", "AR.123456789")


def test_phone_fallback_is_normalized_to_wa_id_digits() -> None:
    assert address_of(Candidate(contact(phone="+54 9 11 2345-6789")), None) == ("5491123456789", "5491123456789")


def test_list_row_phone_in_argentine_national_format() -> None:
    assert address_of(Candidate(None, phone="011 15-2345-6789"), "AR") == ("5491123456789", "5491123456789")


def test_invalid_or_missing_phone_is_an_exclusion_reason() -> None:
    assert address_of(Candidate(None, phone="llamame"), "AR") == "invalid_phone"
    assert address_of(Candidate(contact()), "AR") == "no_whatsapp"
    assert address_of(Candidate(None), "AR") == "no_whatsapp"


# -- field_value --------------------------------------------------------------------------------------------------
def test_list_column_is_matched_ignoring_accents_and_case() -> None:
    candidate = Candidate(contact(fields={"codigo": "from-contact"}), row={"Código": " AB12 "})
    assert field_value(candidate, "codigo") == "AB12"
    assert field_value(candidate, "CODIGO") == "AB12"


def test_list_column_wins_over_contact_attributes() -> None:
    candidate = Candidate(contact(name="Ana López"), row={"Name": "Beatriz"})
    assert field_value(candidate, "name") == "Beatriz"


def test_blank_list_column_falls_back_to_the_contact() -> None:
    candidate = Candidate(contact(name="Ana López"), row={"name": "  "})
    assert field_value(candidate, "name") == "Ana López"


def test_contact_builtins() -> None:
    c = contact(name="Ana María López", phone="+5491123456789", email="ana@example.com")
    candidate = Candidate(c)
    assert field_value(candidate, "name") == "Ana María López"
    assert field_value(candidate, "first_name") == "Ana"
    assert field_value(candidate, "phone") == "+5491123456789"
    assert field_value(candidate, "email") == "ana@example.com"
    assert field_value(Candidate(contact(name=None)), "first_name") is None


def test_custom_fields_and_lists_joined() -> None:
    c = contact(fields={"plan": "gold", "intereses": ["autos", "viajes"], "vacio": [], "puntos": 120})
    candidate = Candidate(c)
    assert field_value(candidate, "plan") == "gold"
    assert field_value(candidate, "intereses") == "autos, viajes"
    assert field_value(candidate, "vacio") is None
    assert field_value(candidate, "puntos") == 120
    assert field_value(candidate, "unknown") is None
    assert field_value(Candidate(None, row={"other": "x"}), "plan") is None


# -- resolve_params / evaluate ------------------------------------------------------------------------------------
def test_default_is_used_when_the_field_is_empty() -> None:
    candidate = Candidate(contact(name=None), row={"codigo": "AB12"})
    assert resolve_params(template(), VARIABLES, candidate) == {"body.1": "cliente", "body.2": "AB12"}


def test_literal_values_and_non_string_fields_become_strings() -> None:
    variables = {"body.1": VariableSource(value="amigo"), "body.2": VariableSource(field="puntos")}
    candidate = Candidate(contact(fields={"puntos": 120}))
    assert resolve_params(template(), variables, candidate) == {"body.1": "amigo", "body.2": "120"}


def test_required_variable_without_value_names_the_slot() -> None:
    assert resolve_params(template(), VARIABLES, Candidate(contact())) == "missing_variable:body.2"
    assert resolve_params(template(), {"body.1": VARIABLES["body.1"]}, Candidate(contact(), row={"codigo": "A"})
                          ) == "missing_variable:body.2"


def _evaluate(candidate: Candidate, **kwargs: Any) -> Eligible | Excluded:
    return evaluate(candidate, template=template(), variables=VARIABLES, purpose="marketing", default_country="AR",
                    **kwargs)


def test_eligible_recipient_carries_address_and_params() -> None:
    c = contact(whatsapp="5491155550000", marketing="opted_in", fields={"codigo": "AB12"})
    assert _evaluate(Candidate(c)) == Eligible("5491155550000", "5491155550000", "ct_1",
                                               {"body.1": "Ana", "body.2": "AB12"})


def test_missing_variable_excludes() -> None:
    result = _evaluate(Candidate(contact(whatsapp="5491155550000", marketing="opted_in")))
    assert result == Excluded("missing_variable:body.2", "5491155550000", "ct_1")


def test_value_with_a_newline_is_an_invalid_variable() -> None:
    c = contact(whatsapp="5491155550000", marketing="opted_in", fields={"codigo": "AB\n12"})
    result = _evaluate(Candidate(c))
    assert isinstance(result, Excluded)
    assert (result.reason, result.to, result.contact_id) == ("invalid_variable", "5491155550000", "ct_1")
    assert result.detail and "body.2" in result.detail


def test_excluded_tag() -> None:
    c = contact(whatsapp="5491155550000", marketing="opted_in", tags=("vip", "no_promos"), fields={"codigo": "A"})
    assert _evaluate(Candidate(c), exclude_tags=frozenset({"no_promos"})) == Excluded(
        "excluded_tag", "5491155550000", "ct_1")
    assert isinstance(_evaluate(Candidate(c), exclude_tags=frozenset({"other"})), Eligible)


def test_marketing_without_opt_in_is_excluded_but_utility_is_sent() -> None:
    c = contact(whatsapp="5491155550000", fields={"codigo": "A"})
    assert _evaluate(Candidate(c)) == Excluded("no_opt_in", "5491155550000", "ct_1")
    utility = evaluate(Candidate(c), template=template("UTILITY"), variables=VARIABLES, purpose="utility",
                       default_country="AR")
    assert isinstance(utility, Eligible)


def test_unreachable_contact_is_excluded_before_anything_else() -> None:
    assert _evaluate(Candidate(contact(marketing="opted_in"))) == Excluded("no_whatsapp", None, "ct_1")


# -- error_class, request_id / parse_callback ---------------------------------------------------------------------
@pytest.mark.parametrize(("http_status", "code", "expected"), [
    (429, 130429, "throttled"),
    (400, 131056, "pair_limit"),
    (400, 131049, "marketing_cap"),
    (400, 131050, "opted_out"),
    (400, 132001, "template"),
    (400, 132015, "template"),
    (400, 132000, "template"),
    (400, 131000, "transient"),
    (500, None, "transient"),
    (None, None, "transient"),
    (400, 131026, "permanent"),
])
def test_error_class(http_status: int | None, code: int | None, expected: str) -> None:
    assert error_class(http_status, code) == expected


def test_a_send_that_may_have_reached_meta_is_unconfirmed_never_retried_automatically() -> None:
    import httpx

    from shared.adapters.graph import GraphWhatsAppClient
    from shared.ports import ProviderSendError

    def client(error: Exception) -> GraphWhatsAppClient:
        def handler(request: httpx.Request) -> httpx.Response:
            raise error

        return GraphWhatsAppClient(base_url="https://graph.example", api_version="v23.0", timeout_s=1,
                                   transport=httpx.MockTransport(handler))

    outcomes = {}
    for name, error in {"read": httpx.ReadTimeout("no answer"), "connect": httpx.ConnectTimeout("no route"),
                        "pool": httpx.PoolTimeout("busy"), "refused": httpx.ConnectError("refused")}.items():
        with pytest.raises(ProviderSendError) as raised:
            client(error).send("1", "t", {"to": "549"})
        outcomes[name] = outcome_class(raised.value)
    # sent with no answer: maybe accepted -> unconfirmed; never sent -> transient (safe to resend)
    assert outcomes == {"read": "unconfirmed", "connect": "transient", "pool": "transient", "refused": "transient"}
    assert outcome_class(ProviderSendError(http_status=400, code=131026, title="x", details=None)) == "permanent"


def test_request_id_round_trips_through_the_callback() -> None:
    data = request_id("bc_abc123", 17, "5491123456789", 3)
    assert data.startswith("bc:")
    assert parse_callback(data) == ("bc_abc123", 17, "5491123456789", 3)


@pytest.mark.parametrize("data", ["bc:x", "out_abc", None, "", "bc:b:notint:to:1", "bc:b:1:to:x", "bc:b:1:to:1:9"])
def test_malformed_callbacks_are_rejected(data: str | None) -> None:
    assert parse_callback(data) is None


# -- _status_move -------------------------------------------------------------------------------------------------


def recipient(status: str, **kwargs: Any) -> Recipient:
    return Recipient(to="549111", bucket=0, contact_key="549111", market="argentina", status=status, **kwargs)


def status(kind: StatusKind, *, pricing: Pricing | None = None, errors: list[ProviderError] | None = None
           ) -> StatusUpdate:
    return StatusUpdate(provider_message_id="wamid.1", status=kind, raw_status=kind.value, at=T0,
                        recipient=MessageIdentity(key="549111", wa_id="549111"), pricing=pricing,
                        errors=errors or [])


def test_sent_to_delivered_counts_delivery_and_billing() -> None:
    move = _status_move(recipient("sent"), status(StatusKind.DELIVERED))
    assert move is not None
    fields, adds, failed_view = move
    assert adds == {"delivered": 1, "bill_argentina": 1}
    assert fields["status"] == "delivered"
    assert fields["delivered_at"] == T0.isoformat()
    assert fields["provider_message_id"] == "wamid.1"
    assert failed_view is False


def test_read_while_sending_fills_every_milestone_once() -> None:
    move = _status_move(recipient("sending"), status(StatusKind.READ))
    assert move is not None
    fields, adds, _ = move
    assert adds == {"sent": 1, "delivered": 1, "read": 1, "bill_argentina": 1}
    assert fields["status"] == "read"


def test_repeated_delivered_adds_nothing() -> None:
    assert _status_move(recipient("delivered"), status(StatusKind.DELIVERED)) is None
    assert _status_move(recipient("read"), status(StatusKind.DELIVERED)) is None


def test_repeated_delivered_only_fills_billable() -> None:
    regular = Pricing(billable=True, pricing_model="PMP", type="regular", category="marketing")
    assert _status_move(recipient("delivered"), status(StatusKind.DELIVERED, pricing=regular)) == (
        {"billable": True}, {}, False)
    assert _status_move(recipient("delivered", billable=True), status(StatusKind.DELIVERED, pricing=regular)) is None


def test_unconfirmed_to_sent_counts_the_send() -> None:
    move = _status_move(recipient("unconfirmed"), status(StatusKind.SENT))
    assert move is not None
    _, adds, _ = move
    assert adds == {"sent": 1, "unconfirmed": -1}


def test_failed_recipient_stays_failed() -> None:
    for kind in (StatusKind.SENT, StatusKind.DELIVERED, StatusKind.READ, StatusKind.FAILED):
        assert _status_move(recipient("failed"), status(kind)) is None


def test_marketing_cap_failure_after_sent_can_be_retried_later() -> None:
    err = ProviderError(code=131049, title="This message was not delivered to maintain healthy ecosystem "
                                           "engagement.", details="Message failed to send")
    move = _status_move(recipient("sent"), status(StatusKind.FAILED, errors=[err]))
    assert move is not None
    fields, adds, failed_view = move
    assert failed_view is True
    assert adds == {"failed": 1, "fail_131049": 1}
    assert fields["status"] == "failed"
    assert fields["error_class"] == "marketing_cap"
    assert fields["error_code"] == 131049
    assert fields["error_title"] == err.title
    assert fields["retry_at"] == (T0 + timedelta(hours=24)).isoformat()


def test_other_failures_have_no_retry_at() -> None:
    err = ProviderError(code=131026, title="Message undeliverable")
    move = _status_move(recipient("sent"), status(StatusKind.FAILED, errors=[err]))
    assert move is not None
    fields, _, _ = move
    assert fields["error_class"] == "permanent"
    assert "retry_at" not in fields


def test_free_delivery_is_not_billed() -> None:
    free = Pricing(billable=False, pricing_model="PMP", type="free_customer_service", category="service")
    move = _status_move(recipient("sent"), status(StatusKind.DELIVERED, pricing=free))
    assert move is not None
    fields, adds, _ = move
    assert adds == {"delivered": 1}
    assert fields["billable"] is False


# -- templates: limit_of, parse_graph_template -------------------------------------------------------------------
@pytest.mark.parametrize(("value", "expected"), [
    ("TIER_2K", ("TIER_2K", 2000)),
    (2000, ("TIER_2K", 2000)),
    (-1, ("TIER_UNLIMITED", None)),
    ("TIER_UNLIMITED", ("TIER_UNLIMITED", None)),
    ("TIER_1K", ("TIER_1K", 1000)),
    ("tier_10k", ("TIER_10K", 10_000)),
    ("garbage", (None, None)),
    (None, (None, None)),
    (True, (None, None)),
])
def test_limit_of(value: Any, expected: tuple[str | None, int | None]) -> None:
    assert limit_of(value) == expected


HELLO_WORLD = {"category": "MARKETING",
               "components": [{"format": "TEXT", "text": "Hello World", "type": "HEADER"},
                              {"text": "Hi {{1}}", "type": "BODY", "example": {"body_text": [["Mark"]]}}],
               "id": "1192339204654487", "language": "en_US", "name": "hello_world", "status": "APPROVED",
               "quality_score": {"score": "GREEN"}}


def test_parse_graph_template_reads_metas_fields() -> None:
    t = parse_graph_template("t", "c", HELLO_WORLD, T0)
    assert (t.tenant_id, t.channel_id, t.name, t.language) == ("t", "c", "hello_world", "en_US")
    assert t.template_id == "1192339204654487"
    assert (t.status, t.category, t.quality) == ("APPROVED", "MARKETING", "GREEN")
    assert [(c.type, c.format, c.text) for c in t.components] == [("HEADER", "TEXT", "Hello World"),
                                                                    ("BODY", None, "Hi {{1}}")]
    assert t.components[1].example == {"body_text": [["Mark"]]}
    assert (t.source, t.synced_at, t.updated_at) == ("sync", T0, T0)
    assert isinstance(t.lint, list)
    assert all(isinstance(f, LintFinding) for f in t.lint)
    assert "variables_at_edges" in {f.rule for f in t.lint}  # "Hi {{1}}" ends with its variable


def test_parse_graph_template_normalizes_loose_values() -> None:
    raw = {**HELLO_WORLD, "id": 42, "language": "pt-BR", "status": "approved", "quality_score": "yellow"}
    t = parse_graph_template("t", "c", raw, T0)
    assert (t.template_id, t.language, t.status, t.quality) == ("42", "pt_BR", "APPROVED", "YELLOW")
    bare = parse_graph_template("t", "c", {"name": "x", "language": "es"}, T0)
    assert (bare.template_id, bare.status, bare.category, bare.quality) == (None, "PENDING", "UTILITY", "UNKNOWN")


def test_promotional_utility_template_gets_a_lint_finding() -> None:
    raw = {**HELLO_WORLD, "category": "UTILITY", "name": "aviso_cuenta",
           "components": [{"type": "BODY", "text": "Hola {{1}}, tenés 50% de descuento, aprovechá hoy mismo.",
                           "example": {"body_text": [["Ana"]]}}]}
    t = parse_graph_template("t", "c", raw, T0)
    assert "marketing_in_utility" in {f.rule for f in t.lint}
    assert "marketing_in_utility" not in {f.rule for f in parse_graph_template("t", "c", HELLO_WORLD, T0).lint}
