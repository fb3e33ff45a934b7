"""Terminal chat: talk to the demo bot of the running local stack as a WhatsApp user.

Each line you type is signed and posted as a Cloud API webhook (infra/local/simulator.py); what the platform
sends back to you through the Graph emulator is printed as text, with the options of lists and buttons numbered.

    <texto>         send a text message
    <n>             tap option n of the bot's last message, when that message has options
    /foto [texto]   send a photo (with an optional caption)
    /doc [nombre]   send a PDF document
    /codigo         type the last verification code the bot sent you
    /texto <texto>  send the text as is (e.g. a number while options are shown)
    /ayuda          this help
    /salir          quit (or Ctrl-D)

Usage: `make chat` (with `make dev` running). Env: PORT, CHAT_WA_ID, CHAT_NAME, DEMO_APP_SECRET,
DEMO_PHONE_NUMBER_ID, DEMO_CHANNEL_ID.
"""

from __future__ import annotations

import os
import secrets
import sys
import textwrap
import threading
import time
import urllib.error
import urllib.request
from typing import Any

from infra.local.provision import DemoChannel
from infra.local.simulator import Reply, Simulator, SimulatorError

HELP = """Comandos:
  <texto>         mandar un mensaje
  <n>             elegir la opción n del último mensaje del bot (si tiene opciones)
  /foto [texto]   mandar una foto (con epígrafe opcional)
  /doc [nombre]   mandar un PDF
  /codigo         escribir el último código de verificación que te mandaron
  /texto <texto>  mandar el texto tal cual (por ejemplo un número cuando hay opciones)
  /ayuda          esta ayuda
  /salir          salir (o Ctrl-D)"""

PROMPT = "vos> "
REPLY_TIMEOUT_S = 15.0


def text_webhook(phone_number_id: str, wa_id: str, name: str, text: str) -> dict[str, Any]:
    """A Cloud API webhook body carrying one text message from `wa_id` (kept for callers of this module)."""
    return {"object": "whatsapp_business_account", "entry": [{"id": "0", "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": DemoChannel.display_phone_number, "phone_number_id": phone_number_id},
        "contacts": [{"profile": {"name": name}, "wa_id": wa_id}],
        "messages": [{"from": wa_id, "id": f"wamid.CHAT{secrets.token_hex(10).upper()}",
                      "timestamp": str(int(time.time())), "type": "text", "text": {"body": text}}]}}]}]}


def show(reply: Reply) -> str:
    """A reply as printed in the terminal: the text, then one numbered line per option."""
    lines = [f"  banco> {line}" if i == 0 else f"         {line}"
             for i, line in enumerate((reply.body or " ").splitlines() or [" "])]
    lines += [f"         [{n}] {title}" for n, (_, title) in enumerate(reply.options, 1)]
    return "\n".join(lines)


def options_showing(sim: Simulator) -> int:
    """How many options the bot's latest message offers (0 when its latest message has none)."""
    last = sim.last_interactive
    return len(last.options) if last is not None and sim.received and sim.received[-1] is last else 0


class Chat:
    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.lock = threading.Lock()  # one poller of the Graph emulator at a time
        self.stop = threading.Event()

    def print_replies(self, replies: list[Reply], *, redraw: bool = False) -> None:
        if not replies:
            return
        text = "\n".join(show(r) for r in replies)
        print(f"\r{text}\n{PROMPT}" if redraw else text, end="" if redraw else "\n", flush=True)

    def watch(self) -> None:
        """Messages that arrive while you are typing (an agent after a handoff, the inactivity notice)."""
        while not self.stop.wait(1.0):
            if not self.lock.acquire(blocking=False):
                continue
            try:
                self.print_replies(self.sim.poll(), redraw=True)
            except (OSError, SimulatorError):
                pass
            finally:
                self.lock.release()

    def handle(self, line: str) -> bool:
        """Run one typed line; False to quit."""
        sim = self.sim
        command, _, rest = line.partition(" ")
        rest = rest.strip()
        with self.lock:
            try:
                if command in ("/salir", "/exit", "/quit"):
                    return False
                if command in ("/ayuda", "/help", "?"):
                    print(HELP)
                    return True
                if command == "/foto":
                    sim.send_image(caption=rest or None)
                elif command == "/doc":
                    sim.send_document(rest or "documento.pdf")
                elif command == "/codigo":
                    code = sim.send_otp()
                    print(f"  (escribiste el código {code})")
                elif command == "/texto":
                    sim.send_text(rest)
                elif line.isdigit() and 1 <= int(line) <= options_showing(sim):
                    sim.tap_number(int(line))
                    print(f"  (elegiste: {sim.transcript[-1][1].removeprefix('(tap) ')})")
                elif command.startswith("/"):
                    print(f"  (comando desconocido {command}; /ayuda lista los comandos)")
                    return True
                else:
                    sim.send_text(line)
            except SimulatorError as exc:
                print(f"  ({exc})")
                return True
            replies = sim.replies(REPLY_TIMEOUT_S)
            if replies:
                self.print_replies(replies)
            else:
                print("  (sin respuesta por ahora)")
        return True

    def run(self) -> None:
        watcher = threading.Thread(target=self.watch, daemon=True)
        watcher.start()
        try:
            while True:
                line = input(PROMPT).strip()
                if line and not self.handle(line):
                    break
        except (EOFError, KeyboardInterrupt):
            print()
        finally:
            self.stop.set()


def main() -> None:
    base = f"http://127.0.0.1:{os.environ.get('PORT', '3000')}"
    wa_id = os.environ.get("CHAT_WA_ID", "5491155550101")
    name = os.environ.get("CHAT_NAME", "María González")
    channel_id = os.environ.get("DEMO_CHANNEL_ID", DemoChannel.channel_id)
    try:
        with urllib.request.urlopen(f"{base}/health", timeout=5) as response:
            response.read()
    except (urllib.error.URLError, OSError):
        sys.exit(f"No hay un stack local en {base}: corré `make dev` primero.")
    sim = Simulator(base, phone_number_id=os.environ.get("DEMO_PHONE_NUMBER_ID", DemoChannel.phone_number_id),
                    app_secret=os.environ.get("DEMO_APP_SECRET", DemoChannel.app_secret), channel_id=channel_id,
                    wa_id=wa_id, name=name, display_phone_number=DemoChannel.display_phone_number)
    print(textwrap.dedent(f"""\
        Chateando como {name} (+{wa_id}) con el canal {channel_id} de {base}.
        Escribí "hola" para empezar. /ayuda lista los comandos, /salir (o Ctrl-D) termina."""))
    Chat(sim).run()


if __name__ == "__main__":
    main()
