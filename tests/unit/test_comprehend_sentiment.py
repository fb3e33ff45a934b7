"""The Amazon Comprehend sentiment adapter over a botocore Stubber: exact requests, response parsing, batching,
per-item errors, UTF-8 truncation and the calls it must not make."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from shared.adapters.comprehend_sentiment import MAX_TEXT_BYTES, ComprehendSentiment, truncate_utf8
from shared.services.sentiment import (
    SentimentAnalyzer,
    SentimentLabel,
    SentimentUnavailable,
    analyze_conversation,
)

POS, NEG, NEU, MIX = (SentimentLabel.POSITIVE, SentimentLabel.NEGATIVE, SentimentLabel.NEUTRAL,
                      SentimentLabel.MIXED)


@pytest.fixture
def stubbed(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[ComprehendSentiment, Stubber]]:
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    client = boto3.client("comprehend", region_name="us-east-1")
    with Stubber(client) as stubber:
        yield ComprehendSentiment(client), stubber
        stubber.assert_no_pending_responses()


def score(positive: float, negative: float, neutral: float, mixed: float) -> dict[str, float]:
    return {"Positive": positive, "Negative": negative, "Neutral": neutral, "Mixed": mixed}


NEGATIVE_SCORE = score(0.02, 0.95, 0.02, 0.01)
POSITIVE_SCORE = score(0.97, 0.01, 0.015, 0.005)


def item(index: int, sentiment: str = "POSITIVE", scores: dict[str, float] | None = None) -> dict[str, Any]:
    return {"Index": index, "Sentiment": sentiment, "SentimentScore": scores or POSITIVE_SCORE}


def test_satisfies_the_port(stubbed: tuple[ComprehendSentiment, Stubber]) -> None:
    analyzer: SentimentAnalyzer = stubbed[0]
    assert analyzer is stubbed[0]


# --- DetectSentiment ------------------------------------------------------------------------------------------

def test_single_text_request_and_parsing(stubbed: tuple[ComprehendSentiment, Stubber]) -> None:
    analyzer, stubber = stubbed
    stubber.add_response("detect_sentiment", {"Sentiment": "NEGATIVE", "SentimentScore": NEGATIVE_SCORE},
                         {"Text": "Pésimo servicio, nunca llegó", "LanguageCode": "es"})
    result = analyzer.analyze("  Pésimo servicio, nunca llegó \n", "es-AR")
    assert result.label == NEG and result.language == "es" and not result.failed
    assert (result.positive, result.negative, result.neutral, result.mixed) == (0.02, 0.95, 0.02, 0.01)
    assert result.score == pytest.approx(-0.93)


def test_language_is_guessed_offline_when_not_given(stubbed: tuple[ComprehendSentiment, Stubber]) -> None:
    analyzer, stubber = stubbed
    stubber.add_response("detect_sentiment", {"Sentiment": "POSITIVE", "SentimentScore": POSITIVE_SCORE},
                         {"Text": "Thank you, the support team was really helpful", "LanguageCode": "en"})
    stubber.add_response("detect_sentiment", {"Sentiment": "MIXED", "SentimentScore": score(0.3, 0.3, 0.1, 0.3)},
                         {"Text": "La atención muy buena, los precios malísimos", "LanguageCode": "es"})
    assert analyzer.analyze("Thank you, the support team was really helpful").language == "en"
    mixed = analyzer.analyze("La atención muy buena, los precios malísimos", None)
    assert mixed.label == MIX and mixed.language == "es"


def test_empty_text_does_not_call_aws(stubbed: tuple[ComprehendSentiment, Stubber]) -> None:
    analyzer, _ = stubbed  # no response queued: any call would raise UnStubbedResponseError
    for text in ("", "   ", "\n\t"):
        result = analyzer.analyze(text, "es")
        assert result.label == NEU and result.neutral == 1.0 and result.score == 0.0 and not result.failed


def test_a_refused_text_is_an_unscored_neutral(stubbed: tuple[ComprehendSentiment, Stubber]) -> None:
    analyzer, stubber = stubbed
    stubber.add_client_error("detect_sentiment", "TextSizeLimitExceededException", "too big",
                             expected_params={"Text": "hola", "LanguageCode": "es"})
    result = analyzer.analyze("hola", "es")
    assert result.label == NEU and result.failed and result.error == "TextSizeLimitExceededException"


@pytest.mark.parametrize(("code", "retryable"), [
    ("ThrottlingException", True), ("InternalServerException", True), ("AccessDeniedException", False),
])
def test_service_failures_raise(stubbed: tuple[ComprehendSentiment, Stubber], code: str, retryable: bool) -> None:
    analyzer, stubber = stubbed
    stubber.add_client_error("detect_sentiment", code, "nope")
    with pytest.raises(SentimentUnavailable, match=code) as caught:
        analyzer.analyze("hola", "es")
    assert caught.value.retryable is retryable


def test_unknown_sentiment_value_falls_back_to_the_highest_score(
        stubbed: tuple[ComprehendSentiment, Stubber]) -> None:
    analyzer, stubber = stubbed
    stubber.add_response("detect_sentiment", {"SentimentScore": NEGATIVE_SCORE})
    assert analyzer.analyze("malo", "es").label == NEG


# --- truncation -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ("a" * 6000, "a" * 5000),
    ("ñ" * 3000, "ñ" * 2500),                    # 2-byte characters: the cut falls between two of them
    ("a" + "€" * 2000, "a" + "€" * 1666),        # 3-byte: 1 + 3 * 1666 = 4999; the 1667th would end at 5002
    ("ab" + "😡" * 1500, "ab" + "😡" * 1249),     # 4-byte: 2 + 4 * 1249 = 4998
    ("short", "short"),
])
def test_truncate_utf8_never_splits_a_character(text: str, expected: str) -> None:
    cut = truncate_utf8(text)
    assert cut == expected
    assert len(cut.encode("utf-8")) <= MAX_TEXT_BYTES and text.startswith(cut)


def test_truncate_utf8_replaces_lone_surrogates() -> None:
    assert truncate_utf8("hola \ud83d") == "hola ?"


def test_long_text_is_sent_cut_at_5000_bytes(stubbed: tuple[ComprehendSentiment, Stubber]) -> None:
    analyzer, stubber = stubbed
    text = "Qué vergüenza! " + "ñ" * 4000
    sent = truncate_utf8(text)
    # "Qué vergüenza! " is 17 bytes (é and ü take two): 17 + 2 * 2491 = 4999, the next "ñ" would end at 5001
    assert sent == "Qué vergüenza! " + "ñ" * 2491 and len(sent.encode("utf-8")) == 4999
    stubber.add_response("detect_sentiment", {"Sentiment": "NEGATIVE", "SentimentScore": NEGATIVE_SCORE},
                         {"Text": sent, "LanguageCode": "es"})
    assert analyzer.analyze(text, "es").label == NEG


def test_batch_texts_are_cut_too(stubbed: tuple[ComprehendSentiment, Stubber]) -> None:
    analyzer, stubber = stubbed
    long_text = "€" * 2000
    stubber.add_response("batch_detect_sentiment", {"ResultList": [item(0), item(1)], "ErrorList": []},
                         {"TextList": ["€" * 1666, "bien"], "LanguageCode": "es"})
    assert [r.label for r in analyzer.analyze_batch([long_text, "bien"], "es")] == [POS, POS]


# --- BatchDetectSentiment -------------------------------------------------------------------------------------

def test_batch_is_chunked_at_25(stubbed: tuple[ComprehendSentiment, Stubber]) -> None:
    analyzer, stubber = stubbed
    texts = [f"mensaje {i}" for i in range(30)]
    stubber.add_response("batch_detect_sentiment",
                         {"ResultList": [item(i, "NEGATIVE", NEGATIVE_SCORE) if i % 2 else item(i) for i in range(25)],
                          "ErrorList": []},
                         {"TextList": texts[:25], "LanguageCode": "es"})
    stubber.add_response("batch_detect_sentiment",
                         {"ResultList": [item(i, "NEUTRAL", score(0.1, 0.1, 0.8, 0.0)) for i in range(5)],
                          "ErrorList": []},
                         {"TextList": texts[25:], "LanguageCode": "es"})
    results = analyzer.analyze_batch(texts, "es")
    assert len(results) == 30
    assert [r.label for r in results[:4]] == [POS, NEG, POS, NEG]
    assert all(r.label == NEU and not r.failed for r in results[25:])


def test_batch_results_are_placed_by_index(stubbed: tuple[ComprehendSentiment, Stubber]) -> None:
    analyzer, stubber = stubbed
    stubber.add_response("batch_detect_sentiment",
                         {"ResultList": [item(2, "NEGATIVE", NEGATIVE_SCORE), item(0), item(1, "MIXED",
                                                                                            score(.3, .3, .1, .3))],
                          "ErrorList": []},
                         {"TextList": ["a", "b", "c"], "LanguageCode": "en"})
    assert [r.label for r in analyzer.analyze_batch(["a", "b", "c"], "en")] == [POS, MIX, NEG]


def test_batch_item_errors_fall_back_to_flagged_neutral(stubbed: tuple[ComprehendSentiment, Stubber]) -> None:
    analyzer, stubber = stubbed
    stubber.add_response(
        "batch_detect_sentiment",
        {"ResultList": [item(0), item(2, "NEGATIVE", NEGATIVE_SCORE)],
         "ErrorList": [{"Index": 1, "ErrorCode": "INTERNAL_SERVER_ERROR", "ErrorMessage": "Unknown error"}]},
        {"TextList": ["Excelente", "???", "Pésimo"], "LanguageCode": "es"})
    good, bad, worse = analyzer.analyze_batch(["Excelente", "???", "Pésimo"], "es")
    assert good.label == POS and not good.failed
    assert bad.label == NEU and bad.failed and bad.error == "INTERNAL_SERVER_ERROR" and bad.score == 0.0
    assert worse.label == NEG


def test_batch_skips_empty_texts_and_keeps_positions(stubbed: tuple[ComprehendSentiment, Stubber]) -> None:
    analyzer, stubber = stubbed
    stubber.add_response("batch_detect_sentiment", {"ResultList": [item(0)], "ErrorList": []},
                         {"TextList": ["Buenísimo"], "LanguageCode": "es"})
    results = analyzer.analyze_batch(["", "Buenísimo", "  "], "es")
    assert [r.label for r in results] == [NEU, POS, NEU] and not any(r.failed for r in results)


def test_batch_of_only_empty_texts_does_not_call_aws(stubbed: tuple[ComprehendSentiment, Stubber]) -> None:
    analyzer, _ = stubbed
    assert [r.label for r in analyzer.analyze_batch(["", " "], "es")] == [NEU, NEU]
    assert analyzer.analyze_batch([], "es") == []


def test_batch_without_language_is_split_by_guessed_language(stubbed: tuple[ComprehendSentiment, Stubber]) -> None:
    analyzer, stubber = stubbed
    texts = ["No funciona la app", "The app doesn't work", "Gracias, excelente", "Thanks, great job"]
    stubber.add_response("batch_detect_sentiment",
                         {"ResultList": [item(0, "NEGATIVE", NEGATIVE_SCORE), item(1)], "ErrorList": []},
                         {"TextList": [texts[0], texts[2]], "LanguageCode": "es"})
    stubber.add_response("batch_detect_sentiment",
                         {"ResultList": [item(0, "NEGATIVE", NEGATIVE_SCORE), item(1)], "ErrorList": []},
                         {"TextList": [texts[1], texts[3]], "LanguageCode": "en"})
    results = analyzer.analyze_batch(texts)
    assert [(r.label, r.language) for r in results] == [(NEG, "es"), (NEG, "en"), (POS, "es"), (POS, "en")]


def test_a_refused_batch_call_leaves_its_texts_unscored(stubbed: tuple[ComprehendSentiment, Stubber]) -> None:
    analyzer, stubber = stubbed
    stubber.add_client_error("batch_detect_sentiment", "InvalidRequestException", "bad",
                             expected_params={"TextList": ["a", "b"], "LanguageCode": "es"})
    results = analyzer.analyze_batch(["a", "b"], "es")
    assert all(r.failed and r.error == "InvalidRequestException" and r.label == NEU for r in results)


def test_batch_throttling_raises(stubbed: tuple[ComprehendSentiment, Stubber]) -> None:
    analyzer, stubber = stubbed
    stubber.add_client_error("batch_detect_sentiment", "ThrottlingException", "slow down")
    with pytest.raises(SentimentUnavailable) as caught:
        analyzer.analyze_batch(["a"], "es")
    assert caught.value.retryable


def test_batch_size_is_validated() -> None:
    with pytest.raises(ValueError, match="batch_size"):
        ComprehendSentiment(object(), batch_size=26)


def test_a_conversation_costs_one_batch_call(stubbed: tuple[ComprehendSentiment, Stubber]) -> None:
    analyzer, stubber = stubbed

    class View:
        def __init__(self, direction: str, text: str) -> None:
            self.direction, self.text = direction, text

    stubber.add_response("batch_detect_sentiment",
                         {"ResultList": [item(0, "NEUTRAL", score(0.05, 0.05, 0.9, 0.0)),
                                         item(1, "NEGATIVE", NEGATIVE_SCORE)], "ErrorList": []},
                         {"TextList": ["Hola, ¿y mi pedido?", "Nunca llegó, qué vergüenza"], "LanguageCode": "es"})
    result = analyze_conversation(analyzer, [View("in", "Hola, ¿y mi pedido?"), View("out", "Ya lo reviso"),
                                             View("in", "Nunca llegó, qué vergüenza")], "es")
    assert result.label == NEG and result.count == 2 and result.most_negative_index == 2
