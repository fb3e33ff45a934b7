"""An offline Spanish/English sentiment lexicon (satisfies shared.services.sentiment.SentimentAnalyzer).

For the local stack and tests: pure Python, deterministic, no network, no model. It knows customer-service
language of our markets (Rioplatense, Mexican, Chilean, Colombian, Peruvian Spanish, and English), emojis and
emoticons. It is a heuristic, not a model: sarcasm ("genial, otra vez sin luz") and domain words it does not list
are beyond it. Production uses Amazon Comprehend (shared/adapters/comprehend_sentiment.py).

How a text is scored:
1. Normalise: NFC, case folding, accents folded (so "pesimo" == "pésimo"; ñ is kept), apostrophes dropped
   ("don't" -> "dont"), URLs and e-mail addresses removed, emoji variation selectors, skin tones and ZWJ removed.
2. Tokens: words, emojis, emoticons (":)", ":(", "<3") and punctuation. A word that is not in the lexicon is
   retried with letter runs squeezed ("malooo", "buenííísimo", "goood"; an elongation of 3+ letters adds 15%),
   as a superlative ("rapidísimo" -> rápido x1.5), as laughter ("jajaja") and with a glued intensifier
   ("rebién", "superbueno").
3. Multi-word phrases are matched first, longest first ("me cobraron de más", "una vergüenza", "nunca llegó",
   "de diez", "qué poca madre", "not bad"...); phrases never span punctuation.
4. Each polar term gets a value (about 0.5 mild to 3 very strong). Before it, within the same clause:
   - an intensifier ("muy", "re", "súper", "tan", "demasiado", "bien" in "bien gacho", Chilean "harto" in
     "harto bueno", "really", "so", "very") multiplies it by 1 + boost; a diminisher ("un poco", "medio", "algo",
     "a bit", "kind of") by 1 - x;
   - a negator ("no", "nunca", "nada", "ni", "sin", "nadie", "poco", "not", "never", "don't", ...) within three
     words replaces the value with its negated value: a positive word flips to -0.8x ("no está bien"), a negative
     one to +0.6x ("no está mal" is only mildly positive), and some verbs have their own ("no funciona", "no me
     sirve", "nunca llegó" are strongly negative while "funciona" is mildly positive). Spanish negative concord
     ("no ... nada", "no es para nada bueno") negates once.
5. Emphasis: a term written in ALL CAPS x1.25; a clause ending in "!" x(1 + 0.15 per "!", up to 3).
   A clause ending in "?" x0.6 ("¿está bien si paso el lunes?" asks, it does not judge).
6. Contrast: everything before "pero" / "but" / "sin embargo" / "however" weighs x0.4, what follows x1.5
   ("está bien, pero la entrega fue pésima" is negative). After "aunque" / "although" / "si bien", the rest of
   the clause weighs x0.5 ("me gustó aunque tardó" is positive).
7. Courtesy ("gracias", "thanks", "🙏") counts x0.4 in a question or a request ("quería saber el horario,
   gracias" is neutral).
8. Probabilities from the positive and negative evidence P and N (s = P + N):
       neutral  = 0.75 / (0.75 + s)
       mix      = min(P, N) / max(P, N) * min(1, min(P, N) / 1.5)   (both sides strong and comparable: MIXED)
       mixed    = (1 - neutral) * mix
       positive = (1 - neutral) * (1 - mix) * P / s,   negative likewise with N
   The label is the largest of the four (NEUTRAL wins ties).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from shared.services.sentiment import Sentiment, SentimentLabel, normalize_language

NEUTRAL_MASS = 0.75
MIXED_STRENGTH = 1.5  # the weaker side reaches full MIXED weight from this much evidence
NEGATION_WINDOW = 3  # words after a negator that it can reach
INTENSIFIER_WINDOW = 2
CAPS_BOOST = 1.25
ELONGATION_BOOST = 1.15
SUPERLATIVE_BOOST = 1.5
EXCLAMATION_STEP = 0.15
QUESTION_FACTOR = 0.6
BEFORE_CONTRAST = 0.4
AFTER_CONTRAST = 1.5
CONCESSIVE = 0.5
COURTESY_IN_REQUEST = 0.4
NEGATE_POSITIVE = -0.8
NEGATE_NEGATIVE = -0.6


@dataclass(frozen=True, slots=True)
class _Entry:
    value: float = 0.0  # polarity; 0 for pure function words
    negated: float | None = None  # the value under negation, when the default flip is wrong for this word
    boost: float = 0.0  # intensifier (> 0) or diminisher (< 0); with a value too it is dual-role ("bien", "súper")
    negator: bool = False
    contrast: str | None = None  # "but": what follows weighs more; "although": the rest of the clause weighs less
    courtesy: bool = False

    def value_negated(self) -> float:
        if self.negated is not None:
            return self.negated
        return self.value * (NEGATE_POSITIVE if self.value > 0 else NEGATE_NEGATIVE)


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


def _adj(word: str) -> tuple[str, ...]:
    """Spanish adjective forms: malo -> malo mala malos malas; amable -> amable amables; fatal -> fatales."""
    if word.endswith("o"):
        stem = word[:-1]
        return word, stem + "a", stem + "os", stem + "as"
    if word.endswith("a"):  # already feminine / invariable in -a ("una masa", "penca")
        return word, word + "s"
    if word.endswith("e"):
        return word, word + "s"
    if word.endswith("z"):
        return word, word[:-1] + "ces"
    return word, word + "es"


# Polar words: value; "adj" expands Spanish adjective forms. Values: ~0.5 mild, 1-1.5 clear, 2-3 strong.
_ES_ADJECTIVES: dict[str, float] = {
    # negative
    "malo": -1.5, "pesimo": -2.5, "horrible": -2.5, "terrible": -2.5, "fatal": -2.5, "espantoso": -2.5,
    "lamentable": -2.5, "deplorable": -2.5, "desastroso": -2.5, "inaceptable": -2.5, "indignante": -2.5,
    "vergonzoso": -2.5, "inutil": -2, "incompetente": -2.5, "irresponsable": -2, "mediocre": -1.8,
    "lento": -1.0, "caro": -0.8, "roto": -1.5, "danado": -1.5, "defectuoso": -1.8, "vencido": -1.0,
    "equivocado": -1.2, "incompleto": -1.2, "sucio": -1.2, "frio": -0.5, "grosero": -2, "maleducado": -2,
    "molesto": -1.5, "enojado": -2, "enojadisimo": -2.8, "furioso": -2.5, "indignado": -2.5, "decepcionado": -2,
    "frustrado": -2, "insatisfecho": -2, "cansado": -1.5, "podrido": -2, "harto": -1.8, "triste": -1.5,
    "preocupado": -1.0, "disconforme": -1.8, "desconforme": -1.8, "estafado": -2.5, "abusivo": -2.5,
    "trucho": -2, "chanta": -2.5, "chafa": -2, "gacho": -2, "culero": -2.5, "penca": -1.8, "fome": -1.2,
    "chimbo": -2, "chueco": -1.5, "regular": -0.8, "complicado": -0.8, "imposible": -1.5, "absurdo": -2,
    "ridiculo": -2, "injusto": -2, "falso": -1.5, "pesado": -1.0, "tedioso": -1.2, "confuso": -1.0,
    "atrasado": -1.2, "aburrido": -1.5, "excesivo": -1.2, "aplastado": -1.5,
    # positive
    "bueno": 1.5, "excelente": 3, "perfecto": 2, "genial": 2.5, "espectacular": 2.5, "increible": 2,
    "impecable": 2.5, "maravilloso": 2.5, "fantastico": 2.5, "estupendo": 2.5, "buenisimo": 2.2,
    "barbaro": 2, "lindo": 1.5, "hermoso": 2, "precioso": 2, "rapido": 1.0, "eficiente": 1.5, "eficaz": 1.5,
    "amable": 1.5, "atento": 1.0, "cordial": 1.2, "simpatico": 1.5, "servicial": 1.5, "util": 1.2, "facil": 0.8,
    "contento": 2, "feliz": 2, "encantado": 2, "satisfecho": 1.5, "agradecido": 1.5, "conforme": 1.0,
    "recomendable": 1.8, "chevere": 2, "bacan": 2, "bacano": 2, "chido": 2, "chingon": 2.5, "padrisimo": 2.5,
    "pulento": 2, "filete": 1.5, "groso": 2, "capo": 2, "crack": 2.5, "genio": 2, "buenazo": 2.2, "joya": 2,
    "top": 1.5, "rico": 1.0, "delicioso": 2, "sabroso": 1.5, "solucionado": 1.5, "resuelto": 1.2,
    "profesional": 1.2, "puntual": 1.2, "comodo": 1.0, "arreglado": 1.2,
}
_ES_WORDS: dict[str, _Entry] = {
    "mal": _Entry(-1.5), "peor": _Entry(-2), "bien": _Entry(1.2, boost=0.4), "mejor": _Entry(1.0),
    "gracias": _Entry(0.8, courtesy=True), "agradezco": _Entry(1.5), "agradecemos": _Entry(1.5),
    "agradecer": _Entry(1.2), "agradecerles": _Entry(1.5), "felicitaciones": _Entry(2), "felicito": _Entry(2),
    "encanta": _Entry(2.5), "encanto": _Entry(2.5), "encantan": _Entry(2.5), "gusta": _Entry(1.5),
    "gusto": _Entry(1.5), "gustaron": _Entry(1.5), "gustan": _Entry(1.5), "amo": _Entry(2.5),
    "odio": _Entry(-2.5), "recomiendo": _Entry(2, -2), "recomiendan": _Entry(1.5, -1.5),
    "recomendaria": _Entry(2, -2), "maravilla": _Entry(2.5), "lujo": _Entry(2.5),
    "desastre": _Entry(-2.5), "verguenza": _Entry(-2.5), "porqueria": _Entry(-2.5), "mierda": _Entry(-3),
    "estafa": _Entry(-3), "estafaron": _Entry(-3), "estafadores": _Entry(-3), "fraude": _Entry(-3),
    "robo": _Entry(-2.5), "robaron": _Entry(-2.5), "ladrones": _Entry(-3), "chantas": _Entry(-2.5),
    "cagada": _Entry(-2.5), "cagaron": _Entry(-2.5), "garron": _Entry(-1.8), "embole": _Entry(-1.2),
    "bronca": _Entry(-1.8), "paila": _Entry(-1.5), "mamera": _Entry(-1.2), "pucha": _Entry(-0.8),
    "chucha": _Entry(-1.2), "roche": _Entry(-1.5), "problema": _Entry(-1.0), "problemas": _Entry(-1.0),
    "error": _Entry(-0.8), "errores": _Entry(-1.0), "falla": _Entry(-1.2), "fallas": _Entry(-1.2),
    "fallo": _Entry(-1.2), "reclamo": _Entry(-0.8), "reclamos": _Entry(-1.0), "queja": _Entry(-1.2),
    "demora": _Entry(-1.0),
    "demoran": _Entry(-1.0), "demoraron": _Entry(-1.0), "tarda": _Entry(-1.0), "tardan": _Entry(-1.0),
    "tardo": _Entry(-1.0), "tardaron": _Entry(-1.0), "tarde": _Entry(-0.6), "cobraron": _Entry(-0.5),
    "cobran": _Entry(-0.3), "urgente": _Entry(-0.8), "decepcion": _Entry(-2), "lamentablemente": _Entry(-1.0),
    "abuso": _Entry(-2.5), "burla": _Entry(-2.5), "basura": _Entry(-2.5), "cancelaron": _Entry(-1.0),
    "perdi": _Entry(-1.0), "perdieron": _Entry(-1.5), "rompio": _Entry(-1.5), "rompieron": _Entry(-1.5),
    "molestia": _Entry(-1.2), "solucion": _Entry(0.0, -1.5), "respuesta": _Entry(0.0, -1.5),
    "respuestas": _Entry(0.0, -1.5), "ayuda": _Entry(0.0, -1.2), "ayudaron": _Entry(1.2, -1.5),
    "funciona": _Entry(0.5, -2), "funcionan": _Entry(0.5, -2), "funciono": _Entry(0.5, -2),
    "funcionar": _Entry(0.3, -2), "funcionando": _Entry(0.3, -2), "anda": _Entry(0.0, -1.8),
    "andan": _Entry(0.0, -1.8), "andaba": _Entry(0.0, -1.5), "anduvo": _Entry(0.0, -1.8),
    "sirve": _Entry(0.5, -1.8), "sirven": _Entry(0.5, -1.8), "sirvio": _Entry(0.5, -1.8),
    "llego": _Entry(0.0, -1.8), "llegaron": _Entry(0.0, -1.8), "llega": _Entry(0.0, -1.5),
    "llegan": _Entry(0.0, -1.5), "llegado": _Entry(0.0, -1.8), "vino": _Entry(0.0, -1.5), "vinieron": _Entry(0.0, -1.5),
    "recibi": _Entry(0.0, -1.5), "recibido": _Entry(0.0, -1.5), "contestan": _Entry(0.0, -1.5),
    "contesta": _Entry(0.0, -1.5), "contestaron": _Entry(0.0, -1.5), "responden": _Entry(0.0, -1.5),
    "responde": _Entry(0.0, -1.5), "respondieron": _Entry(0.0, -1.5), "responda": _Entry(0.0, -1.5),
    "atienden": _Entry(0.0, -1.5), "atiende": _Entry(0.0, -1.5), "atendieron": _Entry(0.5, -1.5),
    "resuelven": _Entry(0.8, -1.5), "resolvieron": _Entry(1.5, -1.5), "resolvio": _Entry(1.5, -1.5),
    "resolver": _Entry(0.0, -1.0), "solucionan": _Entry(0.8, -1.5), "solucionaron": _Entry(1.5, -1.5),
    "devuelven": _Entry(0.0, -1.5), "devolvieron": _Entry(0.5, -1.5), "carga": _Entry(0.0, -1.5),
    "cargan": _Entry(0.0, -1.5), "deja": _Entry(0.0, -1.2), "dejan": _Entry(0.0, -1.2), "puedo": _Entry(0.0, -0.8),
    "pude": _Entry(0.0, -0.8), "mandaron": _Entry(0.0, -1.2), "enviaron": _Entry(0.0, -1.2),
    "hay": _Entry(0.0, -0.4), "quedo": _Entry(0.3, -1.2), "vale": _Entry(0.2, -1.0), "ok": _Entry(0.3),
    "okey": _Entry(0.3), "oki": _Entry(0.3), "listo": _Entry(0.2), "dale": _Entry(0.0), "genios": _Entry(2),
    "cracks": _Entry(2.5), "capos": _Entry(2), "grosos": _Entry(2),
    "jaja": _Entry(0.5), "harte": _Entry(-2), "hartaron": _Entry(-2), "cansaron": _Entry(-1.5),
    "cansa": _Entry(-1.2), "cansado": _Entry(-1.5), "espectacular": _Entry(2.5), "excelencia": _Entry(2),
    "amabilisimo": _Entry(2.2), "amabilisima": _Entry(2.2), "amabilidad": _Entry(1.5), "paciencia": _Entry(0.8),
    "ayudan": _Entry(0.0, -1.5), "estupendo": _Entry(2.5), "atraso": _Entry(-1.2), "atrasaron": _Entry(-1.2),
    "aviso": _Entry(0.0, -1.0), "avisaron": _Entry(0.0, -1.0), "aparece": _Entry(0.0, -1.5),
    "aparecen": _Entry(0.0, -1.5), "arreglaron": _Entry(1.2, -1.5), "soluciono": _Entry(1.5, -1.5),
    # negators, intensifiers, diminishers, contrast
    "no": _Entry(negator=True), "nunca": _Entry(negator=True), "jamas": _Entry(negator=True),
    "nada": _Entry(negator=True), "ni": _Entry(negator=True), "tampoco": _Entry(negator=True),
    "sin": _Entry(negator=True), "nadie": _Entry(negator=True), "ningun": _Entry(negator=True),
    "ninguno": _Entry(negator=True), "ninguna": _Entry(negator=True), "poco": _Entry(negator=True),
    "muy": _Entry(boost=0.5), "re": _Entry(boost=0.5), "recontra": _Entry(boost=0.7), "requete": _Entry(boost=0.7),
    "super": _Entry(1.2, boost=0.6), "tan": _Entry(boost=0.5), "demasiado": _Entry(boost=0.5),
    "demasiada": _Entry(boost=0.5), "sumamente": _Entry(boost=0.6), "extremadamente": _Entry(boost=0.6),
    "realmente": _Entry(boost=0.3), "totalmente": _Entry(boost=0.4), "completamente": _Entry(boost=0.4),
    "absolutamente": _Entry(boost=0.5), "mega": _Entry(boost=0.5), "ultra": _Entry(boost=0.5),
    "bastante": _Entry(boost=0.25), "harto": _Entry(-1.8, boost=0.4), "full": _Entry(boost=0.4),
    "increiblemente": _Entry(boost=0.6), "medio": _Entry(boost=-0.4), "algo": _Entry(boost=-0.3),
    "ligeramente": _Entry(boost=-0.5), "pero": _Entry(contrast="but"), "aunque": _Entry(contrast="although"),
}
_EN_WORDS: dict[str, _Entry] = {
    "good": _Entry(1.5), "great": _Entry(2.5), "excellent": _Entry(3), "amazing": _Entry(2.5),
    "awesome": _Entry(2.5), "wonderful": _Entry(2.5), "fantastic": _Entry(2.5), "perfect": _Entry(2),
    "nice": _Entry(1.5), "fine": _Entry(0.5), "love": _Entry(2.5), "loved": _Entry(2.5), "loving": _Entry(2.5),
    "happy": _Entry(2), "glad": _Entry(1.5), "pleased": _Entry(1.8), "satisfied": _Entry(1.5),
    "helpful": _Entry(1.5), "friendly": _Entry(1.5), "kind": _Entry(1.2), "fast": _Entry(1.0),
    "quick": _Entry(1.0), "quickly": _Entry(1.0), "easy": _Entry(0.8), "best": _Entry(2.5), "better": _Entry(1.0),
    "thanks": _Entry(0.8, courtesy=True), "thank": _Entry(0.8, courtesy=True), "appreciate": _Entry(1.5),
    "recommend": _Entry(2, -2), "works": _Entry(0.5, -2), "work": _Entry(0.3, -2), "working": _Entry(0.3, -2),
    "worked": _Entry(0.5, -2), "arrived": _Entry(0.0, -1.8), "arrive": _Entry(0.0, -1.5),
    "received": _Entry(0.0, -1.5), "receive": _Entry(0.0, -1.2), "helped": _Entry(1.2, -1.5),
    "help": _Entry(0.0, -1.0), "answer": _Entry(0.0, -1.5), "answers": _Entry(0.0, -1.5),
    "answered": _Entry(0.0, -1.5), "respond": _Entry(0.0, -1.5), "responded": _Entry(0.0, -1.5),
    "reply": _Entry(0.0, -1.5), "replied": _Entry(0.0, -1.5), "fixed": _Entry(1.2, -1.2),
    "resolved": _Entry(1.2, -1.5), "solved": _Entry(1.2, -1.5), "load": _Entry(0.0, -1.5),
    "loads": _Entry(0.0, -1.5), "ok": _Entry(0.3), "okay": _Entry(0.3), "cool": _Entry(1.5),
    "brilliant": _Entry(2.5), "outstanding": _Entry(3), "superb": _Entry(2.8), "impressed": _Entry(2),
    "bad": _Entry(-1.5), "terrible": _Entry(-2.5), "horrible": _Entry(-2.5), "awful": _Entry(-2.5),
    "worst": _Entry(-3), "worse": _Entry(-2), "poor": _Entry(-1.5), "disappointed": _Entry(-2),
    "disappointing": _Entry(-2), "frustrated": _Entry(-2), "frustrating": _Entry(-2), "angry": _Entry(-2),
    "upset": _Entry(-2), "annoyed": _Entry(-1.8), "annoying": _Entry(-1.8), "unacceptable": _Entry(-2.5),
    "ridiculous": _Entry(-2), "useless": _Entry(-2), "broken": _Entry(-1.5), "damaged": _Entry(-1.5),
    "late": _Entry(-1.0), "delay": _Entry(-1.0), "delayed": _Entry(-1.2), "slow": _Entry(-1.0),
    "wrong": _Entry(-1.2), "scam": _Entry(-3), "fraud": _Entry(-3), "hate": _Entry(-2.5), "sucks": _Entry(-2.5),
    "crap": _Entry(-2.5), "rude": _Entry(-2), "unhelpful": _Entry(-2), "problem": _Entry(-1.0),
    "problems": _Entry(-1.0), "issue": _Entry(-0.8), "issues": _Entry(-0.8), "error": _Entry(-0.8),
    "complaint": _Entry(-0.8), "refund": _Entry(-0.6), "waste": _Entry(-1.5), "mess": _Entry(-1.8),
    "disaster": _Entry(-2.5), "pathetic": _Entry(-2.5), "incompetent": _Entry(-2.5), "furious": _Entry(-2.5),
    "lol": _Entry(0.5), "haha": _Entry(0.5), "sadly": _Entry(-1.0), "unfortunately": _Entry(-0.8),
    "overcharged": _Entry(-2), "lovely": _Entry(2), "cold": _Entry(-0.8), "crash": _Entry(-1.5),
    "crashes": _Entry(-1.5), "confusing": _Entry(-1.2), "confused": _Entry(-1.0), "match": _Entry(0.0, -1.5),
    "matches": _Entry(0.0, -1.5), "crashing": _Entry(-1.5), "crashed": _Entry(-1.5), "rock": _Entry(1.5),
    "rocks": _Entry(1.5), "excessive": _Entry(-1.2), "missing": _Entry(-1.2),
    "not": _Entry(negator=True), "never": _Entry(negator=True), "nothing": _Entry(negator=True),
    "nobody": _Entry(negator=True), "none": _Entry(negator=True), "without": _Entry(negator=True),
    "hardly": _Entry(negator=True), "dont": _Entry(negator=True), "doesnt": _Entry(negator=True),
    "didnt": _Entry(negator=True), "isnt": _Entry(negator=True), "wasnt": _Entry(negator=True),
    "arent": _Entry(negator=True), "werent": _Entry(negator=True), "cant": _Entry(negator=True),
    "cannot": _Entry(negator=True), "couldnt": _Entry(negator=True), "wont": _Entry(negator=True),
    "wouldnt": _Entry(negator=True), "havent": _Entry(negator=True), "hasnt": _Entry(negator=True),
    "hadnt": _Entry(negator=True), "shouldnt": _Entry(negator=True), "aint": _Entry(negator=True),
    "very": _Entry(boost=0.5), "really": _Entry(boost=0.4), "so": _Entry(boost=0.4), "extremely": _Entry(boost=0.6),
    "totally": _Entry(boost=0.4), "absolutely": _Entry(boost=0.5), "incredibly": _Entry(boost=0.6),
    "too": _Entry(boost=0.3), "pretty": _Entry(boost=0.2), "quite": _Entry(boost=0.2), "truly": _Entry(boost=0.4),
    "completely": _Entry(boost=0.4), "slightly": _Entry(boost=-0.5), "somewhat": _Entry(boost=-0.4),
    "kinda": _Entry(boost=-0.4), "barely": _Entry(boost=-0.5), "but": _Entry(contrast="but"),
    "although": _Entry(contrast="although"), "though": _Entry(contrast="although"),
}
# Phrases (folded words separated by spaces). They win over single words, longest first.
_PHRASES: dict[str, _Entry] = {
    # Spanish, negative
    "me cobraron de mas": _Entry(-2.2), "cobraron de mas": _Entry(-2.2), "me cobraron doble": _Entry(-2.2),
    "cobraron dos veces": _Entry(-2.2), "cobro indebido": _Entry(-2.2), "cobro doble": _Entry(-2),
    "una verguenza": _Entry(-2.5), "que verguenza": _Entry(-2.5), "una porqueria": _Entry(-2.8),
    "una estafa": _Entry(-3), "un desastre": _Entry(-2.5), "una burla": _Entry(-2.5),
    "una falta de respeto": _Entry(-2.5), "falta de respeto": _Entry(-2.5), "una mierda": _Entry(-3),
    "una cagada": _Entry(-2.5), "un asco": _Entry(-2.5), "que asco": _Entry(-2.5), "me da asco": _Entry(-2.5),
    "nunca llego": _Entry(-2.2), "nunca llegaron": _Entry(-2.2), "nunca vino": _Entry(-2.2),
    "nunca mas": _Entry(-1.8), "que bronca": _Entry(-2), "me da bronca": _Entry(-2), "que mal": _Entry(-1.8),
    "que paila": _Entry(-1.8), "que roche": _Entry(-1.8), "que fome": _Entry(-1.5), "mala onda": _Entry(-1.5),
    "que poca madre": _Entry(-2.5), "hasta la madre": _Entry(-2.5), "estoy harto": _Entry(-2),
    "estoy harta": _Entry(-2), "estoy hartos": _Entry(-2), "harto de": _Entry(-2), "harta de": _Entry(-2),
    "me tienen harto": _Entry(-2.2), "me tienen harta": _Entry(-2.2), "me tienen podrido": _Entry(-2.2),
    "me tienen podrida": _Entry(-2.2), "me harte": _Entry(-2), "ya me canse": _Entry(-2),
    "al pedo": _Entry(-1.5), "que garron": _Entry(-2), "un garron": _Entry(-1.8),
    "es increible que": _Entry(-1.5), "no puede ser": _Entry(-1.5), "sigo esperando": _Entry(-1.5),
    "seguimos esperando": _Entry(-1.5), "todavia espero": _Entry(-1.5), "aun espero": _Entry(-1.5),
    "perdi todo el dia": _Entry(-1.8), "perdi el dia": _Entry(-1.8), "hora esperando": _Entry(-1.2),
    "horas esperando": _Entry(-1.5), "dias esperando": _Entry(-1.5), "semanas esperando": _Entry(-1.8),
    "sin internet": _Entry(-1.5), "sin senal": _Entry(-1.5), "sin luz": _Entry(-1.5), "sin servicio": _Entry(-1.5),
    "sin linea": _Entry(-1.5), "sin agua": _Entry(-1.5), "sin respuesta": _Entry(-1.5), "sin aviso": _Entry(-1.0),
    "se corto": _Entry(-1.2), "me cortaron": _Entry(-1.5), "hace cargo": _Entry(0.5, -1.8),
    "hacen cargo": _Entry(0.5, -1.8), "lo peor": _Entry(-2.5), "muy mal": _Entry(-2.2),
    "ni siquiera": _Entry(-0.8, negator=True), "no pedi": _Entry(-1.0),
    "me trataron mal": _Entry(-2), "me trato mal": _Entry(-2), "quiero la devolucion": _Entry(-0.6),
    "me devuelvan la plata": _Entry(-1.0), "me devuelvan el dinero": _Entry(-1.0),
    "no doy mas": _Entry(-2), "distinto al que": _Entry(-1.5), "diferente al que": _Entry(-1.5),
    "distinto a lo que": _Entry(-1.5), "diferente a lo que": _Entry(-1.5), "sin avisar": _Entry(-1.2),
    "sin avisarme": _Entry(-1.2), "sin consultarme": _Entry(-1.2), "tanto tiempo": _Entry(-0.8),
    "me tienen aburrido": _Entry(-2.2), "me tienen aburrida": _Entry(-2.2), "nada que ver con lo que": _Entry(-1.5),
    # Spanish, positive
    "de diez": _Entry(2.5), "un diez": _Entry(2.5), "diez puntos": _Entry(2.5), "una masa": _Entry(2.2),
    "un lujo": _Entry(2.5), "de lujo": _Entry(2.5), "un golazo": _Entry(2.5), "un amor": _Entry(2.2),
    "buena onda": _Entry(2), "muy padre": _Entry(2.2), "bien padre": _Entry(2.2), "que padre": _Entry(2.2),
    "a toda madre": _Entry(2.5), "de poca madre": _Entry(2.5), "que chimba": _Entry(2.5),
    "una chimba": _Entry(2.5), "la raja": _Entry(2.5), "lo maximo": _Entry(2.5), "lo mejor": _Entry(2.5),
    "al toque": _Entry(0.8), "vale la pena": _Entry(1.5, -1.5), "me gusto": _Entry(1.5, -1.5),
    "me gusta": _Entry(1.5, -1.5), "que bueno": _Entry(2), "que lindo": _Entry(2), "que rico": _Entry(1.8),
    "muchas gracias": _Entry(1.3), "mil gracias": _Entry(1.6), "muchisimas gracias": _Entry(1.8),
    "gracias de antemano": _Entry(0.2, courtesy=True), "de nada": _Entry(0.0), "no hay problema": _Entry(0.5),
    "sin problema": _Entry(0.5), "sin problemas": _Entry(0.5), "ningun problema": _Entry(0.5),
    "no pasa nada": _Entry(0.3), "no hay drama": _Entry(0.5), "esta bien": _Entry(1.0, -1.2),
    "me parece bien": _Entry(1.0), "quede conforme": _Entry(1.5),
    # Spanish, neutral (consume words that would otherwise count)
    "buenos dias": _Entry(), "buen dia": _Entry(), "buenas tardes": _Entry(), "buenas noches": _Entry(),
    "que tal": _Entry(), "por favor": _Entry(), "hace falta": _Entry(), "que onda": _Entry(),
    "lo antes posible": _Entry(), "mas o menos": _Entry(-0.5), "por medio de": _Entry(), "medio de": _Entry(),
    "algo de": _Entry(), "sin embargo": _Entry(contrast="but"), "si bien": _Entry(contrast="although"),
    "a pesar de": _Entry(contrast="although"), "un poco": _Entry(boost=-0.5), "un toque": _Entry(boost=-0.4),
    "un tanto": _Entry(boost=-0.4), "para nada": _Entry(negator=True), "de nuevo": _Entry(),
    # English
    "thank you": _Entry(0.8, courtesy=True), "thank you so much": _Entry(1.8), "thanks so much": _Entry(1.8),
    "thanks a lot": _Entry(1.5), "many thanks": _Entry(1.5), "thanks in advance": _Entry(0.2, courtesy=True),
    "not bad": _Entry(0.8), "no problem": _Entry(0.5), "no worries": _Entry(0.5), "charged twice": _Entry(-2.2),
    "charged me twice": _Entry(-2.2), "no response": _Entry(-1.5), "taking so long": _Entry(-1.5),
    "taking forever": _Entry(-1.8), "takes forever": _Entry(-1.8), "too long": _Entry(-1.0),
    "no answer": _Entry(-1.5), "never arrived": _Entry(-2.2), "never received": _Entry(-2),
    "never came": _Entry(-2), "still waiting": _Entry(-1.5), "waste of time": _Entry(-2.5),
    "rip off": _Entry(-2.5), "ripoff": _Entry(-2.5), "no one": _Entry(negator=True), "kind of": _Entry(boost=-0.4),
    "sort of": _Entry(boost=-0.4), "a bit": _Entry(boost=-0.5), "a little": _Entry(boost=-0.5),
    "good morning": _Entry(), "good afternoon": _Entry(), "good evening": _Entry(), "good night": _Entry(),
    "even though": _Entry(contrast="although"), "however": _Entry(contrast="but"), "would like": _Entry(),
    "at all": _Entry(boost=0.3), "such a": _Entry(boost=0.4), "fed up": _Entry(-2), "the best": _Entry(2.5),
    "well done": _Entry(2), "looks like": _Entry(), "feel like": _Entry(),
}
_EMOJIS: dict[str, float] = {
    "😡": -3, "😠": -2.5, "🤬": -3, "👎": -2, "😤": -2, "😞": -2, "😢": -2, "😭": -1.5, "😒": -1.5, "🙄": -1.5,
    "💩": -2, "😔": -1.5, "😩": -1.8, "😫": -1.8, "😖": -1.5, "😣": -1.5, "🤦": -1.5, "😕": -1, "🙁": -1.5,
    "☹": -2, "😑": -1, "😐": -0.3, "💔": -2, "😓": -1, "😰": -1.2, "😟": -1.2, "🤮": -2.5, "🖕": -3,
    "😊": 2, "😀": 2, "😃": 2, "😄": 2, "😁": 2, "🙂": 1, "😉": 1, "😍": 2.5, "🥰": 2.5, "😘": 2, "❤": 2.5,
    "💙": 2, "💚": 2, "💜": 2, "🧡": 2, "💛": 2, "🤍": 2, "💕": 2, "💖": 2, "👍": 1.5, "👏": 2, "🙌": 2,
    "💯": 2, "✅": 0.5, "🎉": 2, "🥳": 2, "🤩": 2.5, "😂": 1, "🤣": 1, "😅": 0.3, "👌": 1.5, "⭐": 1, "🌟": 1.5,
    "🔥": 1.5, "💪": 1.2, "🤗": 2, "☺": 2, "😇": 1.5,
}
_COURTESY_EMOJIS = frozenset({"🙏"})
_EMOTICONS: dict[str, float] = {
    ":)": 1.5, ":-)": 1.5, "=)": 1.5, ";)": 1, ";-)": 1, ":d": 2, ":-d": 2, "xd": 1, ":p": 0.5, ":-p": 0.5,
    "<3": 2, ":(": -1.5, ":-(": -1.5, "=(": -1.5, ":'(": -2, ":/": -1, ":-/": -1, ":|": -0.3, ":c": -1.5,
}
# Words that make a message a request, where courtesy is politeness rather than sentiment.
_REQUEST_WORDS = _words("""
quiero queria quisiera necesito necesitaria necesitamos podrian podria pueden puede podes podrias consulta
consultar saber ayudan ayuden ayudar solicito could can would need want please
""")
# A resolving verb (not negated) cancels a problem word of its clause: "that solved my problem" is good news.
_RESOLVERS = _words("""
resolvieron resolvio solucionaron soluciono arreglaron solucionado resuelto arreglado solved resolved fixed
""")
_PROBLEMS = _words("problema problemas error errores falla fallas fallo problem problems issue issues")
_DISCOURSE_OPENERS = frozenset({"bueno", "bien", "ok", "okey", "dale", "listo", "vale", "buenas"})
_PREFIX_INTENSIFIERS = ("recontra", "requete", "super", "re")


def _compile_entries() -> tuple[dict[str, _Entry], dict[tuple[str, ...], _Entry], int]:
    words: dict[str, _Entry] = {}
    for word, value in _ES_ADJECTIVES.items():
        for form in _adj(word):
            words.setdefault(form, _Entry(value))
    for table in (_ES_WORDS, _EN_WORDS):
        words.update(table)
    for emoji, value in _EMOJIS.items():
        words[emoji] = _Entry(value)
    for emoji in _COURTESY_EMOJIS:
        words[emoji] = _Entry(1.0, courtesy=True)
    phrases = {tuple(key.split()): entry for key, entry in _PHRASES.items()}
    return words, phrases, max(len(key) for key in phrases)


_WORDS, _PHRASE_TABLE, _MAX_PHRASE = _compile_entries()
_VOCABULARY = frozenset(_WORDS) | frozenset(word for key in _PHRASE_TABLE for word in key)
_SQUEEZE_ALL = re.compile(r"(.)\1+")
_SQUEEZE_LONG = re.compile(r"(.)\1{2,}")
_SQUEEZED: dict[str, str] = {}
for _word in sorted(_VOCABULARY):
    _SQUEEZED.setdefault(_SQUEEZE_ALL.sub(r"\1", _word), _word)
_LAUGHTER = re.compile(r"^(?:(?:j+[aeiou]+){2,}j*|(?:h+[ae]+){2,}h*|(?:[aeiou]+j+){2,}[aeiou]*)$")
_SUPERLATIVE = re.compile(r"^(\w{2,}?)isim([oa])s?$")
_ACCENTS = str.maketrans("áéíóúüàèìòùâêîôûäëïö", "aeiouuaeiouaeiouaeio")
_STRIP = re.compile(r"https?://\S+|www\.\S+|\S+@\S+\.\w+|[\ufe0f\ufe0e\u200d\U0001F3FB-\U0001F3FF]")
_TOKENS = re.compile(
    r"(?P<emoticon>(?<!\w)(?:[:;=]'?-?[()dDpP/|]|<3|[xX][dD]+|:c)(?![\w/]))"
    r"|(?P<word>[^\W_]+(?:['\u2019][^\W_]+)*)"
    r"|(?P<emoji>[\U0001F300-\U0001FAFF\u2600-\u27BF\u2B50\u2B55])"
    r"|(?P<punct>[.,;:!?\n\u2026])"
)


@dataclass(frozen=True, slots=True)
class _Token:
    key: str  # the folded, canonical form looked up in the lexicon ("" for punctuation)
    surface: str
    punct: str = ""
    elongated: bool = False
    superlative: bool = False

    @property
    def caps(self) -> bool:
        letters = [c for c in self.surface if c.isalpha()]
        return len(letters) >= 2 and all(c.isupper() for c in letters)


@dataclass(slots=True)
class _Unit:
    entry: _Entry
    tokens: tuple[_Token, ...]


@dataclass(slots=True)
class _Term:
    value: float
    clause: int
    courtesy: bool = False
    problem: bool = False


def _fold(word: str) -> str:
    return word.casefold().translate(_ACCENTS).replace("'", "").replace("\u2019", "")


def _canonical(word: str) -> list[_Token]:
    """The lexicon form(s) of one word: usually one token; two for a glued intensifier ("rebien")."""
    folded = _fold(word)
    squeezed = _SQUEEZE_LONG.sub(r"\1\1", folded)
    elongated = squeezed != folded
    if squeezed in _VOCABULARY:
        return [_Token(squeezed, word, elongated=elongated)]
    collapsed = _SQUEEZE_ALL.sub(r"\1", squeezed)
    if len(collapsed) >= 3 and collapsed in _SQUEEZED:
        return [_Token(_SQUEEZED[collapsed], word, elongated=elongated)]
    if _LAUGHTER.match(collapsed) and len(folded) >= 4:
        return [_Token("jaja", word)]
    match = _SUPERLATIVE.match(collapsed)
    if match:
        stem = re.sub(r"qu$", "c", re.sub(r"gu$", "g", match.group(1)))
        for base in (stem + match.group(2), stem + "o", stem + "e", stem):
            if base in _WORDS and _WORDS[base].value:
                return [_Token(base, word, elongated=elongated, superlative=True)]
    for prefix in _PREFIX_INTENSIFIERS:
        rest = collapsed[len(prefix):]
        if collapsed.startswith(prefix) and len(rest) >= 3:
            rest = rest[1:] if prefix == "super" and rest.startswith("rr") else rest
            if rest in _WORDS and _WORDS[rest].value and not _WORDS[rest].negator:
                return [_Token(prefix, word), _Token(rest, word, elongated=elongated)]
    return [_Token(squeezed, word, elongated=elongated)]


def _tokenize(text: str) -> list[_Token]:
    text = _STRIP.sub(" ", unicodedata.normalize("NFC", text))
    tokens: list[_Token] = []
    for match in _TOKENS.finditer(text):
        kind, value = match.lastgroup, match.group()
        if kind == "word":
            tokens.extend(_canonical(value))
        elif kind == "emoticon":
            tokens.append(_Token("", value, punct="emoticon"))
        elif kind == "emoji":
            tokens.append(_Token(value, value))
        else:
            tokens.append(_Token("", value, punct=value))
    return tokens


def _units(tokens: Sequence[_Token]) -> list[_Unit | _Token]:
    """Group words into lexicon units (phrases first, longest first); punctuation stays as tokens."""
    out: list[_Unit | _Token] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token.punct == "emoticon":
            face = _SQUEEZE_ALL.sub(r"\1", token.surface.lower())  # "XDDD" -> "xd"
            out.append(_Unit(_Entry(_EMOTICONS.get(face, 0.0)), (token,)))
            i += 1
            continue
        if token.punct:
            out.append(token)
            i += 1
            continue
        for size in range(min(_MAX_PHRASE, len(tokens) - i), 1, -1):
            window = tokens[i:i + size]
            if any(t.punct for t in window):
                continue
            entry = _PHRASE_TABLE.get(tuple(t.key for t in window))
            if entry is not None:
                out.append(_Unit(entry, tuple(window)))
                i += size
                break
        else:
            out.append(_Unit(_WORDS.get(token.key, _Entry()), (token,)))
            i += 1
    return out


def _is_polar(unit: _Unit | _Token | None) -> bool:
    return isinstance(unit, _Unit) and bool(unit.entry.value or unit.entry.negated) and not unit.entry.negator


def _evidence(text: str) -> tuple[float, float]:
    """Positive and negative evidence (P, N) of a text, both >= 0."""
    units = _units(_tokenize(text))
    terms: list[_Term] = []
    clause_punct: list[str] = [""]
    clause = 0
    negation_left = 0  # words the active negation can still reach
    boost = 1.0
    boost_left = 0
    concessive = False
    after_contrast = 1.0
    is_request = False
    first_word = True
    resolved_clause = -1

    for position, unit in enumerate(units):
        if isinstance(unit, _Token):  # punctuation closes the clause
            clause_punct[clause] += unit.punct
            if position + 1 < len(units) and isinstance(units[position + 1], _Unit):
                clause += 1
                clause_punct.append("")
            negation_left, boost, boost_left, concessive = 0, 1.0, 0, False
            continue
        entry = unit.entry
        keys = [t.key for t in unit.tokens]
        if any(k in _REQUEST_WORDS for k in keys):
            is_request = True
        nxt = units[position + 1] if position + 1 < len(units) else None
        opener = first_word
        first_word = False
        if opener and len(keys) == 1 and keys[0] in _DISCOURSE_OPENERS and (
                isinstance(nxt, _Token) or (keys[0] == "buenas" and nxt is not None)):
            continue  # "Bueno, ..." / "Buenas, ..." / "Ok." open a message, they do not judge
        if entry.contrast == "but":
            for term in terms:
                term.value *= BEFORE_CONTRAST
            after_contrast = AFTER_CONTRAST
            negation_left, boost, boost_left, concessive = 0, 1.0, 0, False
            continue
        if entry.contrast == "although":
            concessive = True
            negation_left, boost, boost_left = 0, 1.0, 0
            continue
        if entry.boost and (not entry.value or _is_polar(nxt)):  # "bien"/"súper"/"harto" boost only a polar word
            boost *= 1 + entry.boost
            boost_left = INTENSIFIER_WINDOW
            continue
        if entry.negator:
            if entry.value:
                terms.append(_Term(entry.value * after_contrast * (CONCESSIVE if concessive else 1.0), clause))
            negation_left = NEGATION_WINDOW
            continue
        if entry.value or (entry.negated is not None and negation_left > 0):
            negated = negation_left > 0
            value = entry.value_negated() if negated else entry.value
            negation_left = 0
            if not negated and keys[-1] in _RESOLVERS:
                resolved_clause = clause
                for term in terms:
                    if term.problem and term.clause == clause:
                        term.value = 0.0
            problem = keys[-1] in _PROBLEMS
            if problem and resolved_clause == clause:
                continue
            value *= boost if boost_left > 0 else 1.0
            boost, boost_left = 1.0, 0
            if any(t.superlative for t in unit.tokens):
                value *= SUPERLATIVE_BOOST
            if any(t.elongated for t in unit.tokens):
                value *= ELONGATION_BOOST
            if any(t.caps for t in unit.tokens):
                value *= CAPS_BOOST
            value *= after_contrast * (CONCESSIVE if concessive else 1.0)
            terms.append(_Term(value, clause, entry.courtesy, problem))
            continue
        negation_left = max(0, negation_left - 1)
        boost_left = max(0, boost_left - 1)
        if boost_left == 0:
            boost = 1.0

    positive = negative = 0.0
    is_request = is_request or any("?" in p for p in clause_punct)
    for term in terms:
        punct = clause_punct[term.clause] if term.clause < len(clause_punct) else ""
        value = term.value
        if "?" in punct:
            value *= QUESTION_FACTOR
        elif "!" in punct:
            value *= 1 + EXCLAMATION_STEP * min(3, punct.count("!"))
        if term.courtesy and is_request:
            value *= COURTESY_IN_REQUEST
        if value > 0:
            positive += value
        else:
            negative -= value
    return positive, negative


def _probabilities(positive: float, negative: float) -> tuple[float, float, float, float]:
    total = positive + negative
    neutral = NEUTRAL_MASS / (NEUTRAL_MASS + total)
    if total == 0:
        return 0.0, 0.0, 1.0, 0.0
    low, high = min(positive, negative), max(positive, negative)
    mix = (low / high) * min(1.0, low / MIXED_STRENGTH)  # high > 0: total > 0
    polar = 1 - neutral
    return polar * (1 - mix) * positive / total, polar * (1 - mix) * negative / total, neutral, polar * mix


def _label(positive: float, negative: float, neutral: float, mixed: float) -> SentimentLabel:
    ranked: Iterable[tuple[float, SentimentLabel]] = (
        (neutral, SentimentLabel.NEUTRAL), (positive, SentimentLabel.POSITIVE),
        (negative, SentimentLabel.NEGATIVE), (mixed, SentimentLabel.MIXED))
    best_value, best = -1.0, SentimentLabel.NEUTRAL
    for value, label in ranked:
        if value > best_value + 1e-9:
            best_value, best = value, label
    return best


class LexiconSentiment:
    """Offline sentiment for Spanish and English (satisfies shared.services.sentiment.SentimentAnalyzer).

    One bilingual lexicon scores every text (customers mix languages: "el delivery fue awesome"); `language` only
    says what the result reports, guessed with detect_language when None.
    """

    def analyze(self, text: str, language: str | None = None) -> Sentiment:
        lang = normalize_language(language, text)
        if not text or not text.strip():
            return Sentiment.neutral_placeholder(lang)
        positive, negative, neutral, mixed = _probabilities(*_evidence(text))
        return Sentiment(_label(positive, negative, neutral, mixed), positive, negative, neutral, mixed, lang)

    def analyze_batch(self, texts: Sequence[str], language: str | None = None) -> list[Sentiment]:
        return [self.analyze(text, language) for text in texts]

