"""Click-to-chat links and their QR codes, per channel: the link a business prints on a receipt, a poster or its
website so a customer opens the conversation with one tap.

- WhatsApp: `https://wa.me/<number>?text=<prefilled text>` (the number in international form, digits only).
- Messenger: `https://m.me/<page username or id>?ref=<ref>`; the ref comes back on the conversation as a
  referral (which poster, which campaign).
- Instagram: `https://ig.me/m/<username>` (needs the account's username: `handle`).
- Telegram: `https://t.me/<bot username>?start=<ref>`; the bot receives "/start <ref>".
- SMS: `sms:+<number>?body=<prefilled text>` (RFC 5724).

A channel that lacks what its link needs (a WhatsApp number without display_phone_number, an Instagram account
or Telegram bot without handle) is refused with that reason, never given a link that opens nothing.
"""

from __future__ import annotations

import io
import re
import urllib.parse
from typing import Literal

import segno

from shared.errors import InvalidInput
from shared.models.channel import Channel

REF = re.compile(r"^[A-Za-z0-9_-]{1,64}$")  # Telegram's start parameter; used for every ref
TEXT_MAX = 1000
QrFormat = Literal["svg", "png"]


def chat_link(channel: Channel, *, text: str | None = None, ref: str | None = None) -> str:
    """The URL that opens a conversation with this channel (text: prefilled message; ref: where it came from)."""
    if text is not None and len(text) > TEXT_MAX:
        raise InvalidInput(f"text is longer than {TEXT_MAX} characters")
    if ref is not None and not REF.match(ref):
        raise InvalidInput("ref must be 1-64 characters of A-Z, a-z, 0-9, _ and -")
    kind = channel.kind
    if kind in ("whatsapp", "sms"):
        digits = "".join(c for c in channel.display_phone_number or "" if c.isdigit())
        if not digits:
            raise InvalidInput(f"channel {channel.channel_id} has no display_phone_number to link to")
        prefill = text if text is not None else (f"ref:{ref}" if ref else None)
        if kind == "whatsapp":
            query = f"?text={urllib.parse.quote(prefill)}" if prefill else ""
            return f"https://wa.me/{digits}{query}"
        return f"sms:+{digits}" + (f"?body={urllib.parse.quote(prefill)}" if prefill else "")
    if kind == "messenger":
        target = channel.handle or channel.phone_number_id
        return f"https://m.me/{target}" + (f"?ref={ref}" if ref else "")
    if not channel.handle:
        raise InvalidInput(f"channel {channel.channel_id} has no handle (the {kind} username) to link to")
    if kind == "instagram":
        return f"https://ig.me/m/{channel.handle}"
    return f"https://t.me/{channel.handle}" + (f"?start={ref}" if ref else "")


def qr_code(url: str, fmt: QrFormat = "svg", *, scale: int = 8, border: int = 4) -> bytes:
    """The QR code of a link as SVG or PNG (error correction M, dark on white)."""
    if not 1 <= scale <= 40:
        raise InvalidInput("scale must be between 1 and 40")
    code = segno.make(url, error="m", micro=False)
    out = io.BytesIO()
    code.save(out, kind=fmt, scale=scale, border=border, dark="#000000", light="#ffffff")
    return out.getvalue()
