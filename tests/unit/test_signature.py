"""Meta webhook authenticity: X-Hub-Signature-256 over the raw body, header lookup, GET challenge."""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import string

import pytest
from pywa.utils import webhook_updates_validator

from shared.services.signature import SIGNATURE_HEADER, header, sign, verify_challenge, verify_signature
from tests.unit.conftest import read_event

SECRET = "0f3c9a7e5b1d24680ace13579bdf2468"


def hmac_hex(secret: str, body: bytes) -> str:
    """An independent re-derivation (stdlib) of what Meta puts after `sha256=`."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


# --------------------------------------------------------------------------------------------------
# X-Hub-Signature-256
# --------------------------------------------------------------------------------------------------


def test_sign_produces_meta_header_format_over_the_raw_bytes() -> None:
    raw = read_event("whatsapp/text.json", raw=True)

    assert sign(SECRET, raw) == "sha256=" + hmac_hex(SECRET, raw)


def test_signature_over_the_exact_raw_body_verifies() -> None:
    raw = read_event("whatsapp/batched.json", raw=True)

    assert verify_signature(SECRET, raw, "sha256=" + hmac_hex(SECRET, raw)) is True


def test_reserialized_body_fails_when_meta_escaped_non_ascii_characters() -> None:
    # Meta signs the \uXXXX-escaped form; json.dumps(..., ensure_ascii=False) of the parsed body
    # produces the same JSON value with different bytes.
    parsed = read_event("whatsapp/text.json")
    meta_raw = json.dumps(parsed, separators=(",", ":")).encode()  # what Meta sends: compact, escaped
    assert b"Mar\\u00eda" in meta_raw  # precondition: the body really has escapes
    signature = sign(SECRET, meta_raw)
    reserialized = json.dumps(json.loads(meta_raw), separators=(",", ":"), ensure_ascii=False).encode()

    assert json.loads(reserialized) == json.loads(meta_raw)
    assert verify_signature(SECRET, meta_raw, signature) is True
    assert verify_signature(SECRET, reserialized, signature) is False


def test_reserialized_sample_file_with_default_json_dumps_fails() -> None:
    raw = read_event("whatsapp/interactive_list_reply.json", raw=True)
    assert b"\\u00ed" in raw  # "Envío" is escaped in the file, as Meta sends it
    signature = sign(SECRET, raw)

    assert verify_signature(SECRET, json.dumps(json.loads(raw)).encode(), signature) is False
    assert verify_signature(SECRET, json.dumps(json.loads(raw), ensure_ascii=False).encode(), signature) is False


def test_any_single_changed_byte_fails() -> None:
    raw = json.dumps(read_event("whatsapp/reaction.json"), separators=(",", ":")).encode()
    signature = sign(SECRET, raw)

    for position in range(len(raw)):
        tampered = bytearray(raw)
        tampered[position] ^= 0x01
        assert verify_signature(SECRET, bytes(tampered), signature) is False, position


def test_appended_newline_fails() -> None:
    raw = read_event("whatsapp/text.json", raw=True).rstrip(b"\n")
    signature = sign(SECRET, raw)

    assert verify_signature(SECRET, raw + b"\n", signature) is False


def test_other_app_secret_fails() -> None:
    raw = read_event("whatsapp/text.json", raw=True)

    assert verify_signature(SECRET[:-1] + "9", raw, sign(SECRET, raw)) is False


@pytest.mark.parametrize(
    "make_header",
    [
        pytest.param(lambda h: "sha1=" + h, id="sha1-prefix"),
        pytest.param(lambda h: h, id="no-prefix"),
        pytest.param(lambda h: "SHA256=" + h, id="uppercase-prefix"),
        pytest.param(lambda h: "sha256:" + h, id="colon-separator"),
        pytest.param(lambda h: " sha256=" + h, id="leading-space"),
        pytest.param(lambda h: "sha256=" + h[:-1], id="truncated-hex"),
        pytest.param(lambda h: "sha256=" + h + "0", id="extra-hex"),
        pytest.param(lambda h: "sha256=", id="empty-hex"),
        pytest.param(lambda h: "", id="empty-header"),
        pytest.param(lambda h: None, id="missing-header"),
        pytest.param(lambda h: "sha256=" + h.replace(h[0], "g", 1), id="non-hex"),
        pytest.param(lambda h: "sha256=" + h[:10] + "ñ" + h[11:], id="non-ascii"),
    ],
)
def test_malformed_signature_header_fails(make_header) -> None:  # type: ignore[no-untyped-def]
    raw = read_event("whatsapp/text.json", raw=True)

    assert verify_signature(SECRET, raw, make_header(hmac_hex(SECRET, raw))) is False


def test_uppercase_hex_digest_is_accepted() -> None:
    # Our implementation lowercases the received hex before comparing (hex is case-insensitive);
    # Meta sends lowercase. pywa compares case-sensitively (see the differential test below).
    raw = read_event("whatsapp/text.json", raw=True)

    assert verify_signature(SECRET, raw, "sha256=" + hmac_hex(SECRET, raw).upper()) is True


def test_trailing_whitespace_after_the_digest_is_tolerated() -> None:
    raw = read_event("whatsapp/text.json", raw=True)

    assert verify_signature(SECRET, raw, "sha256=" + hmac_hex(SECRET, raw) + " \r\n") is True


def test_empty_app_secret_never_verifies_even_a_matching_hmac() -> None:
    raw = read_event("whatsapp/text.json", raw=True)

    assert verify_signature("", raw, "sha256=" + hmac_hex("", raw)) is False


def test_empty_body_is_verified_like_any_other_bytes() -> None:
    assert verify_signature(SECRET, b"", "sha256=" + hmac_hex(SECRET, b"")) is True
    assert verify_signature(SECRET, b"", "sha256=" + hmac_hex(SECRET, b"{}")) is False


# --------------------------------------------------------------------------------------------------
# Header lookup
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["X-Hub-Signature-256", "x-hub-signature-256", "X-HUB-SIGNATURE-256"])
def test_header_lookup_is_case_insensitive(name: str) -> None:
    headers = {"content-type": "application/json", name: "sha256=abc"}

    assert header(headers, SIGNATURE_HEADER) == "sha256=abc"
    assert header(headers, "X-Hub-Signature-256") == "sha256=abc"


def test_header_lookup_misses_return_none() -> None:
    assert header({"x-hub-signature": "sha1=abc"}, SIGNATURE_HEADER) is None  # legacy SHA-1 header is not it
    assert header({}, SIGNATURE_HEADER) is None
    assert header(None, SIGNATURE_HEADER) is None


def test_signature_header_constant_is_the_lowercase_meta_name() -> None:
    assert SIGNATURE_HEADER == "x-hub-signature-256"


# --------------------------------------------------------------------------------------------------
# GET verification handshake
# --------------------------------------------------------------------------------------------------

VERIFY_TOKEN = "token-de-verificacion-demo"


def test_challenge_with_matching_token_is_echoed_unchanged_as_a_string() -> None:
    params = {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444"}

    result = verify_challenge(params, VERIFY_TOKEN)

    assert result == "1158201444"
    assert isinstance(result, str)


@pytest.mark.parametrize("challenge", ["0042", "abc-XYZ_123", "9" * 40, "1.5e3"])
def test_challenge_is_not_parsed_as_a_number(challenge: str) -> None:
    params = {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": challenge}

    assert verify_challenge(params, VERIFY_TOKEN) == challenge


@pytest.mark.parametrize(
    "params",
    [
        pytest.param({"hub.mode": "subscribe", "hub.verify_token": "otro", "hub.challenge": "1"}, id="wrong-token"),
        pytest.param({"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN.upper(), "hub.challenge": "1"},
                     id="token-case"),
        pytest.param({"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN + " ", "hub.challenge": "1"},
                     id="token-trailing-space"),
        pytest.param({"hub.mode": "unsubscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1"},
                     id="wrong-mode"),
        pytest.param({"hub.mode": "SUBSCRIBE", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1"},
                     id="mode-case"),
        pytest.param({"hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1"}, id="no-mode"),
        pytest.param({"hub.mode": "subscribe", "hub.challenge": "1"}, id="no-token"),
        pytest.param({"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN}, id="no-challenge"),
        pytest.param({"hub_mode": "subscribe", "hub_verify_token": VERIFY_TOKEN, "hub_challenge": "1"},
                     id="php-style-names"),
        pytest.param({}, id="empty"),
        pytest.param(None, id="none"),
    ],
)
def test_challenge_is_refused(params: dict[str, str] | None) -> None:
    assert verify_challenge(params, VERIFY_TOKEN) is None


def test_challenge_is_refused_when_no_verify_token_is_configured() -> None:
    params = {"hub.mode": "subscribe", "hub.verify_token": "", "hub.challenge": "1"}

    assert verify_challenge(params, "") is None


# --------------------------------------------------------------------------------------------------
# Differential: pywa.utils.webhook_updates_validator
# --------------------------------------------------------------------------------------------------

# Tamperings where both implementations must agree, and those where they differ on purpose.
AGREE = ("none", "flip_body_byte", "other_secret", "flip_hex_char", "truncate_hex", "sha1_prefix", "drop_body",
         "append_space")
OURS_STRICTER = ("no_prefix", "empty_secret")  # pywa accepts these, we refuse
OURS_LENIENT = ("uppercase_hex", "trailing_space")  # we accept these, pywa refuses


def _random_body(rnd: random.Random) -> bytes:
    kind = rnd.randrange(3)
    if kind == 0:  # a webhook-shaped JSON, escaped like Meta's
        name = "".join(rnd.choice("aáeéiíoóuúñÑ¿¡ 😀" + string.ascii_letters) for _ in range(rnd.randint(1, 30)))
        return json.dumps({"object": "whatsapp_business_account", "entry": [{"id": str(rnd.getrandbits(50)),
                                                                             "name": name}]}).encode()
    if kind == 1:  # UTF-8 text
        return "".join(chr(rnd.choice([rnd.randint(32, 126), rnd.randint(160, 0x2FFF)]))
                       for _ in range(rnd.randint(0, 300))).encode()
    return rnd.randbytes(rnd.randint(0, 600))  # arbitrary bytes


def _random_secret(rnd: random.Random) -> str:
    if rnd.random() < 0.5:
        return rnd.randbytes(16).hex()
    return "".join(rnd.choice(string.printable.strip()) for _ in range(rnd.randint(1, 64)))


def _tamper(rnd: random.Random, kind: str, secret: str, body: bytes) -> tuple[str, bytes, str]:
    digest = hmac_hex(secret, body)
    if kind == "none":
        return secret, body, "sha256=" + digest
    if kind == "flip_body_byte":
        if not body:
            return secret, b"\x00", "sha256=" + digest
        position = rnd.randrange(len(body))
        tampered = bytearray(body)
        tampered[position] ^= 1 << rnd.randrange(8)
        return secret, bytes(tampered), "sha256=" + digest
    if kind == "other_secret":
        return secret + rnd.choice("xyz"), body, "sha256=" + digest
    if kind == "flip_hex_char":
        position = rnd.randrange(len(digest))
        replacement = rnd.choice([c for c in "0123456789abcdef" if c != digest[position]])
        return secret, body, "sha256=" + digest[:position] + replacement + digest[position + 1:]
    if kind == "truncate_hex":
        return secret, body, "sha256=" + digest[: rnd.randrange(len(digest))]
    if kind == "sha1_prefix":
        return secret, body, "sha1=" + digest
    if kind == "drop_body":
        return secret, body[: len(body) // 2] if body else b"x", "sha256=" + digest
    if kind == "append_space":
        return secret, body + b" ", "sha256=" + digest
    if kind == "no_prefix":
        return secret, body, digest
    if kind == "empty_secret":
        return "", body, "sha256=" + hmac_hex("", body)
    if kind == "uppercase_hex":
        return secret, body, "sha256=" + digest.upper()
    if kind == "trailing_space":
        return secret, body, "sha256=" + digest + " "
    raise AssertionError(kind)


def test_verifier_agrees_with_pywa_on_random_bodies_secrets_and_tamperings() -> None:
    rnd = random.Random(20260303)
    kinds = AGREE + OURS_STRICTER + OURS_LENIENT
    disagreements = []
    outcomes = {True: 0, False: 0}
    for case in range(240):
        kind = kinds[case % len(kinds)]
        secret, body, signature = _tamper(rnd, kind, _random_secret(rnd), _random_body(rnd))
        ours = verify_signature(secret, body, signature)
        theirs = webhook_updates_validator(secret, body, signature)
        outcomes[ours] += 1
        if kind in AGREE:
            expected = (kind == "none", kind == "none")
        elif kind in OURS_STRICTER:
            expected = (False, True)
        else:
            expected = (True, False)
        if (ours, theirs) != expected:
            disagreements.append((case, kind, ours, theirs))

    assert disagreements == []
    assert outcomes[True] >= 40 and outcomes[False] >= 150  # both answers were exercised


# --------------------------------------------------------------------------------------------------
# Harness: unit tests run with sockets off (conftest), so no oracle can reach the network silently
# --------------------------------------------------------------------------------------------------


def test_unit_tests_cannot_open_network_connections() -> None:
    import socket

    from tests.unit.conftest import NetworkBlockedError

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock, pytest.raises(NetworkBlockedError):
        sock.connect(("127.0.0.1", 9))
    with pytest.raises(NetworkBlockedError):
        socket.create_connection(("graph.facebook.com", 443), timeout=0.1)
