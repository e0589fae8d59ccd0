"""Terms of the topic rules, and one compiled matcher for all terms of a language.

A term is one word or a phrase of words, written by an editor in a rule file.
Each word is matched against the words of an item after both were normalised
the same way (lower case, no diacritics, hyphens and punctuation as spaces):

    tram         the word itself
    tramvaj*     any word that starts with "tramvaj" (inflections, compounds)
    *bahn        any word that ends with "bahn" (German, Dutch, Nordic compounds)
    *energie*    any word that contains "energie"
    bus lane*    a phrase: the words in a row, each exact or with a final *

The matcher keeps one dictionary per kind of word pattern, keyed by the word,
its prefix or its suffix, so matching an item costs a few dictionary look-ups
per word whatever the number of terms.
"""

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

WORD = re.compile(r"[^\W_]+")

# Letters that Unicode does not decompose into a base letter and a mark.
LETTERS = str.maketrans(
    {
        "ß": "ss",
        "ł": "l",
        "ø": "o",
        "æ": "ae",
        "œ": "oe",
        "đ": "d",
        "ħ": "h",
        "ı": "i",
        "ŀ": "l",
        "þ": "th",
        "ð": "d",
        "ς": "σ",
    }
)


def normalise(text: str) -> str:
    """Lower case without diacritics: "Brně" -> "brne", "Ηράκλειο" -> "ηρακλειο".

    Feeds drop or mangle diacritics often enough that matching without them
    finds more than it confuses.
    """
    # Limitation: a few words meet once marks are gone (Swedish miljön, the
    # environment, and miljon, a million); rule files list such stems in full.
    lowered = text.casefold().translate(LETTERS)
    decomposed = unicodedata.normalize("NFKD", lowered)
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def words_of(text: str) -> list[str]:
    """The normalised words of a text, in order."""
    return WORD.findall(normalise(text))


@dataclass(frozen=True)
class WordPattern:
    """One word of a term: the text and how it must meet an item's word."""

    text: str
    kind: str  # "exact", "prefix", "suffix" or "infix"

    def matches(self, word: str) -> bool:
        if self.kind == "exact":
            return word == self.text
        if self.kind == "prefix":
            return word.startswith(self.text)
        if self.kind == "suffix":
            return word.endswith(self.text)
        return self.text in word


def parse_term(term: str) -> tuple[WordPattern, ...]:
    """The word patterns of a term as written in a rule file.

    Raises ValueError with a reason a person can act on when the term is empty
    or uses a wildcard where it cannot work.
    """
    raw_words = term.split()
    if not raw_words:
        raise ValueError("the term is empty")

    patterns: list[WordPattern] = []
    for raw in raw_words:
        leading = raw.startswith("*")
        trailing = raw.endswith("*") and len(raw) > 1
        core_words = words_of(raw.strip("*"))
        if not core_words:
            raise ValueError(f"{raw!r} has no letters or digits")
        if (leading or "*" in raw.strip("*")) and len(raw_words) > 1:
            raise ValueError(f"{raw!r}: only a final * is allowed inside a phrase")
        if "*" in raw.strip("*"):
            raise ValueError(f"{raw!r}: * may only start or end a word")

        # "wi-fi" normalises to two words; the wildcards belong to the ends.
        for position, core in enumerate(core_words):
            first = position == 0
            last = position == len(core_words) - 1
            if leading and first and trailing and last:
                kind = "infix"
            elif leading and first:
                kind = "suffix"
            elif trailing and last:
                kind = "prefix"
            else:
                kind = "exact"
            patterns.append(WordPattern(core, kind))

    if len(patterns) > 1 and any(p.kind in ("suffix", "infix") for p in patterns):
        raise ValueError(f"{term!r}: a leading * works on single words only")
    return tuple(patterns)


@dataclass(frozen=True)
class Rule:
    """A term that adds weight to a topic, or that excludes the topic's terms."""

    topic: str
    term: str
    words: tuple[WordPattern, ...]
    weight: float
    excludes: bool = False


@dataclass(frozen=True)
class Match:
    """A rule that matched the words from start to end (exclusive)."""

    rule: Rule
    start: int
    end: int
    text: str


class Matcher:
    """Finds every rule of one language in a list of words."""

    def __init__(self, rules: Iterable[Rule]) -> None:
        self._exact: dict[str, list[Rule]] = {}
        self._prefix: dict[str, list[Rule]] = {}
        self._suffix: dict[str, list[Rule]] = {}
        infixes: dict[str, list[Rule]] = {}
        tables = {"exact": self._exact, "prefix": self._prefix, "suffix": self._suffix}
        for rule in rules:
            first = rule.words[0]
            table = tables.get(first.kind, infixes)
            table.setdefault(first.text, []).append(rule)

        self._prefix_lengths = sorted({len(key) for key in self._prefix})
        self._suffix_lengths = sorted({len(key) for key in self._suffix})
        self._infixes = infixes
        self._infix_pattern = (
            re.compile("|".join(sorted(map(re.escape, infixes), key=len, reverse=True)))
            if infixes
            else None
        )

    def find(self, words: list[str]) -> list[Match]:
        """Every match of a rule in the words, in order of position."""
        matches: list[Match] = []
        for index, word in enumerate(words):
            for rule in self._candidates(word):
                end = self._phrase_end(rule, words, index)
                if end:
                    text = " ".join(words[index:end])
                    matches.append(Match(rule, index, end, text))
        return matches

    def _candidates(self, word: str) -> list[Rule]:
        found = list(self._exact.get(word, ()))
        size = len(word)
        for length in self._prefix_lengths:
            if length > size:
                break
            found.extend(self._prefix.get(word[:length], ()))
        for length in self._suffix_lengths:
            if length > size:
                break
            found.extend(self._suffix.get(word[-length:], ()))
        if self._infix_pattern is not None:
            # Overlapping infixes in one word are rare; each distinct one counts.
            for infix in set(self._infix_pattern.findall(word)):
                found.extend(self._infixes[infix])
        return found

    @staticmethod
    def _phrase_end(rule: Rule, words: list[str], start: int) -> int:
        end = start + len(rule.words)
        if end > len(words):
            return 0
        for offset, pattern in enumerate(rule.words[1:], start=1):
            if not pattern.matches(words[start + offset]):
                return 0
        return end
