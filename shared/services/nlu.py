"""Offline NLU for the bot engine: keyword triggers, an intent classifier trained from example phrases, and a
knowledge matrix (question variants -> answer) answered the same way. Spanish first, English second.

Pure Python and small on purpose: it runs inside the bot-turn Lambda, with no model download and no numpy.
The caller builds a `KeywordMatcher`, `IntentClassifier` or `KnowledgeMatrix` once per bot version and caches it.

How the classifier works (and why):
- Each phrase becomes two TF-IDF blocks: stemmed content words plus word bigrams (meaning, word order), and
  character 3-5-grams of the content words (typos, slang spellings, inflections the stemmer misses). Each block is
  normalized on its own and weighted, so neither drowns the other whatever the phrase length.
- Query words unknown to the bot and within a typo of a known word (the keyword rule below) are corrected first.
- Features the bot never saw still count in the query's norm: a sentence made mostly of unknown words cannot look
  similar to anything, which is what sends "¿cuál es la capital de Francia?" to the fallback.
- Feature weights are IDF times how concentrated the feature is on few labels: a word every intent uses ("quiero",
  "necesito") weighs half as much as one only a single intent uses.
- A label's similarity blends the best matching example (nearest neighbour: one close paraphrase is enough) with
  the label centroid (what the label's examples share); a logistic curve turns it into a confidence in [0, 1].

`DEFAULT_THRESHOLD`, `DEFAULT_MARGIN` and the calibration curve were tuned on the *training* phrases only
(`tests/nlu/train_*.json`, never the held-out sets), by `bench.nlu_bench.tune()`: leave-one-out over the examples
gives in-scope scores, and leave-one-intent-out (train without an intent, score its examples) stands in for
out-of-scope messages, which is harder than real out-of-scope traffic since the left-out intents share the
domain's vocabulary. The threshold maximizes the mean of "in-scope matched correctly" and "left-out intent
rejected"; the margin is the one that, on the same leave-one-out runs, trades the fewest correct matches for
the most avoided wrong ones.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from shared.services.text_norm import FUNCTION_WORDS, language_of, squeeze, stem, words

DEFAULT_THRESHOLD = 0.34
DEFAULT_MARGIN = 0.05

# Model constants, chosen on the same leave-one-out runs (bench.nlu_bench.compare(): the optimum is flat, these sit
# in its middle); the calibration curve is fitted by bench.nlu_bench.tune() with the threshold and margin.
WORD_BLOCK_WEIGHT = 0.5  # share of the word block (vs character n-grams) in a cosine similarity
NEIGHBOUR_WEIGHT = 0.2  # share of the best example (vs the label centroid) in a label's similarity
CONCENTRATION_FLOOR = 0.5  # weight kept by a feature spread evenly over all labels (see _feature_weights)
UNSEEN_CONCENTRATION = 0.5  # concentration assumed for a feature training never saw
CALIBRATION_SLOPE = 16.05  # confidence = 1 / (1 + exp(-slope * (similarity - midpoint)))
CALIBRATION_MIDPOINT = 0.194

_CHAR_NGRAMS = (3, 4, 5)
_LONGEST_WORD = 30
_NUMBER = "#"  # every number is one word: "50 mil" and "2 millones" share it, no digit n-grams


# --- edit distance and typo look-up -------------------------------------------------------------------------------

def damerau_levenshtein(a: str, b: str) -> int:
    """Edit distance where inserting, deleting or replacing a letter, or swapping two adjacent ones, costs 1.

    This is the optimal-string-alignment variant (a swapped pair is not edited again), the usual one for typos.
    """
    if a == b:
        return 0
    if not a or not b:
        return len(a) or len(b)
    before: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            best = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                best = min(best, before[j - 2] + 1)
            current[j] = best
        before, previous = previous, current
    return previous[-1]


def typo_budget(length: int) -> int:
    """Typos tolerated in a word of this length: none up to 4 letters ("no" is not "nota", "duda" not "deuda"),
    one from 5, two from 9; none past 30 letters (a pasted link or a key mash, not a word: this also bounds the
    cost of a look-up, which grows with the square of the length)."""
    if length < 5 or length > _LONGEST_WORD:
        return 0
    return 1 if length < 9 else 2


def _deletes(word: str, depth: int) -> set[str]:
    found = {word}
    frontier = {word}
    for _ in range(depth):
        frontier = {w[:i] + w[i + 1:] for w in frontier for i in range(len(w))}
        found |= frontier
    return found


class _TypoIndex:
    """Symmetric-delete look-up (as in SymSpell): two words within edit distance d share a string obtained by
    deleting at most d letters from each, so candidates come from dictionary hits instead of comparing every
    pair. The budget is that of the shorter word, so a 4-letter word never matches a 5-letter one by typo."""

    def __init__(self, vocabulary: Iterable[str]) -> None:
        self._by_delete: dict[str, set[str]] = {}
        for word in vocabulary:
            for variant in _deletes(word, typo_budget(len(word))):
                self._by_delete.setdefault(variant, set()).add(word)

    def near(self, word: str) -> list[tuple[int, str]]:
        """(distance, indexed word) pairs within budget, closest first; the word itself (distance 0) included."""
        if typo_budget(len(word)) == 0:
            return []
        candidates: set[str] = set()
        for variant in _deletes(word, typo_budget(len(word))):
            candidates |= self._by_delete.get(variant, set())
        found = []
        for candidate in candidates:
            budget = typo_budget(min(len(word), len(candidate)))
            if abs(len(word) - len(candidate)) <= budget:
                distance = damerau_levenshtein(word, candidate)
                if distance <= budget:
                    found.append((distance, candidate))
        return sorted(found)


# --- keyword triggers -----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class KeywordHit:
    label: str
    keyword: str  # as declared by the bot builder
    fuzzy: bool  # True when at least one word matched only through a typo


@dataclass(frozen=True)
class _Keyword:
    label: str
    phrase: str
    words: tuple[str, ...]
    order: int


def _sequences(mapping: Mapping[str, Sequence[str]], what: str) -> list[tuple[str, list[str]]]:
    """The mapping's items, refusing a bare string where a list was meant ({"humano": "asesor"} would otherwise
    be read as the keywords "a", "s", "e", ...)."""
    items = []
    for label, phrases in mapping.items():
        if isinstance(phrases, str):
            raise TypeError(f"{what} for {label!r} must be a list of phrases, not a string")
        items.append((label, list(phrases)))
    return items


class KeywordMatcher:
    """Label -> keyword phrases; `match` finds the best keyword occurring in a message.

    Comparison is on folded words (case, accents, punctuation, repeated letters). A keyword word matches a message
    word when the two are equal, share a stem (singular/plural, gender, verb endings) or, for words of 5+ letters,
    are within `typo_budget` edits (fuzzy). Keywords of 3 letters or fewer ("si", "no", "1") only match exactly.
    A phrase matches as a contiguous run of whole words. Precedence: exact over fuzzy, then more words, then
    longer text, then the label and keyword declared first.
    """

    def __init__(self, keywords: Mapping[str, Sequence[str]], language: str = "es") -> None:
        self._language = language_of(language)
        self._keywords: list[_Keyword] = []
        for label, phrases in _sequences(keywords, "keywords"):
            for phrase in phrases:
                keys = tuple(squeeze(w) for w in words(phrase))
                if not keys:
                    raise ValueError(f"keyword {phrase!r} of {label!r} has no letters or digits")
                self._keywords.append(_Keyword(label, phrase, keys, len(self._keywords)))
        # Words of 3 letters or fewer are left out of both indexes: they can only match exactly.
        long_words = {w for k in self._keywords for w in k.words if len(w) > 3}
        self._by_stem: dict[str, set[str]] = {}
        for word in long_words:
            self._by_stem.setdefault(stem(word, self._language), set()).add(word)
        self._surface_typos = _TypoIndex(long_words)
        self._stem_typos = _TypoIndex(self._by_stem)  # "prestmos" is two edits from "prestamo", one stem from it

    def _keyword_words(self, word: str) -> dict[str, bool]:
        """Keyword words this message word stands for -> whether only by typo."""
        found = {word: False}
        if len(word) >= 3:
            for keyword_word in self._by_stem.get(stem(word, self._language), ()):
                found[keyword_word] = False
        for _, keyword_word in self._surface_typos.near(word):
            found.setdefault(keyword_word, True)
        for _, keyword_stem in self._stem_typos.near(stem(word, self._language)):
            for keyword_word in self._by_stem[keyword_stem]:
                if typo_budget(min(len(word), len(keyword_word))):
                    found.setdefault(keyword_word, True)
        return found

    def match(self, text: str) -> KeywordHit | None:
        message = [squeeze(w) for w in words(text)]
        if not message:
            return None
        cache: dict[str, dict[str, bool]] = {}
        at = [cache[w] if w in cache else cache.setdefault(w, self._keyword_words(w)) for w in message]
        best: tuple[bool, int, int, int] | None = None
        hit: KeywordHit | None = None
        for keyword in self._keywords:
            size = len(keyword.words)
            for start in range(len(message) - size + 1):
                fuzzy = False
                for offset, keyword_word in enumerate(keyword.words):
                    matched = at[start + offset].get(keyword_word)
                    if matched is None:
                        break
                    fuzzy = fuzzy or matched
                else:
                    rank = (fuzzy, -size, -sum(map(len, keyword.words)), keyword.order)
                    if best is None or rank < best:
                        best, hit = rank, KeywordHit(keyword.label, keyword.phrase, fuzzy)
                    if not fuzzy:
                        break
        return hit


# --- intent classifier ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class IntentScore:
    label: str
    score: float  # confidence in [0, 1]


Vector = dict[str, float]


def _content_words(text: str, language: str) -> list[str]:
    """Folded, squeezed words without grammar words; numbers become one token."""
    drop = FUNCTION_WORDS[language]
    out = []
    for word in words(text):
        key = squeeze(word)
        if word in drop or key in drop:
            continue
        out.append(_NUMBER if word.isdigit() else key)
    return out


def _counts(content: Sequence[str], language: str) -> tuple[dict[str, int], dict[str, int]]:
    """Raw term counts of the word block (stems, stem bigrams) and the character block (n-grams)."""
    word_counts: dict[str, int] = {}
    char_counts: dict[str, int] = {}
    stems = [w if w == _NUMBER else stem(w, language) for w in content]
    for term in stems:
        word_counts["w " + term] = word_counts.get("w " + term, 0) + 1
    for first, second in zip(stems, stems[1:], strict=False):
        key = f"b {first} {second}"
        word_counts[key] = word_counts.get(key, 0) + 1
    for word in content:
        if word == _NUMBER:
            continue
        padded = f" {word} "
        for n in _CHAR_NGRAMS:
            for i in range(len(padded) - n + 1):
                gram = padded[i:i + n]
                char_counts[gram] = char_counts.get(gram, 0) + 1
    return word_counts, char_counts


def _weigh(blocks: tuple[dict[str, int], dict[str, int]], weights: Mapping[str, float], unseen: float) -> Vector:
    """Sublinear TF times feature weight per block, each block scaled to norm sqrt(its share): a dot product of two
    such vectors is the weighted mean of the two blocks' cosines. Unseen features keep their weight in the norm."""
    vector: Vector = {}
    for counts, share in zip(blocks, (WORD_BLOCK_WEIGHT, 1.0 - WORD_BLOCK_WEIGHT), strict=True):
        weighted = {f: (1.0 + math.log(c)) * weights.get(f, unseen) for f, c in counts.items()}
        norm = math.sqrt(sum(v * v for v in weighted.values()))
        if norm:
            scale = math.sqrt(share) / norm
            vector.update((f, v * scale) for f, v in weighted.items())
    return vector


def _logistic(similarity: float) -> float:
    return 1.0 / (1.0 + math.exp(-CALIBRATION_SLOPE * (similarity - CALIBRATION_MIDPOINT)))


def _feature_weights(documents: Sequence[tuple[int, Sequence[str]]], n_labels: int) -> tuple[dict[str, float], float]:
    """IDF times label concentration, per feature; and the weight of a feature never seen in training.

    Concentration is 1 minus the normalized entropy of the feature's spread over labels (per-label rates, so a big
    label does not dominate): "prestamo" (one label) keeps its weight, "quiero" (every label) keeps
    `CONCENTRATION_FLOOR` of it. So "quiero un crédito" leans less to the card intent, whose examples say "quiero
    una tarjeta de crédito", through the request verb they share. An unseen feature counts as half concentrated.
    """
    label_sizes = [0] * n_labels
    per_label: dict[str, list[int]] = {}
    for label_index, features in documents:
        label_sizes[label_index] += 1
        for feature in features:
            per_label.setdefault(feature, [0] * n_labels)[label_index] += 1
    total = len(documents)
    log_labels = math.log(sum(1 for size in label_sizes if size))
    weights = {}
    for feature, hits in per_label.items():
        idf = math.log((1 + total) / (1 + sum(hits))) + 1.0
        rates = [h / n for h, n in zip(hits, label_sizes, strict=True) if h]
        mass = sum(rates)
        entropy = -sum(r / mass * math.log(r / mass) for r in rates)
        concentration = 1.0 - entropy / log_labels if log_labels else 1.0
        weights[feature] = idf * (CONCENTRATION_FLOOR + (1.0 - CONCENTRATION_FLOOR) * concentration)
    unseen = (math.log(1 + total) + 1.0) * (CONCENTRATION_FLOOR + (1.0 - CONCENTRATION_FLOOR) * UNSEEN_CONCENTRATION)
    return weights, unseen


class IntentClassifier:
    """Label -> example phrases; `classify` ranks labels by calibrated confidence. Build with `train`."""

    def __init__(self, *, language: str, labels: tuple[str, ...], weights: dict[str, float], unseen_weight: float,
                 example_labels: list[int], postings: dict[str, list[tuple[int, float]]],
                 centroid_postings: dict[str, list[tuple[int, float]]], vocabulary: dict[str, int]) -> None:
        self._language = language
        self._labels = labels
        self._weights = weights
        self._unseen_weight = unseen_weight
        self._example_labels = example_labels  # example number -> label index
        self._postings = postings  # feature -> (example number, weight)
        self._centroid_postings = centroid_postings  # feature -> (label index, weight)
        self._vocabulary = vocabulary  # content word -> number of examples holding it
        self._typos = _TypoIndex(vocabulary)

    @property
    def labels(self) -> tuple[str, ...]:
        return self._labels

    @classmethod
    def train(cls, examples: Mapping[str, Sequence[str]], language: str = "es") -> IntentClassifier:
        """Fit on label -> example phrases. Examples with no content word (only emoji, or only grammar words) are
        skipped; a label left with none never scores. Raises ValueError when nothing usable remains."""
        lang = language_of(language)
        items = _sequences(examples, "examples")
        labels = tuple(label for label, _ in items)
        documents: list[tuple[int, list[str]]] = []
        for index, (_, phrases) in enumerate(items):
            for phrase in phrases:
                content = _content_words(phrase, lang)
                if content:
                    documents.append((index, content))
        if not documents:
            raise ValueError("no example phrase with a content word to learn from")
        counted = [_counts(content, lang) for _, content in documents]
        weights, unseen_weight = _feature_weights(
            [(label_index, [*word_counts, *char_counts])
             for (label_index, _), (word_counts, char_counts) in zip(documents, counted, strict=True)], len(labels))
        vocabulary: dict[str, int] = {}
        for _, content in documents:
            for word in set(content) - {_NUMBER}:
                vocabulary[word] = vocabulary.get(word, 0) + 1
        postings: dict[str, list[tuple[int, float]]] = {}
        sums: list[Vector] = [{} for _ in labels]
        for number, ((label_index, _), blocks) in enumerate(zip(documents, counted, strict=True)):
            label_sum = sums[label_index]
            for feature, weight in _weigh(blocks, weights, unseen_weight).items():
                postings.setdefault(feature, []).append((number, weight))
                label_sum[feature] = label_sum.get(feature, 0.0) + weight
        centroid_postings: dict[str, list[tuple[int, float]]] = {}
        for label_index, label_sum in enumerate(sums):
            norm = math.sqrt(sum(v * v for v in label_sum.values()))
            for feature, weight in label_sum.items():
                centroid_postings.setdefault(feature, []).append((label_index, weight / norm))
        return cls(language=lang, labels=labels, weights=weights, unseen_weight=unseen_weight,
                   example_labels=[label_index for label_index, _ in documents], postings=postings,
                   centroid_postings=centroid_postings, vocabulary=vocabulary)

    def _correct(self, content: list[str]) -> list[str]:
        """Replace words the bot never saw by the closest known word within the typo budget (ties: the word in
        more examples, then alphabetical, so the result never depends on set order)."""
        fixed: dict[str, str] = {}
        for word in set(content) - self._vocabulary.keys():
            near = self._typos.near(word)
            if near:
                best = near[0][0]
                fixed[word] = min((w for d, w in near if d == best), key=lambda w: (-self._vocabulary[w], w))
        return [fixed.get(word, word) for word in content]

    def similarities(self, text: str) -> list[IntentScore]:
        """Uncalibrated similarity per label, in [0, 1], highest first: for tuning and diagnostics."""
        content = self._correct(_content_words(text, self._language))
        query = _weigh(_counts(content, self._language), self._weights, self._unseen_weight)
        per_example = [0.0] * len(self._example_labels)
        for feature, weight in query.items():
            for number, example_weight in self._postings.get(feature, ()):
                per_example[number] += weight * example_weight
        nearest = [0.0] * len(self._labels)
        to_centroid = [0.0] * len(self._labels)
        for feature, weight in query.items():
            for label_index, centroid_weight in self._centroid_postings.get(feature, ()):
                to_centroid[label_index] += weight * centroid_weight
        for number, similarity in enumerate(per_example):
            label_index = self._example_labels[number]
            if similarity > nearest[label_index]:
                nearest[label_index] = similarity
        scores = []
        for label_index, label in enumerate(self._labels):
            blended = NEIGHBOUR_WEIGHT * nearest[label_index] + (1.0 - NEIGHBOUR_WEIGHT) * to_centroid[label_index]
            scores.append(IntentScore(label, min(1.0, max(0.0, blended))))
        return sorted(scores, key=lambda s: -s.score)

    def classify(self, text: str, top: int = 3) -> list[IntentScore]:
        """The `top` labels by confidence in [0, 1], highest first (ties keep declaration order)."""
        if top <= 0:
            return []
        return [IntentScore(s.label, _logistic(s.score)) for s in self.similarities(text)[:top]]


# --- decision -------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Decision:
    kind: Literal["match", "clarify", "fallback"]
    label: str | None  # set only for "match"
    candidates: tuple[IntentScore, ...]  # match: the winner; clarify: the two to choose from; fallback: best two


_EPSILON = 1e-9  # 0.7 - 0.6 is 0.0999...: a gap equal to the margin on paper is treated as equal


def decide(scores: Sequence[IntentScore], *, threshold: float = DEFAULT_THRESHOLD,
           margin: float = DEFAULT_MARGIN) -> Decision:
    """Match when the best score reaches the threshold and leads the runner-up by at least the margin; clarify
    (ask which of the two) when it reaches the threshold but the runner-up is within the margin; else fall back
    (the best two still ride along, for logs and for "did you mean" suggestions). Input order does not matter."""
    if not 0.0 <= threshold <= 1.0 or margin < 0.0:
        raise ValueError("threshold must be within [0, 1] and margin non-negative")
    ranked = sorted(scores, key=lambda s: -s.score)
    if not ranked or ranked[0].score < threshold - _EPSILON:
        return Decision("fallback", None, tuple(ranked[:2]))
    first = ranked[0]
    if len(ranked) == 1 or first.score - ranked[1].score >= margin - _EPSILON:
        return Decision("match", first.label, (first,))
    return Decision("clarify", None, (first, ranked[1]))


# --- knowledge matrix -----------------------------------------------------------------------------------------------

class KnowledgeMatrix:
    """(entry id, question variants, answer) rows answered like intents: each entry is a label trained on its
    variants, so an unseen wording of a question finds its answer and an unrelated message finds none."""

    def __init__(self, entries: Sequence[tuple[str, Sequence[str], str]], language: str = "es") -> None:
        self._answers: dict[str, str] = {}
        self._questions: dict[str, str] = {}
        variants: dict[str, Sequence[str]] = {}
        for entry_id, questions, answer in entries:
            if entry_id in self._answers:
                raise ValueError(f"duplicate knowledge entry id {entry_id!r}")
            if isinstance(questions, str) or not questions:
                raise ValueError(f"knowledge entry {entry_id!r} needs a non-empty list of question variants")
            self._answers[entry_id] = answer
            self._questions[entry_id] = questions[0]
            variants[entry_id] = questions
        self._classifier = IntentClassifier.train(variants, language)

    def question(self, entry_id: str) -> str:
        """The entry's first variant: what a clarifying prompt shows ("¿Quisiste decir ...?")."""
        return self._questions[entry_id]

    def answer(self, text: str, *, threshold: float = DEFAULT_THRESHOLD,
               margin: float = DEFAULT_MARGIN) -> tuple[Decision, str | None]:
        decision = decide(self._classifier.classify(text, top=2), threshold=threshold, margin=margin)
        return decision, self._answers[decision.label] if decision.label is not None else None


__all__ = [
    "CALIBRATION_MIDPOINT", "CALIBRATION_SLOPE", "DEFAULT_MARGIN", "DEFAULT_THRESHOLD", "Decision",
    "IntentClassifier", "IntentScore", "KeywordHit", "KeywordMatcher", "KnowledgeMatrix", "damerau_levenshtein",
    "decide", "typo_budget",
]
