"""Email adapters: Message-ID threading in DynamoDB, raw mail in S3, sending through SES (v2 API).

  message id    pk=T#<tenant>#EMAILID#<channel>#<sha256(Message-ID)>   sk=EMAILID    contact_key
  thread state  pk=T#<tenant>#EMAILTHREAD#<channel>#<contact_key>      sk=STATE      subject, last_message_id,
                                                                                     references, reply_to
(Message-IDs are hashed in the key: they may be up to 998 characters and contain anything printable.)
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, ReadTimeoutError

from shared.adapters.s3 import S3BlobStore
from shared.ports import ProviderSendError
from shared.services.email_channel import EmailThreadState

ID_TTL_DAYS = 400  # a customer answering a year-old email still lands in its thread


def _digest(message_id: str) -> str:
    return hashlib.sha256(message_id.strip().encode()).hexdigest()


class DynamoEmailThreads:
    """Satisfies shared.services.email_channel.EmailThreads."""

    def __init__(self, table: Any) -> None:
        self._table = table

    @staticmethod
    def _id_key(tenant_id: str, channel_id: str, message_id: str) -> dict[str, str]:
        return {"pk": f"T#{tenant_id}#EMAILID#{channel_id}#{_digest(message_id)}", "sk": "EMAILID"}

    @staticmethod
    def _state_key(tenant_id: str, channel_id: str, contact_key: str) -> dict[str, str]:
        return {"pk": f"T#{tenant_id}#EMAILTHREAD#{channel_id}#{contact_key}", "sk": "STATE"}

    def find(self, tenant_id: str, channel_id: str, message_ids: Sequence[str]) -> str | None:
        wanted = list(dict.fromkeys(m for m in message_ids if m))[:50]
        if not wanted:
            return None
        keys = [self._id_key(tenant_id, channel_id, m) for m in wanted]
        found: dict[str, str] = {}
        response = self._table.meta.client.batch_get_item(
            RequestItems={self._table.name: {"Keys": keys, "ConsistentRead": True}})
        for item in response.get("Responses", {}).get(self._table.name, []):
            found[str(item["pk"])] = _plain(item.get("contact_key"))
        for key in keys:  # in the order given: the most specific reference first
            if found.get(key["pk"]):
                return found[key["pk"]]
        return None

    def remember(self, tenant_id: str, channel_id: str, message_ids: Sequence[str], contact_key: str) -> None:
        expires_at = int(time.time()) + ID_TTL_DAYS * 86400
        with self._table.batch_writer(overwrite_by_pkeys=["pk", "sk"]) as batch:
            for message_id in dict.fromkeys(m for m in message_ids if m):
                batch.put_item(Item={**self._id_key(tenant_id, channel_id, message_id), "message_id": message_id,
                                     "contact_key": contact_key, "expires_at": expires_at})

    def get_state(self, tenant_id: str, channel_id: str, contact_key: str) -> EmailThreadState | None:
        item = self._table.get_item(Key=self._state_key(tenant_id, channel_id, contact_key),
                                    ConsistentRead=True).get("Item")
        if not item:
            return None
        return EmailThreadState(subject=str(item.get("subject") or ""), last_message_id=str(item["last_message_id"]),
                                references=tuple(str(r) for r in item.get("references") or []),
                                reply_to=item.get("reply_to") or None)

    def set_state(self, tenant_id: str, channel_id: str, contact_key: str, state: EmailThreadState) -> None:
        item: dict[str, Any] = {**self._state_key(tenant_id, channel_id, contact_key), "subject": state.subject,
                                "last_message_id": state.last_message_id, "references": list(state.references)}
        if state.reply_to:
            item["reply_to"] = state.reply_to
        self._table.put_item(Item=item)


def _plain(value: Any) -> str:
    return str(value) if value else ""


class S3RawEmails:
    """Satisfies shared.services.email_channel.RawEmails: SES's object in its bucket, attachments to the media
    bucket (where every channel's media lives)."""

    def __init__(self, client: Any, media: S3BlobStore) -> None:
        self._client = client
        self._media = media

    def get(self, bucket: str, key: str) -> bytes:
        body: bytes = self._client.get_object(Bucket=bucket, Key=key)["Body"].read()
        return body

    def put_attachment(self, tenant_id: str, key: str, data: bytes, content_type: str) -> None:
        self._media.put(key, data, content_type=content_type, metadata={"tenant_id": tenant_id})


# SES errors: throttling and service errors are retried; a rejected message is permanent.
_RETRYABLE = frozenset({"TooManyRequestsException", "Throttling", "ThrottlingException", "LimitExceededException",
                        "InternalFailure", "ServiceUnavailable"})


class SesRawMailer:
    """Satisfies shared.services.email_channel.EmailSender (SES v2 SendEmail with raw content)."""

    def __init__(self, client: Any, *, configuration_set: str | None = None) -> None:
        self._client = client
        self._configuration_set = configuration_set

    def send_raw(self, from_address: str, destinations: Sequence[str], raw: bytes) -> str:
        request: dict[str, Any] = {"FromEmailAddress": from_address,
                                   "Destination": {"ToAddresses": list(destinations)},
                                   "Content": {"Raw": {"Data": raw}}}
        if self._configuration_set:
            request["ConfigurationSetName"] = self._configuration_set
        try:
            response = self._client.send_email(**request)
        except ReadTimeoutError as exc:
            raise ProviderSendError(http_status=None, code=None, title="SES did not answer in time",
                                    details=str(exc), ambiguous=True) from exc
        except ClientError as exc:
            error = exc.response.get("Error", {})
            code = str(error.get("Code") or "")
            status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 400)
            if code in _RETRYABLE and status < 500:
                status = 429
            raise ProviderSendError(http_status=status, code=None, title=f"SES {code}: {error.get('Message')}",
                                    details=None) from exc
        except BotoCoreError as exc:
            raise ProviderSendError(http_status=None, code=None, title="SES could not be reached",
                                    details=str(exc)) from exc
        return str(response["MessageId"])


class SesIdentities:
    """Satisfies shared.services.platform.EmailIdentities (SES v2 email identities)."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def ensure_domain(self, domain: str) -> tuple[list[str], bool]:
        try:
            response = self._client.create_email_identity(EmailIdentity=domain)
        except self._client.exceptions.AlreadyExistsException:
            response = self._client.get_email_identity(EmailIdentity=domain)
        dkim = response.get("DkimAttributes") or {}
        return [str(t) for t in dkim.get("Tokens") or []], bool(response.get("VerifiedForSendingStatus"))
