"""The agent and supervisor console (infra/console/, served at /console) in a real headless Chromium driven by
Selenium, against the local stack: an agent signs in, sees a customer waiting (pushed live over the WebSocket,
with a notification), takes the conversation, replies (the customer's WhatsApp, the Graph emulator, receives it)
and closes it with a note; a supervisor watches the agent's count change and spies on the conversation without
sending a read receipt. Screenshots of the main screens are saved as artifacts (CONSOLE_ARTIFACTS, default
.artifacts/console).

The module has its own tenant and a WhatsApp channel without a bot: every customer message goes to the tenant's
fallback campaign, whose only member is this module's agent.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from infra.local.provision import DemoChannel, DemoTenant, seed_channel, seed_tenant, seed_user
from infra.local.stack import LocalStack
from tests.integration.api_client import call
from tests.integration.conftest import graph_requests, wait_for
from tests.integration.payloads import PNG_1X1, envelope, new_wamid

pytestmark = pytest.mark.integration
console = pytest.importorskip("tests.integration.console_browser")

TENANT = "console-e2e"
KEY = "console-e2e-key"
CHANNEL = DemoChannel(tenant_id=TENANT, channel_id="console-wa", phone_number_id="400000000000777",
                      display_phone_number="15550007777", app_secret="console-app-secret",
                      verify_token="console-verify", access_token="console-access-token", auto_reply_text="")
ARTIFACTS = Path(os.environ.get("CONSOLE_ARTIFACTS", Path(__file__).resolve().parents[2] / ".artifacts" / "console"))


@dataclass(frozen=True)
class Desk:
    agent_id: str
    agent_email: str
    supervisor_email: str
    admin_email: str
    campaign_id: str


@pytest.fixture(scope="module")
def desk(stack: LocalStack) -> Desk:
    seed_tenant(stack.resources, DemoTenant(tenant_id=TENANT, name="Consola E2E", api_key=KEY))
    seed_channel(stack.resources, CHANNEL)
    agent_id = seed_user(stack.resources, TENANT, "lucia@console.example", "agent", name="Lucía Agente")
    seed_user(stack.resources, TENANT, "sofia@console.example", "supervisor", name="Sofía Supervisora")
    seed_user(stack.resources, TENANT, "admin@console.example", "admin", name="Adriana Admin")
    campaign_id = f"c{secrets.token_hex(3)}"
    created = call(stack, "POST", "/v1/campaigns", {
        "campaign_id": campaign_id, "name": "Atención consola", "fallback": True, "members": [agent_id],
        "max_per_agent": 3, "snippets": [{"key": "saludo", "title": "Saludo", "text": "Hola, ¿en qué te ayudo?"}],
        "messages": {"assigned": None, "queued": None, "out_of_hours": None, "all_busy": None}}, key=KEY)
    assert created.status == 201, created.text
    return Desk(agent_id, "lucia@console.example", "sofia@console.example", "admin@console.example", campaign_id)


@pytest.fixture(scope="module")
def browsers(stack: LocalStack, desk: Desk) -> Iterator[dict[str, Any]]:
    if not console.available():
        pytest.fail("Chromium or chromedriver is missing: `make test` installs Debian's chromium and chromium-driver")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    opened: dict[str, Any] = {}
    try:
        opened["agent"] = console.chrome()
        opened["supervisor"] = console.chrome()
        yield opened
    finally:
        for name, driver in opened.items():
            logs = [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]
            (ARTIFACTS / f"{name}-console.log").write_text("\n".join(json.dumps(e) for e in logs), encoding="utf-8")
            driver.quit()


# -- helpers --------------------------------------------------------------------------------------------------------
def js(driver: Any, script: str, *args: Any) -> Any:
    return driver.execute_script(script, *args)


def until(driver: Any, script: str, timeout: float = 30.0, *args: Any) -> Any:
    """Wait until the JavaScript expression `script` is truthy in the page; its value."""
    try:
        return wait_for(lambda: js(driver, f"return {script};", *args), timeout=timeout)
    except AssertionError:
        shot(driver, "failure")
        page = js(driver, "return document.body.innerText")[:2000]
        raise AssertionError(f"not true within {timeout}s: {script}\npage: {page}") from None


def css(driver: Any, selector: str) -> Any:
    return driver.find_element("css selector", selector)


def shot(driver: Any, name: str) -> None:
    driver.save_screenshot(str(ARTIFACTS / f"{name}.png"))


def sign_in(driver: Any, stack: LocalStack, email: str) -> None:
    driver.get(f"{stack.url}/console/")
    until(driver, "document.body.dataset.signedIn === 'true' || document.querySelector('[data-testid=email]')")
    # a fresh session (the console keeps its token for the tab), in Spanish whatever the browser's language
    js(driver, "sessionStorage.clear(); localStorage.setItem('console.lang', 'es')")
    driver.refresh()
    until(driver, "document.querySelector('[data-testid=email]')")
    css(driver, "[data-testid=email]").send_keys(email)
    css(driver, "[data-testid=sign-in-submit]").click()
    until(driver, "document.body.dataset.signedIn === 'true' && document.querySelector('#live.on')")


def say(stack: LocalStack, wa_id: str, text: str) -> str:
    wamid = new_wamid()
    status, _ = stack.post_webhook(envelope({
        "contacts": [{"profile": {"name": "Marta Cliente"}, "wa_id": wa_id}],
        "messages": [{"from": wa_id, "id": wamid, "timestamp": str(int(datetime.now(UTC).timestamp())),
                      "type": "text", "text": {"body": text}}]}, pni=CHANNEL.phone_number_id),
        secret=CHANNEL.app_secret, channel_id=CHANNEL.channel_id)
    assert status == 200
    return wamid


def sent_to(stack: LocalStack, wa_id: str) -> list[dict[str, Any]]:
    return [r["body"] for r in graph_requests(stack) if f"/{CHANNEL.phone_number_id}/messages" in r["path"]
            and (r["body"] or {}).get("to") == wa_id]


def read_receipts(stack: LocalStack, wamid: str) -> list[dict[str, Any]]:
    return [r["body"] for r in graph_requests(stack) if f"/{CHANNEL.phone_number_id}/messages" in r["path"]
            and (r["body"] or {}).get("status") == "read" and (r["body"] or {}).get("message_id") == wamid]


def active_of(driver: Any, agent_id: str) -> str | None:
    return js(driver, "const c = document.querySelector(`[data-testid=live-agents] tr[data-agent=\"${arguments[0]}\"] "
                      "[data-col=active]`); return c ? c.textContent.trim() : null;", agent_id)


# -- the journey -------------------------------------------------------------------------------------------------------
def test_an_agent_takes_replies_and_closes_while_a_supervisor_watches(stack: LocalStack, desk: Desk,
                                                                       browsers: dict[str, Any]) -> None:
    agent, supervisor = browsers["agent"], browsers["supervisor"]
    wa_id = f"54911{secrets.randbelow(10**8):08d}"

    # the sign-in page (Spanish by default), then the agent's empty inbox
    agent.get(f"{stack.url}/console/")
    until(agent, "document.querySelector('[data-testid=sign-in]')")
    shot(agent, "01-sign-in")
    sign_in(agent, stack, desk.agent_email)
    until(agent, "document.querySelector('#main').dataset.mine === '0'")

    # the supervisor's live view of the campaign: the agent holds nothing
    sign_in(supervisor, stack, desk.supervisor_email)
    supervisor.get(f"{stack.url}/console/#/supervisor?campaign={desk.campaign_id}")
    until(supervisor, "document.querySelector('[data-testid=live-agents]')")
    assert wait_for(lambda: active_of(supervisor, desk.agent_id) == "0")

    # a customer writes: the waiting list gets them live (pushed), with a visible and audible notification
    chimes = int(js(agent, "return Number(document.body.dataset.chimes || 0)"))
    first = say(stack, wa_id, "Hola, necesito ayuda con mi tarjeta")
    until(agent, "document.querySelector('[data-testid=waiting] [data-testid=take]')")
    until(agent, f"Number(document.body.dataset.chimes || 0) > {chimes}")
    assert "espera" in js(agent, "return document.querySelector('#toasts').innerText").lower()
    shot(agent, "02-inbox-waiting")

    # offline agents cannot take it; the agent switches to busy (no automatic assignments) and takes it: it is
    # theirs, the customer's message is in the thread
    assert js(agent, "return document.querySelector('[data-testid=waiting] [data-testid=take]').disabled")
    js(agent, "const s = document.querySelector('[data-testid=status]'); s.value = 'busy';"
              " s.dispatchEvent(new Event('change'));")
    until(agent, "!document.querySelector('[data-testid=waiting] [data-testid=take]').disabled")
    css(agent, "[data-testid=waiting] [data-testid=take]").click()
    until(agent, "document.querySelector('#main').dataset.mine === '1' && "
                 "document.querySelector('[data-testid=thread] .msg.in')")
    conversation_id = js(agent, "return document.querySelector('#main').dataset.open")
    assert "necesito ayuda con mi tarjeta" in css(agent, "[data-testid=thread]").text
    # opening it sends the customer a read receipt (blue ticks): the supervisor's view below must not
    assert wait_for(lambda: read_receipts(stack, first))

    # the supervisor sees the count change (pushed, or the 10 s refresh)
    assert wait_for(lambda: active_of(supervisor, desk.agent_id) == "1", timeout=20)
    shot(supervisor, "03-supervisor-live")

    # the agent replies with the keyboard: the customer's WhatsApp gets it, the bubble shows its delivery ticks
    box = css(agent, "[data-testid=composer]")
    box.click()
    box.send_keys("Hola Marta, soy Lucía. Ya reviso tu tarjeta ")
    # the emoji palette (ChromeDriver cannot type characters beyond the BMP; a person clicks them anyway)
    css(agent, "[data-testid=composer-box] [aria-label=Emojis]").click()
    css(agent, "[data-testid=composer-box] .emojis [aria-label='💳']").click()
    css(agent, "[data-testid=send]").click()
    sent = wait_for(lambda: [b for b in sent_to(stack, wa_id) if b.get("type") == "text"])
    assert sent[0]["text"]["body"] == "Hola Marta, soy Lucía. Ya reviso tu tarjeta 💳"
    until(agent, "document.querySelector('[data-testid=thread] .msg.out [data-status]')")
    # and attaches a picture: uploaded to the files library (pre-signed PUT, confirmed), sent by link
    picture = ARTIFACTS / "comprobante.png"
    picture.write_bytes(PNG_1X1)
    css(agent, "[data-testid=attach]").send_keys(str(picture))
    image = wait_for(lambda: [b for b in sent_to(stack, wa_id) if b.get("type") == "image"])
    assert image[0]["image"]["link"].startswith("http")
    shot(agent, "04-conversation")

    # the agent steps away; the customer writes again; the supervisor spies on the conversation silently
    agent.get("about:blank")
    second = say(stack, wa_id, "¿Me confirmás el límite nuevo?")
    spy = f"document.querySelector('[data-testid=live-agents] tr[data-agent=\"{desk.agent_id}\"] [data-testid=spy]')"
    until(supervisor, spy)
    js(supervisor, f"{spy}.click()")
    until(supervisor, "document.querySelector('[data-testid=spy-view]') && "
                      "document.querySelector('[data-testid=spy-view]').innerText.includes('límite nuevo')", timeout=30)
    assert "Ya reviso tu tarjeta" in css(supervisor, "[data-testid=spy-view]").text
    shot(supervisor, "05-supervisor-spy")
    stack.wait_idle(timeout=30)
    assert read_receipts(stack, second) == [], "the supervisor's silent view sent a read receipt"

    # back at the inbox, the agent opens it again (that one does mark it read) and closes it with a note
    agent.get(f"{stack.url}/console/#/inbox?c={conversation_id}")  # still signed in (the tab's session)
    until(agent, "document.querySelector('[data-testid=thread]') && "
                 "document.querySelector('[data-testid=thread]').innerText.includes('límite nuevo')")
    assert wait_for(lambda: read_receipts(stack, second))
    css(agent, "[data-testid=close]").click()
    until(agent, "document.querySelector('[data-testid=close-dialog]')")
    css(agent, "[data-testid=close-category]").send_keys("consulta")
    css(agent, "[data-testid=close-note]").send_keys("Se informó el límite nuevo")
    css(agent, "[data-testid=close-dialog-submit]").click()
    until(agent, "document.querySelector('#main').dataset.mine === '0'")
    closed = call(stack, "GET", f"/v1/conversations/{conversation_id}", key=KEY).body["conversation"]
    assert closed["status"] == "closed"
    assert closed["closing_note"] == {"category": "consulta", "text": "Se informó el límite nuevo"}

    # and the supervisor's table follows: nothing active, one completed
    assert wait_for(lambda: active_of(supervisor, desk.agent_id) == "0", timeout=20)
    completed = js(supervisor, "const c = document.querySelector(`[data-testid=live-agents] "
                               "tr[data-agent=\"${arguments[0]}\"] [data-col=completed_in]`);"
                               " return c ? c.innerText : ''",
                   desk.agent_id)
    assert completed.strip() == "1"


def test_the_console_speaks_spanish_and_english(stack: LocalStack, desk: Desk, browsers: dict[str, Any]) -> None:
    agent = browsers["agent"]
    sign_in(agent, stack, desk.agent_email)
    until(agent, "document.querySelector('[data-testid=nav-inbox]')")
    assert css(agent, "[data-testid=nav-inbox]").text == "Bandeja"
    js(agent, "const s = document.querySelector('[data-testid=language]'); s.value = 'en';"
              " s.dispatchEvent(new Event('change'));")
    until(agent, "document.querySelector('[data-testid=nav-inbox]').textContent === 'Inbox'")
    assert js(agent, "return document.documentElement.lang") == "en"
    js(agent, "const s = document.querySelector('[data-testid=language]'); s.value = 'es';"
              " s.dispatchEvent(new Event('change'));")
    until(agent, "document.querySelector('[data-testid=nav-inbox]').textContent === 'Bandeja'")


def test_roles_see_their_screens_and_the_admin_screens_render(stack: LocalStack, desk: Desk,
                                                              browsers: dict[str, Any]) -> None:
    agent, other = browsers["agent"], browsers["supervisor"]
    sign_in(agent, stack, desk.agent_email)
    nav = js(agent, "return Array.from(document.querySelectorAll('#nav a')).map(a => a.dataset.testid)")
    assert "nav-inbox" in nav and "nav-supervisor" not in nav and "nav-channels" not in nav
    # an agent typing a supervisor's address lands on their inbox
    agent.get(f"{stack.url}/console/#/supervisor")
    until(agent, "document.querySelector('#main').dataset.view === 'inbox'")

    sign_in(other, stack, desk.admin_email)
    screens = js(other, "return Array.from(document.querySelectorAll('#nav a')).map(a => a.getAttribute('href'))")
    assert {"#/channels", "#/bots", "#/broadcasts", "#/reports", "#/usage", "#/supervisor"} <= set(screens)
    for href in screens:
        name = href.removeprefix("#/")
        other.get(f"{stack.url}/console/{href}")
        until(other, f"document.querySelector('#main').dataset.view === '{name}' && "
                     "!document.querySelector('#main').innerText.includes('Cargando')", timeout=20)
        errors = js(other, "return Array.from(document.querySelectorAll('#main .error[role=alert]'))"
                           ".map(e => e.innerText)")
        assert not [e for e in errors if e.strip()], f"{name}: {errors}"
        shot(other, f"10-admin-{name}")
    severe = [e for e in other.get_log("browser") if e.get("level") == "SEVERE" and "favicon" not in e["message"]]
    assert not severe, severe


def test_console_files_carry_security_headers_and_no_secrets(stack: LocalStack) -> None:
    import urllib.request

    with urllib.request.urlopen(f"{stack.url}/console/", timeout=10) as response:
        headers = {k.lower(): v for k, v in response.headers.items()}
        page = response.read().decode()
    assert "script-src 'self'" in headers["content-security-policy"]
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff" and headers["x-frame-options"] == "DENY"
    assert '<script type="module" src="app.js">' in page and "<script>" not in page  # no inline script
    with urllib.request.urlopen(f"{stack.url}/console/config.json", timeout=10) as response:
        config = json.loads(response.read())
    assert config["auth"] == {"mode": "local"} and config["ws_url"].startswith("ws://")
    site = Path(__file__).resolve().parents[2] / "infra" / "console"
    bundle = "".join(p.read_text(encoding="utf-8") for p in site.glob("*"))
    for secret in (stack.tenant.api_key, stack.demo.app_secret, stack.demo.access_token, KEY):
        assert secret not in bundle
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{stack.url}/console/../pyproject.toml", timeout=10)
    assert refused.value.code in (400, 404)


def test_with_the_24_hour_window_closed_the_composer_says_why_and_offers_templates(
        stack: LocalStack, desk: Desk, browsers: dict[str, Any]) -> None:
    from datetime import timedelta

    from shared.adapters.dynamodb import thread_key
    from tests.integration.conftest import table

    agent = browsers["agent"]
    wa_id = f"54911{secrets.randbelow(10**8):08d}"
    sign_in(agent, stack, desk.agent_email)
    say(stack, wa_id, "Hola, ¿siguen ahí?")
    until(agent, "document.querySelector('[data-testid=waiting] [data-testid=take]')")
    js(agent, "const s = document.querySelector('[data-testid=status]'); s.value = 'busy';"
              " s.dispatchEvent(new Event('change'));")
    until(agent, "!document.querySelector('[data-testid=waiting] [data-testid=take]').disabled")
    css(agent, "[data-testid=waiting] [data-testid=take]").click()
    until(agent, "document.querySelector('[data-testid=thread] .msg.in')")
    conversation_id = js(agent, "return document.querySelector('#main').dataset.open")
    assert not js(agent, "return document.querySelector('[data-testid=composer]').disabled")
    # the customer's last message is now 25 hours old: free text is disabled, the reason is spelled out
    long_ago = int((datetime.now(UTC) - timedelta(hours=25)).timestamp() * 1000)
    table(stack).update_item(Key=thread_key(TENANT, CHANNEL.channel_id, wa_id),
                             UpdateExpression="SET last_inbound_at = :t", ExpressionAttributeValues={":t": long_ago})
    until(agent, "document.querySelector('[data-testid=composer]').disabled && "
                 "!document.querySelector('[data-testid=window-closed]').hidden", timeout=20)
    reason = css(agent, "[data-testid=window-closed]").text
    assert "24 horas" in reason and "plantillas" in reason
    until(agent, "document.querySelector('[data-testid=composer-box]').innerText.includes('plantilla')")
    shot(agent, "06-window-closed")
    closed = call(stack, "POST", f"/v1/conversations/{conversation_id}/close",
                  {"note": {"category": "sin_respuesta"}}, key=KEY)
    assert closed.status == 200, closed.text
