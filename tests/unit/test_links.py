from __future__ import annotations

import base64
import json

import pytest

from shared.services.links import InvalidLink, LinkClaims, link_url, sign_link, verify_link

SECRET = b"s" * 32
OLD = b"o" * 32
NOW = 1_730_000_000


def token(**overrides: object) -> str:
    args: dict[str, object] = {"secret": SECRET, "tenant_id": "acme", "contact_id": "ct_123",
                               "purpose": "debt-statement", "expires_at": NOW + 600, "nonce": "n1"}
    args.update(overrides)
    return sign_link(**args)  # type: ignore[arg-type]


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def reason(tok: str, **kwargs: object) -> str:
    with pytest.raises(InvalidLink) as err:
        verify_link(tok, **{"secret": SECRET, "now": NOW, **kwargs})  # type: ignore[arg-type]
    return err.value.reason


def test_round_trip() -> None:
    tok = token()
    assert verify_link(tok, secret=SECRET, now=NOW) == LinkClaims(
        tenant_id="acme", contact_id="ct_123", purpose="debt-statement", expires_at=NOW + 600, nonce="n1")
    assert verify_link(tok, secret=SECRET, now=NOW, purpose="debt-statement").contact_id == "ct_123"


def test_format_is_compact_json_and_hmac() -> None:
    tok = token()
    body, sig = tok.split(".")
    payload = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    assert payload == (b'{"c":"ct_123","exp":%d,"n":"n1","p":"debt-statement","t":"acme","v":1}' % (NOW + 600))
    import hashlib
    import hmac
    assert sig == b64(hmac.new(SECRET, body.encode(), hashlib.sha256).digest())
    assert "=" not in tok and "+" not in tok and "/" not in tok


def test_deterministic_with_a_nonce_and_unique_without() -> None:
    assert token() == token()
    assert token(nonce=None) != token(nonce=None)
    assert verify_link(token(nonce=None), secret=SECRET, now=NOW).nonce


def test_expired() -> None:
    assert reason(token(expires_at=NOW)) == "expired"
    assert reason(token(expires_at=NOW - 1)) == "expired"
    assert verify_link(token(expires_at=NOW + 1), secret=SECRET, now=NOW)


def test_bad_signature() -> None:
    assert reason(token(secret=b"another secret")) == "bad_signature"
    body, sig = token().split(".")
    forged = b64(json.dumps({"c": "ct_999", "exp": NOW + 600, "n": "n1", "p": "debt-statement", "t": "acme",
                             "v": 1}, separators=(",", ":")).encode())
    assert reason(f"{forged}.{sig}") == "bad_signature"
    flipped = sig[:10] + ("A" if sig[10] != "A" else "B") + sig[11:]
    assert reason(f"{body}.{flipped}") == "bad_signature"


def test_signature_is_checked_before_expiry() -> None:
    assert reason(token(secret=b"x" * 32, expires_at=NOW - 100)) == "bad_signature"


@pytest.mark.parametrize("tok", [
    "", "abc", "a.b.c", ".sig", "body.", "b@d." + "A" * 43, "e30." + "A" * 42, "e30." + "A" * 44,
    "e30." + "*" * 43, "x" * 5000,
])
def test_malformed(tok: str) -> None:
    assert reason(tok) == "malformed"


def test_non_canonical_signature_spelling_is_malformed() -> None:
    body, sig = token().split(".")
    last = sig[-1]
    index = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".index(last)
    sibling = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[index ^ 1]
    assert reason(f"{body}.{sig[:-1]}{sibling}") == "malformed"


def test_signed_but_malformed_payload() -> None:
    import hashlib
    import hmac
    body = b64(b'{"v":1,"t":"acme"}')
    tok = f"{body}.{b64(hmac.new(SECRET, body.encode(), hashlib.sha256).digest())}"
    assert reason(tok) == "malformed"


def test_wrong_purpose() -> None:
    assert reason(token(), purpose="payment") == "wrong_purpose"


def test_key_rotation() -> None:
    old_token = token(secret=OLD)
    new_token = token()
    for tok in (old_token, new_token):
        assert verify_link(tok, secrets=[SECRET, OLD], now=NOW).contact_id == "ct_123"
    assert reason(old_token, secret=None, secrets=[SECRET]) == "bad_signature"


def test_argument_errors() -> None:
    with pytest.raises(ValueError):
        verify_link(token(), now=NOW)
    with pytest.raises(ValueError):
        verify_link(token(), secret=SECRET, secrets=[OLD], now=NOW)
    with pytest.raises(ValueError):
        verify_link(token(), secrets=[SECRET, b""], now=NOW)
    with pytest.raises(ValueError):
        token(secret=b"")
    with pytest.raises(ValueError):
        token(contact_id="")
    with pytest.raises(ValueError):
        token(expires_at="soon")


def test_link_url() -> None:
    tok = token()
    assert link_url("https://pagos.banco.example/estado", tok) == f"https://pagos.banco.example/estado?t={tok}"
    assert link_url("https://pagos.banco.example/e?lang=es&t=old#top", tok) == (
        f"https://pagos.banco.example/e?lang=es&t={tok}#top")
    assert link_url("https://pagos.banco.example", tok) == f"https://pagos.banco.example/?t={tok}"
