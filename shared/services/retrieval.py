"""Knowledge retrieval for the generative bot: chunk the tenant's documents and rank them with BM25.

Pure Python, built per process from the tenant's knowledge docs (a few hundred chunks build in milliseconds).

Chunking: paragraphs are packed into chunks of about `chunk_chars` (800) characters; a paragraph longer than that
is cut at sentence ends (and a sentence longer than that at spaces). Consecutive chunks of one document share the
last sentence of the previous chunk (at most `overlap_chars`, 160) so an answer spanning the cut survives.

Scoring: Okapi BM25 (k1=1.5, b=0.75) over `text_norm.tokens` (folded, stop words out, light stemmer); a chunk's
title tokens are indexed with its text so "Envíos" as a title helps a chunk that never says "envío".

Confidence (`Passage.confidence`, `KnowledgeIndex.confidence`): the idf-weighted share of the query's content
terms that the passage contains, in [0, 1]. 1.0 = every query term is in the passage; 0.0 = none. Terms never
seen in the knowledge base count with the largest idf, so "¿hacen envíos a Marte?" scores lower than
"¿hacen envíos a Córdoba?" when Córdoba is mentioned. Question filler ("quería saber", "necesito", "info",
"cuánto sale") is ignored. A threshold of 0.5 works well as "the knowledge base probably answers this"; below ~0.3 it
almost certainly does not.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from shared.services.text_norm import fold, tokens

DEFAULT_CHUNK_CHARS = 800
DEFAULT_OVERLAP_CHARS = 160
K1 = 1.5
B = 0.75

# Words that make a question polite but say nothing about its topic (folded, as text_norm.words returns them).
_FILLER_WORDS = (
    "quiero queria quisiera quisieramos saber consultar consulta consultas pregunta preguntar preguntas "
    "necesito necesitaba necesitamos informacion info dato datos ayuda ayudar ayudame podes puedes puede pueden "
    "podrian podria podrias decir decime dime digan indicar saludos buen buenas bueno ok okay dale "
    "cuanto cuanta cuantos cuantas sale salen cuesta cuestan vale valen hacen hacer hago tenes tienen hay puedo "
    "podemos "
    "want know need tell could would info information help please question")
_QUERY_FILLER = frozenset(_FILLER_WORDS.split())

_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+|\n")


@dataclass(frozen=True)
class KnowledgeDoc:
    id: str
    title: str
    text: str
    source: str = ""


@dataclass(frozen=True)
class Passage:
    doc_id: str
    title: str
    text: str
    score: float
    confidence: float = 0.0
    source: str = ""
    chunk: int = 0

    @property
    def ref(self) -> str:
        """A stable id for this chunk: "doc-id#2"."""
        return f"{self.doc_id}#{self.chunk}"


@dataclass(frozen=True)
class _Chunk:
    doc: KnowledgeDoc
    number: int
    text: str
    terms: Counter[str]
    length: int


class KnowledgeIndex:
    """BM25 over chunks of the tenant's documents. Build with `KnowledgeIndex.build(docs)`."""

    def __init__(self, chunks: Sequence[_Chunk], language: str) -> None:
        self._chunks = list(chunks)
        self._language = language
        self._df: Counter[str] = Counter()
        self._postings: dict[str, list[int]] = {}
        for position, chunk in enumerate(self._chunks):
            self._df.update(chunk.terms.keys())
            for term in chunk.terms:
                self._postings.setdefault(term, []).append(position)
        total = sum(chunk.length for chunk in self._chunks)
        self._avg_len = total / len(self._chunks) if self._chunks else 0.0

    @classmethod
    def build(cls, docs: Iterable[KnowledgeDoc], language: str = "es", *, chunk_chars: int = DEFAULT_CHUNK_CHARS,
              overlap_chars: int = DEFAULT_OVERLAP_CHARS) -> KnowledgeIndex:
        chunks: list[_Chunk] = []
        for doc in docs:
            title_terms = tokens(doc.title, language)
            for number, text in enumerate(chunk_text(doc.text, chunk_chars=chunk_chars,
                                                     overlap_chars=overlap_chars)):
                terms = Counter(title_terms + tokens(text, language))
                if terms:
                    chunks.append(_Chunk(doc, number, text, terms, sum(terms.values())))
        return cls(chunks, language)

    def __len__(self) -> int:
        return len(self._chunks)

    @property
    def language(self) -> str:
        return self._language

    def search(self, query: str, k: int = 4) -> list[Passage]:
        """The best `k` chunks for `query` with score > 0, best first; each with its confidence."""
        terms = self._query_terms(query)
        if not terms or not self._chunks:
            return []
        candidates = sorted({position for term in terms for position in self._postings.get(term, ())})
        scored: list[tuple[float, int]] = []
        for position in candidates:
            score = self._bm25(terms, self._chunks[position])
            if score > 0:
                scored.append((score, position))
        scored.sort(key=lambda item: (-item[0], item[1]))
        passages = []
        for score, position in scored[:k]:
            chunk = self._chunks[position]
            passages.append(Passage(doc_id=chunk.doc.id, title=chunk.doc.title, text=chunk.text,
                                    score=round(score, 6), confidence=self._coverage(terms, chunk),
                                    source=chunk.doc.source, chunk=chunk.number))
        return passages

    def confidence(self, query: str) -> float:
        """The confidence of the best passage for `query` (0.0 when nothing matches)."""
        passages = self.search(query, k=1)
        return passages[0].confidence if passages else 0.0

    # --- scoring -------------------------------------------------------------------------------------------

    def _query_terms(self, query: str) -> list[str]:
        kept = " ".join(word for word in re.split(r"\s+", query) if _fold_word(word) not in _QUERY_FILLER)
        return list(dict.fromkeys(tokens(kept, self._language)))

    def _idf(self, term: str) -> float:
        n = len(self._chunks)
        df = self._df.get(term, 0)
        return math.log(1 + (n - df + 0.5) / (df + 0.5))

    def _bm25(self, terms: Sequence[str], chunk: _Chunk) -> float:
        score = 0.0
        norm = K1 * (1 - B + B * chunk.length / self._avg_len) if self._avg_len else K1
        for term in terms:
            tf = chunk.terms.get(term, 0)
            if tf:
                score += self._idf(term) * tf * (K1 + 1) / (tf + norm)
        return score

    def _coverage(self, terms: Sequence[str], chunk: _Chunk) -> float:
        weights = {term: self._idf(term) for term in terms}
        total = sum(weights.values())
        if total <= 0:
            return 0.0
        found = sum(weight for term, weight in weights.items() if term in chunk.terms)
        return round(found / total, 4)


def retrieval_confidence(passages: Sequence[Passage]) -> float:
    """The confidence of a search result: its best passage's, 0.0 for no passages."""
    return max((passage.confidence for passage in passages), default=0.0)


def chunk_text(text: str, *, chunk_chars: int = DEFAULT_CHUNK_CHARS,
               overlap_chars: int = DEFAULT_OVERLAP_CHARS) -> list[str]:
    """Cut `text` into chunks of about `chunk_chars`, on paragraph then sentence boundaries, with overlap."""
    pieces: list[str] = []  # paragraphs, or sentences of paragraphs too long to keep whole
    for paragraph in _PARAGRAPH_BREAK.split(text.strip()):
        paragraph = paragraph.strip()
        if not paragraph:
            continue
        if len(paragraph) <= chunk_chars:
            pieces.append(paragraph)
            continue
        for sentence in _SENTENCE_END.split(paragraph):
            sentence = sentence.strip()
            if sentence:
                pieces.extend(_hard_split(sentence, chunk_chars))
    chunks: list[str] = []
    current: list[str] = []
    size = 0
    for piece in pieces:
        if current and size + len(piece) + 1 > chunk_chars:
            chunks.append(_join(current))
            tail = _last_sentence(current[-1])
            current = [tail] if tail and len(tail) <= overlap_chars and tail != piece else []
            size = len(current[0]) if current else 0
        current.append(piece)
        size += len(piece) + 1
    if current:
        chunks.append(_join(current))
    return chunks


def _join(pieces: Sequence[str]) -> str:
    return "\n".join(pieces)


def _last_sentence(piece: str) -> str:
    sentences = [s.strip() for s in _SENTENCE_END.split(piece) if s.strip()]
    return sentences[-1] if sentences else ""


def _hard_split(sentence: str, limit: int) -> list[str]:
    if len(sentence) <= limit:
        return [sentence]
    out: list[str] = []
    current = ""
    for word in sentence.split():
        if current and len(current) + len(word) + 1 > limit:
            out.append(current)
            current = word
        else:
            current = f"{current} {word}" if current else word
    if current:
        out.append(current)
    return out


def _fold_word(word: str) -> str:
    return fold(word)
