"""SES on loopback: receiving (what a receipt rule does) and the outbox of what we sent.

* `POST /local/email/inbound` with a raw RFC 5322 message as the body (optionally `?to=a@x,b@y` for the
  envelope recipients; default: the To and Cc addresses) stores it in the media bucket under inbound-email/ and
  puts SES's receipt notification, wrapped in SNS's envelope, on the `email` queue: exactly what the receipt
  rule, its S3 action and the SNS subscription deliver in AWS. Verdicts are PASS unless `?virus=FAIL`,
  `?spam=FAIL` or `?dmarc=FAIL` (with `&dmarc_policy=REJECT`) say otherwise.
* `GET /local/email/outbox` lists what the sender sent through SES (moto keeps it): source, destinations and the
  raw message.
"""

from __future__ import annotations

import json
import urllib.parse
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from email import message_from_bytes
from email.utils import getaddresses
from typing import Any

import boto3

from infra.local.provision import REGION

INBOUND_PREFIX = "inbound-email/"
Reply = tuple[int, dict[str, str], bytes]


def _json(status: int, body: Any) -> Reply:
    return status, {"Content-Type": "application/json"}, json.dumps(body, ensure_ascii=False).encode()


def notification(*, message_id: str, bucket: str, key: str, recipients: list[str], source: str,
                 verdicts: dict[str, str]) -> dict[str, Any]:
    """SES's receipt notification for an S3 action (the documented `Received` shape)."""
    now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    receipt: dict[str, Any] = {
        "timestamp": now, "processingTimeMillis": 12, "recipients": recipients,
        "spamVerdict": {"status": verdicts.get("spam", "PASS")},
        "virusVerdict": {"status": verdicts.get("virus", "PASS")},
        "spfVerdict": {"status": verdicts.get("spf", "PASS")}, "dkimVerdict": {"status": verdicts.get("dkim", "PASS")},
        "dmarcVerdict": {"status": verdicts.get("dmarc", "PASS")},
        "action": {"type": "S3", "topicArn": f"arn:aws:sns:{REGION}:123456789012:email-received",
                   "bucketName": bucket, "objectKeyPrefix": INBOUND_PREFIX.rstrip("/"), "objectKey": key}}
    if verdicts.get("dmarc_policy"):
        receipt["dmarcPolicy"] = verdicts["dmarc_policy"]
    return {"notificationType": "Received", "receipt": receipt,
            "mail": {"timestamp": now, "source": source, "messageId": message_id, "destination": recipients,
                     "headersTruncated": False}}


def sns_envelope(message: dict[str, Any]) -> dict[str, Any]:
    return {"Type": "Notification", "MessageId": str(uuid.uuid4()),
            "TopicArn": f"arn:aws:sns:{REGION}:123456789012:email-received", "Subject": "Amazon SES Email Receipt "
            "Notification", "Message": json.dumps(message), "Timestamp": message["mail"]["timestamp"],
            "SignatureVersion": "1"}


class EmailEmulator:
    def __init__(self, *, bucket: Callable[[], str], queue_url: Callable[[], str]) -> None:
        self._bucket = bucket
        self._queue_url = queue_url

    def handle(self, method: str, path: str, query: str, body: bytes) -> Reply | None:
        if path == "/local/email/inbound" and method == "POST":
            return self.receive(body, urllib.parse.parse_qs(query))
        if path == "/local/email/outbox" and method == "GET":
            return _json(200, {"messages": self.outbox()})
        return None

    def receive(self, raw: bytes, params: dict[str, list[str]]) -> Reply:
        if not raw.strip():
            return _json(400, {"error": "the body must be a raw email (RFC 5322)"})
        parsed = message_from_bytes(raw)
        given = [a.strip().lower() for v in params.get("to", []) for a in v.split(",") if a.strip()]
        recipients = given or [a.lower() for _, a in getaddresses(parsed.get_all("To", []) + parsed.get_all("Cc", []))
                               if a]
        if not recipients:
            return _json(400, {"error": "no recipients: give ?to= or a To header"})
        message_id = uuid.uuid4().hex  # SES's own id of the received mail, also the S3 object's name
        key = f"{INBOUND_PREFIX}{message_id}"
        boto3.client("s3", region_name=REGION).put_object(Bucket=self._bucket(), Key=key, Body=raw)
        verdicts = {k: v[0].upper() for k, v in params.items()
                    if k in ("spam", "virus", "spf", "dkim", "dmarc", "dmarc_policy") and v}
        source = next((a for _, a in getaddresses(parsed.get_all("From", [])) if a), "")
        body = sns_envelope(notification(message_id=message_id, bucket=self._bucket(), key=key,
                                         recipients=recipients, source=source, verdicts=verdicts))
        boto3.client("sqs", region_name=REGION).send_message(QueueUrl=self._queue_url(), MessageBody=json.dumps(body))
        return _json(202, {"ses_message_id": message_id, "s3_key": key, "recipients": recipients})

    @staticmethod
    def outbox() -> list[dict[str, Any]]:
        """What moto's SES kept of our sends (the moto server runs in this process)."""
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.ses.models import ses_backends

        backend = ses_backends[DEFAULT_ACCOUNT_ID][REGION]
        return [{"id": m.id, "source": m.source, "destinations": list(m.destinations),
                 "raw": m.raw_data if isinstance(m.raw_data, str) else m.raw_data.decode()}
                for m in backend.sent_messages if hasattr(m, "raw_data")]
