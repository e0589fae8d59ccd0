"""The language of an item: the source's declared language checked by detection.

Municipal CMSs often declare the site's default language on every page and
feed, so the declared language is a prior, not the truth. Detection runs on
the title and the text with py3langid restricted to the 24 official EU
languages (deterministic, Irish and Maltese covered; langdetect has neither
and answers differently from run to run unless seeded):

- a confident detection wins, whatever was declared;
- a detection that agrees with the declaration confirms it;
- a text too short to tell, or a detection that is not confident, keeps the
  declared language;
- with nothing declared, the best detection is taken, however weak.
"""

from __future__ import annotations

import math
import re
import threading
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal, Protocol

from py3langid.langid import MODEL_FILE
from py3langid.langid import LanguageIdentifier as _Py3LangId

EU_LANGUAGES = frozenset(
    [
        "bg",
        "cs",
        "da",
        "de",
        "el",
        "en",
        "es",
        "et",
        "fi",
        "fr",
        "ga",
        "hr",
        "hu",
        "it",
        "lt",
        "lv",
        "mt",
        "nl",
        "pl",
        "pt",
        "ro",
        "sk",
        "sl",
        "sv",
    ]
)

Method = Literal[
    "detected", "declared", "declared-confirmed", "declared-short-text", "unknown"
]

# On tests/fixtures/languages every detection is right, and 14 of 1,220 are
# below this, all titles of a close pair (hr/sl, cs/sk): there a declared
# language is kept rather than overruled.
CONFIDENT = 0.90
# Below this many letters detection is a guess: a declared language is kept.
SHORT_TEXT_LETTERS = 20
# Detection reads the start of a long text only; a press release does not
# change language halfway, and the cost grows with the length (0.44 ms for
# 1,500 characters, 0.17 ms for 500, on every entry of a crawl).
_SAMPLE_CHARS = 500
_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)


@dataclass(frozen=True, slots=True)
class LanguageDecision:
    """An ISO 639-1 code (``""`` when unknown), how it was decided, how sure."""

    code: str
    method: Method
    confidence: float


class Detector(Protocol):
    """Anything that ranks candidate languages for a text, best first."""

    def rank(self, text: str) -> list[tuple[str, float]]: ...


class Py3LangIdDetector:
    """py3langid's model restricted to some languages, probabilities normalised.

    Building one loads the model (about 0.2 s), so build it once and share it.
    """

    def __init__(self, languages: frozenset[str] = EU_LANGUAGES) -> None:
        self._identifier = _Py3LangId.from_model_file(MODEL_FILE, norm_probs=True)
        self._identifier.set_languages(sorted(languages))
        # The model of all 97 languages is kept for a later set_languages; 27 MB
        # in every process that detects, and never asked for again.
        self._identifier._full_model = (
            self._identifier.nb_ptc,
            self._identifier.nb_pc,
            self._identifier.nb_classes,
        )

    def rank(self, text: str) -> list[tuple[str, float]]:
        ranked = self._identifier.rank(text)
        return [(str(code), float(p)) for code, p in ranked if not math.isnan(p)]


# Threads that parse their first entries at once wait for one model: built
# side by side, each would read it again, and CPython 3.11 can fail with
# "AST constructor recursion depth mismatch" when threads run numpy's header
# parser (ast.literal_eval) at the same moment.
_BUILDING = threading.Lock()


def default_detector() -> Py3LangIdDetector:
    """The EU-language detector, built on first use and then shared.

    The cache and its lock are the only module-level state: the model is
    read-only once built, so sharing it between callers (and threads) is safe.
    """
    with _BUILDING:
        return _build_detector()


@lru_cache(maxsize=1)
def _build_detector() -> Py3LangIdDetector:
    return Py3LangIdDetector()


def detect_language(
    title: str, text: str, declared: str = "", detector: Detector | None = None
) -> LanguageDecision:
    """Decide the language of an item from its title, text and declared language.

    ``declared`` may be any language tag (``de-AT``, ``pt_BR``); only its
    primary subtag counts.
    """
    prior = language_code(declared)
    sample = f"{title.strip()}\n{text.strip()[:_SAMPLE_CHARS]}".strip()
    letters = len(_LETTER.findall(sample))

    if letters == 0:
        if prior:
            return LanguageDecision(prior, "declared-short-text", 0.0)
        return LanguageDecision("", "unknown", 0.0)

    ranked = (detector or default_detector()).rank(sample)
    if not ranked:
        if prior:
            return LanguageDecision(prior, "declared", 0.0)
        return LanguageDecision("", "unknown", 0.0)
    best, confidence = ranked[0]

    if prior and best == prior:
        return LanguageDecision(prior, "declared-confirmed", confidence)
    if prior and letters < SHORT_TEXT_LETTERS:
        return LanguageDecision(prior, "declared-short-text", _score(ranked, prior))
    if prior and confidence < CONFIDENT:
        return LanguageDecision(prior, "declared", _score(ranked, prior))
    return LanguageDecision(best, "detected", confidence)


def language_code(tag: str) -> str:
    """``de-AT`` and ``DE_at`` become ``de``; anything that is no code, ``""``."""
    primary = tag.strip().replace("_", "-").split("-")[0].lower()
    return (
        primary if len(primary) == 2 and primary.isascii() and primary.isalpha() else ""
    )


def _score(ranked: list[tuple[str, float]], code: str) -> float:
    return next((p for candidate, p in ranked if candidate == code), 0.0)
