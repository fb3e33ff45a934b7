"""Text normalization shared by keyword triggers, the intent classifier and knowledge retrieval.

Spanish first, English second. Everything here produces *comparison keys*, not display text:

- `fold`: lower case, accents folded (so "ñ" meets "n" and "crédito" meets "credito"), punctuation and emoji
  turned into spaces, letters repeated three or more times collapsed ("holaaa" -> "hola").
- `squeeze`: every run of a repeated letter collapsed ("holaa" -> "hola", "llamar" -> "lamar"); applied to both
  sides of a comparison, the lost "ll"/"rr" never matters and the common two-letter stretch is absorbed.
- `stem`: a light suffix stemmer (plural, gender, the frequent verb endings, enclitic pronouns after an
  infinitive or gerund), so "créditos", "crédito" and "credito", or "pagar", "pagué" and "pagos" meet.
- `tokens`: content words, stemmed, stop words (function words, courtesy words, chat shorthand) dropped.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache


def _split(text: str) -> tuple[str, ...]:
    """Word lists are written as one string per line for reading; this splits them."""
    return tuple(text.split())


_NON_WORD = re.compile(r"[^a-z0-9]+")
_LONG_RUN = re.compile(r"([a-z])\1{2,}")  # no Spanish or English word has a letter three times in a row
_ANY_RUN = re.compile(r"([a-z])\1+")

# Grammar only: articles, prepositions, pronouns, conjunctions, copulas, auxiliaries, and the chat shorthand
# that stands for them ("q", "xq", "d"). Negations and courtesy words are *not* here: "no tengo internet",
# "nada más" and "hola" carry meaning for an intent classifier.
FUNCTION_WORDS: dict[str, frozenset[str]] = {
    "es": frozenset(_split(
        "a al algo algun alguna algunas alguno algunos ante aqui asi aun cada como con contra cual cuales cuando "
        "de del desde donde el ella ellas ello ellos en entre era eran es esa esas ese eso esos esta estaba estan "
        "estar este esto estos estoy estas fue fueron ha hacia han has hasta hay he la las le les lo los me mi "
        "mis mio mia nos nosotros o os otra otras otro otros para pero por porque pues que quien se sea ser sido "
        "sobre son su sus tan tanto te ti tu tus un una uno unos unas usted ustedes vos y ya yo "
        "q k xq pq porq d x tb tmb")),
    "en": frozenset(_split(
        "a about am an and are as at be been but by can could did do does for from had has have how i if im in "
        "into is it its me my of on or our so than that the their them then there these they this to us was we "
        "were what when where which who will with would you your youre s t m d ll re ve u ur")),
}

STOPWORDS: dict[str, frozenset[str]] = {
    "es": FUNCTION_WORDS["es"] | frozenset(_split(
        "antes bajo bien mas mucho muy nada ni no poco sin tambien tengo tiene tienen todo todos va vamos "
        "hola buenas buenos dias tardes noches favor gracias porfa porfavor xfa plis")),
    "en": FUNCTION_WORDS["en"] | frozenset(_split("any some hello hi please thanks thank thx pls")),
}

_ES_SUFFIXES = tuple(sorted(_split(
    # derivational
    "amientos imientos amiento imiento aciones uciones acion ucion adoras adores adora ador ancias encias ancia "
    "encia iones ion amente mente idades idad ables ibles able ible istas ista osos osas oso osa ivos ivas ivo iva "
    # verbal: gerund, participle, imperfect, preterite, conditional, future, infinitive (not "-amos": it would
    # take "prestamos" and "reclamos" apart from their singular)
    "ando iendo yendo ados adas idos idas ado ada ido ida aban abas abamos aba iamos ian ias ia ieron aron "
    "aste iste arian erian irian arias erias irias aria eria iria aremos eremos iremos ar er ir an en "
    # nominal: plural and gender
    "ios io es as os a e o s"), key=lambda s: (-len(s), s)))
_EN_SUFFIXES = tuple(sorted(_split("ations ation ments ment ness ings ing edly ies ied ers er ed es s e y"),
                            key=lambda s: (-len(s), s)))
_ES_CLITIC = re.compile(  # an object pronoun glued to an infinitive or gerund: "comunicarme", "explicandole"
    r"^(.{2,}?(?:ar|er|ir|ando|iendo))(?:selos|selas|melo|mela|telo|tela|nos|los|las|les|me|te|se|lo|la|le)$")
_MIN_STEM = 3


def language_of(language: str) -> str:
    """'en', 'en-US', 'EN_gb' -> 'en'; anything else gets the Spanish rules (the first market)."""
    return "en" if language.lower().startswith("en") else "es"


def strip_accents(text: str) -> str:
    """The text with combining marks removed ("crédito" -> "credito"); punctuation and case kept."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def fold(text: str) -> str:
    """Lower case, accents removed, anything not a letter or digit turned into one space, long letter runs cut.

    Idempotent: the result only holds [a-z0-9 ] with no letter three times in a row.
    """
    ascii_text = strip_accents(text.casefold()).lower()
    return _LONG_RUN.sub(r"\1", _NON_WORD.sub(" ", ascii_text)).strip()


def words(text: str) -> list[str]:
    return fold(text).split()


def squeeze(word: str) -> str:
    """Collapse every run of a repeated letter ("holaa" -> "hola"): a comparison key for both sides."""
    return _ANY_RUN.sub(r"\1", word)


@lru_cache(maxsize=16384)
def stem(word: str, language: str = "es") -> str:
    """Strip the longest known suffix that leaves at least three letters. Deliberately light: over-merging two
    intents' words costs more than missing a rare inflection, which the classifier's character n-grams catch."""
    if language_of(language) == "en":
        for suffix in _EN_SUFFIXES:
            if word.endswith(suffix) and len(word) - len(suffix) >= _MIN_STEM:
                return word[: -len(suffix)]
        return word
    clitic = _ES_CLITIC.match(word)
    if clitic:
        word = clitic.group(1)  # "comunicarme" -> "comunicar", "explicandole" -> "explicando"
    for suffix in _ES_SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= _MIN_STEM:
            root = word[: -len(suffix)]
            if suffix[0] in "ei" and root.endswith(("qu", "gu")):
                root = root[:-1] if root.endswith("gu") else root[:-2] + "c"  # "pagué" -> "pag", "saqué" -> "sac"
            return root
    return word


def tokens(text: str, language: str = "es") -> list[str]:
    """Content words, stemmed: what classifiers and retrieval compare."""
    lang = language_of(language)
    stop = STOPWORDS[lang]
    out: list[str] = []
    for w in words(text):
        key = squeeze(w)
        if w not in stop and key not in stop:
            out.append(stem(key, lang))
    return out
