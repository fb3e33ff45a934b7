"""Knowledge retrieval: chunking, BM25 ranking and the confidence used to decide on a handoff."""

from __future__ import annotations

from shared.services.retrieval import (
    DEFAULT_CHUNK_CHARS,
    KnowledgeDoc,
    KnowledgeIndex,
    Passage,
    chunk_text,
    retrieval_confidence,
)

DOCS = [
    KnowledgeDoc("envios", "Envíos", "Hacemos envíos a todo el país. El envío a Córdoba cuesta $1500 y demora "
                 "3 días hábiles.\n\nLos envíos a CABA son gratis en compras mayores a $20000.", "kb/envios"),
    KnowledgeDoc("pagos", "Medios de pago", "Aceptamos tarjetas de crédito, débito y transferencias. Podés pagar "
                 "en hasta 6 cuotas sin interés con Visa y Mastercard.", "kb/pagos"),
    KnowledgeDoc("horario", "Horario de atención", "Atendemos de lunes a viernes de 9 a 18 horas y sábados de "
                 "9 a 13.", "kb/horario"),
    KnowledgeDoc("devoluciones", "Cambios y devoluciones", "Tenés 30 días para cambiar un producto sin uso, con "
                 "su ticket. La devolución del dinero se acredita en 10 días.", "kb/devoluciones"),
]


def index() -> KnowledgeIndex:
    return KnowledgeIndex.build(DOCS, language="es")


def test_ranks_the_relevant_document_first() -> None:
    idx = index()
    assert idx.search("¿Cuánto sale el envío a Córdoba?")[0].doc_id == "envios"
    assert idx.search("puedo pagar en cuotas con visa?")[0].doc_id == "pagos"
    assert idx.search("hasta qué hora atienden los sábados")[0].doc_id == "horario"
    assert idx.search("quiero devolver un producto")[0].doc_id == "devoluciones"


def test_passage_fields() -> None:
    passage = index().search("envío a Córdoba", k=1)[0]
    assert isinstance(passage, Passage)
    assert (passage.doc_id, passage.title, passage.source, passage.chunk, passage.ref) == (
        "envios", "Envíos", "kb/envios", 0, "envios#0")
    assert "Córdoba" in passage.text
    assert passage.score > 0


def test_search_returns_at_most_k_and_only_matches() -> None:
    idx = index()
    assert len(idx.search("envío pago horario devolución", k=2)) == 2
    assert idx.search("xyzzy plugh") == []
    assert idx.search("") == []
    assert idx.search("hola, buenas tardes") == []  # only stop words and filler


def test_confidence_is_normalized_and_separates_answerable_questions() -> None:
    idx = index()
    answerable = idx.confidence("hola, quería saber cuánto sale el envío a Córdoba")
    partial = idx.confidence("hacen envíos a Marte?")
    unrelated = idx.confidence("cuál es la capital de Francia")
    assert answerable == 1.0
    assert 0.0 < partial < 0.5
    assert unrelated == 0.0
    for passage in idx.search("envío a Marte con Visa"):
        assert 0.0 <= passage.confidence <= 1.0


def test_retrieval_confidence_of_a_result() -> None:
    idx = index()
    assert retrieval_confidence(idx.search("envío Córdoba")) == 1.0
    assert retrieval_confidence([]) == 0.0


def test_title_helps_ranking() -> None:
    idx = KnowledgeIndex.build([
        KnowledgeDoc("a", "Garantía", "Cubre defectos de fabricación por doce meses.", ""),
        KnowledgeDoc("b", "Otros", "Consultas generales sobre la tienda.", ""),
    ])
    assert idx.search("garantía")[0].doc_id == "a"


def test_empty_index() -> None:
    idx = KnowledgeIndex.build([])
    assert len(idx) == 0
    assert idx.search("envío") == []
    assert idx.confidence("envío") == 0.0


def test_english_index() -> None:
    idx = KnowledgeIndex.build([KnowledgeDoc("ship", "Shipping", "We ship worldwide in 5 business days.", "")],
                               language="en")
    assert idx.language == "en"
    assert idx.search("how long does shipping take?")[0].doc_id == "ship"


# --- chunking --------------------------------------------------------------------------------------------------

def test_short_text_is_one_chunk() -> None:
    assert chunk_text("Una frase.\n\nOtra frase.") == ["Una frase.\nOtra frase."]


def test_long_text_is_cut_on_sentences_with_overlap() -> None:
    sentences = [f"La oración número {i} habla de garantías y devoluciones." for i in range(60)]
    text = " ".join(sentences[:30]) + "\n\n" + " ".join(sentences[30:])
    chunks = chunk_text(text)
    assert len(chunks) > 2
    assert all(len(chunk) <= DEFAULT_CHUNK_CHARS + 200 for chunk in chunks)
    for chunk in chunks:  # never cut inside a sentence
        for line in chunk.split("\n"):
            assert line.endswith(".")
    for previous, following in zip(chunks, chunks[1:], strict=False):  # small overlap: the previous last sentence
        assert following.split("\n")[0] == previous.split("\n")[-1]


def test_paragraphs_are_packed_together() -> None:
    paragraphs = [f"Párrafo {i}: " + "texto " * 20 for i in range(10)]
    chunks = chunk_text("\n\n".join(p.strip() for p in paragraphs))
    assert 2 <= len(chunks) < 10
    assert chunks[0].startswith("Párrafo 0:")


def test_a_sentence_longer_than_a_chunk_is_cut_at_spaces() -> None:
    text = "palabra " * 400
    chunks = chunk_text(text.strip())
    assert len(chunks) >= 4
    assert all(len(chunk) <= DEFAULT_CHUNK_CHARS for chunk in chunks)


def test_long_documents_are_searchable_by_chunk() -> None:
    filler = " ".join(f"Información general número {i} sobre la empresa." for i in range(40))
    doc = KnowledgeDoc("manual", "Manual", filler + "\n\nEl reembolso por productos dañados se tramita por mail.", "")
    idx = KnowledgeIndex.build([doc])
    assert len(idx) > 1
    best = idx.search("reembolso producto dañado")[0]
    assert "reembolso" in best.text
    assert best.chunk == len(idx) - 1
