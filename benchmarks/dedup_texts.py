"""Generated press releases for the dedup benchmark, deterministic with a seed.

Each language gets its own function words and a vocabulary of pseudo-words
built from its own syllables, drawn with Zipf-like frequencies, so that
texts in one language share common words and phrases as real ones do while
unrelated texts share few runs of three words. Edits mimic what republishers
do to a release: a rewritten paragraph, their own header and footer,
sentences in another order, a typo.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np

# Function words and syllables written for this benchmark; the pseudo-words
# only need to look and behave like a language's words, not mean anything.
LANGUAGES = {
    "en": (
        "the of and to in for on with by at from is are was will be that this "
        "it as an a our city council new",
        "ro ad ment tion ing er al com pro ci ty work pub lic ser vice par "
        "house mar ket dis trict plan",
    ),
    "fr": (
        "le la les de des du et en pour sur avec par au aux est sont sera "
        "une un dans ce cette ville conseil nouveau",
        "ment tion eau ville pro jet con seil re nou vel ter ri toire ha bi "
        "tant mai rie quar tier rou",
    ),
    "de": (
        "der die das und in im mit von zu für auf ist sind wird ein eine den "
        "dem des stadt rat neue bei",
        "stadt ver wal tung bau ge mein de rat haus stra ße schul en ung "
        "keit bür ger amt wer platz",
    ),
    "it": (
        "il la le di del della e in per con su da è sono sarà un una che "
        "questo città consiglio nuovo al",
        "zio ne co mu ne pro get to cit ta di ni stra da scuo la la vo ri "
        "pia no ser vi",
    ),
    "es": (
        "el la los las de del y en para con por es son será un una que este "
        "ciudad consejo nuevo al se",
        "ción mu ni ci pio pro yec to ca lle ba rrio ve ci no plan ser vi "
        "cio par que zo na",
    ),
    "pl": (
        "w i na z do dla od jest są będzie to ten ta nowy miasto rada przez "
        "po oraz przy się że",
        "mia sto gmi na ra da pro jekt ul ica szko ła miesz kań cy ro bo ty "
        "plan dzie ni ca",
    ),
}

VOCABULARY = 6000


@dataclass(frozen=True)
class Language:
    code: str
    words: list[str]
    # Cumulative Zipf weights: a uniform draw searched in it picks a word.
    cumulative: np.ndarray


def build_languages(seed: int) -> list[Language]:
    """Per language: function words first, then pseudo-words, Zipf-weighted."""
    rng = random.Random(seed)
    languages = []
    for code, (function_words, syllables) in LANGUAGES.items():
        words = function_words.split()
        seen = set(words)
        while len(words) < VOCABULARY:
            parts = syllables.split()
            word = "".join(rng.choice(parts) for _ in range(rng.randint(1, 4)))
            if word not in seen:
                seen.add(word)
                words.append(word)
        ranks = np.arange(1, len(words) + 1, dtype=float)
        weights = 1.0 / ranks**1.05
        cumulative = np.cumsum(weights / weights.sum())
        cumulative[-1] = 1.0
        languages.append(Language(code, words, cumulative))
    return languages


class TextMaker:
    """Makes releases and their edited copies from one seeded generator."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.languages = build_languages(seed)

    def paragraph(self, language: Language, sentences: int) -> list[str]:
        lengths = self.rng.integers(8, 24, size=sentences)
        picks = np.searchsorted(language.cumulative, self.rng.random(lengths.sum()))
        words = [language.words[i] for i in picks]
        result = []
        start = 0
        for length in lengths:
            result.append(" ".join(words[start : start + length]).capitalize() + ".")
            start += length
        return result

    def title(self, language: Language) -> str:
        return self.paragraph(language, 1)[0].split(".")[0][:90]

    def release(self, language: Language | None = None) -> tuple[str, list[list[str]]]:
        """A release of 80 to 400 words: (language code, paragraphs of sentences)."""
        language = (
            language or self.languages[int(self.rng.integers(len(self.languages)))]
        )
        target = int(self.rng.integers(80, 401))
        paragraphs: list[list[str]] = []
        words = 0
        while words < target:
            paragraph = self.paragraph(language, int(self.rng.integers(2, 5)))
            paragraphs.append(paragraph)
            words += sum(len(s.split()) for s in paragraph)
        return language.code, paragraphs

    def language(self, code: str) -> Language:
        return next(each for each in self.languages if each.code == code)

    def edit(
        self, code: str, paragraphs: list[list[str]], kind: str
    ) -> list[list[str]]:
        """A copy of a release as a republisher might publish it."""
        language = self.language(code)
        copy = [list(p) for p in paragraphs]
        if kind == "paragraph":
            index = int(self.rng.integers(len(copy)))
            copy[index] = self.paragraph(language, len(copy[index]))
        elif kind == "frame":
            copy.insert(0, self.paragraph(language, 1))
            copy.append(self.paragraph(language, 2))
        elif kind == "reorder":
            sentences = [s for p in copy for s in p]
            for _ in range(max(1, len(sentences) // 4)):
                i, j = self.rng.integers(len(sentences), size=2)
                sentences[i], sentences[j] = sentences[j], sentences[i]
            copy = [sentences]
        elif kind == "typo":
            copy = [
                [self._typo(s) if self.rng.random() < 0.15 else s for s in p]
                for p in copy
            ]
        return copy

    def _typo(self, sentence: str) -> str:
        position = int(self.rng.integers(1, len(sentence) - 1))
        return (
            sentence[:position]
            + sentence[position + 1]
            + sentence[position]
            + sentence[position + 2 :]
        )


def as_text(paragraphs: list[list[str]]) -> str:
    return "\n\n".join(" ".join(p) for p in paragraphs)
