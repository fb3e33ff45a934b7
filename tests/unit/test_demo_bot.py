"""The Spanish demo bank bot (examples/bots/banco_demo.yaml) end to end, in-process against the sample core-banking
API (examples/core_banking/api.py): crédito, tarjeta, deudas, reclamos, a person from anywhere, free text."""

from __future__ import annotations

import json
from typing import Any

import pytest

from shared.models.bot_session import TurnResult
from shared.models.bots import BotDefinition
from shared.models.envelopes import ButtonsContent, ListContent, MediaContent, TemplateContent, TextContent
from shared.services.bot_engine import CompiledBot, compile_bot
from shared.services.bot_loader import load_definition
from tests.unit import bot_harness
from tests.unit.bot_harness import BotChat

API = "/local/core-banking"
CBU = "0110599520000012345678"
PHOTO = ({"type": "image", "media_id": "m1", "mime_type": "image/jpeg", "s3_key": "media/demo/wa/x.jpg"},)
PAYSLIP_PDF = ({"type": "document", "media_id": "m2", "mime_type": "application/pdf",
                "s3_key": "media/demo/wa/recibo.pdf", "filename": "recibo.pdf"},)
PAYSLIP_PHOTO = ({"type": "image", "media_id": "m3", "mime_type": "image/jpeg", "s3_key": "media/demo/wa/r.jpg"},)

HANDOFF_TEXT = "Te comunico con una persona de nuestro equipo. En breve te responde 🙌"
FALLBACK = "Disculpá, no te entendí 🤔. Podés elegir una opción del menú o escribir *menú* para verlo de nuevo."
MAIN_MENU = "¡Hola! Soy el asistente virtual de *Banco Demo* 🏦. ¿En qué te puedo ayudar?"
MENU_TITLES = ["Solicitar un crédito", "Tarjeta de crédito", "Mis deudas", "Reclamos técnicos",
               "Hablar con una persona"]
ASK_DNI_CREDITO = "Perfecto, pidamos tu crédito 💰. ¿Cuál es tu número de DNI? (sin puntos)"
ASK_DNI_TARJETA = "¡Genial! Pidamos tu tarjeta 💳. ¿Cuál es tu DNI? (sin puntos)"
ASK_CLIENTE = "Consultemos tu deuda. ¿Cuál es tu número de cliente? (por ejemplo C-1003)"
ASK_DNI_RECLAMO = "Lamentamos el inconveniente 🙏. ¿Cuál es tu DNI? (sin puntos)"
ASK_DESCRIPCION = "Contame brevemente qué problema tenés."


_LOADED: dict[str, BotDefinition] = {}
_COMPILED: dict[int, CompiledBot] = {}


def _load_once(text: str, fmt: Any = None) -> BotDefinition:
    if text not in _LOADED:
        _LOADED[text] = load_definition(text, fmt)
    return _LOADED[text]


def _compile_once(definition: BotDefinition, version: int) -> CompiledBot:
    if id(definition) not in _COMPILED:
        _COMPILED[id(definition)] = compile_bot(definition, version)
    return _COMPILED[id(definition)]


@pytest.fixture(autouse=True)
def _parse_the_demo_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The YAML parser is slow: every chat of this module shares one loaded and compiled bot per source (both are
    read-only for the engine; sessions, API and captures stay per chat)."""
    monkeypatch.setattr(bot_harness, "load_definition", _load_once)
    monkeypatch.setattr(bot_harness, "compile_bot", _compile_once)


def texts(result: TurnResult) -> list[str]:
    return [r.body for r in result.replies if isinstance(r, TextContent)]


def paths(chat: BotChat) -> list[tuple[str, str]]:
    return [(method, target) for method, target, _ in chat.transport.calls]


def assert_main_menu(result: TurnResult) -> None:
    (menu,) = result.replies
    assert isinstance(menu, ListContent)
    assert menu.body == MAIN_MENU and menu.button == "Ver opciones"
    assert [r.title for r in menu.sections[0].rows] == MENU_TITLES
    assert result.state.flow == "inicio" and result.state.node == "menu"


def wrong_code(code: str) -> str:
    return "".join(str((int(d) + 1) % 10) for d in code)


# == crédito ==================================================================================================
def start_credito(chat: BotChat) -> None:
    assert chat.say("hola").startswith(MAIN_MENU)
    assert chat.say(reply_id="credito") == ASK_DNI_CREDITO


def test_credito_happy_path() -> None:
    chat = BotChat()
    start_credito(chat)
    assert chat.say("30.123.456") == ("Hola Lucía Fernández 👋. Tenés un crédito preaprobado de hasta "
                                      "*$ 1.500.000,00*. ¿Qué monto necesitás?")
    assert chat.say("$ 250.000") == "¿A qué cuenta lo depositamos? Escribí el CBU (22 números)."
    confirm = chat.turn(CBU)
    (question,) = confirm.replies
    assert isinstance(question, ButtonsContent)
    assert question.body == f"¿Confirmás el crédito de *$ 250.000,00* a la cuenta {CBU}?"
    assert [(b.id, b.title) for b in question.buttons] == [("si", "Confirmar"), ("no", "Cancelar")]

    done = chat.turn(reply_id="si")
    assert paths(chat) == [("GET", f"{API}/customers/30123456"), ("GET", f"{API}/credit/preapproved/C-1001"),
                           ("POST", f"{API}/disbursements")]
    assert chat.transport.calls[2][2] == {"customer_number": "C-1001", "amount": 250000, "account": CBU}
    (disbursement,) = chat.api.disbursements.values()
    assert disbursement["amount"] == 250000 and disbursement["customer_number"] == "C-1001"

    document, final = done.replies
    assert isinstance(document, MediaContent)
    assert (document.type, document.filename, document.caption) == (
        "document", "solicitud-credito.pdf", "Tu comprobante de solicitud")
    (pdf,) = chat.captured.documents
    assert pdf["filename"] == "solicitud-credito.pdf"
    assert pdf["data"].startswith(b"%PDF")
    for expected in (b"C-1001", b"30123456", b"250.000,00", CBU.encode(), disbursement["disbursement_id"].encode()):
        assert expected in pdf["data"]
    assert final == TextContent(body=f"¡Listo, Lucía Fernández! 🎉 Enviamos tu solicitud "
                                     f"*{disbursement['disbursement_id']}*. El dinero se acredita en 48 h hábiles.")
    assert done.ended == "solved" and done.close_conversation is True
    assert chat.state.status == "ended" and chat.state.end_reason == "solved"


def test_credito_amount_above_the_preapproved_limit_asks_again() -> None:
    chat = BotChat()
    start_credito(chat)
    chat.say("27456789")  # Martín Gómez, preapproved 350.000
    result = chat.turn("500 mil")
    assert texts(result) == [
        "El monto supera tu preaprobado de $ 350.000,00. Probemos con un monto menor.",
        "Hola Martín Gómez 👋. Tenés un crédito preaprobado de hasta *$ 350.000,00*. ¿Qué monto necesitás?"]
    assert chat.state.node == "monto"
    assert chat.say("350.000") == "¿A qué cuenta lo depositamos? Escribí el CBU (22 números)."  # the limit itself
    assert chat.vars["monto"] == 350000


def test_credito_amount_and_cbu_are_validated() -> None:
    chat = BotChat()
    start_credito(chat)
    chat.say("30123456")
    assert chat.say("mucha plata") == "Escribí el monto en números, por ejemplo 250000."
    assert chat.say("500") == "Escribí el monto en números, por ejemplo 250000."  # below the minimum of 1000
    chat.say("1000")
    assert chat.say("0110 5995 2000") == "El CBU tiene exactamente 22 números, sin espacios."
    assert chat.state.node == "cuenta"


def test_credito_invalid_dni_reprompts_then_hands_off() -> None:
    chat = BotChat()
    start_credito(chat)
    invalid = "El DNI debe tener 7 u 8 números, sin puntos. Probá de nuevo."
    assert chat.say("mi dni") == invalid
    assert chat.say("123") == invalid
    result = chat.turn("12.34")
    assert texts(result) == [HANDOFF_TEXT]
    assert result.handoff is not None
    assert (result.handoff.team, result.handoff.reason) == ("atencion", "max_attempts")
    assert result.ended == "handoff"
    assert chat.transport.calls == []


def test_credito_unknown_dni() -> None:
    chat = BotChat()
    start_credito(chat)
    result = chat.turn("11111111")
    assert texts(result) == [
        "No encontramos un cliente con el DNI 11111111. Para pedir un crédito tenés que ser cliente del banco.",
        "Si querés hacerte cliente, escribí *asesor* y te atiende una persona."]
    assert result.ended == "solved" and result.handoff is None
    assert paths(chat) == [("GET", f"{API}/customers/11111111")]


@pytest.mark.parametrize(("dni", "error"), [("99999999", "http_500"), ("88888888", "timeout")])
def test_credito_core_banking_failure_hands_off(dni: str, error: str) -> None:
    chat = BotChat()
    start_credito(chat)
    result = chat.turn(dni)
    assert texts(result) == ["No pudimos consultar tus datos en este momento 😕.", HANDOFF_TEXT]
    assert result.handoff is not None and result.handoff.team == "atencion"
    assert result.handoff.data["integration_error"] == error
    assert result.handoff.data["documento"] == dni
    assert f"integration:buscar_cliente:{error}" in result.notes
    assert result.ended == "handoff"
    assert paths(chat) == [("GET", f"{API}/customers/{dni}")]  # no preapproved/disbursement call


@pytest.mark.parametrize("cancel", [{"text": "Cancelar"}, {"reply_id": "no"}, {"text": "no"}])
def test_credito_cancel_at_confirmation_sends_nothing(cancel: dict[str, Any]) -> None:
    chat = BotChat()
    start_credito(chat)
    chat.say("30123456")
    chat.say("100000")
    chat.say(CBU)
    result = chat.turn(cancel.get("text"), reply_id=cancel.get("reply_id"))
    assert texts(result) == ["Listo, no enviamos la solicitud. ¡Gracias!"]
    assert result.ended == "solved"
    assert ("POST", f"{API}/disbursements") not in paths(chat)
    assert chat.api.disbursements == {}
    assert chat.captured.documents == []


# == tarjeta ==================================================================================================
def fill_tarjeta(chat: BotChat) -> None:
    assert chat.say("quiero una tarjeta") == ASK_DNI_TARJETA
    assert chat.say("30123456") == "¿Cuál es tu nombre y apellido completos?"
    assert chat.say("lucia fernandez") == "¿Cuál es tu fecha de nacimiento? (dd/mm/aaaa)"
    assert chat.say("15 de marzo de 1990") == "¿Cuáles son tus ingresos mensuales netos?"
    assert chat.say("$ 850.000") == "¿Cuántos años de antigüedad tenés en tu trabajo actual?"
    assert chat.say("5") == "Mandame una foto del frente de tu DNI 📷"


@pytest.mark.parametrize("payslip", [PAYSLIP_PDF, PAYSLIP_PHOTO], ids=["pdf", "photo"])
def test_tarjeta_happy_path(payslip: tuple[dict[str, Any], ...]) -> None:
    chat = BotChat()
    fill_tarjeta(chat)
    assert chat.say(media=PHOTO) == "Por último, mandame una foto o PDF de tu último recibo de sueldo."
    result = chat.turn(media=payslip)

    (email,) = chat.captured.emails
    assert email["to"] == "tarjetas@banco-demo.example"
    assert email["subject"] == "Solicitud de tarjeta - Lucia Fernandez (DNI 30123456)"
    for line in ("Nombre: Lucia Fernandez", "DNI: 30123456", "Fecha de nacimiento: 15/03/1990",
                 "Ingresos mensuales: $ 850.000,00", "Antigüedad laboral: 5 años"):
        assert line in email["body"].splitlines()
    assert [(a["s3_key"], a["slot"]) for a in email["attachments"]] == [
        ("media/demo/wa/x.jpg", "foto_dni"), (payslip[0]["s3_key"], "recibo")]

    assert chat.captured.links == [{"contact_id": "ct_1", "purpose": "seguimiento-tarjeta", "ttl_s": 604800}]
    url = "https://links.example/l?t=seguimiento-tarjeta-ct_1"
    assert texts(result) == [
        f"¡Recibimos tu solicitud, Lucia Fernandez! 🙌 Podés seguir su estado acá (vale 7 días): {url}",
        "Te avisamos por este medio cuando esté aprobada. ¡Gracias!"]
    assert result.ended == "solved"
    assert chat.transport.calls == []  # the card request goes by email, not to the core


def test_tarjeta_text_or_a_document_when_a_photo_is_expected_reprompts() -> None:
    chat = BotChat()
    fill_tarjeta(chat)
    reprompt = "Necesito una *foto* del DNI. Usá el clip 📎 > Cámara."
    assert chat.say("ya te la mandé") == reprompt
    assert chat.say(media=PAYSLIP_PDF) == reprompt
    assert chat.state.node == "foto_dni" and chat.state.attempts == 2
    assert chat.say("acá está", media=PHOTO) == "Por último, mandame una foto o PDF de tu último recibo de sueldo."
    assert chat.say("el recibo") == "Necesito una foto o un PDF del recibo de sueldo."


def test_tarjeta_collect_validation_messages() -> None:
    chat = BotChat()
    assert chat.say("tarjeta") == ASK_DNI_TARJETA
    assert chat.say("30.123.456") == "¿Cuál es tu nombre y apellido completos?"
    assert chat.say("Lucía") == "Escribí tu nombre y apellido (solo letras)."
    chat.say("Lucía Fernández")
    assert chat.say("31/02/1990") == "Escribila así: 15/03/1990."
    chat.say("1990-03-15")
    assert chat.say("mucho") == "Escribí el monto en números, por ejemplo 850000."
    chat.say("1,2 millones")
    assert chat.vars["ingresos"] == 1_200_000
    assert chat.say("75") == "Escribí la cantidad de años en números (0 si es menos de un año)."
    assert chat.say("0") == "Mandame una foto del frente de tu DNI 📷"


def test_tarjeta_email_failure_hands_off() -> None:
    chat = BotChat()
    chat.captured.fail_email = True
    fill_tarjeta(chat)
    chat.say(media=PHOTO)
    result = chat.turn(media=PAYSLIP_PDF)
    assert texts(result) == ["No pudimos enviar tu solicitud 😕. Te paso con una persona para completarla.",
                             HANDOFF_TEXT]
    assert result.handoff is not None and result.handoff.team == "atencion"
    assert result.handoff.data["nombre"] == "Lucia Fernandez"
    assert "email_failed:ses down" in result.notes
    assert result.ended == "handoff"
    assert chat.captured.links == []  # no tracking link for a request that was not sent


# == deudas ===================================================================================================
def start_deudas(chat: BotChat, customer: str = "C-1003") -> TurnResult:
    assert chat.say("quiero saber mi deuda") == ASK_CLIENTE
    return chat.turn(customer)


def test_deudas_otp_then_refinance_hands_off_to_collections() -> None:
    chat = BotChat()
    sent = start_deudas(chat)
    template, prompt = sent.replies
    assert isinstance(template, TemplateContent)
    assert (template.name, template.language) == ("codigo_verificacion", "es")
    assert prompt == TextContent(body="Por seguridad te enviamos un código de verificación por WhatsApp. "
                                      "Escribilo acá (vence en 5 minutos).")
    code = chat.last_otp_code()
    assert chat.say(wrong_code(code)) == "El código no es correcto. Revisalo y probá otra vez."
    assert chat.transport.calls == []  # nothing is looked up before the identity is verified

    shown = chat.turn(code)
    (menu,) = shown.replies
    assert isinstance(menu, ButtonsContent)
    assert menu.body == "Tu deuda es de *$ 87.450,30* con 45 días de atraso. ¿Qué querés hacer?"
    assert [b.title for b in menu.buttons] == ["Refinanciar", "Pagar ahora", "Nada por ahora"]
    assert paths(chat) == [("GET", f"{API}/debts/C-1003")]
    assert chat.vars["identity_verified"] is True

    result = chat.turn(reply_id="refinanciar")
    assert texts(result) == ["Te paso con un asesor de cobranzas para armar tu plan de refinanciación 🤝"]
    handoff = result.handoff
    assert handoff is not None
    assert (handoff.team, handoff.skills, handoff.priority) == ("cobranzas", ("refinanciacion",), "high")
    assert "Cliente: C-1003 (identidad verificada por código)" in handoff.summary
    assert "Deuda: $ 87.450,30 — 45 días de atraso" in handoff.summary
    assert result.ended == "handoff"


def test_deudas_refinance_by_typing() -> None:
    chat = BotChat()
    start_deudas(chat)
    chat.say(chat.last_otp_code())
    result = chat.turn("quiero un plan de pagos")
    assert result.handoff is not None and result.handoff.team == "cobranzas"


def test_deudas_pay_now_issues_a_payment_link() -> None:
    chat = BotChat()
    start_deudas(chat)
    chat.say(chat.last_otp_code())
    result = chat.turn(reply_id="pagar")
    assert texts(result) == ["Podés pagar con este link personal (vale 24 h): https://links.example/l?t=pago-deuda-ct_1",
                             "¡Gracias por escribirnos! 👋"]
    assert chat.captured.links == [{"contact_id": "ct_1", "purpose": "pago-deuda", "ttl_s": 86400}]


def test_deudas_wrong_codes_never_reveal_the_debt() -> None:
    chat = BotChat()
    start_deudas(chat)
    code = chat.last_otp_code()
    results = [chat.turn(wrong_code(code)) for _ in range(3)]
    if chat.state.status == "active":
        results.append(chat.turn(code))  # attempts spent: even the right code is refused now
    failed = results[-1]
    assert texts(failed) == ["No pudimos verificar tu identidad.", HANDOFF_TEXT]
    assert failed.handoff is not None and failed.handoff.team == "atencion"
    assert failed.handoff.data["identity_verified"] is False
    assert not any(target.startswith(f"{API}/debts") for _, target in paths(chat))


def test_deudas_three_wrong_codes_go_to_on_fail() -> None:
    chat = BotChat()
    start_deudas(chat)
    code = chat.last_otp_code()
    chat.turn(wrong_code(code))
    chat.turn(wrong_code(code))
    third = chat.turn(wrong_code(code))
    assert "No pudimos verificar tu identidad." in texts(third)
    assert third.handoff is not None


@pytest.mark.parametrize("typed", ["c-1003", "C-1003"])
def test_deudas_customer_number_typed_loosely_still_finds_the_debt(typed: str) -> None:
    chat = BotChat()
    start_deudas(chat, typed)
    result = chat.turn(chat.last_otp_code())
    assert "No registrás deudas" not in " ".join(texts(result))
    assert paths(chat) == [("GET", f"{API}/debts/C-1003")]


def test_deudas_expired_code() -> None:
    chat = BotChat()
    start_deudas(chat)
    code = chat.last_otp_code()
    chat.now += 301
    result = chat.turn(code)
    assert texts(result) == ["El código venció.", "No pudimos verificar tu identidad.", HANDOFF_TEXT]
    assert result.ended == "handoff"
    assert chat.transport.calls == []


def test_deudas_customer_without_debt() -> None:
    chat = BotChat()
    start_deudas(chat, "C-1001")
    result = chat.turn(chat.last_otp_code())
    assert texts(result) == ["¡Buenas noticias! No registrás deudas con nosotros ✅"]
    assert result.ended == "solved"
    assert paths(chat) == [("GET", f"{API}/debts/C-1001")]


def test_deudas_customer_number_format() -> None:
    chat = BotChat()
    result = start_deudas(chat, "1003")
    assert texts(result) == ["El número de cliente tiene la forma C-1234 (con el guion)."]
    assert not any(isinstance(r, TemplateContent) for r in result.replies)


# == reclamos =================================================================================================
def test_reclamos_with_an_outage_then_booking() -> None:
    chat = BotChat()
    assert chat.say("quiero hacer un reclamo") == ASK_DNI_RECLAMO
    notice = chat.turn("30123456")
    (question,) = notice.replies
    assert isinstance(question, ButtonsContent)
    assert question.body.startswith("Lucía Fernández, hay un corte reportado en tu zona: *Corte de fibra óptica en "
                                    "Av. Santa Fe al 3800; sin servicio de internet en la zona.*.")
    assert question.body.endswith("¿Querés registrar un reclamo igual?")
    assert [(b.id, b.title) for b in question.buttons] == [("si", "Sí, registrar"), ("no", "No, gracias")]

    assert chat.say("si") == ASK_DESCRIPCION
    assert chat.say("mal") == "Contame un poco más (al menos 5 letras)."
    offered = chat.turn("No tengo internet desde ayer")
    (menu,) = offered.replies
    assert isinstance(menu, ListContent)
    (complaint_id,) = chat.api.complaints
    assert chat.api.complaints[complaint_id]["description"] == "No tengo internet desde ayer"
    assert menu.body == f"Registramos tu reclamo *{complaint_id}*. Elegí un turno para la visita técnica:"
    assert menu.button == "Ver turnos"
    slots = chat.api.slots("palermo")
    titles = [r.title for r in menu.sections[0].rows]
    assert titles == [slots[0]["label"], slots[1]["label"], slots[2]["label"], "Ninguno me sirve"]
    assert not any("{{" in t or "turno" in t for t in titles)

    booked = chat.turn("2")
    (booking,) = chat.api.bookings.values()
    assert booking["slot_id"] == slots[1]["id"] and booking["complaint_id"] == complaint_id
    assert texts(booked) == [f"¡Listo! Tu visita técnica quedó agendada para el *{slots[1]['label']}* "
                             f"(reserva {booking['booking_id']}) 🛠️"]
    assert booked.ended == "solved"
    assert paths(chat) == [("GET", f"{API}/customers/30123456"), ("GET", f"{API}/outages?zone=palermo"),
                           ("POST", f"{API}/complaints"), ("GET", f"{API}/technician-slots?zone=palermo"),
                           ("POST", f"{API}/bookings")]


def test_reclamos_outage_eta_is_readable() -> None:
    chat = BotChat()
    chat.say("reclamo")
    (question,) = chat.turn("30123456").replies
    assert isinstance(question, ButtonsContent)
    assert "T18:00:00" not in question.body and "18:00" in question.body


def test_reclamos_outage_declined() -> None:
    chat = BotChat()
    chat.say("reclamo")
    chat.say("30123456")
    result = chat.turn(reply_id="no")
    assert texts(result) == ["¡Gracias por avisarnos! Te notificamos cuando se normalice el servicio."]
    assert chat.api.complaints == {}


def test_reclamos_without_outage_goes_straight_to_the_description() -> None:
    chat = BotChat()
    chat.say("reclamo")
    assert chat.say("27456789") == ASK_DESCRIPCION
    assert paths(chat) == [("GET", f"{API}/customers/27456789"), ("GET", f"{API}/outages?zone=belgrano")]
    assert chat.vars["cortes"] == []
    chat.turn("el wifi no funciona")
    result = chat.turn("Ninguno me sirve")
    (complaint_id,) = chat.api.complaints
    assert texts(result) == [f"Registramos tu reclamo *{complaint_id}*. Un técnico te va a contactar para coordinar "
                             f"la visita."]
    assert chat.api.bookings == {}


def test_reclamos_slots_on_a_non_interactive_channel() -> None:
    chat = BotChat(interactive=False)
    chat.say("reclamo")
    chat.say("27456789")
    (menu,) = chat.turn("el wifi no funciona").replies
    slots = chat.api.slots("belgrano")
    assert isinstance(menu, TextContent)
    assert menu.body.splitlines()[2:] == [f"1. {slots[0]['label']}", f"2. {slots[1]['label']}",
                                          f"3. {slots[2]['label']}", "4. Ninguno me sirve"]
    booked = chat.turn("3")
    assert slots[2]["label"] in texts(booked)[0]


# == a person from anywhere, and back to the menu =============================================================
def _credito_dni(chat: BotChat) -> None:
    chat.say("credito")


def _tarjeta_nombre(chat: BotChat) -> None:
    chat.say("tarjeta")
    chat.say("30123456")


def _deudas_codigo(chat: BotChat) -> None:
    start_deudas(chat)


def _reclamo_descripcion(chat: BotChat) -> None:
    chat.say("reclamo")
    chat.say("27456789")


def _menu(chat: BotChat) -> None:
    chat.say("hola")


@pytest.mark.parametrize("where", [_credito_dni, _tarjeta_nombre, _deudas_codigo, _reclamo_descripcion, _menu])
@pytest.mark.parametrize("words", ["quiero hablar con un asesor", "me pasás con un humano?", "operador"])
def test_a_person_from_anywhere(where: Any, words: str) -> None:
    chat = BotChat()
    where(chat)
    assert chat.state.node is not None  # a question is waiting
    result = chat.turn(words)
    assert texts(result) == [HANDOFF_TEXT]
    assert result.handoff is not None and result.handoff.team == "atencion"
    assert result.generation == "keywords"
    assert result.ended == "handoff"


def test_person_option_from_the_main_menu() -> None:
    chat = BotChat()
    chat.say("hola")
    result = chat.turn("5")
    assert result.handoff is not None and result.handoff.team == "atencion"


@pytest.mark.parametrize("words", ["menu", "Menú", "volver al inicio"])
def test_menu_keyword_returns_to_the_main_menu_mid_flow(words: str) -> None:
    chat = BotChat()
    _tarjeta_nombre(chat)
    assert chat.state.flow == "tarjeta" and chat.state.node == "nombre"
    assert_main_menu(chat.turn(words))
    assert chat.say(reply_id="deudas") == ASK_CLIENTE


# == free text routing ========================================================================================
@pytest.mark.parametrize(("text", "expected", "generation"), [
    ("necesito plata prestada", ASK_DNI_CREDITO, "intents"),
    ("me prestan guita para el auto?", ASK_DNI_CREDITO, "intents"),
    ("quiero pedir una mastercard", ASK_DNI_TARJETA, "intents"),
    ("estoy atrasado con los pagos", ASK_CLIENTE, "intents"),
    ("se me cortó el wifi", ASK_DNI_RECLAMO, "intents"),
    ("quiero un prestamo", ASK_DNI_CREDITO, "keywords"),
    ("cuanto debo?", ASK_CLIENTE, "keywords"),
])
def test_free_text_enters_the_right_flow(text: str, expected: str, generation: str) -> None:
    chat = BotChat()
    result = chat.turn(text)
    assert texts(result) == [expected]
    assert result.generation == generation


HORARIOS = "Atendemos por WhatsApp las 24 horas. Las sucursales abren de lunes a viernes de 10 a 15 h."


@pytest.mark.parametrize(("text", "answer"), [
    ("¿a qué hora abren?", HORARIOS),
    ("¿atienden los sábados?", HORARIOS),
    ("¿dónde hay una sucursal?",
     "Tenemos sucursales en Palermo (Av. Santa Fe 3200), Belgrano (Cabildo 2100) y Caballito (Rivadavia 5100)."),
])
def test_knowledge_answers(text: str, answer: str) -> None:
    chat = BotChat()
    result = chat.turn(text)
    assert texts(result) == [answer]
    assert result.generation == "knowledge"
    assert chat.state.status == "active" and chat.state.node is None


@pytest.mark.parametrize("text", ["Perdí mi tarjeta", "me robaron la tarjeta"])
def test_lost_card_gets_the_blocking_answer(text: str) -> None:
    result = BotChat().turn(text)
    assert any("0800-555-0000" in t for t in texts(result))


@pytest.mark.parametrize("text", ["hola", "Buenas tardes", "holaaa"])
def test_greeting_shows_the_main_menu(text: str) -> None:
    result = BotChat().turn(text)
    assert_main_menu(result)
    assert result.generation == "intents"


def test_goodbye_closes() -> None:
    result = BotChat().turn("listo, muchas gracias")
    assert texts(result) == ["¡Gracias por escribirnos! Que tengas un lindo día 👋"]
    assert result.ended == "solved"


def test_gibberish_first_turn_shows_the_menu_later_the_fallback() -> None:
    first = BotChat().turn("xkcd qwrtz plmbb")  # llm=None: no generative assistant
    assert_main_menu(first)
    assert FALLBACK not in texts(first)
    chat = BotChat()
    chat.turn("¿a qué hora abren?")  # answered: nothing waits now
    assert chat.state.node is None
    later = chat.turn("xkcd qwrtz plmbb")
    assert texts(later) == [FALLBACK]
    assert later.generation == "fallback"
    assert isinstance(later.replies[-1], ListContent)  # and the main menu again


def test_at_the_main_menu_free_text_is_still_understood() -> None:
    chat = BotChat()
    chat.say("hola")
    assert chat.say("necesito plata prestada") == ASK_DNI_CREDITO
    chat = BotChat()
    chat.say("hola")
    assert chat.say("¿a qué hora abren?") == HORARIOS
    assert chat.state.node == "menu"  # the menu still waits for a choice
    assert chat.say("Mis deudas") == ASK_CLIENTE


SEGUROS = json.dumps({
    "id": "seguros", "name": "Seguros", "start": "inicio",
    "settings": {"nlu": {"threshold": 0.3, "margin": 0.3}},
    "triggers": [{"intent": "seguro_auto", "to": "auto"}, {"intent": "seguro_hogar", "to": "hogar"}],
    "intents": {
        "seguro_auto": ["quiero un seguro para mi auto", "seguro de auto", "asegurar el coche",
                        "cotizar seguro vehicular"],
        "seguro_hogar": ["quiero un seguro para mi casa", "seguro de hogar", "asegurar la casa",
                         "cotizar seguro de vivienda"]},
    "flows": {
        "inicio": {"start": "m", "nodes": {"m": {"type": "message", "text": "Bienvenido"}}},
        "auto": {"description": "Seguro de auto", "start": "a",
                 "nodes": {"a": {"type": "message", "text": "Cotizamos tu auto"}}},
        "hogar": {"description": "Seguro de hogar", "start": "h",
                  "nodes": {"h": {"type": "message", "text": "Cotizamos tu casa"}}}},
}, ensure_ascii=False)


def test_close_intents_ask_a_clarifying_question() -> None:
    chat = BotChat(SEGUROS)
    asked = chat.turn("quiero un seguro")
    (question,) = asked.replies
    assert isinstance(question, ButtonsContent)
    assert sorted(b.title for b in question.buttons) == ["Seguro de auto", "Seguro de hogar"]
    first, second = (b.title for b in question.buttons)
    assert question.body == f"¿Te referís a {first} o a {second}?"
    assert asked.generation == "intents" and asked.ended is None
    hogar = next(b.id for b in question.buttons if b.title == "Seguro de hogar")
    chosen = chat.turn(reply_id=hogar)
    assert texts(chosen) == ["Cotizamos tu casa"]


def test_clarifying_question_on_a_non_interactive_channel_and_by_title() -> None:
    chat = BotChat(SEGUROS, interactive=False)
    (question,) = chat.turn("quiero un seguro").replies
    assert isinstance(question, TextContent)
    question_line, first, second = question.body.splitlines()
    assert question_line == f"¿Te referís a {first[3:]} o a {second[3:]}?"
    assert (first[:3], second[:3]) == ("1. ", "2. ")
    assert sorted([first[3:], second[3:]]) == ["Seguro de auto", "Seguro de hogar"]
    assert chat.say("2") == ("Cotizamos tu casa" if second[3:] == "Seguro de hogar" else "Cotizamos tu auto")

    chat = BotChat(SEGUROS)
    chat.turn("quiero un seguro")
    assert chat.say("seguro de auto") == "Cotizamos tu auto"


def test_an_unrelated_answer_to_the_clarifying_question_is_routed_afresh() -> None:
    chat = BotChat(SEGUROS)
    chat.turn("quiero un seguro")
    assert chat.say("cotizar seguro de vivienda") == "Cotizamos tu casa"
    assert chat.state.clarify is None


# == non-interactive channels =================================================================================
def test_non_interactive_main_menu_is_numbered_text() -> None:
    chat = BotChat(interactive=False)
    (menu,) = chat.turn("hola").replies
    assert menu == TextContent(body=MAIN_MENU + "\n\n" + "\n".join(f"{i}. {t}" for i, t in enumerate(MENU_TITLES, 1)))
    assert chat.say("2") == ASK_DNI_TARJETA


def test_non_interactive_confirmation_by_number() -> None:
    chat = BotChat(interactive=False)
    chat.say("credito")
    chat.say("30123456")
    chat.say("100000")
    confirm = chat.say(CBU)
    assert confirm.endswith("\n\n1. Confirmar\n2. Cancelar")
    assert chat.say("2") == "Listo, no enviamos la solicitud. ¡Gracias!"
