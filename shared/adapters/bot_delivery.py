"""What a bot turn reaches outside the conversation: email (SES), SMS (SNS), PDFs (S3), signed links, its own
idle-timeout checks (SQS). Inbound media is read back with shared.adapters.sqs_jobs.S3JobFiles."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from shared.adapters.sqs_jobs import S3JobFiles
from shared.models.events import BotTimeoutCheck
from shared.services.bot_engine import DeliveryFailed

MAX_ATTACHMENT_BYTES = 7 * 1024 * 1024  # SES raw messages are at most 10 MB after encoding


class SesEmailSender:
    def __init__(self, ses: Any, s3: Any, bucket: str, default_sender: str) -> None:
        self._ses, self._s3, self._bucket, self._sender = ses, s3, bucket, default_sender

    def send(self, *, tenant_id: str, to: str, subject: str, body: str, sender: str | None,
             attachments: Sequence[dict[str, Any]] = ()) -> str:
        message = MIMEMultipart()
        message["Subject"] = subject
        message["From"] = sender or self._sender
        message["To"] = to
        message.attach(MIMEText(body, "plain", "utf-8"))
        total = 0
        for index, attachment in enumerate(attachments):
            key = str(attachment.get("s3_key") or "")
            if not key.startswith(f"media/{tenant_id}/") and not key.startswith(f"bots/{tenant_id}/"):
                continue  # only this tenant's own objects can be attached
            try:
                data = self._s3.get_object(Bucket=self._bucket, Key=key)["Body"].read()
            except ClientError as exc:
                raise DeliveryFailed(f"attachment {index + 1} unreadable") from exc
            total += len(data)
            if total > MAX_ATTACHMENT_BYTES:
                raise DeliveryFailed("attachments too large")
            part = MIMEApplication(data)
            mime = str(attachment.get("mime_type") or "application/octet-stream")
            extension = mime.split("/")[-1].split(";")[0] if "/" in mime else "bin"
            name = str(attachment.get("filename") or f"{attachment.get('slot', 'archivo')}-{index + 1}.{extension}")
            part.add_header("Content-Disposition", "attachment", filename=name)
            part.replace_header("Content-Type", mime)
            message.attach(part)
        try:
            sent = self._ses.send_raw_email(Source=sender or self._sender, Destinations=[to],
                                            RawMessage={"Data": message.as_bytes()})
        except (ClientError, BotoCoreError) as exc:
            raise DeliveryFailed(type(exc).__name__) from exc
        return str(sent["MessageId"])


class SnsSmsSender:
    def __init__(self, sns: Any, sender_id: str | None = None) -> None:
        self._sns, self._sender_id = sns, sender_id

    def send(self, *, tenant_id: str, to: str, text: str) -> str:
        attributes: dict[str, Any] = {"AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"}}
        if self._sender_id:
            attributes["AWS.SNS.SMS.SenderID"] = {"DataType": "String", "StringValue": self._sender_id}
        try:
            sent = self._sns.publish(PhoneNumber=to, Message=text, MessageAttributes=attributes)
        except (ClientError, BotoCoreError) as exc:
            raise DeliveryFailed(type(exc).__name__) from exc
        return str(sent["MessageId"])


class S3DocumentStore:
    """Generated PDFs under bots/<tenant>/...; the channel fetches them through a short-lived pre-signed URL."""

    def __init__(self, files: S3JobFiles, *, url_ttl_s: int = 3600) -> None:
        self._files, self._ttl = files, url_ttl_s

    def put_pdf(self, *, tenant_id: str, conversation_id: str, filename: str, data: bytes) -> str:
        key = f"bots/{tenant_id}/documents/{conversation_id}/{int(time.time() * 1000)}-{filename}"
        self._files.put(key, data, content_type="application/pdf")
        return self._files.presign_get(key, expires_s=self._ttl)


class SignedLinkIssuer:
    """Self-service links signed with the platform's link key (Secrets Manager), unique per customer."""

    def __init__(self, secrets: Any, secret_name: str, default_base_url: str) -> None:
        self._secrets, self._name, self._base = secrets, secret_name, default_base_url
        self._key: bytes | None = None

    def key(self) -> bytes:
        if self._key is None:
            value = self._secrets.get_secret_value(SecretId=self._name)["SecretString"]
            try:
                parsed = json.loads(value)
                value = parsed[0] if isinstance(parsed, list) else parsed
            except json.JSONDecodeError:
                pass
            self._key = str(value).encode()
        return self._key

    def issue(self, *, tenant_id: str, contact_id: str, purpose: str, ttl_s: int, base_url: str | None) -> str:
        from shared.services.links import link_url, sign_link

        token = sign_link(secret=self.key(), tenant_id=tenant_id, contact_id=contact_id, purpose=purpose,
                          expires_at=int(time.time()) + ttl_s)
        return link_url(base_url or self._base, token)


class SqsTimeoutScheduler:
    """The bot's own delayed message (SQS DelaySeconds, at most 15 minutes) to end an idle session."""

    def __init__(self, sqs: Any, queue_url: str) -> None:
        self._sqs, self._url = sqs, queue_url

    def schedule(self, check: BotTimeoutCheck, *, delay_s: int) -> None:
        body = {"detail-type": "BotTimeoutCheck", "source": "omnichannel.bot", "detail": check.model_dump()}
        self._sqs.send_message(QueueUrl=self._url, MessageBody=json.dumps(body),
                               DelaySeconds=max(0, min(delay_s, 900)))
