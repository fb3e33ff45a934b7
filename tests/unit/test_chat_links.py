"""Click-to-chat links per channel and their QR codes."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
import segno

from shared.errors import InvalidInput
from shared.models.channel import Channel
from shared.services.chat_links import chat_link, qr_code


def channel(kind: str, **fields: object) -> Channel:
    return Channel.model_validate({"tenant_id": "t", "channel_id": f"c-{kind}", "kind": kind,
                                   "phone_number_id": "106195825075770", "secret_name": "s", **fields})


def test_whatsapp_links_to_the_number_with_the_prefilled_text_encoded() -> None:
    wa = channel("whatsapp", display_phone_number="+54 9 11 5555-0077")
    assert chat_link(wa) == "https://wa.me/5491155550077"
    assert chat_link(wa, text="Hola, quiero info del crédito & cuotas") == (
        "https://wa.me/5491155550077?text=Hola%2C%20quiero%20info%20del%20cr%C3%A9dito%20%26%20cuotas")
    assert chat_link(wa, ref="poster-7") == "https://wa.me/5491155550077?text=ref%3Aposter-7"


def test_messenger_instagram_telegram_and_sms_links() -> None:
    assert chat_link(channel("messenger"), ref="promo_verano") == "https://m.me/106195825075770?ref=promo_verano"
    assert chat_link(channel("messenger", handle="bancodemo")) == "https://m.me/bancodemo"
    assert chat_link(channel("instagram", handle="banco.demo")) == "https://ig.me/m/banco.demo"
    assert chat_link(channel("telegram", handle="banco_demo_bot"), ref="qr-sucursal-3") == (
        "https://t.me/banco_demo_bot?start=qr-sucursal-3")
    sms = channel("sms", display_phone_number="+1 555 010 0077")
    assert chat_link(sms, text="INFO") == "sms:+15550100077?body=INFO"


@pytest.mark.parametrize(("kind", "missing"), [("whatsapp", "display_phone_number"), ("instagram", "handle"),
                                               ("telegram", "handle")])
def test_a_channel_without_what_its_link_needs_is_refused_with_the_reason(kind: str, missing: str) -> None:
    with pytest.raises(InvalidInput, match=missing):
        chat_link(channel(kind))


@pytest.mark.parametrize("ref", ["con espacios", "x" * 65, "ñandú", ""])
def test_a_ref_outside_telegrams_start_alphabet_is_refused(ref: str) -> None:
    with pytest.raises(InvalidInput, match="ref"):
        chat_link(channel("telegram", handle="b_bot"), ref=ref)


def test_qr_codes_are_svg_or_png_of_exactly_the_link() -> None:
    url = "https://wa.me/5491155550077?text=Hola"
    svg = qr_code(url, "svg")
    root = ET.fromstring(svg)
    assert root.tag.endswith("svg")
    png = qr_code(url, "png", scale=4)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    # the same matrix segno builds for the link; another link gives another image
    expected = segno.make(url, error="m", micro=False)
    assert int(root.get("width") or 0) == (expected.symbol_size(scale=8, border=4)[0])
    assert qr_code(url + "2", "svg") != svg
    with pytest.raises(InvalidInput, match="scale"):
        qr_code(url, "png", scale=0)
