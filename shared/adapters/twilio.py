"""Twilio REST client over httpx: send a message (`POST /2010-04-01/Accounts/{sid}/Messages.json`, form-encoded,
Basic auth AccountSid:AuthToken) and check an account's credentials when a channel is connected.

Twilio answers errors as `{"code": 21211, "message": "...", "more_info": "https://www.twilio.com/docs/errors/...",
"status": 400}`; they become ProviderSendError with Twilio's code and message. A read timeout means the request
was sent and may have been accepted, so it is raised as ambiguous (the caller must not blindly resend); connect,
write and pool timeouts were not. The auth token only travels in the Authorization header: it never appears in
what is raised or logged.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from shared.adapters.graph import retry_after_seconds
from shared.ports import ProviderSendError, SendResult

TWILIO_API = "https://api.twilio.com"
API_VERSION = "2010-04-01"


def _error(response: httpx.Response) -> ProviderSendError:
    try:
        body = response.json()
    except ValueError:
        body = {}
    body = body if isinstance(body, dict) else {}
    code = body.get("code") if isinstance(body.get("code"), int) and not isinstance(body.get("code"), bool) else None
    message = body.get("message") if isinstance(body.get("message"), str) else None
    more_info = body.get("more_info") if isinstance(body.get("more_info"), str) else None
    return ProviderSendError(http_status=response.status_code, code=code,
                             title=message or response.reason_phrase or "error", details=more_info,
                             retry_after_s=retry_after_seconds(response))


def _account_path(account_sid: str) -> str:
    """The account's path; a sid that is not letters and digits never reaches a URL."""
    if not account_sid or not account_sid.isascii() or not account_sid.isalnum():
        raise ProviderSendError(http_status=None, code=None, title="invalid account sid", details=None)
    return f"{API_VERSION}/Accounts/{account_sid}"


class TwilioClient:
    def __init__(self, *, base_url: str = TWILIO_API, timeout_s: float,
                 transport: httpx.BaseTransport | None = None) -> None:
        self._base = base_url.rstrip("/")
        self._http = httpx.Client(timeout=timeout_s, transport=transport,
                                  headers={"User-Agent": "omnichannel/0.1", "Accept": "application/json"})

    def _request(self, method: str, path: str, account_sid: str, auth_token: str, **kwargs: Any) -> Any:
        try:
            response = self._http.request(method, f"{self._base}/{path}", auth=(account_sid, auth_token), **kwargs)
        except httpx.ReadTimeout as exc:  # sent, no answer: Twilio may have accepted it
            raise ProviderSendError(http_status=None, code=None, title="no answer from Twilio in time",
                                    details=str(exc), ambiguous=True) from exc
        except httpx.TimeoutException as exc:  # connect, write or pool timeout: not accepted
            raise ProviderSendError(http_status=None, code=None, title="timeout", details=str(exc)) from exc
        except httpx.TransportError as exc:
            raise ProviderSendError(http_status=None, code=None, title="connection error",
                                    details=str(exc)) from exc
        if response.status_code >= 400:
            raise _error(response)
        try:
            return response.json()
        except ValueError as exc:
            raise ProviderSendError(http_status=response.status_code, code=None, title="answer is not JSON",
                                    details=None) from exc

    def send(self, account_sid: str, auth_token: str, form: Mapping[str, str | list[str]]) -> SendResult:
        """POST Messages.json with the form of sms_payloads.build_form: the new message's sid (SM... / MM...)."""
        answer = self._request("POST", f"{_account_path(account_sid)}/Messages.json", account_sid, auth_token,
                               data=dict(form))
        sid = answer.get("sid") if isinstance(answer, dict) else None
        status = answer.get("status") if isinstance(answer, dict) else None
        return SendResult(provider_message_id=sid if isinstance(sid, str) else None,
                          message_status=status if isinstance(status, str) else None)

    def check_account(self, account_sid: str, auth_token: str) -> dict[str, Any]:
        """GET the account with its own credentials (onboarding): {"sid", "friendly_name", "status", ...};
        ProviderSendError (401, code 20003) when they are wrong."""
        answer = self._request("GET", f"{_account_path(account_sid)}.json", account_sid, auth_token)
        return answer if isinstance(answer, dict) else {}
