"""Verifies the JWTs of a Cognito user pool (agents' and supervisors' ID and access tokens).

RS256 only; the signing key comes from the issuer's JWKS (`<issuer>/.well-known/jwks.json`), cached for
`jwks_ttl_s` and refetched once when a token names a key we do not know (Cognito rotates keys rarely; the
refetch is rate limited so random `kid`s cannot make every request call Cognito). Every failure is an
`Unauthorized` with a short reason that never repeats the token.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import jwt
from jwt.algorithms import RSAAlgorithm

from shared.errors import Unauthorized

JwksFetcher = Callable[[str], Mapping[str, Any]]  # JWKS URL -> the JWKS document ({"keys": [...]})

ALGORITHM = "RS256"
TOKEN_USES = frozenset({"id", "access"})
MAX_TOKEN_CHARS = 16_384


def http_jwks_fetcher(timeout_s: float = 3.0) -> JwksFetcher:
    """Fetch a JWKS over HTTPS with httpx (the production fetcher)."""
    import httpx

    def fetch(url: str) -> Mapping[str, Any]:
        response = httpx.get(url, timeout=timeout_s, follow_redirects=False)
        response.raise_for_status()
        document = response.json()
        if not isinstance(document, dict):
            raise ValueError("JWKS is not a JSON object")
        return document

    return fetch


class CognitoJwtVerifier:
    """Satisfies shared.services.auth.JwtVerifier for one user pool and one app client."""

    def __init__(self, issuer: str, client_id: str, jwks_fetcher: JwksFetcher | None = None, *,
                 jwks_url: str | None = None, jwks_ttl_s: float = 3600.0, refetch_cooldown_s: float = 30.0,
                 leeway_s: float = 30.0, monotonic: Callable[[], float] = time.monotonic) -> None:
        if not issuer or not client_id:
            raise ValueError("issuer and client_id are required")
        self._issuer = issuer.rstrip("/")
        self._client_id = client_id
        self._fetch = jwks_fetcher or http_jwks_fetcher()
        self._jwks_url = jwks_url or f"{self._issuer}/.well-known/jwks.json"
        self._ttl_s = jwks_ttl_s
        self._cooldown_s = refetch_cooldown_s
        self._leeway_s = leeway_s
        self._now = monotonic
        self._keys: dict[str, Any] = {}
        self._fetched_at: float | None = None

    # -- keys ----------------------------------------------------------------------------------------
    def _refresh(self) -> None:
        try:
            document = self._fetch(self._jwks_url)
            keys = _rsa_keys(document)
        except Exception:  # network, HTTP status, JSON: keep the stale keys if we have any
            if self._fetched_at is None:
                raise Unauthorized("token signing keys are unavailable") from None
            self._fetched_at = self._now() - self._ttl_s + self._cooldown_s  # retry after the cooldown
            return
        self._keys = keys
        self._fetched_at = self._now()

    def _key(self, kid: str) -> Any:
        now = self._now()
        fetched_now = False
        if self._fetched_at is None or now - self._fetched_at >= self._ttl_s:
            self._refresh()
            fetched_now = True
        key = self._keys.get(kid)
        if key is None and not fetched_now and self._fetched_at is not None \
                and now - self._fetched_at >= self._cooldown_s:
            self._refresh()  # key rotation: refetch once
            key = self._keys.get(kid)
        if key is None:
            raise Unauthorized("token signed with an unknown key")
        return key

    # -- tokens --------------------------------------------------------------------------------------
    def verify(self, token: str) -> dict[str, Any]:
        if not token or len(token) > MAX_TOKEN_CHARS:
            raise Unauthorized("malformed token")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise Unauthorized("malformed token") from None
        if header.get("alg") != ALGORITHM:
            raise Unauthorized("unsupported token algorithm")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise Unauthorized("token names no signing key")
        key = self._key(kid)
        try:
            claims: dict[str, Any] = jwt.decode(
                token, key=key, algorithms=[ALGORITHM], issuer=self._issuer, leeway=self._leeway_s,
                options={"require": ["exp", "iat", "iss", "sub", "token_use"], "verify_aud": False})
        except jwt.ExpiredSignatureError:
            raise Unauthorized("token expired") from None
        except jwt.ImmatureSignatureError:
            raise Unauthorized("token not yet valid") from None
        except jwt.InvalidIssuerError:
            raise Unauthorized("token from another issuer") from None
        except jwt.MissingRequiredClaimError as exc:
            raise Unauthorized(f"token lacks the '{exc.claim}' claim") from None
        except jwt.InvalidSignatureError:
            raise Unauthorized("token signature is invalid") from None
        except jwt.PyJWTError:
            raise Unauthorized("invalid token") from None
        token_use = claims.get("token_use")
        if token_use not in TOKEN_USES:
            raise Unauthorized("token is neither an ID nor an access token")
        audience = claims.get("aud") if token_use == "id" else claims.get("client_id")
        if audience != self._client_id:
            raise Unauthorized("token issued to another client")
        return claims


def _rsa_keys(document: Mapping[str, Any]) -> dict[str, Any]:
    """The RS256 signing keys of a JWKS by kid; other key types and uses are ignored."""
    raw_keys = document.get("keys")
    if not isinstance(raw_keys, list):
        raise ValueError("JWKS has no key list")
    keys: dict[str, Any] = {}
    for jwk in raw_keys:
        if not isinstance(jwk, dict) or jwk.get("kty") != "RSA" or not isinstance(jwk.get("kid"), str):
            continue
        if jwk.get("alg", ALGORITHM) != ALGORITHM or jwk.get("use", "sig") != "sig":
            continue
        public = {k: jwk[k] for k in ("kty", "n", "e") if k in jwk}  # never private material
        try:
            keys[jwk["kid"]] = RSAAlgorithm.from_jwk(public)
        except (jwt.PyJWTError, ValueError, KeyError):
            continue
    return keys
