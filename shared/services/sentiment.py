"""Sentiment of customer messages and of whole conversations, behind the SentimentAnalyzer port.

Adapters: shared/adapters/comprehend_sentiment.py (Amazon Comprehend, production) and
shared/adapters/lexicon_sentiment.py (an offline Spanish/English lexicon for the local stack and tests).

The port is declared here, next to its result types, like the add-on ports in shared/services/addons.py.

- `Sentiment`: one message. Four probabilities (positive, negative, neutral, mixed; they sum to ~1) and
  `score = positive - negative` in [-1, 1], the number aggregation and thresholds work on.
- `conversation_sentiment`: the customer's messages of a conversation (inbound only: agents, bots and system
  messages never count) folded into one label and score, with the trend and the most negative message.
- `SentimentPolicy` / `is_negative`: the thresholds a workflow uses ("escalate a negative conversation").
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal, Protocol

Language = Literal["es", "en"]

NEGATIVE_THRESHOLD = -0.35  # a message or conversation at or below this score is "negative" for workflows
LABEL_THRESHOLD = 0.2  # a conversation whose |score| is below this is NEUTRAL (or MIXED, see below)
POLAR_MESSAGE = 0.35  # a message at or beyond +/- this counts as clearly positive / negative for MIXED
TREND_THRESHOLD = 0.3  # a trend of at least this (either way) is IMPROVING / WORSENING
NEUTRAL_MESSAGE_WEIGHT = 0.25  # the weight of a fully neutral message relative to a fully opinionated one


class SentimentLabel(StrEnum):
    POSITIVE = "POSITIVE"
    NEGATIVE = "NEGATIVE"
    NEUTRAL = "NEUTRAL"
    MIXED = "MIXED"


class SentimentTrend(StrEnum):
    IMPROVING = "improving"
    STABLE = "stable"
    WORSENING = "worsening"


class SentimentUnavailable(Exception):
    """The analyzer could not answer at all (throttled, provider down, denied). Per-text problems never raise:
    they come back as a NEUTRAL `Sentiment` with `error` set. `retryable` says whether trying later may help."""

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable


@dataclass(frozen=True)
class Sentiment:
    """The sentiment of one text. `score` (positive - negative, in [-1, 1]) is derived, never passed.

    `error` is set when the text could not be scored (e.g. one item of a Comprehend batch failed): the result is
    then a NEUTRAL placeholder that aggregation skips.
    """

    label: SentimentLabel
    positive: float
    negative: float
    neutral: float
    mixed: float
    language: str
    error: str | None = None
    score: float = field(init=False)

    def __post_init__(self) -> None:
        for name in ("positive", "negative", "neutral", "mixed"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and -1e-6 <= value <= 1 + 1e-6):
                raise ValueError(f"sentiment {name} must be within 0..1, got {value!r}")
        object.__setattr__(self, "label", SentimentLabel(self.label))
        object.__setattr__(self, "score", max(-1.0, min(1.0, self.positive - self.negative)))

    @classmethod
    def neutral_placeholder(cls, language: str, *, error: str | None = None) -> Sentiment:
        """NEUTRAL with certainty: empty text, or (with `error`) a text the analyzer could not score."""
        return cls(SentimentLabel.NEUTRAL, 0.0, 0.0, 1.0, 0.0, language, error)

    @property
    def failed(self) -> bool:
        return self.error is not None


class SentimentAnalyzer(Protocol):
    def analyze(self, text: str, language: str | None = None) -> Sentiment:
        """The sentiment of one text. `language` is "es", "en" (a BCP-47 tag such as "es-AR" is accepted) or None
        to guess it with `detect_language`. Empty or blank text is NEUTRAL. Raises SentimentUnavailable."""
        ...

    def analyze_batch(self, texts: Sequence[str], language: str | None = None) -> list[Sentiment]:
        """One Sentiment per text, in order; with `language=None` each text's language is guessed on its own."""
        ...


# --- language -------------------------------------------------------------------------------------------------

def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_WORD = re.compile(r"[^\W\d_]+(?:['\u2019][^\W\d_]+)?")
# Frequent function words that exist in only one of the two languages ("a", "no", "me", "he", "son", "has" and
# other words both languages share are left out on purpose).
_ES_WORDS = _words("""
de la que el en y los se del las un por con una su para es al lo como mas más pero sus le ya fue este
porque esta está esto estos estas son entre cuando muy sin sobre también tambien hasta hay donde dónde
quien desde todo nos les ni contra ese eso esa ante ellos mí qué que cual cuál yo otro otra él tanto mucho
nada poco ella estar algo mi mis tú te ti tu tus hola gracias quiero quería queria tengo estoy están
pedido buenas buenos bien cuánto cuanto cómo como puedo pueden necesito hace todavía todavia ustedes usted
vos sos tenés querés podés che aca acá ahí aqui aquí mañana hoy ayer pero nunca
""")
_EN_WORDS = _words("""
the be to of and in that have i it for not on with as you do at this but his by from they we say her she or
an will my one all would there their what so up out if about who get which go is are was were been had
can could did does don't doesn't didn't can't won't i'm it's i've hello hi thanks thank please order your
our how when why where just still yet never any some got want need help hours open today tomorrow
""")
_ES_MARKS = re.compile(r"[ñÑ¿¡áéíóúÁÉÍÓÚ]")


def detect_language(text: str, default: Language = "es") -> Language:
    """Guess Spanish or English from function-word counts (plus Spanish-only marks: ñ, ¿, ¡, accents).

    Cheap and offline: meant for routing a text to the right analyzer language, not for language identification
    in general. A tie (no evidence either way: "ok", "👍") returns `default`, Spanish for our markets.
    """
    es = en = 0
    for word in _WORD.findall(text.lower()):
        word = word.replace("\u2019", "'")
        if word in _ES_WORDS:
            es += 1
        elif word in _EN_WORDS:
            en += 1
    es += min(3, len(_ES_MARKS.findall(text)))
    if es == en:
        return default
    return "es" if es > en else "en"


def normalize_language(language: str | None, text: str = "") -> Language:
    """The analyzer language for `language` ("es", "es-AR", "EN_us", ...); None, "auto", "und" or anything that
    is neither Spanish nor English falls back to `detect_language(text)`."""
    primary = (language or "").strip().replace("_", "-").split("-")[0].lower()
    if primary == "es":
        return "es"
    if primary == "en":
        return "en"
    return detect_language(text)


# --- conversations --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ScoredMessage:
    """One message of a conversation with its sentiment. Only the customer's messages count: `direction` "in"
    and `author` None or "customer" (the contact-center models use author "customer", "bot", "user:<id>", ...)."""

    sentiment: Sentiment
    direction: str | None = "in"
    author: str | None = None

    @property
    def from_customer(self) -> bool:
        return self.direction == "in" and self.author in (None, "customer")


class ConversationMessage(Protocol):
    """What `analyze_conversation` reads from a message (MessageView and the contact-center models have it)."""

    @property
    def direction(self) -> str | None: ...

    @property
    def text(self) -> str | None: ...


@dataclass(frozen=True)
class ConversationSentiment:
    """The customer's sentiment over a conversation.

    `count`: customer messages that were scored. `trend`: mean score of the last third of them minus the mean of
    the first third (in [-2, 2]; 0 with fewer than two). `most_negative_index`: the position, in the sequence that
    was passed in, of the customer message with the lowest score, when some message scored below 0.
    """

    label: SentimentLabel
    score: float
    count: int
    trend: float = 0.0
    trend_direction: SentimentTrend = SentimentTrend.STABLE
    most_negative_index: int | None = None
    most_negative_score: float | None = None
    last_score: float | None = None

    @classmethod
    def empty(cls) -> ConversationSentiment:
        return cls(SentimentLabel.NEUTRAL, 0.0, 0)


def conversation_sentiment(messages: Sequence[ScoredMessage]) -> ConversationSentiment:
    """Fold the customer's messages into one sentiment (messages in chronological order).

    Only customer messages count (see ScoredMessage.from_customer); placeholders of texts that could not be
    scored (`Sentiment.error`) are skipped. With n counted messages s_0..s_{n-1} (oldest first):

        recency_i = 1 + i / (n - 1)                        (1 for the oldest, 2 for the newest; 1 when n = 1)
        opinion_i = 0.25 + 0.75 * (1 - neutral_i)          (a neutral "mi pedido es el 123" weighs a quarter)
        score     = sum(w_i * score_i) / sum(w_i),  w_i = recency_i * opinion_i

    Label: POSITIVE when score >= 0.2, NEGATIVE when score <= -0.2; otherwise MIXED when the customer wrote both a
    clearly positive (>= 0.35) and a clearly negative (<= -0.35) message, else NEUTRAL.
    Trend: k = ceil(n / 3); mean score of the last k messages minus the mean of the first k (0 when n < 2);
    IMPROVING at >= 0.3, WORSENING at <= -0.3, else STABLE.
    """
    return _fold([(index, m.sentiment) for index, m in enumerate(messages)
                  if m.from_customer and not m.sentiment.failed])


def analyze_conversation(analyzer: SentimentAnalyzer, messages: Sequence[ConversationMessage],
                         language: str | None = None) -> ConversationSentiment:
    """Score the customer's texts with one `analyze_batch` call and fold them with `conversation_sentiment`.

    Messages that are not the customer's (direction other than "in", or an `author` attribute other than
    "customer") and messages without text (media without a caption) are not sent to the analyzer. Indices in the
    result refer to `messages`.
    """
    picked: list[tuple[int, str]] = []
    for index, message in enumerate(messages):
        text = (message.text or "").strip()
        author = getattr(message, "author", None)
        if message.direction == "in" and author in (None, "customer") and text:
            picked.append((index, text))
    if not picked:
        return ConversationSentiment.empty()
    sentiments = analyzer.analyze_batch([text for _, text in picked], language)
    return _fold([(index, sentiment) for (index, _), sentiment in zip(picked, sentiments, strict=True)
                  if not sentiment.failed])


def _fold(counted: Sequence[tuple[int, Sentiment]]) -> ConversationSentiment:
    """The aggregate of (position, sentiment) pairs of counted customer messages, oldest first."""
    n = len(counted)
    if n == 0:
        return ConversationSentiment.empty()
    scores = [s.score for _, s in counted]
    weights = [(1 + (i / (n - 1) if n > 1 else 0.0)) * (NEUTRAL_MESSAGE_WEIGHT
                                                          + (1 - NEUTRAL_MESSAGE_WEIGHT) * (1 - s.neutral))
               for i, (_, s) in enumerate(counted)]
    score = sum(w * x for w, x in zip(weights, scores, strict=True)) / sum(weights)

    if score >= LABEL_THRESHOLD:
        label = SentimentLabel.POSITIVE
    elif score <= -LABEL_THRESHOLD:
        label = SentimentLabel.NEGATIVE
    elif max(scores) >= POLAR_MESSAGE and min(scores) <= -POLAR_MESSAGE:
        label = SentimentLabel.MIXED
    else:
        label = SentimentLabel.NEUTRAL

    trend = 0.0
    if n >= 2:
        k = math.ceil(n / 3)
        trend = sum(scores[-k:]) / k - sum(scores[:k]) / k
    if trend >= TREND_THRESHOLD:
        trend_direction = SentimentTrend.IMPROVING
    elif trend <= -TREND_THRESHOLD:
        trend_direction = SentimentTrend.WORSENING
    else:
        trend_direction = SentimentTrend.STABLE

    worst_position = min(range(n), key=lambda i: scores[i])  # the first of equal lows
    worst_index: int | None = None
    worst_score: float | None = None
    if scores[worst_position] < 0:
        worst_index, worst_score = counted[worst_position][0], scores[worst_position]
    return ConversationSentiment(label=label, score=_clamp(score), count=n, trend=trend,
                                 trend_direction=trend_direction, most_negative_index=worst_index,
                                 most_negative_score=worst_score, last_score=scores[-1])


# --- policy ---------------------------------------------------------------------------------------------------

def is_negative(sentiment: Sentiment | ConversationSentiment, threshold: float = NEGATIVE_THRESHOLD) -> bool:
    """True when the score is at or below `threshold` (default -0.35). Unscored placeholders never are."""
    if isinstance(sentiment, Sentiment) and sentiment.failed:
        return False
    return sentiment.score <= threshold


EscalationReason = Literal["negative", "spike", "worsening"]


@dataclass(frozen=True)
class SentimentPolicy:
    """When a conversation's sentiment deserves a person (a workflow condition or a routing rule).

    - negative:  the conversation's score is at or below `negative_threshold`;
    - spike:     one customer message is at or below `spike_threshold` ("ESTAFA 😡😡"), whatever the rest says;
    - worsening: the trend is at or below `worsening_trend` and the latest customer message is negative.
    """

    negative_threshold: float = NEGATIVE_THRESHOLD
    spike_threshold: float | None = -0.75
    worsening_trend: float | None = -0.5
    min_messages: int = 1

    def is_negative(self, sentiment: Sentiment | ConversationSentiment) -> bool:
        return is_negative(sentiment, self.negative_threshold)

    def escalation_reason(self, conversation: ConversationSentiment) -> EscalationReason | None:
        if conversation.count < max(1, self.min_messages):
            return None
        if conversation.score <= self.negative_threshold:
            return "negative"
        if (self.spike_threshold is not None and conversation.most_negative_score is not None
                and conversation.most_negative_score <= self.spike_threshold):
            return "spike"
        if (self.worsening_trend is not None and conversation.trend <= self.worsening_trend
                and conversation.last_score is not None and conversation.last_score <= self.negative_threshold):
            return "worsening"
        return None

    def should_escalate(self, conversation: ConversationSentiment) -> bool:
        return self.escalation_reason(conversation) is not None


def _clamp(value: float) -> float:
    return max(-1.0, min(1.0, value))
