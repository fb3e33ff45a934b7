"""Add-on ports of the generative bot: voice-note transcription and image description.

Services depend on these Protocols; the AWS implementations live in shared/adapters/transcribe.py
(Amazon Transcribe batch jobs) and shared/adapters/bedrock.py (BedrockImageDescriber, a Converse call with an
image content block).

Typical use: a voice note's transcript becomes the customer's `user_text` for GenerativeAgent.run_turn; an
image's description is added to it ("[imagen: ...]") so the model can answer about it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from shared.services.generative import TokenUsage

DEFAULT_IMAGE_PROMPT = (
    "Describí en una o dos frases, en español, lo que muestra esta imagen que envió un cliente a la empresa. "
    "Si tiene texto legible (un comprobante, un error, una etiqueta), transcribí lo importante. "
    "No identifiques personas.")


@dataclass(frozen=True)
class Transcript:
    text: str
    seconds: float | None = None       # media duration, when the transcript tells it
    language_code: str | None = None   # e.g. "es-US", identified or requested


@dataclass(frozen=True)
class Described:
    text: str
    usage: TokenUsage


class AddonError(Exception):
    """An add-on could not produce its output. `retryable` says whether trying again later may help."""

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable


class TranscriptionFailed(AddonError):
    """The voice note could not be transcribed (unsupported format, job failed, timed out)."""


class DescriptionFailed(AddonError):
    """The image could not be described (unsupported format, too large, refused, provider error)."""


class Transcriber(Protocol):
    def transcribe(self, s3_key: str, mime_type: str, language_code: str) -> Transcript:
        """Transcribe the audio stored at `s3_key`. `language_code` is a BCP-47 code ("es-US"), a bare
        language ("es") or "auto"/"" to let the service identify it. Raises TranscriptionFailed."""
        ...


class ImageDescriber(Protocol):
    def describe(self, image: bytes, mime_type: str, prompt: str) -> Described:
        """Describe the image following `prompt`. Raises DescriptionFailed."""
        ...
