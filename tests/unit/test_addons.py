"""Add-on adapters: Amazon Transcribe voice notes and Bedrock image description, over botocore Stubbers."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import ANY, Stubber

from shared.adapters.bedrock import BedrockImageDescriber
from shared.adapters.transcribe import TranscribeVoice, media_format
from shared.services.addons import (
    Described,
    DescriptionFailed,
    ImageDescriber,
    Transcriber,
    Transcript,
    TranscriptionFailed,
)
from shared.services.generative import TokenUsage

BUCKET = "omni-media-123456789012"
KEY = "media/t-1/ch-1/wamid.HBgM.ogg"
JOB = "voice-test-job"
OUTPUT_KEY = f"transcripts/{JOB}.json"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "bedrock"

TRANSCRIPT_JSON = {
    "jobName": JOB,
    "accountId": "123456789012",
    "status": "COMPLETED",
    "results": {
        "transcripts": [{"transcript": "Hola, quería saber si ya salió mi pedido."}],
        "items": [
            {"id": 0, "type": "pronunciation", "alternatives": [{"confidence": "0.998", "content": "Hola"}],
             "start_time": "0.12", "end_time": "0.58"},
            {"id": 1, "type": "punctuation", "alternatives": [{"confidence": "0.0", "content": ","}]},
            {"id": 2, "type": "pronunciation", "alternatives": [{"confidence": "0.991", "content": "pedido"}],
             "start_time": "2.31", "end_time": "2.87"},
            {"id": 3, "type": "punctuation", "alternatives": [{"confidence": "0.0", "content": "."}]},
        ],
        "audio_segments": [{"id": 0, "transcript": "Hola, quería saber si ya salió mi pedido.",
                            "start_time": "0.12", "end_time": "2.87", "items": [0, 1, 2, 3]}],
    },
}


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)


@pytest.fixture
def clients(aws_env: None) -> Iterator[tuple[Stubber, Stubber, Any, Any]]:
    transcribe = boto3.client("transcribe", region_name="us-east-1")
    s3 = boto3.client("s3", region_name="us-east-1")
    with Stubber(transcribe) as t_stub, Stubber(s3) as s3_stub:
        yield t_stub, s3_stub, transcribe, s3
        t_stub.assert_no_pending_responses()
        s3_stub.assert_no_pending_responses()


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def voice(transcribe: Any, s3: Any, clock: FakeClock, **kwargs: Any) -> TranscribeVoice:
    return TranscribeVoice(transcribe, BUCKET, s3_client=s3, poll=2.0, sleep=clock.sleep, monotonic=clock.monotonic,
                           timeout_s=kwargs.pop("timeout_s", 60.0), job_name=lambda key: JOB, **kwargs)


def job(status: str, **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "TranscriptionJobName": JOB, "TranscriptionJobStatus": status, "LanguageCode": "es-US",
        "MediaFormat": "ogg", "Media": {"MediaFileUri": f"s3://{BUCKET}/{KEY}"},
        "CreationTime": datetime(2025, 5, 3, 12, 0, tzinfo=UTC),
    }
    if status in ("IN_PROGRESS", "COMPLETED"):
        data["StartTime"] = datetime(2025, 5, 3, 12, 0, 1, tzinfo=UTC)
    if status == "COMPLETED":
        data["CompletionTime"] = datetime(2025, 5, 3, 12, 0, 9, tzinfo=UTC)
        data["Transcript"] = {"TranscriptFileUri": f"https://s3.us-east-1.amazonaws.com/{BUCKET}/{OUTPUT_KEY}"}
    data.update(extra)
    return {"TranscriptionJob": data}


def body(data: bytes) -> StreamingBody:
    return StreamingBody(io.BytesIO(data), len(data))


START_PARAMS = {
    "TranscriptionJobName": JOB,
    "Media": {"MediaFileUri": f"s3://{BUCKET}/{KEY}"},
    "MediaFormat": "ogg",
    "OutputBucketName": BUCKET,
    "OutputKey": OUTPUT_KEY,
    "LanguageCode": "es-US",
}


# --- transcription ---------------------------------------------------------------------------------------------

def test_transcribes_a_whatsapp_voice_note(clients: tuple[Stubber, Stubber, Any, Any]) -> None:
    t_stub, s3_stub, transcribe, s3 = clients
    clock = FakeClock()
    t_stub.add_response("start_transcription_job", job("IN_PROGRESS"), START_PARAMS)
    t_stub.add_response("get_transcription_job", job("IN_PROGRESS"), {"TranscriptionJobName": JOB})
    t_stub.add_response("get_transcription_job", job("COMPLETED"), {"TranscriptionJobName": JOB})
    s3_stub.add_response("get_object", {"Body": body(json.dumps(TRANSCRIPT_JSON).encode())},
                         {"Bucket": BUCKET, "Key": OUTPUT_KEY})

    adapter: Transcriber = voice(transcribe, s3, clock)
    result = adapter.transcribe(KEY, "audio/ogg; codecs=opus", "es-US")

    assert result == Transcript(text="Hola, quería saber si ya salió mi pedido.", seconds=2.87, language_code="es-US")
    assert clock.sleeps == [2.0, 2.0]


def test_bare_language_and_auto_identification(clients: tuple[Stubber, Stubber, Any, Any]) -> None:
    t_stub, s3_stub, transcribe, s3 = clients
    clock = FakeClock()
    t_stub.add_response("start_transcription_job", job("IN_PROGRESS"), START_PARAMS)
    t_stub.add_response("get_transcription_job", job("COMPLETED"), {"TranscriptionJobName": JOB})
    s3_stub.add_response("get_object", {"Body": body(json.dumps(TRANSCRIPT_JSON).encode())}, None)
    identify = {k: v for k, v in START_PARAMS.items() if k not in ("LanguageCode", "MediaFormat")}
    t_stub.add_response("start_transcription_job", job("IN_PROGRESS"), {
        **identify, "MediaFormat": "mp3", "IdentifyLanguage": True, "LanguageOptions": ["es-US", "en-US", "pt-BR"]})
    t_stub.add_response("get_transcription_job", job("COMPLETED", LanguageCode="pt-BR", IdentifyLanguage=True),
                        {"TranscriptionJobName": JOB})
    s3_stub.add_response("get_object", {"Body": body(json.dumps(TRANSCRIPT_JSON).encode())}, None)

    adapter = voice(transcribe, s3, clock)
    assert adapter.transcribe(KEY, "audio/ogg", "es").language_code == "es-US"
    assert adapter.transcribe(KEY, "audio/mpeg", "auto").language_code == "pt-BR"


def test_failed_job_raises(clients: tuple[Stubber, Stubber, Any, Any]) -> None:
    t_stub, _, transcribe, s3 = clients
    t_stub.add_response("start_transcription_job", job("IN_PROGRESS"), START_PARAMS)
    t_stub.add_response("get_transcription_job", job(
        "FAILED", FailureReason="The media format that you specified doesn't match the detected media format."),
        {"TranscriptionJobName": JOB})
    with pytest.raises(TranscriptionFailed, match="media format") as caught:
        voice(transcribe, s3, FakeClock()).transcribe(KEY, "audio/ogg", "es-US")
    assert caught.value.retryable is False


def test_slow_job_times_out(clients: tuple[Stubber, Stubber, Any, Any]) -> None:
    t_stub, _, transcribe, s3 = clients
    clock = FakeClock()
    t_stub.add_response("start_transcription_job", job("QUEUED"), START_PARAMS)
    for _ in range(3):
        t_stub.add_response("get_transcription_job", job("IN_PROGRESS"), {"TranscriptionJobName": JOB})
    with pytest.raises(TranscriptionFailed, match="not done after 6s") as caught:
        voice(transcribe, s3, clock, timeout_s=6.0).transcribe(KEY, "audio/ogg", "es-US")
    assert caught.value.retryable is True
    assert clock.now - 1000.0 <= 6.0


def test_service_errors_raise(clients: tuple[Stubber, Stubber, Any, Any]) -> None:
    t_stub, _, transcribe, s3 = clients
    t_stub.add_client_error("start_transcription_job", service_error_code="LimitExceededException",
                            http_status_code=400)
    with pytest.raises(TranscriptionFailed) as caught:
        voice(transcribe, s3, FakeClock()).transcribe(KEY, "audio/ogg", "es-US")
    assert caught.value.retryable is True


def test_unreadable_transcript_raises(clients: tuple[Stubber, Stubber, Any, Any]) -> None:
    t_stub, s3_stub, transcribe, s3 = clients
    t_stub.add_response("start_transcription_job", job("IN_PROGRESS"), START_PARAMS)
    t_stub.add_response("get_transcription_job", job("COMPLETED"), {"TranscriptionJobName": JOB})
    s3_stub.add_response("get_object", {"Body": body(b'{"results": {}}')}, None)
    with pytest.raises(TranscriptionFailed, match="results.transcripts"):
        voice(transcribe, s3, FakeClock()).transcribe(KEY, "audio/ogg", "es-US")


def test_unsupported_audio_is_refused_before_starting_a_job(clients: tuple[Stubber, Stubber, Any, Any]) -> None:
    _, _, transcribe, s3 = clients
    with pytest.raises(TranscriptionFailed, match="unsupported"):
        voice(transcribe, s3, FakeClock()).transcribe(KEY, "audio/aac", "es-US")


@pytest.mark.parametrize(("mime", "fmt"), [
    ("audio/ogg; codecs=opus", "ogg"), ("audio/opus", "ogg"), ("audio/mpeg", "mp3"), ("audio/mp4", "mp4"),
    ("audio/x-m4a", "m4a"), ("audio/wav", "wav"), ("audio/amr", "amr"), ("audio/flac", "flac"),
    ("video/webm", "webm"), ("AUDIO/OGG", "ogg"), ("audio/aac", None), ("image/png", None)])
def test_media_formats(mime: str, fmt: str | None) -> None:
    assert media_format(mime) == fmt


def test_default_job_names_are_unique_and_valid(aws_env: None) -> None:
    from shared.adapters.transcribe import _job_name

    names = {_job_name(KEY) for _ in range(5)}
    assert len(names) == 5
    for name in names:
        assert len(name) <= 200 and all(c.isalnum() or c in "._-" for c in name)


# --- image description -----------------------------------------------------------------------------------------

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64 + b"\xff\xd9"
PROMPT = "Describí la imagen en una o dos frases."
VISION_MODEL = "us.amazon.nova-lite-v1:0"


@pytest.fixture
def bedrock(aws_env: None) -> Iterator[tuple[Stubber, Any]]:
    client = boto3.client("bedrock-runtime", region_name="us-east-1")
    with Stubber(client) as stubber:
        yield stubber, client
        stubber.assert_no_pending_responses()


def test_describes_an_image(bedrock: tuple[Stubber, Any]) -> None:
    stubber, client = bedrock
    response = json.loads((FIXTURES / "converse_image_description.json").read_text(encoding="utf-8"))
    stubber.add_response("converse", response, {
        "modelId": VISION_MODEL,
        "messages": [{"role": "user", "content": [
            {"image": {"format": "jpeg", "source": {"bytes": JPEG}}},
            {"text": PROMPT},
        ]}],
        "inferenceConfig": {"maxTokens": 300, "temperature": 0.2},
    })
    describer: ImageDescriber = BedrockImageDescriber(client, VISION_MODEL)
    result = describer.describe(JPEG, "image/jpeg", PROMPT)
    assert result == Described("Es un comprobante de transferencia bancaria por $ 25.000 del 03/05/2025.",
                               TokenUsage(1604, 29))


@pytest.mark.parametrize(("mime", "fmt"), [("image/png", "png"), ("image/webp", "webp"), ("image/gif", "gif")])
def test_image_formats(bedrock: tuple[Stubber, Any], mime: str, fmt: str) -> None:
    stubber, client = bedrock
    response = json.loads((FIXTURES / "converse_image_description.json").read_text(encoding="utf-8"))
    stubber.add_response("converse", response, {"modelId": VISION_MODEL, "inferenceConfig": ANY, "messages": [
        {"role": "user", "content": [{"image": {"format": fmt, "source": {"bytes": b"img"}}}, {"text": PROMPT}]}]})
    assert BedrockImageDescriber(client, VISION_MODEL).describe(b"img", mime, PROMPT).text


def test_image_errors(bedrock: tuple[Stubber, Any]) -> None:
    stubber, client = bedrock
    describer = BedrockImageDescriber(client, VISION_MODEL)
    with pytest.raises(DescriptionFailed, match="unsupported"):
        describer.describe(JPEG, "image/heic", PROMPT)
    with pytest.raises(DescriptionFailed, match="3.75 MB"):
        describer.describe(b"\x00" * 3_800_000, "image/jpeg", PROMPT)
    stubber.add_client_error("converse", service_error_code="ThrottlingException", http_status_code=429)
    with pytest.raises(DescriptionFailed) as caught:
        describer.describe(JPEG, "image/jpeg", PROMPT)
    assert caught.value.retryable is True
    refused = json.loads((FIXTURES / "converse_guardrail_intervened.json").read_text(encoding="utf-8"))
    stubber.add_response("converse", refused, None)
    with pytest.raises(DescriptionFailed, match="refused"):
        describer.describe(JPEG, "image/jpeg", PROMPT)
