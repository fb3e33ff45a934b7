"""Twilio webhook authenticity: X-Twilio-Signature, computed exactly as twilio-python's RequestValidator.

Twilio signs what it requested, not the bytes it sent: the full URL (scheme, host, path and query string) followed
by every POST parameter as `name + value`, names sorted, and where a name repeats every value, values sorted;
HMAC-SHA1 keyed by the account's Auth Token, base64. The parameter set is the one received, never a whitelist
(Twilio adds parameters without notice), which is why the form is parsed here into ordered pairs that keep every
repeated name.

Twilio's own signing is inconsistent about default ports, so `validate` accepts the signature of the URL with the
port (":443" for https, ":80" otherwise, added when absent) and without it (stripped when present), as
twilio-python does. JSON bodies carry `bodySHA256=<hex sha256 of the body>` in the URL: the parameters are then
empty and the body's hash must match too. In Lambda the URL must be the public one Twilio called (custom domain,
stage, query), not API Gateway's internal one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping, Sequence
from urllib.parse import SplitResult, parse_qs, parse_qsl, urlsplit

SIGNATURE_HEADER = "X-Twilio-Signature"
BODY_HASH_PARAM = "bodySHA256"
MAX_FORM_FIELDS = 1000  # an MMS with 10 media has about 60; more is not a Twilio webhook

# A form as received (ordered pairs, repeated names kept) or a mapping whose values may be lists of values.
FormParams = Sequence[tuple[str, str]] | Mapping[str, str | Sequence[str]]


def _grouped(params: FormParams) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    if isinstance(params, Mapping):
        for name, value in params.items():
            grouped.setdefault(name, []).extend([value] if isinstance(value, str) else list(value))
    else:
        for name, value in params:
            grouped.setdefault(name, []).append(value)
    return grouped


def compute_signature(auth_token: str, url: str, params: FormParams) -> str:
    """The X-Twilio-Signature Twilio sends for a request to `url` with these POST parameters."""
    data = url
    for name, values in sorted(_grouped(params).items()):
        for value in sorted(set(values)):  # as twilio-python: a repeated name=value pair counts once
            data += name + value
    mac = hmac.new(auth_token.encode("utf-8"), data.encode("utf-8"), hashlib.sha1)
    return base64.b64encode(mac.digest()).decode("ascii")


def compute_body_hash(body: str | bytes) -> str:
    """The hex SHA-256 Twilio puts in the URL's bodySHA256 parameter for a JSON body."""
    return hashlib.sha256(body.encode("utf-8") if isinstance(body, str) else body).hexdigest()


def _without_port(parsed: SplitResult) -> str:
    if not parsed.port:
        return parsed.geturl()
    return parsed._replace(netloc=parsed.netloc.rsplit(":", 1)[0]).geturl()


def _with_port(parsed: SplitResult) -> str:
    if parsed.port:
        return parsed.geturl()
    return parsed._replace(netloc=f"{parsed.netloc}:{443 if parsed.scheme == 'https' else 80}").geturl()


def _same(expected: str, received: str) -> bool:
    return hmac.compare_digest(expected.encode("utf-8"), received.encode("utf-8", "replace"))


def validate(auth_token: str, url: str, params: FormParams | str | bytes | None, signature: str | None) -> bool:
    """Whether `signature` (the X-Twilio-Signature header) is Twilio's for this request (constant time).

    `params` is the form as received, or the raw body of a JSON request whose URL carries bodySHA256 (a body
    without that parameter cannot be checked and is refused)."""
    if not auth_token or not signature:
        return False
    parsed = urlsplit(url)
    try:
        urls = (_without_port(parsed), _with_port(parsed))
    except ValueError:  # a port that is not a number in 0-65535
        return False
    body_ok = True
    if isinstance(params, str | bytes):
        body_hash = parse_qs(parsed.query).get(BODY_HASH_PARAM)
        if not body_hash:
            return False
        body_ok = _same(compute_body_hash(params), body_hash[0])
        params = ()
    form: FormParams = params or ()
    matches = [_same(compute_signature(auth_token, candidate, form), signature) for candidate in urls]
    return body_ok and any(matches)


def parse_form(raw_body: bytes) -> list[tuple[str, str]]:
    """An application/x-www-form-urlencoded body as ordered (name, value) pairs: blank values and repeated names
    kept, strict UTF-8. Raises ValueError saying what is wrong (never echoing the body: it holds messages)."""
    try:
        text = raw_body.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError("form body is not UTF-8") from None
    fields = [field for field in text.split("&") if field]
    if len(fields) > MAX_FORM_FIELDS:
        raise ValueError(f"form body has more than {MAX_FORM_FIELDS} fields")
    if any("=" not in field for field in fields):
        raise ValueError("form body has a field that is not name=value")
    try:
        pairs = parse_qsl("&".join(fields), keep_blank_values=True, strict_parsing=True, encoding="utf-8",
                          errors="strict")
    except UnicodeDecodeError:
        raise ValueError("form body has a percent-encoded value that is not UTF-8") from None
    except ValueError:
        raise ValueError("form body is not application/x-www-form-urlencoded") from None
    if any(not name for name, _ in pairs):
        raise ValueError("form body has a field without a name")
    return pairs
