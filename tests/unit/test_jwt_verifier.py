"""CognitoJwtVerifier: RS256 tokens against the pool's JWKS, and the Authenticator's principal from them."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from shared.adapters.jwt_verifier import CognitoJwtVerifier
from shared.errors import Unauthorized
from shared.models.tenancy import ROLE_SCOPES, ApiKey, Tenant
from shared.services.auth import Authenticator

ISSUER = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_TestPool"
CLIENT_ID = "app-client-1"


@pytest.fixture(scope="module")
def private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def other_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def jwk(key: rsa.RSAPrivateKey, kid: str) -> dict[str, Any]:
    public = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
    return {**public, "kid": kid, "alg": "RS256", "use": "sig"}


class FakeJwks:
    """The issuer's JWKS endpoint: counts fetches, can rotate keys or fail."""

    def __init__(self, *keys: dict[str, Any]) -> None:
        self.keys = list(keys)
        self.urls: list[str] = []
        self.fail = False

    def __call__(self, url: str) -> Mapping[str, Any]:
        self.urls.append(url)
        if self.fail:
            raise ConnectionError("jwks endpoint down")
        return {"keys": self.keys}


class Ticker:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def claims(token_use: Any = "id", **extra: Any) -> dict[str, Any]:
    now = int(time.time())
    base: dict[str, Any] = {"iss": ISSUER, "sub": "sub-ana", "token_use": token_use, "iat": now, "exp": now + 3600,
                            "custom:tenant_id": "acme", "cognito:groups": ["agent"]}
    if token_use == "id":
        base["aud"] = CLIENT_ID
    else:
        base["client_id"] = CLIENT_ID
    base.update(extra)
    return {k: v for k, v in base.items() if v is not None}


def sign(key: rsa.RSAPrivateKey, payload: dict[str, Any], kid: str = "k1", alg: str = "RS256") -> str:
    return jwt.encode(payload, key, algorithm=alg, headers={"kid": kid})


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@pytest.fixture
def jwks(private_key: rsa.RSAPrivateKey) -> FakeJwks:
    return FakeJwks(jwk(private_key, "k1"))


@pytest.fixture
def ticker() -> Ticker:
    return Ticker()


@pytest.fixture
def verifier(jwks: FakeJwks, ticker: Ticker) -> CognitoJwtVerifier:
    return CognitoJwtVerifier(ISSUER, CLIENT_ID, jwks, monotonic=ticker)


def refused(verifier: CognitoJwtVerifier, token: str) -> str:
    with pytest.raises(Unauthorized) as caught:
        verifier.verify(token)
    if token:
        assert token not in caught.value.detail and token not in str(caught.value)
    return caught.value.detail


# --- valid tokens -------------------------------------------------------------------------------------

def test_a_valid_id_token_yields_its_claims_and_the_jwks_comes_from_the_issuer(
        verifier: CognitoJwtVerifier, private_key: rsa.RSAPrivateKey, jwks: FakeJwks) -> None:
    got = verifier.verify(sign(private_key, claims()))
    assert got["custom:tenant_id"] == "acme" and got["sub"] == "sub-ana"
    assert jwks.urls == [ISSUER + "/.well-known/jwks.json"]


def test_a_valid_access_token_is_checked_against_its_client_id_claim(
        verifier: CognitoJwtVerifier, private_key: rsa.RSAPrivateKey) -> None:
    assert verifier.verify(sign(private_key, claims("access")))["token_use"] == "access"


def test_keys_are_cached_between_tokens(verifier: CognitoJwtVerifier, private_key: rsa.RSAPrivateKey,
                                        jwks: FakeJwks, ticker: Ticker) -> None:
    for _ in range(3):
        verifier.verify(sign(private_key, claims()))
    assert len(jwks.urls) == 1
    ticker.now += 3600  # the TTL passed
    verifier.verify(sign(private_key, claims()))
    assert len(jwks.urls) == 2


def test_clock_skew_within_the_leeway_is_accepted(verifier: CognitoJwtVerifier,
                                                  private_key: rsa.RSAPrivateKey) -> None:
    now = int(time.time())
    assert verifier.verify(sign(private_key, claims(exp=now - 5, iat=now - 3605, nbf=now + 5)))


# --- refused tokens -----------------------------------------------------------------------------------

def test_another_issuer_is_refused(verifier: CognitoJwtVerifier, private_key: rsa.RSAPrivateKey) -> None:
    token = sign(private_key, claims(iss="https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Other"))
    assert refused(verifier, token) == "token from another issuer"


@pytest.mark.parametrize("token_use", ["id", "access"])
def test_a_token_for_another_client_is_refused(verifier: CognitoJwtVerifier, private_key: rsa.RSAPrivateKey,
                                               token_use: str) -> None:
    other = {"aud": "other-client"} if token_use == "id" else {"client_id": "other-client"}
    assert refused(verifier, sign(private_key, claims(token_use, **other))) == "token issued to another client"


def test_an_access_token_with_the_client_as_audience_but_no_client_id_is_refused(
        verifier: CognitoJwtVerifier, private_key: rsa.RSAPrivateKey) -> None:
    token = sign(private_key, claims("access", client_id=None, aud=CLIENT_ID))
    assert refused(verifier, token) == "token issued to another client"


def test_an_expired_token_is_refused(verifier: CognitoJwtVerifier, private_key: rsa.RSAPrivateKey) -> None:
    now = int(time.time())
    assert refused(verifier, sign(private_key, claims(iat=now - 7200, exp=now - 120))) == "token expired"


def test_a_token_not_yet_valid_is_refused(verifier: CognitoJwtVerifier, private_key: rsa.RSAPrivateKey) -> None:
    token = sign(private_key, claims(nbf=int(time.time()) + 600))
    assert refused(verifier, token) == "token not yet valid"


@pytest.mark.parametrize("missing", ["exp", "iss", "sub", "token_use"])
def test_a_token_without_a_required_claim_is_refused(verifier: CognitoJwtVerifier,
                                                     private_key: rsa.RSAPrivateKey, missing: str) -> None:
    assert refused(verifier, sign(private_key, claims(**{missing: None}))) == f"token lacks the '{missing}' claim"


def test_a_refresh_or_other_token_use_is_refused(verifier: CognitoJwtVerifier,
                                                 private_key: rsa.RSAPrivateKey) -> None:
    token = sign(private_key, claims(token_use="refresh", aud=CLIENT_ID))
    assert refused(verifier, token) == "token is neither an ID nor an access token"


def test_alg_none_is_refused(verifier: CognitoJwtVerifier) -> None:
    header = b64(json.dumps({"alg": "none", "kid": "k1", "typ": "JWT"}).encode())
    token = f"{header}.{b64(json.dumps(claims()).encode())}."
    assert refused(verifier, token) == "unsupported token algorithm"


def test_hs256_signed_with_the_public_key_as_secret_is_refused(verifier: CognitoJwtVerifier,
                                                               private_key: rsa.RSAPrivateKey) -> None:
    """Algorithm confusion: the attacker knows the public key and uses it as an HMAC secret."""
    pem = private_key.public_key().public_bytes(serialization.Encoding.PEM,
                                                serialization.PublicFormat.SubjectPublicKeyInfo)
    signing_input = f"{b64(json.dumps({'alg': 'HS256', 'kid': 'k1'}).encode())}." \
                    f"{b64(json.dumps(claims(**{'custom:tenant_id': 'victim'})).encode())}"
    signature = hmac.new(pem, signing_input.encode(), hashlib.sha256).digest()
    assert refused(verifier, f"{signing_input}.{b64(signature)}") == "unsupported token algorithm"


def test_a_token_signed_by_another_key_under_a_known_kid_is_refused(
        verifier: CognitoJwtVerifier, other_key: rsa.RSAPrivateKey) -> None:
    assert refused(verifier, sign(other_key, claims(), kid="k1")) == "token signature is invalid"


def test_a_tampered_payload_is_refused(verifier: CognitoJwtVerifier, private_key: rsa.RSAPrivateKey) -> None:
    header, _, signature = sign(private_key, claims()).split(".")
    forged = b64(json.dumps(claims(**{"custom:tenant_id": "victim", "cognito:groups": ["admin"]})).encode())
    assert refused(verifier, f"{header}.{forged}.{signature}") == "token signature is invalid"


@pytest.mark.parametrize("token", ["", "a.b", "not.a.jwt", "x" * 20_000])
def test_garbage_is_refused(verifier: CognitoJwtVerifier, token: str) -> None:
    refused(verifier, token)


def test_an_unknown_kid_is_refused_with_at_most_one_refetch(verifier: CognitoJwtVerifier,
                                                            other_key: rsa.RSAPrivateKey, jwks: FakeJwks,
                                                            ticker: Ticker) -> None:
    assert refused(verifier, sign(other_key, claims(), kid="k9")) == "token signed with an unknown key"
    assert len(jwks.urls) == 1  # fetched just now: no second fetch
    for _ in range(5):  # a flood of random kids within the cooldown does not hammer the endpoint
        refused(verifier, sign(other_key, claims(), kid="k9"))
    assert len(jwks.urls) == 1
    ticker.now += 60
    refused(verifier, sign(other_key, claims(), kid="k9"))
    assert len(jwks.urls) == 2  # after the cooldown: one refetch, still unknown


def test_a_rotated_key_is_picked_up_by_one_refetch(verifier: CognitoJwtVerifier, private_key: rsa.RSAPrivateKey,
                                                   other_key: rsa.RSAPrivateKey, jwks: FakeJwks,
                                                   ticker: Ticker) -> None:
    verifier.verify(sign(private_key, claims()))
    jwks.keys.append(jwk(other_key, "k2"))
    ticker.now += 60
    assert verifier.verify(sign(other_key, claims(), kid="k2"))["sub"] == "sub-ana"
    assert len(jwks.urls) == 2


def test_jwks_entries_of_other_types_or_uses_are_ignored(private_key: rsa.RSAPrivateKey, ticker: Ticker) -> None:
    encryption_key = {**jwk(private_key, "k1"), "use": "enc"}
    verifier = CognitoJwtVerifier(ISSUER, CLIENT_ID, FakeJwks(encryption_key, {"kty": "oct", "kid": "k3", "k": "c2s"}),
                                  monotonic=ticker)
    assert refused(verifier, sign(private_key, claims())) == "token signed with an unknown key"


def test_an_unreachable_jwks_refuses_tokens_until_keys_are_known(private_key: rsa.RSAPrivateKey, jwks: FakeJwks,
                                                                 ticker: Ticker) -> None:
    verifier = CognitoJwtVerifier(ISSUER, CLIENT_ID, jwks, monotonic=ticker)
    jwks.fail = True
    assert refused(verifier, sign(private_key, claims())) == "token signing keys are unavailable"
    jwks.fail = False
    assert verifier.verify(sign(private_key, claims()))


def test_known_keys_keep_working_while_the_jwks_endpoint_is_down(verifier: CognitoJwtVerifier,
                                                                 private_key: rsa.RSAPrivateKey, jwks: FakeJwks,
                                                                 ticker: Ticker) -> None:
    verifier.verify(sign(private_key, claims()))
    jwks.fail = True
    ticker.now += 7200
    assert verifier.verify(sign(private_key, claims()))
    verifier.verify(sign(private_key, claims()))
    assert len(jwks.urls) == 2  # the failed refresh is not retried on every request


# --- the Authenticator with this verifier -------------------------------------------------------------

class NoKeys:
    def get_key(self, hashed: str) -> ApiKey | None:
        return None

    def touch_key(self, hashed: str, at: datetime, *, older_than: datetime) -> None:
        raise AssertionError("no API key is used here")


class Tenants:
    def __init__(self, *tenants: Tenant) -> None:
        self._tenants = {t.tenant_id: t for t in tenants}

    def get_tenant(self, tenant_id: str) -> Tenant | None:
        return self._tenants.get(tenant_id)


class NoOperators:
    def operator_key_hashes(self) -> frozenset[str]:
        return frozenset()


class FixedClock:
    def now(self) -> datetime:
        return datetime(2025, 1, 1, tzinfo=UTC)


@pytest.fixture
def authenticate(verifier: CognitoJwtVerifier) -> Callable[..., Any]:
    created = datetime(2024, 1, 1, tzinfo=UTC)
    auth = Authenticator(keys=NoKeys(), tenants=Tenants(Tenant(tenant_id="acme", name="Acme", created_at=created),
                                                        Tenant(tenant_id="globex", name="Globex", created_at=created)),
                         operators=NoOperators(), clock=FixedClock(), jwt=verifier)

    def call(token: str, **headers: str) -> Any:
        return auth.authenticate({"Authorization": f"Bearer {token}", **headers}, "/v1/contacts")

    return call


def test_the_principal_tenant_and_role_come_from_the_token(authenticate: Callable[..., Any],
                                                           private_key: rsa.RSAPrivateKey) -> None:
    who = authenticate(sign(private_key, claims(**{"cognito:groups": ["supervisor"]})), **{"X-Tenant-Id": "globex"})
    assert (who.kind, who.tenant_id, who.role) == ("user", "acme", "supervisor")
    assert who.principal_id == "user:sub-ana" and who.scopes == ROLE_SCOPES["supervisor"]


def test_a_token_without_a_tenant_is_refused(authenticate: Callable[..., Any],
                                             private_key: rsa.RSAPrivateKey) -> None:
    with pytest.raises(Unauthorized, match="no tenant"):
        authenticate(sign(private_key, claims(**{"custom:tenant_id": None})))


def test_a_forged_tenant_never_reaches_the_principal(authenticate: Callable[..., Any],
                                                     private_key: rsa.RSAPrivateKey) -> None:
    header, _, signature = sign(private_key, claims()).split(".")
    forged = b64(json.dumps(claims(**{"custom:tenant_id": "globex"})).encode())
    with pytest.raises(Unauthorized, match="signature"):
        authenticate(f"{header}.{forged}.{signature}")
