"""Amazon Comprehend sentiment (satisfies shared.services.sentiment.SentimentAnalyzer).

API shapes (Comprehend 2017-11-27, as in botocore's model and the API reference):
    DetectSentiment       {Text, LanguageCode} -> {Sentiment, SentimentScore: {Positive, Negative, Neutral, Mixed}}
    BatchDetectSentiment  {TextList: 1..25 texts, LanguageCode}
                          -> {ResultList: [{Index, Sentiment, SentimentScore}], ErrorList: [{Index, ErrorCode,
                              ErrorMessage}]}   (both lists sorted by Index, the position in TextList)
Sentiment is POSITIVE | NEGATIVE | NEUTRAL | MIXED; each text is a UTF-8 string of at most 5 KB (older references
word it as "fewer than 5,000 bytes"). Some SDK references also note that real-time sentiment looks only at the
first 500 characters of a text, so long texts lose little by being cut.

What this adapter adds:
- language: "es" or "en" (a BCP-47 tag such as "es-AR" is reduced to it); with None it is guessed offline with
  shared.services.sentiment.detect_language, never with DetectDominantLanguage (a paid call per text). A batch
  without a language is split by guessed language: one BatchDetectSentiment call per language and 25 texts;
- text is stripped and cut to MAX_TEXT_BYTES of UTF-8 without splitting a character; empty or blank text is
  NEUTRAL without calling AWS;
- a text Comprehend refuses (an ErrorList item, or TextSizeLimitExceeded / UnsupportedLanguage / InvalidRequest
  on a single call) becomes a NEUTRAL placeholder with `error` set to the error code: aggregation skips it;
- anything else (throttling, internal errors, access denied, network) raises SentimentUnavailable, retryable
  for throttling, internal errors and network failures.

Permissions: comprehend:DetectSentiment and comprehend:BatchDetectSentiment (no resource-level permissions: the
IAM statement's resource is "*").
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from shared.services.sentiment import Sentiment, SentimentLabel, SentimentUnavailable, normalize_language

MAX_BATCH = 25
MAX_TEXT_BYTES = 5000
TEXT_ERRORS = frozenset({"TextSizeLimitExceededException", "UnsupportedLanguageException",
                         "InvalidRequestException"})
RETRYABLE_CODES = frozenset({"ThrottlingException", "TooManyRequestsException", "InternalServerException",
                             "ServiceUnavailableException", "RequestTimeout", "RequestTimeoutException"})


def truncate_utf8(text: str, max_bytes: int = MAX_TEXT_BYTES) -> str:
    """`text` cut to at most `max_bytes` of UTF-8, never in the middle of a character. Unpaired surrogates (which
    UTF-8 cannot carry) become "?"."""
    data = text.encode("utf-8", errors="replace")
    if len(data) <= max_bytes:
        return data.decode("utf-8")
    return data[:max_bytes].decode("utf-8", errors="ignore")  # drops only the partial character at the cut


class ComprehendSentiment:
    def __init__(self, client: Any, *, max_text_bytes: int = MAX_TEXT_BYTES, batch_size: int = MAX_BATCH) -> None:
        if not 1 <= batch_size <= MAX_BATCH:
            raise ValueError(f"batch_size must be 1..{MAX_BATCH}")
        self._client = client
        self._max_text_bytes = max_text_bytes
        self._batch_size = batch_size

    def analyze(self, text: str, language: str | None = None) -> Sentiment:
        prepared = self._prepare(text)
        lang = normalize_language(language, prepared)
        if not prepared:
            return Sentiment.neutral_placeholder(lang)
        try:
            response = self._call(self._client.detect_sentiment, Text=prepared, LanguageCode=lang)
        except _TextRefused as refused:
            return Sentiment.neutral_placeholder(lang, error=refused.code)
        return _sentiment(response, lang)

    def analyze_batch(self, texts: Sequence[str], language: str | None = None) -> list[Sentiment]:
        prepared = [self._prepare(text) for text in texts]
        results: list[Sentiment | None] = [None] * len(prepared)
        groups: dict[str, list[int]] = {}
        for index, text in enumerate(prepared):
            lang = normalize_language(language, text)
            if text:
                groups.setdefault(lang, []).append(index)
            else:
                results[index] = Sentiment.neutral_placeholder(lang)
        for group_lang, indices in groups.items():
            for start in range(0, len(indices), self._batch_size):
                chunk = indices[start:start + self._batch_size]
                for index, sentiment in zip(chunk, self._batch(group_lang, [prepared[i] for i in chunk]), strict=True):
                    results[index] = sentiment
        return [r if r is not None else Sentiment.neutral_placeholder("es", error="MissingResult") for r in results]

    def _batch(self, lang: str, texts: list[str]) -> list[Sentiment]:
        try:
            response = self._call(self._client.batch_detect_sentiment, TextList=texts, LanguageCode=lang)
        except _TextRefused as refused:  # the whole call was refused: every text of it is unscored
            return [Sentiment.neutral_placeholder(lang, error=refused.code) for _ in texts]
        out: list[Sentiment] = [Sentiment.neutral_placeholder(lang, error="MissingResult") for _ in texts]
        for item in response.get("ResultList") or ():
            index = item.get("Index")
            if isinstance(index, int) and 0 <= index < len(texts):
                out[index] = _sentiment(item, lang)
        for error in response.get("ErrorList") or ():
            index = error.get("Index")
            if isinstance(index, int) and 0 <= index < len(texts):
                out[index] = Sentiment.neutral_placeholder(lang, error=str(error.get("ErrorCode") or "Error"))
        return out

    def _prepare(self, text: str) -> str:
        return truncate_utf8((text or "").strip(), self._max_text_bytes).strip()

    @staticmethod
    def _call(operation: Callable[..., Any], **kwargs: Any) -> dict[str, Any]:
        try:
            response: dict[str, Any] = operation(**kwargs)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", "ClientError"))
            if code in TEXT_ERRORS:
                raise _TextRefused(code) from exc
            raise SentimentUnavailable(code, retryable=code in RETRYABLE_CODES) from exc
        except BotoCoreError as exc:
            raise SentimentUnavailable(type(exc).__name__, retryable=True) from exc
        return response


class _TextRefused(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


_SCORE_KEYS = (("Positive", SentimentLabel.POSITIVE), ("Negative", SentimentLabel.NEGATIVE),
               ("Neutral", SentimentLabel.NEUTRAL), ("Mixed", SentimentLabel.MIXED))


def _sentiment(item: dict[str, Any], lang: str) -> Sentiment:
    raw = item.get("SentimentScore") or {}
    scores = {label: _unit(raw.get(key)) for key, label in _SCORE_KEYS}
    try:
        label = SentimentLabel(str(item.get("Sentiment")))
    except ValueError:  # not one of the four: trust the scores
        label = max(scores, key=lambda k: scores[k])
    return Sentiment(label, scores[SentimentLabel.POSITIVE], scores[SentimentLabel.NEGATIVE],
                     scores[SentimentLabel.NEUTRAL], scores[SentimentLabel.MIXED], lang)


def _unit(value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return 0.0
    return min(1.0, max(0.0, number)) if number == number else 0.0  # NaN -> 0
