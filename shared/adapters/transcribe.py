"""Voice-note transcription with Amazon Transcribe batch jobs (satisfies shared.services.addons.Transcriber).

StartTranscriptionJob reads the audio from s3://{media_bucket}/{s3_key} and writes the transcript JSON to
s3://{s3_bucket}/transcripts/{job name}.json (OutputBucketName + an OutputKey ending in ".json" is the exact
key); GetTranscriptionJob is polled until COMPLETED or FAILED, within `timeout_s`; the transcript is read back
with the S3 client: results.transcripts[0].transcript, and the duration from the last item's end_time.

Batch jobs take several seconds even for a short voice note: run this in an asynchronous worker with a Lambda
timeout above `timeout_s`. Permissions: transcribe:StartTranscriptionJob/GetTranscriptionJob, s3:GetObject on the
media, s3:PutObject and s3:GetObject on `transcripts/` (Transcribe writes with the caller's permissions). Jobs are
not deleted (Transcribe keeps them 90 days); put a lifecycle rule on the `transcripts/` prefix: it is personal
data.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from shared.services.addons import Transcript, TranscriptionFailed

# WhatsApp voice notes are audio/ogg with the Opus codec; Transcribe batch reads them as "ogg".
MEDIA_FORMATS = {
    "audio/ogg": "ogg", "audio/opus": "ogg", "application/ogg": "ogg",
    "audio/mpeg": "mp3", "audio/mp3": "mp3", "audio/mpeg3": "mp3",
    "audio/mp4": "mp4", "video/mp4": "mp4",
    "audio/m4a": "m4a", "audio/x-m4a": "m4a",
    "audio/wav": "wav", "audio/x-wav": "wav", "audio/wave": "wav", "audio/vnd.wave": "wav",
    "audio/amr": "amr", "audio/amr-nb": "amr",
    "audio/flac": "flac", "audio/x-flac": "flac",
    "audio/webm": "webm", "video/webm": "webm",
}
# Bare languages and "auto" map to what Transcribe batch accepts; es-US is Latin-American Spanish.
LANGUAGE_DEFAULTS = {"es": "es-US", "en": "en-US", "pt": "pt-BR"}
# One dialect per language (the documented rule for identification); identification wants ~30 s of speech, so
# prefer passing the tenant's language ("es") for short voice notes.
DEFAULT_LANGUAGE_OPTIONS = ("es-US", "en-US", "pt-BR")
RETRYABLE_CODES = frozenset({"LimitExceededException", "InternalFailureException", "ThrottlingException"})
OUTPUT_PREFIX = "transcripts/"


def media_format(mime_type: str) -> str | None:
    return MEDIA_FORMATS.get(mime_type.split(";")[0].strip().lower())


class TranscribeVoice:
    def __init__(self, client: Any, s3_bucket: str, *, s3_client: Any, media_bucket: str | None = None,
                 poll: float = 2.0, sleep: Callable[[float], None] = time.sleep, timeout_s: float = 120.0,
                 monotonic: Callable[[], float] = time.monotonic,
                 language_options: tuple[str, ...] = DEFAULT_LANGUAGE_OPTIONS,
                 job_name: Callable[[str], str] | None = None) -> None:
        self._client = client
        self._s3 = s3_client
        self._bucket = s3_bucket
        self._media_bucket = media_bucket or s3_bucket
        self._poll = poll
        self._sleep = sleep
        self._timeout_s = timeout_s
        self._monotonic = monotonic
        self._language_options = language_options
        self._job_name = job_name or _job_name

    def transcribe(self, s3_key: str, mime_type: str, language_code: str) -> Transcript:
        fmt = media_format(mime_type)
        if fmt is None:
            raise TranscriptionFailed(f"unsupported audio type {mime_type!r}")
        name = self._job_name(s3_key)
        output_key = f"{OUTPUT_PREFIX}{name}.json"
        request: dict[str, Any] = {
            "TranscriptionJobName": name,
            "Media": {"MediaFileUri": f"s3://{self._media_bucket}/{s3_key}"},
            "MediaFormat": fmt,
            "OutputBucketName": self._bucket,
            "OutputKey": output_key,
        }
        language = _language(language_code)
        if language is None:
            request["IdentifyLanguage"] = True
            request["LanguageOptions"] = list(self._language_options)
        else:
            request["LanguageCode"] = language
        self._aws(self._client.start_transcription_job, **request)
        job = self._wait(name)
        data = self._read(output_key)
        try:
            text = str(data["results"]["transcripts"][0]["transcript"]).strip()
        except (KeyError, IndexError, TypeError) as exc:
            raise TranscriptionFailed("transcript file without results.transcripts") from exc
        return Transcript(text=text, seconds=_duration(data), language_code=job.get("LanguageCode") or language)

    def _wait(self, name: str) -> dict[str, Any]:
        deadline = self._monotonic() + self._timeout_s
        while True:
            self._sleep(self._poll)
            job: dict[str, Any] = self._aws(self._client.get_transcription_job,
                                            TranscriptionJobName=name)["TranscriptionJob"]
            status = job.get("TranscriptionJobStatus")
            if status == "COMPLETED":
                return job
            if status == "FAILED":
                raise TranscriptionFailed(f"transcription job failed: {job.get('FailureReason', 'unknown')}")
            if self._monotonic() + self._poll > deadline:
                raise TranscriptionFailed(f"transcription job {name} not done after {self._timeout_s:g}s",
                                          retryable=True)

    def _read(self, key: str) -> dict[str, Any]:
        body = self._aws(self._s3.get_object, Bucket=self._bucket, Key=key)["Body"].read()
        try:
            data = json.loads(body)
        except ValueError as exc:
            raise TranscriptionFailed("transcript file is not JSON") from exc
        if not isinstance(data, dict):
            raise TranscriptionFailed("transcript file is not a JSON object")
        return data

    @staticmethod
    def _aws(operation: Callable[..., Any], **kwargs: Any) -> Any:
        try:
            return operation(**kwargs)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", "ClientError"))
            raise TranscriptionFailed(f"{code}", retryable=code in RETRYABLE_CODES) from exc
        except BotoCoreError as exc:
            raise TranscriptionFailed(type(exc).__name__, retryable=True) from exc


def _language(code: str) -> str | None:
    code = (code or "").strip()
    if not code or code.lower() in ("auto", "und"):
        return None
    if "-" not in code and "_" not in code:
        return LANGUAGE_DEFAULTS.get(code.lower())
    language, region = code.replace("_", "-").split("-", 1)
    return f"{language.lower()}-{region.upper()}"


def _duration(data: dict[str, Any]) -> float | None:
    ends: list[float] = []
    for item in (data.get("results") or {}).get("items") or ():
        try:
            ends.append(float(item["end_time"]))
        except (KeyError, TypeError, ValueError):
            continue
    return max(ends) if ends else None


def _job_name(s3_key: str) -> str:
    """Unique per call (Transcribe refuses a reused name): a digest of the key plus a random suffix."""
    digest = hashlib.sha256(s3_key.encode()).hexdigest()[:16]
    return f"voice-{digest}-{uuid.uuid4().hex[:12]}"
