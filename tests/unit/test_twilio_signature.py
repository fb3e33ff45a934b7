"""X-Twilio-Signature: twilio-python's own test vectors (../shared/oracle-fixtures/twilio, skipped when absent),
random forms against an independent stdlib derivation, and the form parser's refusals."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from shared.services.twilio_signature import (
    MAX_FORM_FIELDS,
    SIGNATURE_HEADER,
    compute_body_hash,
    compute_signature,
    parse_form,
    validate,
)


@pytest.fixture
def vectors(oracle_fixtures: Path) -> dict[str, Any]:
    return dict(json.loads((oracle_fixtures / "twilio" / "request_validator_vectors.json").read_text("utf-8")))


def reference_signature(token: str, url: str, pairs: list[tuple[str, str]]) -> str:
    """Twilio's algorithm restated: sorting (name, value) pairs is sorting names, then each name's values."""
    data = url + "".join(name + value for name, value in sorted(set(pairs)))  # a repeated pair counts once
    return base64.b64encode(hmac.new(token.encode(), data.encode(), "sha1").digest()).decode()


def test_the_header_name() -> None:
    assert SIGNATURE_HEADER == "X-Twilio-Signature"


def test_the_signature_of_twilios_own_vector(vectors: dict[str, Any]) -> None:
    token, url, params = vectors["auth_token"], vectors["url"], vectors["params"]
    assert compute_signature(token, url, params) == vectors["expected_signature"]
    assert compute_signature(token, url, list(params.items())) == vectors["expected_signature"]
    assert validate(token, url, params, vectors["expected_signature"])


def test_https_is_accepted_with_and_without_port_443(vectors: dict[str, Any]) -> None:
    token, url, params = vectors["auth_token"], vectors["url"], vectors["params"]
    # given Twilio signed the URL with ":443" added, when we see it without the port, then it is accepted
    assert validate(token, url, params, vectors["expected_signature_url_with_port_443"])
    # given Twilio signed it without a port, when our URL has one, then the port is stripped
    assert validate(token, url.replace(".com", ".com:1234"), params, vectors["expected_signature"])
    assert validate(token, url.replace(".com", ".com:443"), params, vectors["expected_signature"])
    assert validate(token, url.replace(".com", ".com:443"), params, vectors["expected_signature_url_with_port_443"])


def test_http_is_accepted_with_its_own_port_and_with_port_80(vectors: dict[str, Any]) -> None:
    token, url, params = vectors["auth_token"], vectors["url"], vectors["params"]
    http = url.replace("https", "http")
    assert validate(token, http.replace(".com", ".com:1234"), params,
                    vectors["expected_signature_http_url_with_port_1234"])
    assert validate(token, http, params, vectors["expected_signature_http_url_with_port_80"])
    # the https signatures are not the http ones
    assert not validate(token, http, params, vectors["expected_signature_url_with_port_443"])


def test_repeated_names_sign_every_value_sorted(vectors: dict[str, Any]) -> None:
    token, url = vectors["auth_token"], vectors["url"]
    pairs = [(name, value) for name, value in vectors["duplicate_params_multidict"]]
    expected = vectors["expected_signature_duplicate_params"]
    assert compute_signature(token, url, pairs) == expected
    assert compute_signature(token, url, list(reversed(pairs))) == expected
    assert compute_signature(token, url, {"Sid": "CA123", "SidAccount": "AC123", "Digits": ["1234", "5678"]}) \
        == expected
    assert validate(token, url, pairs, expected)
    # keeping only the last value of Digits (a plain dict) is a different signature
    assert not validate(token, url, dict(pairs), expected)


def test_a_json_body_is_checked_by_its_hash(vectors: dict[str, Any]) -> None:
    token, body = vectors["auth_token"], vectors["json_body"]
    url = vectors["url"] + "&bodySHA256=" + vectors["json_body_sha256"]
    signature = vectors["expected_signature_json_body_url_with_bodySHA256"]
    assert compute_body_hash(body) == vectors["json_body_sha256"]
    assert validate(token, url, body, signature)
    assert validate(token, url, body.encode(), signature)
    # a different body under the same signed URL fails on the hash
    assert not validate(token, url, body.replace("true", "false"), signature)
    # a body without bodySHA256 in the URL cannot be checked
    assert not validate(token, vectors["url"], body, signature)


def test_wrong_missing_or_odd_signatures_and_tokens_fail(vectors: dict[str, Any]) -> None:
    token, url, params = vectors["auth_token"], vectors["url"], vectors["params"]
    good = vectors["expected_signature"]
    assert not validate(token, url, params, good[:-2] + "x=")
    assert not validate(token, url, params, None)
    assert not validate(token, url, params, "")
    assert not validate(token, url, params, "ñ" + good)
    assert not validate("54321", url, params, good)
    assert not validate("", url, params, compute_signature("", url, params))
    assert not validate(token, url.replace("foo=1", "foo=2"), params, good)
    assert not validate(token, url, {**params, "Digits": "1235"}, good)
    assert not validate(token, url, {**params, "Extra": ""}, good)
    assert not validate(token, url.replace(".com", ".com:99999"), params, good)


def test_no_params_sign_the_url_alone() -> None:
    expected = base64.b64encode(hmac.new(b"tok", b"https://x.example/a?b=c", hashlib.sha1).digest()).decode()
    assert compute_signature("tok", "https://x.example/a?b=c", []) == expected
    assert validate("tok", "https://x.example/a?b=c", None, expected)


_NAMES = st.text(st.characters(codec="utf-8", exclude_characters="&="), min_size=1, max_size=12)
_VALUES = st.text(st.characters(codec="utf-8"), max_size=30)
_PAIRS = st.lists(st.tuples(_NAMES | st.sampled_from(["Body", "MediaUrl", "From"]), _VALUES), max_size=12)
_TOKENS = st.text(st.characters(codec="utf-8"), min_size=1, max_size=40)
_URLS = st.sampled_from(["https://hooks.banco.example/webhooks/sms/ch1", "https://h.example:8443/a?x=1&y=ñ",
                         "http://localhost:3000/webhooks/sms/ch1?stage=dev"])


@settings(max_examples=300, deadline=None)
@given(token=_TOKENS, url=_URLS, pairs=_PAIRS, shuffle=st.randoms(use_true_random=False))
def test_random_forms_match_the_reference_derivation(token: str, url: str, pairs: list[tuple[str, str]],
                                                     shuffle: Any) -> None:
    expected = reference_signature(token, url, pairs)
    assert compute_signature(token, url, pairs) == expected
    reordered = list(pairs)
    shuffle.shuffle(reordered)
    assert compute_signature(token, url, reordered) == expected
    assert validate(token, url, reordered, expected)


@settings(max_examples=200, deadline=None)
@given(token=_TOKENS, pairs=_PAIRS.filter(bool), index=st.integers(min_value=0), extra=_VALUES.filter(bool))
def test_any_changed_value_breaks_the_signature(token: str, pairs: list[tuple[str, str]], index: int,
                                                extra: str) -> None:
    # Twilio signs name+value per pair, so with a repeated name ("0","")+("0","0") and ("0","0")+("0","") are the
    # same signed text: the scheme's ambiguity, not ours. With distinct names a changed value must break it.
    assume(len({n for n, _ in pairs}) == len(pairs))
    url = "https://hooks.banco.example/webhooks/sms/ch1"
    signature = compute_signature(token, url, pairs)
    name, value = pairs[index % len(pairs)]
    tampered = list(pairs)
    tampered[index % len(pairs)] = (name, value + extra)
    assert not validate(token, url, tampered, signature)


@settings(max_examples=300, deadline=None)
@given(pairs=_PAIRS)
def test_parse_form_returns_what_was_encoded(pairs: list[tuple[str, str]]) -> None:
    assert parse_form(urlencode(pairs).encode()) == pairs


def test_a_twilio_form_as_received_validates() -> None:
    # given an inbound SMS as Twilio posts it, signed over its parameters as received
    token, url = "f" * 32, "https://hooks.banco.example/webhooks/sms/ch1"
    pairs = [("ToCountry", "US"), ("SmsMessageSid", "SM" + "0" * 32), ("NumMedia", "0"), ("Body", "Hola, ¿saldo?"),
             ("To", "+14155550100"), ("From", "+5491155550000"), ("MessageSid", "SM" + "0" * 32),
             ("AccountSid", "AC" + "1" * 32), ("FromCity", ""), ("SmsStatus", "received"), ("ApiVersion", "2010-04-01")]
    raw = urlencode(pairs).encode()
    signature = reference_signature(token, url, pairs)
    # when the body is parsed, then every field (blank ones too) is kept and the signature matches
    parsed = parse_form(raw)
    assert parsed == pairs and ("FromCity", "") in parsed
    assert validate(token, url, parsed, signature)


@pytest.mark.parametrize(("raw", "says"), [
    (b"Body=\xff", "not UTF-8"),
    (b"Body=%FF", "percent-encoded value that is not UTF-8"),
    (b"Body", "not name=value"),
    (b"=value", "without a name"),
    (b"&".join([b"a=1"] * (MAX_FORM_FIELDS + 1)), "more than"),
])
def test_bad_forms_are_refused_with_a_reason(raw: bytes, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        parse_form(raw)


def test_empty_bodies_and_stray_ampersands_parse() -> None:
    assert parse_form(b"") == []
    assert parse_form(b"a=1&&b=&") == [("a", "1"), ("b", "")]
    assert parse_form(b"Body=Hola+mundo%21&Body=2") == [("Body", "Hola mundo!"), ("Body", "2")]


def test_a_repeated_name_value_pair_counts_once_as_twilio_python_signs_it() -> None:
    url = "https://api.example.com/webhooks/sms/c"
    once = compute_signature("token", url, [("MediaUrl", "a"), ("Body", "x")])
    assert compute_signature("token", url, [("MediaUrl", "a"), ("MediaUrl", "a"), ("Body", "x")]) == once
