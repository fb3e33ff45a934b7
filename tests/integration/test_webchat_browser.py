"""The web chat widget in a real headless Chromium, on the demo page the local stack serves: open the chat, fill
in the pre-chat form, type a message, see the bot answer, tap one of its buttons, and after a reload see the same
conversation again (the visitor's token is kept by the page). A signed-in customer skips the form."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from infra.local.provision import DemoWebChat, seed_webchat_channel
from infra.local.stack import LocalStack
from tests.integration.browser import Browser, available
from tests.integration.conftest import BANK

pytestmark = pytest.mark.integration

WEB = DemoWebChat(tenant_id=BANK.tenant_id, channel_id="banco-web-browser", identity_secret="browser-identity",
                  token_key="browser-token-key")
ROOT = "window.OmniChat._root"


@pytest.fixture(scope="module")
def browser(stack: LocalStack, bank: Any) -> Iterator[Browser]:
    if not available():
        pytest.fail("Chromium is missing: `make test` installs Debian's chromium package (make browser)")
    seed_webchat_channel(stack.resources, WEB)
    chromium = Browser()
    yield chromium
    chromium.close()


def q(selector: str) -> str:
    return f"{ROOT}.querySelector({json.dumps(selector)})"


def bubbles(browser: Browser) -> list[dict[str, Any]]:
    return list(browser.eval(f"""Array.from({ROOT}.querySelectorAll('[data-omnichat=message]')).map(e => ({{
        direction: e.dataset.direction, id: e.dataset.id, text: e.innerText}}))""") or [])


def test_a_visitor_types_a_message_and_sees_the_bot_answer(stack: LocalStack, browser: Browser,
                                                            tmp_path: Path) -> None:
    browser.goto(f"{stack.url}/demo/webchat?channel={WEB.channel_id}")
    browser.wait_for("window.OmniChat && window.OmniChat._root && "
                     f"{q('[data-omnichat=launcher]')} !== null")
    browser.eval(f"{q('[data-omnichat=launcher]')}.click()")
    # the demo channel asks for a name first
    browser.wait_for(f"{q('[data-omnichat=prechat]')} && {q('[data-omnichat=prechat]')}.offsetParent !== null")
    browser.eval(f"{q('[data-omnichat=prechat] input[name=name]')}.focus()")
    browser.type_text("Lucía")
    browser.eval(f"{q('[data-omnichat=prechat-submit]')}.click()")
    browser.wait_for("window.OmniChat.isReady()")
    # type into the composer like a person and press Enter
    browser.eval(f"{q('[data-omnichat=input]')}.focus()")
    browser.type_text("hola")
    browser.press_enter()
    browser.wait_for(f"Array.from({ROOT}.querySelectorAll('[data-omnichat=message][data-direction=out]'))"
                     ".some(e => e.querySelector('[data-omnichat=button]'))", timeout=45)
    shown = bubbles(browser)
    assert shown[0]["direction"] == "in" and shown[0]["text"].strip().startswith("hola")
    answer = next(b for b in shown if b["direction"] == "out")
    assert answer["id"].startswith("out_") and answer["text"].strip()
    if os.environ.get("WEBCHAT_SCREENSHOT"):
        browser.screenshot(Path(os.environ["WEBCHAT_SCREENSHOT"]))
    # tapping one of the bot's buttons sends it and the bot goes on
    outs_before = len([b for b in shown if b["direction"] == "out"])
    browser.eval(f"Array.from({ROOT}.querySelectorAll('[data-omnichat=button]')).pop().click()")
    browser.wait_for(f"{ROOT}.querySelectorAll('[data-omnichat=message][data-direction=out]').length > "
                     f"{outs_before}", timeout=45)
    # a reload keeps the conversation: the widget's token names the same visitor, its history comes back
    ids = [b["id"] for b in bubbles(browser)]
    browser.goto(f"{stack.url}/demo/webchat?channel={WEB.channel_id}")
    browser.wait_for("window.OmniChat && window.OmniChat._root !== undefined")
    browser.eval("window.OmniChat.open()")
    browser.wait_for(f"window.OmniChat.isReady() && {ROOT}.querySelectorAll('[data-omnichat=message]').length >= "
                     f"{len(ids)}")
    assert [b["id"] for b in bubbles(browser)][:len(ids)] == ids
    browser.eval("window.OmniChat.reset()")


def test_a_signed_in_customer_skips_the_form(stack: LocalStack, browser: Browser) -> None:
    # the shop's page for a logged-in customer: its server signed the customer's id (?user= does that here)
    browser.goto(f"{stack.url}/demo/webchat?channel={WEB.channel_id}&user=cliente-9&name=Ana")
    browser.wait_for("window.OmniChat && window.OmniChat._root !== undefined")
    browser.eval("window.OmniChat.open()")
    browser.wait_for("window.OmniChat.isReady()")
    assert browser.eval(f"{q('[data-omnichat=prechat]')} === null || "
                        f"{q('[data-omnichat=prechat]')}.offsetParent === null")
    browser.eval("window.OmniChat.send('quiero un crédito')")
    browser.wait_for(f"{ROOT}.querySelectorAll('[data-omnichat=message][data-direction=out]').length > 0",
                     timeout=45)
    assert browser.eval("window.OmniChat.messages()[0].direction") == "in"
    visitor = browser.eval(f"JSON.parse(atob(localStorage.getItem('omnichat:{WEB.channel_id}').split('.')[1]"
                           ".replace(/-/g, '+').replace(/_/g, '/')))")
    assert visitor["k"] == "user:cliente-9" and visitor["n"] == "Ana"
