"""Sentiment: the offline lexicon (accuracy on a labelled set, exact behaviours), conversation aggregation and the
escalation policy."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import pytest

from shared.adapters.lexicon_sentiment import LexiconSentiment
from shared.services.sentiment import (
    ConversationSentiment,
    ScoredMessage,
    Sentiment,
    SentimentAnalyzer,
    SentimentLabel,
    SentimentPolicy,
    SentimentTrend,
    analyze_conversation,
    conversation_sentiment,
    detect_language,
    is_negative,
    normalize_language,
)

POS, NEG, NEU, MIX = (SentimentLabel.POSITIVE, SentimentLabel.NEGATIVE, SentimentLabel.NEUTRAL,
                      SentimentLabel.MIXED)

# Realistic customer messages with the label a support analyst would give them. Region tags: AR (Rioplatense),
# MX, CL, CO, PE, ES* (neutral Latin-American Spanish), EN. "X pero Y" is labelled by Y, the point of the message.
LABELLED: list[tuple[str, str, SentimentLabel]] = [
    # Spanish, negative
    ("AR", "Pésimo servicio, hace una semana que espero el pedido y nadie me responde", NEG),
    ("AR", "Una vergüenza lo de ustedes, me cobraron de más y nadie se hace cargo", NEG),
    ("AR", "Qué bronca, otra vez se cortó internet", NEG),
    ("AR", "El producto es una porquería, se rompió a los dos días", NEG),
    ("AR", "No anda la app, me tienen podrido", NEG),
    ("AR", "Son unos chantas, nunca llegó mi compra", NEG),
    ("AR", "Me cobraron dos veces la cuota, quiero que me devuelvan la plata ya", NEG),
    ("AR", "Che, re mal lo de hoy, el técnico nunca vino", NEG),
    ("MX", "Está bien gacho el servicio, ya me harté", NEG),
    ("MX", "Ya estoy harto, llevo tres días sin internet", NEG),
    ("MX", "Qué mal servicio, nadie contesta el teléfono", NEG),
    ("MX", "El repartidor me trató súper mal", NEG),
    ("MX", "Es una estafa, me vendieron un producto chafa", NEG),
    ("MX", "Qué poca madre, me cancelaron el pedido sin avisar", NEG),
    ("CL", "El pedido llegó malo y nadie me da solución, qué fome", NEG),
    ("CL", "Pucha, otra vez me cortaron la luz sin aviso", NEG),
    ("CL", "Está penca la atención, llevo una hora esperando", NEG),
    ("CO", "Qué paila, el paquete llegó roto", NEG),
    ("CO", "Estoy muy molesto, me cobraron un servicio que no pedí", NEG),
    ("CO", "Ese producto es muy chimbo, no sirve para nada", NEG),
    ("PE", "Qué roche, el pedido vino incompleto", NEG),
    ("PE", "Nunca llegó mi pedido y ya pasaron dos semanas", NEG),
    ("ES", "No funciona la aplicación desde ayer", NEG),
    ("ES", "Esto no me sirve, quiero la devolución", NEG),
    ("ES", "El técnico nunca vino y perdí todo el día esperando", NEG),
    ("ES", "MALÍSIMA LA ATENCIÓN!!!", NEG),
    ("ES", "Estoy decepcionada con el servicio 😞", NEG),
    ("ES", "😡😡😡", NEG),
    ("ES", "👎", NEG),
    ("ES", "Me estafaron, pagué y nunca me mandaron nada", NEG),
    ("ES", "Es increíble que nadie responda los mensajes", NEG),
    ("ES", "No es para nada bueno el producto", NEG),
    ("ES", "No está bien que me cobren eso", NEG),
    ("ES", "Malooo, muy malo el servicio", NEG),
    ("ES", "Ni siquiera me contestan los mensajes", NEG),
    ("ES", "Lo peor que me pasó, nunca más les compro", NEG),
    ("ES", "La verdad que horrible experiencia", NEG),
    ("ES", "ES UNA ESTAFA", NEG),
    ("ES", "¿Por qué me cobraron de más este mes?", NEG),
    ("ES", "Sigo esperando una respuesta, es una falta de respeto", NEG),
    # Spanish, positive
    ("AR", "Re bien la atención, gracias!", POS),
    ("AR", "Son unos genios, me resolvieron todo al toque", POS),
    ("AR", "Buenísimo, ya me llegó el pedido 👍", POS),
    ("AR", "De diez la atención, una masa", POS),
    ("AR", "Joya, muchas gracias por la ayuda", POS),
    ("MX", "Muy padre el servicio, gracias", POS),
    ("MX", "Qué chido, ya quedó todo", POS),
    ("MX", "Excelente atención, muy amables", POS),
    ("CL", "Bacán, la atención fue súper buena", POS),
    ("CL", "Quedé muy contenta con la compra, gracias 😊", POS),
    ("CL", "Harto bueno el servicio, los felicito", POS),
    ("CO", "Qué chévere, muchas gracias por la ayuda 🙏", POS),
    ("CO", "Súper bacano el servicio, los recomiendo", POS),
    ("PE", "Buenazo el servicio, llegó rapidísimo", POS),
    ("PE", "Todo llegó perfecto, muy agradecido", POS),
    ("ES", "Genial!!! Gracias por resolverlo tan rápido", POS),
    ("ES", "Me encanta la app ❤️", POS),
    ("ES", "Buenííísimo el producto", POS),
    ("ES", "Gracias, excelente servicio", POS),
    ("ES", "No está nada mal el producto", POS),
    ("ES", "Funciona perfecto, gracias", POS),
    ("ES", "Muchas gracias, muy amable 😊", POS),
    ("ES", "Quería agradecerles por la paciencia, me ayudaron un montón", POS),
    # Spanish, neutral
    ("ES", "Hola, quería saber el horario de atención", NEU),
    ("AR", "¿Cuánto sale el envío a Córdoba?", NEU),
    ("AR", "Buenas, ¿tienen stock del modelo azul?", NEU),
    ("MX", "¿A qué hora abren mañana?", NEU),
    ("ES", "Mi número de pedido es 45821", NEU),
    ("CL", "¿Me pueden enviar la boleta por correo?", NEU),
    ("CO", "Buenos días, necesito actualizar mis datos", NEU),
    ("ES", "Quiero cambiar la dirección de entrega", NEU),
    ("PE", "¿Aceptan pago con Yape?", NEU),
    ("ES", "Ok", NEU),
    ("AR", "Dale, te paso el comprobante", NEU),
    ("ES", "¿Está bien si paso a retirarlo el lunes?", NEU),
    ("ES", "Bueno, mañana les escribo de nuevo", NEU),
    ("CL", "¿Hacen envíos a Valparaíso?", NEU),
    ("ES", "Necesito la factura de mi compra del 3 de mayo", NEU),
    ("ES", "¿Me podrían decir el horario? Gracias", NEU),
    # Spanish, mixed and contrast
    ("ES", "El producto es excelente, el envío un desastre", MIX),
    ("ES", "La atención muy buena, los precios malísimos", MIX),
    ("AR", "El vendedor fue un amor, la entrega fue pésima", MIX),
    ("ES", "El producto está bien, pero la entrega fue pésima", NEG),
    ("ES", "Tardaron bastante, pero la atención fue excelente", POS),
    ("ES", "Es caro pero vale la pena", POS),
    ("ES", "La app es linda pero no funciona", NEG),
    # English
    ("EN", "This is the worst service I've ever had", NEG),
    ("EN", "My order never arrived and nobody answers", NEG),
    ("EN", "I was charged twice for the same order", NEG),
    ("EN", "The app doesn't work since the update", NEG),
    ("EN", "Really disappointed with the quality", NEG),
    ("EN", "Not happy at all with the delivery", NEG),
    ("EN", "This is a scam 😡", NEG),
    ("EN", "Terrible experience, I want a refund", NEG),
    ("EN", "I've been waiting for two weeks, this is unacceptable", NEG),
    ("EN", "Thank you so much, great service!", POS),
    ("EN", "Awesome, it works now 👍", POS),
    ("EN", "The support team was really helpful", POS),
    ("EN", "Love it ❤️", POS),
    ("EN", "Not bad at all, pretty good actually", POS),
    ("EN", "Super fast delivery, thanks!", POS),
    ("EN", "What time do you open on Saturday?", NEU),
    ("EN", "Can I change my shipping address?", NEU),
    ("EN", "My order number is 55123", NEU),
    ("EN", "Do you ship to Mexico?", NEU),
    ("EN", "The product is great, the delivery was awful", MIX),
    ("EN", "Good price but terrible customer service", NEG),
    ("EN", "It took a while but the support was excellent", POS),
    # Held out: written after the first version of the lexicon, in two rounds. Before the gaps they revealed
    # were added, the lexicon got 47/60 of the first round and 31/40 of the second right (about 78%): expect
    # that on text it has never seen. Two stay wrong on purpose (a debatable MIXED, a lukewarm "fine").
    ("AR", "Hace tres semanas que reclamo y no me dan bola", NEG),
    ("AR", "Impecable todo, volvería a comprar", POS),
    ("AR", "Me atendió un chico re amable, gracias por todo", POS),
    ("AR", "Otra vez me facturaron mal, ya no sé qué hacer", NEG),
    ("AR", "Necesito la constancia de pago para mañana", NEU),
    ("AR", "La verdad un desastre la atención telefónica", NEG),
    ("AR", "Che, ¿hasta qué hora atienden los sábados?", NEU),
    ("AR", "Llegó todo perfecto y antes de lo previsto, unos cracks", POS),
    ("MX", "No manches, llevo dos horas en la línea y nadie me atiende", NEG),
    ("MX", "Muchas gracias joven, muy amable", POS),
    ("MX", "¿Me pueden mandar la factura al correo?", NEU),
    ("MX", "El paquete llegó todo aplastado, qué mala onda", NEG),
    ("MX", "Está padrísimo el nuevo diseño de la app", POS),
    ("MX", "Ya me llegó, está bien chido", POS),
    ("CL", "Quiero saber el estado de mi despacho", NEU),
    ("CL", "El despacho se atrasó una semana y nadie avisó", NEG),
    ("CL", "Súper buena la atención de la Javiera, muy atenta", POS),
    ("CL", "Encuentro una falta de respeto que no me contesten", NEG),
    ("CO", "Hola, ¿cómo hago para cambiar mi plan?", NEU),
    ("CO", "Muy buen servicio, quedé feliz", POS),
    ("CO", "Me tienen aburrido con tantas llamadas", NEG),
    ("CO", "El técnico fue muy profesional y puntual", POS),
    ("PE", "Ya van cuatro días y mi pedido no aparece", NEG),
    ("PE", "Gracias por la rapidez, excelente", POS),
    ("PE", "¿Tienen delivery a Miraflores?", NEU),
    ("ES", "El cargador vino defectuoso", NEG),
    ("ES", "Estoy muy satisfecha con la compra", POS),
    ("ES", "Quisiera cancelar mi suscripción", NEU),
    ("ES", "La calidad es buena pero el precio es excesivo", NEG),
    ("ES", "Tuve un problema con el pago pero lo solucionaron enseguida", POS),
    ("ES", "Les escribo porque no puedo ingresar a mi cuenta", NEG),
    ("ES", "Excelente!! 👏👏", POS),
    ("ES", "😤 otra vez lo mismo", NEG),
    ("ES", "El número de seguimiento es AB123456", NEU),
    ("ES", "Muy lindo el producto pero la talla no me quedó", NEG),
    ("ES", "Me encantó la atención, pero el envío fue lentísimo", NEG),
    ("ES", "Son unos irresponsables, me dejaron plantado", NEG),
    ("ES", "Todo bien, gracias", POS),
    ("ES", "Perfecto, quedo atento", POS),
    ("ES", "No me llegó el código de verificación", NEG),
    ("ES", "La comida llegó fría y tarde", NEG),
    ("ES", "¿Puedo pagar en cuotas?", NEU),
    ("ES", "Qué buena atención, los felicito", POS),
    ("ES", "Nada que ver con lo que mostraban en la foto", NEG),
    ("ES", "El precio está bien, la calidad pésima", MIX),
    ("EN", "Worst customer service ever", NEG),
    ("EN", "Thanks, that solved my problem!", POS),
    ("EN", "Where can I download my invoice?", NEU),
    ("EN", "The package arrived damaged and nobody is answering", NEG),
    ("EN", "Great job, really appreciate it", POS),
    ("EN", "I need to update my billing address", NEU),
    ("EN", "Still no response after three emails", NEG),
    ("EN", "Very happy with my purchase", POS),
    ("EN", "It's ok I guess", NEU),
    ("EN", "The staff was lovely but the food was cold", NEG),
    ("EN", "Your app keeps crashing", NEG),
    ("EN", "Amazing quality, terrible shipping", MIX),
    ("EN", "Is the store open on Sunday?", NEU),
    ("EN", "You guys rock!", POS),
    ("EN", "I'm so frustrated, nothing works", NEG),
    ("AR", "Les pido por favor que me den una solución, ya no doy más", NEG),
    ("AR", "Flor de servicio, los felicito chicos", POS),
    ("AR", "¿Me confirman si el pago se acreditó?", NEU),
    ("AR", "Me vendieron cualquier cosa, nada que ver con la descripción", NEG),
    ("AR", "Todo joya, gracias por la paciencia", POS),
    ("MX", "Oigan, ¿cuánto cuesta el envío a Monterrey?", NEU),
    ("MX", "Qué mal plan, me dejaron esperando toda la mañana", NEG),
    ("MX", "Muy buena onda el chavo que me atendió", POS),
    ("MX", "Ya hice el depósito, les mando la foto", NEU),
    ("CL", "Llevo tres reclamos y ninguna respuesta", NEG),
    ("CL", "Excelente servicio, muy rápidos en responder", POS),
    ("CL", "¿Cuál es el horario de retiro en tienda?", NEU),
    ("CO", "Parcero, qué servicio tan malo", NEG),
    ("CO", "Muchas gracias, muy amables todos", POS),
    ("CO", "Me llegó un producto distinto al que pedí", NEG),
    ("PE", "Ya realicé el pago por Plin", NEU),
    ("PE", "Pésima experiencia, no vuelvo a comprar", NEG),
    ("PE", "Muy buena atención, todo conforme", POS),
    ("ES", "El reembolso todavía no aparece en mi tarjeta", NEG),
    ("ES", "Me cambiaron la fecha de entrega sin consultarme", NEG),
    ("ES", "Les agradezco muchísimo la ayuda", POS),
    ("ES", "¿Tienen garantía los productos?", NEU),
    ("ES", "La instalación quedó perfecta", POS),
    ("ES", "Ya intenté tres veces y sigue dando error", NEG),
    ("ES", "Me parece un abuso lo que cobran", NEG),
    ("ES", "Lindo producto, pero carísimo", NEG),
    ("ES", "Quiero hablar con un supervisor", NEU),
    ("ES", "El chat es muy útil, gracias", POS),
    ("EN", "Absolutely love this store", POS),
    ("EN", "I still haven't received my refund", NEG),
    ("EN", "Could you send me the tracking number?", NEU),
    ("EN", "Delivery was fast and the packaging was nice", POS),
    ("EN", "Your website is so confusing", NEG),
    ("EN", "The item doesn't match the description", NEG),
    ("EN", "Thanks for the quick reply", POS),
    ("EN", "Why is this taking so long?", NEG),
    ("EN", "I'd like to return an item", NEU),
    ("EN", "Nice people, horrible product", MIX),
    ("EN", "Service was fine", POS),
    ("EN", "Completely useless support", NEG),
]


@pytest.fixture(scope="module")
def lexicon() -> LexiconSentiment:
    return LexiconSentiment()


def label_of(analyzer: SentimentAnalyzer, text: str) -> SentimentLabel:
    return analyzer.analyze(text).label


# --- the labelled set -----------------------------------------------------------------------------------------

def test_labelled_set_has_the_promised_coverage() -> None:
    spanish = [case for case in LABELLED if case[0] != "EN"]
    english = [case for case in LABELLED if case[0] == "EN"]
    assert len(LABELLED) >= 80 and len(spanish) >= 60 and len(english) >= 20
    assert {"AR", "MX", "CL", "CO", "PE"} <= {region for region, _, _ in spanish}
    assert {label for _, _, label in LABELLED} == set(SentimentLabel)


def test_lexicon_gets_at_least_90_percent_of_the_labelled_set_right(lexicon: LexiconSentiment) -> None:
    misses = [(text, expected, got) for _, text, expected in LABELLED
              if (got := label_of(lexicon, text)) != expected]
    accuracy = 1 - len(misses) / len(LABELLED)
    assert accuracy >= 0.90, f"accuracy {accuracy:.1%}; misses: {misses}"


@pytest.mark.parametrize("language", ["es", "en"])
def test_accuracy_holds_per_language(lexicon: LexiconSentiment, language: str) -> None:
    cases = [(text, label) for region, text, label in LABELLED if (region == "EN") == (language == "en")]
    right = sum(label_of(lexicon, text) == label for text, label in cases)
    assert right / len(cases) >= 0.90


# --- exact behaviours -----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("plain", "negated"), [
    ("Está bien", "No está bien"),
    ("The service is good", "The service is not good"),
    ("Es bueno", "No es nada bueno"),
    ("Me gustó el producto", "No me gustó el producto"),
    ("Lo recomiendo", "No lo recomiendo"),
    ("I recommend it", "I don't recommend it"),
])
def test_negation_flips_a_positive_statement(lexicon: LexiconSentiment, plain: str, negated: str) -> None:
    assert label_of(lexicon, plain) == POS
    assert label_of(lexicon, negated) == NEG


def test_negated_negative_is_mildly_positive(lexicon: LexiconSentiment) -> None:
    assert label_of(lexicon, "No está mal") == POS
    assert label_of(lexicon, "Not bad") == POS
    assert lexicon.analyze("No está mal").score < lexicon.analyze("Está bien").score


def test_spanish_negative_concord_negates_once(lexicon: LexiconSentiment) -> None:
    assert label_of(lexicon, "No me gusta para nada") == NEG
    assert label_of(lexicon, "Ni siquiera funciona") == NEG


def test_verbs_that_mean_it_failed_when_negated(lexicon: LexiconSentiment) -> None:
    for text in ("Nunca llegó", "No me sirve", "Todavía no me llegó el pedido", "No anda", "Nobody answers"):
        assert label_of(lexicon, text) == NEG, text
    assert label_of(lexicon, "Ya llegó, gracias") == POS


def test_the_clause_after_pero_weighs_more(lexicon: LexiconSentiment) -> None:
    assert label_of(lexicon, "La atención fue buena pero el producto llegó roto") == NEG
    assert label_of(lexicon, "Tardó un poco pero llegó perfecto") == POS
    assert label_of(lexicon, "Nice app but it keeps crashing, useless") == NEG
    # without "pero" the same evidence is balanced: MIXED
    assert label_of(lexicon, "La atención fue excelente, el producto un desastre") == MIX


def test_aunque_weakens_its_own_clause(lexicon: LexiconSentiment) -> None:
    assert label_of(lexicon, "Me encantó, aunque tardó bastante") == POS
    assert label_of(lexicon, "Aunque la chica fue amable, el servicio es pésimo") == NEG


def test_both_strong_sides_without_contrast_are_mixed(lexicon: LexiconSentiment) -> None:
    result = lexicon.analyze("Amo el producto y odio la entrega")
    assert result.label == MIX
    assert result.mixed > max(result.positive, result.negative, result.neutral)


def test_a_weak_side_does_not_make_a_strong_message_mixed(lexicon: LexiconSentiment) -> None:
    assert label_of(lexicon, "Gracias, pero esto es una estafa") == NEG


@pytest.mark.parametrize(("text", "label"), [
    ("😡", NEG), ("😠👎", NEG), ("🙏😊", POS), ("❤️", POS), ("👍🏽", POS), ("🤦‍♂️", NEG), (":(", NEG), (":)", POS),
    ("Llegó roto 😭", NEG), ("Gracias!! 🙏🙏", POS),
])
def test_emojis_and_emoticons(lexicon: LexiconSentiment, text: str, label: SentimentLabel) -> None:
    assert label_of(lexicon, text) == label


def test_intensifiers_strengthen_and_diminishers_soften(lexicon: LexiconSentiment) -> None:
    score = lexicon.analyze
    assert score("muy bueno").score > score("bueno").score > 0
    assert score("re bien").score > score("bien").score
    assert score("súper amable").score > score("amable").score
    assert score("really good").score > score("good").score
    assert score("tan lento").score < score("lento").score < 0
    assert score("un poco lento").score > score("lento").score
    assert score("a bit slow").score > score("slow").score
    # glued Rioplatense/colloquial intensifiers
    assert score("rebien").score == score("re bien").score > score("bien").score
    assert score("superbueno").score > score("bueno").score
    assert score("recontra mal").score < score("mal").score


def test_chilean_harto_intensifies_but_estoy_harto_is_fed_up(lexicon: LexiconSentiment) -> None:
    assert label_of(lexicon, "Harto bueno") == POS
    assert label_of(lexicon, "Estoy harto de esperar") == NEG
    assert label_of(lexicon, "Bien padre") == POS and label_of(lexicon, "Bien caro") == NEG


def test_accents_and_case_are_folded(lexicon: LexiconSentiment) -> None:
    assert lexicon.analyze("pesimo") == lexicon.analyze("pésimo")
    assert lexicon.analyze("que verguenza") == lexicon.analyze("qué vergüenza")
    assert lexicon.analyze("Excelente").score == lexicon.analyze("excelente").score


def test_repeated_letters_are_recognised_and_emphasise(lexicon: LexiconSentiment) -> None:
    assert label_of(lexicon, "malooo") == NEG
    assert label_of(lexicon, "goooood") == POS
    assert label_of(lexicon, "buenííísimo") == POS
    assert lexicon.analyze("malooo").score < lexicon.analyze("malo").score
    assert lexicon.analyze("buenísimo").score > lexicon.analyze("bueno").score  # superlative


def test_exclamations_and_all_caps_emphasise(lexicon: LexiconSentiment) -> None:
    assert lexicon.analyze("Pésimo!!!").score < lexicon.analyze("Pésimo").score
    assert lexicon.analyze("PÉSIMO").score < lexicon.analyze("pésimo").score
    assert lexicon.analyze("Genial!").score > lexicon.analyze("Genial").score


def test_phrases_beat_their_words(lexicon: LexiconSentiment) -> None:
    assert label_of(lexicon, "Me cobraron de más") == NEG
    assert label_of(lexicon, "De diez") == POS
    assert label_of(lexicon, "Buenas tardes, una consulta") == NEU  # a greeting, not "buenas"
    assert label_of(lexicon, "Qué poca madre") == NEG and label_of(lexicon, "Está de poca madre") == POS


def test_a_question_asks_rather_than_judges(lexicon: LexiconSentiment) -> None:
    assert label_of(lexicon, "¿Está bien así?") == NEU
    assert label_of(lexicon, "Está bien así") == POS


def test_courtesy_in_a_request_is_neutral_but_thanks_alone_is_positive(lexicon: LexiconSentiment) -> None:
    assert label_of(lexicon, "Hola, quería saber si hacen envíos, gracias") == NEU
    assert label_of(lexicon, "Muchas gracias!") == POS


def test_scores_are_probabilities_and_score_is_positive_minus_negative(lexicon: LexiconSentiment) -> None:
    for _, text, _ in LABELLED:
        result = lexicon.analyze(text)
        parts = (result.positive, result.negative, result.neutral, result.mixed)
        assert all(0 <= p <= 1 for p in parts)
        assert sum(parts) == pytest.approx(1.0)
        assert result.score == pytest.approx(result.positive - result.negative)
        assert -1 <= result.score <= 1


def test_empty_and_blank_text_are_neutral(lexicon: LexiconSentiment) -> None:
    for text in ("", "   ", "\n"):
        result = lexicon.analyze(text)
        assert result.label == NEU and result.neutral == 1.0 and result.score == 0.0 and not result.failed


def test_language_is_reported_detected_or_normalised(lexicon: LexiconSentiment) -> None:
    assert lexicon.analyze("The app doesn't work").language == "en"
    assert lexicon.analyze("La app no funciona").language == "es"
    assert lexicon.analyze("ok", "es-AR").language == "es"
    assert lexicon.analyze("ok", "EN_us").language == "en"


def test_batch_is_one_result_per_text_in_order(lexicon: LexiconSentiment) -> None:
    results = lexicon.analyze_batch(["Excelente", "", "Pésimo", "What time do you open?"])
    assert [r.label for r in results] == [POS, NEU, NEG, NEU]
    assert [r.language for r in results] == ["es", "es", "es", "en"]


def test_deterministic_and_fast(lexicon: LexiconSentiment) -> None:
    texts = [text for _, text, _ in LABELLED]
    first = lexicon.analyze_batch(texts)
    started = time.perf_counter()
    for _ in range(10):
        assert lexicon.analyze_batch(texts) == first
    elapsed = time.perf_counter() - started
    assert elapsed < 2.0, f"{10 * len(texts)} texts took {elapsed:.2f}s"


def test_urls_and_emails_are_ignored(lexicon: LexiconSentiment) -> None:
    assert label_of(lexicon, "Mi pedido: https://tienda.example/mal/pesimo?x=1 y mail pesimo@example.com") == NEU


# --- detect_language ------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "language"), [
    ("Hola, quería saber el horario", "es"),
    ("¿Tienen stock?", "es"),
    ("Che, no me anda la app", "es"),
    ("Hi, what time do you open?", "en"),
    ("The app doesn't work", "en"),
    ("My order never arrived", "en"),
    ("ok", "es"),
    ("👍", "es"),
])
def test_detect_language(text: str, language: str) -> None:
    assert detect_language(text) == language


def test_detect_language_default_breaks_ties() -> None:
    assert detect_language("ok", default="en") == "en"


def test_normalize_language() -> None:
    assert normalize_language("es-MX") == "es"
    assert normalize_language("en") == "en"
    assert normalize_language(None, "where is my order") == "en"
    assert normalize_language("auto", "dónde está mi pedido") == "es"
    assert normalize_language("pt-BR", "where is my order") == "en"


# --- Sentiment ------------------------------------------------------------------------------------------------

def test_sentiment_rejects_scores_outside_0_1() -> None:
    with pytest.raises(ValueError, match="within 0..1"):
        Sentiment(POS, 1.5, 0.0, 0.0, 0.0, "es")


def test_sentiment_score_is_derived() -> None:
    result = Sentiment(NEG, 0.1, 0.7, 0.15, 0.05, "es")
    assert result.score == pytest.approx(-0.6)
    assert Sentiment.neutral_placeholder("en", error="InternalServerException").failed


# --- conversations --------------------------------------------------------------------------------------------

def s(score: float, neutral: float = 0.0) -> Sentiment:
    """A sentiment with the given score and neutral share (the rest split so that positive - negative = score)."""
    polar = 1 - neutral
    positive = (polar + score) / 2
    negative = polar - positive
    label = NEU if neutral >= 0.5 else (POS if score > 0 else NEG)
    return Sentiment(label, positive, negative, neutral, 0.0, "es")


def customer(score: float, neutral: float = 0.0) -> ScoredMessage:
    return ScoredMessage(s(score, neutral))


def agent(score: float) -> ScoredMessage:
    return ScoredMessage(s(score), direction="out", author="user:ana")


def test_empty_conversation_is_neutral_with_count_zero() -> None:
    result = conversation_sentiment([])
    assert result == ConversationSentiment(NEU, 0.0, 0)
    assert result.most_negative_index is None and result.trend == 0.0
    assert result.trend_direction == SentimentTrend.STABLE


def test_only_agent_bot_and_system_messages_are_ignored() -> None:
    messages = [agent(-0.9), ScoredMessage(s(-0.9), direction="in", author="bot"),
                ScoredMessage(s(-0.9), direction=None, author="system")]
    assert conversation_sentiment(messages).count == 0
    # a friendly agent does not make an angry customer positive
    result = conversation_sentiment([customer(-0.8), agent(0.9), customer(-0.7), agent(0.9)])
    assert result.count == 2 and result.label == NEG and result.score == pytest.approx(-0.7 - 0.1 / 3)


def test_recent_messages_weigh_more() -> None:
    # weights 1 and 2 (recency), both fully opinionated: (1 * 0.8 + 2 * -0.8) / 3
    assert conversation_sentiment([customer(0.8), customer(-0.8)]).score == pytest.approx(-0.8 / 3)
    assert conversation_sentiment([customer(-0.8), customer(0.8)]).score == pytest.approx(0.8 / 3)


def test_neutral_messages_count_a_quarter() -> None:
    # "mi pedido es el 123" (neutral 1.0, weight 1 * 0.25) then "pésimo" (weight 2 * 1.0)
    result = conversation_sentiment([customer(0.0, neutral=1.0), customer(-0.9)])
    assert result.score == pytest.approx(-0.9 * 2 / 2.25)
    assert result.label == NEG


def test_trend_compares_the_last_third_with_the_first_third() -> None:
    worsening = conversation_sentiment([customer(0.6), customer(0.4), customer(0.0), customer(-0.2),
                                        customer(-0.6), customer(-0.8)])
    assert worsening.trend == pytest.approx((-0.6 - 0.8) / 2 - (0.6 + 0.4) / 2)
    assert worsening.trend_direction == SentimentTrend.WORSENING
    improving = conversation_sentiment([customer(-0.9), customer(0.1), customer(0.7)])
    assert improving.trend == pytest.approx(1.6) and improving.trend_direction == SentimentTrend.IMPROVING
    assert conversation_sentiment([customer(-0.5)]).trend == 0.0
    assert conversation_sentiment([customer(0.3), customer(0.4)]).trend_direction == SentimentTrend.STABLE


def test_most_negative_index_points_into_the_input_sequence() -> None:
    messages = [agent(-1.0), customer(0.2), agent(0.5), customer(-0.9), customer(-0.4)]
    result = conversation_sentiment(messages)
    assert result.most_negative_index == 3 and result.most_negative_score == pytest.approx(-0.9)
    assert result.last_score == pytest.approx(-0.4)
    assert conversation_sentiment([customer(0.2), customer(0.9)]).most_negative_index is None


def test_strong_opposite_messages_that_cancel_out_are_mixed() -> None:
    result = conversation_sentiment([customer(-0.8), customer(0.4)])
    assert abs(result.score) < 0.2 and result.label == MIX
    assert conversation_sentiment([customer(0.1), customer(-0.1)]).label == NEU
    assert conversation_sentiment([customer(0.9), customer(0.7)]).label == POS


def test_unscored_placeholders_are_skipped() -> None:
    failed = ScoredMessage(Sentiment.neutral_placeholder("es", error="InternalServerException"))
    result = conversation_sentiment([failed, customer(-0.9)])
    assert result.count == 1 and result.score == pytest.approx(-0.9) and result.most_negative_index == 1


@dataclass(frozen=True)
class View:
    direction: str | None
    text: str | None
    author: str | None = None


class RecordingAnalyzer(LexiconSentiment):
    def __init__(self) -> None:
        self.batches: list[tuple[list[str], str | None]] = []

    def analyze_batch(self, texts: Sequence[str], language: str | None = None) -> list[Sentiment]:
        self.batches.append((list(texts), language))
        return super().analyze_batch(texts, language)


def test_analyze_conversation_sends_only_customer_texts_in_one_batch() -> None:
    analyzer = RecordingAnalyzer()
    messages = [View("in", "Hola, quería saber por mi pedido"), View("out", "¡Hola! Ya lo reviso, gracias"),
                View("in", None), View("in", "Nunca llegó, qué vergüenza"), View("in", "Pésimo", author="bot"),
                View("out", "Lo lamentamos mucho")]
    result = analyze_conversation(analyzer, messages, "es")
    assert analyzer.batches == [(["Hola, quería saber por mi pedido", "Nunca llegó, qué vergüenza"], "es")]
    assert result.count == 2 and result.label == NEG and result.most_negative_index == 3


def test_analyze_conversation_without_customer_text_does_not_call_the_analyzer() -> None:
    analyzer = RecordingAnalyzer()
    assert analyze_conversation(analyzer, [View("out", "Hola"), View("in", "  ")]).count == 0
    assert analyzer.batches == []


def test_a_real_conversation_that_gets_worse_escalates(lexicon: LexiconSentiment) -> None:
    texts = ["Hola, quería saber dónde está mi pedido", "Ya pasaron 10 días y nada",
             "Nadie me responde, es una vergüenza", "ESTO ES UNA ESTAFA 😡😡"]
    result = conversation_sentiment([ScoredMessage(r) for r in lexicon.analyze_batch(texts, "es")])
    assert result.label == NEG and result.most_negative_index == 3
    assert result.trend_direction == SentimentTrend.WORSENING
    assert SentimentPolicy().should_escalate(result)


# --- policy ---------------------------------------------------------------------------------------------------

def test_is_negative_threshold() -> None:
    assert is_negative(s(-0.35))
    assert not is_negative(s(-0.34))
    assert is_negative(s(-0.2), threshold=-0.1)
    assert not is_negative(Sentiment.neutral_placeholder("es", error="x"), threshold=0.5)
    assert is_negative(conversation_sentiment([customer(-0.6)]))
    assert not is_negative(conversation_sentiment([]))


def test_policy_escalation_reasons() -> None:
    policy = SentimentPolicy()
    assert policy.escalation_reason(conversation_sentiment([customer(-0.6)])) == "negative"
    spike = conversation_sentiment([customer(0.6), customer(-0.8), customer(0.6), customer(0.6)])
    assert spike.score > -0.35 and policy.escalation_reason(spike) == "spike"
    worse = conversation_sentiment([customer(0.9), customer(0.9), customer(0.9), customer(0.5), customer(-0.5),
                                    customer(-0.4)])
    assert worse.score > -0.35 and policy.escalation_reason(worse) == "worsening"
    assert policy.escalation_reason(conversation_sentiment([customer(0.5), customer(-0.2)])) is None
    assert not policy.should_escalate(conversation_sentiment([]))
    assert not SentimentPolicy(min_messages=2).should_escalate(conversation_sentiment([customer(-0.9)]))
    assert SentimentPolicy(negative_threshold=-0.1).is_negative(s(-0.2))
