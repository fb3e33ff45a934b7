"""Graph API client over httpx (base URL and API version configurable): the WhatsApp Cloud API, and the
Messenger/Instagram Send API and page setup with a Page access token."""

from __future__ import annotations

from typing import Any

import httpx

from shared.errors import MediaTooLarge
from shared.ports import ProviderSendError, SendResult


def retry_after_seconds(response: httpx.Response) -> int | None:
    """The Retry-After header in seconds, when the provider sent one."""
    value = response.headers.get("retry-after")
    return int(value) if value and value.isdigit() else None


def _error(response: httpx.Response) -> ProviderSendError:
    try:
        body = response.json()
    except ValueError:
        body = {}
    err: dict[str, Any] = body["error"] if isinstance(body, dict) and isinstance(body.get("error"), dict) else {}
    data: dict[str, Any] = err["error_data"] if isinstance(err.get("error_data"), dict) else {}
    code = err.get("code") if isinstance(err.get("code"), int) else None
    return ProviderSendError(http_status=response.status_code, code=code,
                             title=err.get("message") or response.reason_phrase, details=data.get("details"),
                             retry_after_s=retry_after_seconds(response))


class GraphWhatsAppClient:
    def __init__(self, *, base_url: str, api_version: str, timeout_s: float,
                 transport: httpx.BaseTransport | None = None) -> None:
        self._base = f"{base_url.rstrip('/')}/{api_version}"
        self._http = httpx.Client(timeout=timeout_s, transport=transport,
                                  headers={"User-Agent": "omnichannel/0.1"})

    def _request(self, method: str, url: str, token: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, url, headers={"Authorization": f"Bearer {token}"}, **kwargs)
        except httpx.ReadTimeout as exc:  # sent, no answer: Meta may have accepted it
            raise ProviderSendError(http_status=None, code=None, title="no answer from Meta in time",
                                    details=str(exc), ambiguous=True) from exc
        except httpx.TimeoutException as exc:  # connect, write or pool timeout: not accepted
            raise ProviderSendError(http_status=None, code=None, title="timeout", details=str(exc)) from exc
        except httpx.TransportError as exc:
            raise ProviderSendError(http_status=None, code=None, title="connection error",
                                    details=str(exc)) from exc
        if response.status_code >= 400:
            raise _error(response)
        return response

    def send(self, phone_number_id: str, access_token: str, payload: dict[str, Any]) -> SendResult:
        response = self._request("POST", f"{self._base}/{phone_number_id}/messages", access_token, json=payload)
        body = response.json()
        messages = body.get("messages") if isinstance(body, dict) else None
        if messages and isinstance(messages, list) and isinstance(messages[0], dict):
            return SendResult(provider_message_id=messages[0].get("id"),
                              message_status=messages[0].get("message_status"))
        return SendResult(provider_message_id=None)

    # -- Messenger and Instagram (Page access token) ----------------------------------------------------
    def send_page(self, access_token: str, body: dict[str, Any]) -> SendResult:
        """POST /me/messages: `{"recipient_id", "message_id"}` (a sender action answers without message_id)."""
        answer = self._request("POST", f"{self._base}/me/messages", access_token, json=body).json()
        mid = answer.get("message_id") if isinstance(answer, dict) else None
        return SendResult(provider_message_id=mid if isinstance(mid, str) else None)

    def page_identity(self, access_token: str) -> dict[str, Any]:
        """GET /me?fields=id,name: whose token this is (a Page's id and name)."""
        answer: dict[str, Any] = self._request("GET", f"{self._base}/me", access_token,
                                               params={"fields": "id,name"}).json()
        return answer

    def subscribe_page(self, page_id: str, access_token: str, fields: list[str]) -> None:
        """POST /{page_id}/subscribed_apps: the app receives these webhook fields for the Page."""
        self._request("POST", f"{self._base}/{page_id}/subscribed_apps", access_token,
                      params={"subscribed_fields": ",".join(fields)})

    def set_messenger_profile(self, access_token: str, body: dict[str, Any], *, platform: str | None = None
                              ) -> None:
        """POST /me/messenger_profile: Get Started button, persistent menu (platform=instagram for Instagram)."""
        self._request("POST", f"{self._base}/me/messenger_profile", access_token, json=body,
                      params={"platform": platform} if platform else None)

    def media_info(self, media_id: str, access_token: str) -> dict[str, Any]:
        info: dict[str, Any] = self._request("GET", f"{self._base}/{media_id}", access_token).json()
        return info

    def download(self, url: str, access_token: str, *, max_bytes: int) -> bytes:
        try:
            with self._http.stream("GET", url, headers={"Authorization": f"Bearer {access_token}"}) as response:
                if response.status_code >= 400:
                    response.read()
                    raise _error(response)
                chunks: list[bytes] = []
                size = 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > max_bytes:
                        raise MediaTooLarge(f"media exceeds {max_bytes} bytes")
                    chunks.append(chunk)
                return b"".join(chunks)
        except httpx.TimeoutException as exc:
            raise ProviderSendError(http_status=None, code=None, title="timeout", details=str(exc)) from exc
        except httpx.TransportError as exc:
            raise ProviderSendError(http_status=None, code=None, title="connection error",
                                    details=str(exc)) from exc


    # -- templates (WhatsApp Business Management API) ----------------------------------------------------
    def list_templates(self, waba_id: str, access_token: str, *, after: str | None = None, limit: int = 100
                       ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of the WABA's templates and the cursor of the next page (None at the end)."""
        params: dict[str, Any] = {"limit": limit, "fields": "id,name,language,status,category,previous_category,"
                                  "components,parameter_format,quality_score,rejected_reason"}
        if after:
            params["after"] = after
        body = self._request("GET", f"{self._base}/{waba_id}/message_templates", access_token, params=params).json()
        data = body.get("data") if isinstance(body, dict) else None
        paging = body.get("paging") if isinstance(body, dict) else None
        cursors = paging.get("cursors") if isinstance(paging, dict) else None
        more = isinstance(paging, dict) and bool(paging.get("next"))
        next_after = cursors.get("after") if isinstance(cursors, dict) and more else None
        return [d for d in data or [] if isinstance(d, dict)], next_after

    def create_template(self, waba_id: str, access_token: str, body: dict[str, Any]) -> dict[str, Any]:
        answer: dict[str, Any] = self._request("POST", f"{self._base}/{waba_id}/message_templates", access_token,
                                               json=body).json()
        return answer

    def delete_template(self, waba_id: str, access_token: str, name: str) -> None:
        self._request("DELETE", f"{self._base}/{waba_id}/message_templates", access_token, params={"name": name})
