"""An item's regions: its source's place and the places its text names.

Plain values in, plain values out. Every region found brings its ancestors
up to the country (a municipality's item is also its NUTS 3, 2, 1 region's
and its country's); EU-institution items that name no place are EU-wide.
Each region says why it is there: the ``source``'s own place, a ``mention``
in the title or text (with the words that named it), or an ``editor``.

Mentions are found by a lookup of the text's word sequences (up to
``MAX_NAME_WORDS`` words) in an index of every name of the tree, exact first,
then by the inflection rules of the item's language (Brně, Brnem: Brno). A
mention must be capitalised, and a one-word name that is a common word in
the item's language (Czech "most", English "nice") names no place in it.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

from classifiers.gazetteer import (
    COUNTRY_LANGUAGES,
    Gazetteer,
    GazetteerError,
    RegionNode,
    fold,
)
from classifiers.inflection import family_of, stem

logger = logging.getLogger(__name__)

MAX_NAME_WORDS = 5
# A place outside the source's own country is taken only when it is large
# enough to be the likely meaning of its name: a village abroad that shares
# its name with a word or a person is the usual false hit.
FOREIGN_MIN_POPULATION = 50_000
# A region is what its name most likely means, unless a larger place of the
# same name lies inside it (Wien) or elsewhere.
REGION_WEIGHT = 500_000
REGION_LEVELS = frozenset({"country", "nuts1", "nuts2", "nuts3"})
# Words, with apostrophes and periods inside names (L'Aquila, St. Pölten).
_WORD = re.compile(r"[^\W\d_]+(?:['’.][^\W\d_]+)*\.?")


class UnknownRegion(GazetteerError):
    """An editor named a region code the tree does not hold."""


@dataclass(frozen=True, slots=True)
class ItemRegion:
    """One region of an item: why it is there and what in the item said so."""

    code: str
    level: str
    country: str | None
    reason: str  # "source", "mention" or "editor"
    evidence: str
    # The region found directly, when this one is an ancestor of it.
    via: str | None = None


@dataclass(frozen=True, slots=True)
class SourcePlace:
    """What the registry says of a source's place."""

    country: str | None = None
    region: str | None = None
    # A LAU code ("90001") or, in labelled sets, "CC/Official name".
    municipality: str | None = None
    publisher: str | None = None


@dataclass(slots=True)
class NameIndex:
    """Names of the tree as word tuples, exact and stemmed for one family."""

    exact: dict[tuple[str, ...], list[tuple[str, str]]] = field(default_factory=dict)
    stemmed: dict[tuple[str, ...], list[tuple[str, str]]] = field(default_factory=dict)
    # First words of names of more than one word: only these open a longer
    # look-up, which keeps the look-ups per word near one.
    openers: set[str] = field(default_factory=set)


class RegionClassifier:
    """Finds the regions of items against one gazetteer; build it once."""

    def __init__(self, gazetteer: Gazetteer) -> None:
        self.gazetteer = gazetteer
        self._indexes: dict[str | None, NameIndex] = {}

    def classify(
        self,
        title: str,
        text: str,
        language: str | None,
        source: SourcePlace,
    ) -> list[ItemRegion]:
        """The item's regions, the source's place first, each once."""
        found: dict[str, ItemRegion] = {}

        own = self.source_node(source)
        if own is not None:
            self._add_with_ancestors(found, own, "source", own_evidence(source))

        for node, surface in self.find_mentions(f"{title}\n{text}", language, source):
            self._add_with_ancestors(found, node, "mention", surface)

        if source.publisher == "eu_institution" and not found:
            root = self.gazetteer.nodes.get("EU")
            if root is not None:
                found["EU"] = ItemRegion("EU", "eu", None, "source", "eu_institution")
        return list(found.values())

    def source_node(self, source: SourcePlace) -> RegionNode | None:
        """The most precise node the registry gives for a source."""
        nodes = self.gazetteer.nodes
        if source.municipality and source.country:
            node = self._municipality(source)
            if node is not None:
                return node
        for code in (source.region, source.country):
            if code:
                resolved = self.gazetteer.resolve(nuts_to_iso(code))
                if resolved is not None:
                    return nodes[resolved]
        return None

    def _municipality(self, source: SourcePlace) -> RegionNode | None:
        country = source.country or ""
        value = source.municipality or ""
        if "/" in value:
            country, name = value.split("/", 1)
            return self.gazetteer.find_by_name(country, name, source.region)
        code = self.gazetteer.resolve(f"lau:{country}:{value}")
        return self.gazetteer.nodes[code] if code else None

    def find_mentions(
        self, text: str, language: str | None, source: SourcePlace
    ) -> list[tuple[RegionNode, str]]:
        """The places the text names, with the words that named each."""
        # Limitation: adjectives name no place ("Maltese", "český"), and a
        # person or firm named like a large place (Paris Hilton) counts as
        # a mention of it.
        lang = (language or "").lower()
        family = family_of(lang)
        index = self.index_for(family)
        common = self.gazetteer.common_words.get(lang, frozenset())
        words = [(m.group(), m.start()) for m in _WORD.finditer(text)]
        folded = [fold(word.rstrip(".")) for word, _ in words]
        stems = [stem(word, family) for word in folded] if family else folded

        mentions = []
        i = 0
        while i < len(words):
            match = self._longest_match(index, folded, stems, i)
            if match is None:
                i += 1
                continue
            size, entries = match
            first = words[i][0]
            surface = text[words[i][1] : words[i + size - 1][1]] + words[i + size - 1][
                0
            ].rstrip(".")
            i += size
            if not first[0].isupper():
                continue
            entries = [(code, name) for code, name in entries if name not in common]
            node = self.choose(entries, source, lang)
            if node is not None:
                mentions.append((node, surface))
        return mentions

    def _longest_match(
        self, index: NameIndex, folded: list[str], stems: list[str], i: int
    ) -> tuple[int, list[tuple[str, str]]] | None:
        longest = MAX_NAME_WORDS if folded[i] in index.openers else 1
        for size in range(min(longest, len(folded) - i), 0, -1):
            entries = index.exact.get(tuple(folded[i : i + size]))
            if entries is None and index.stemmed:
                entries = index.stemmed.get(tuple(stems[i : i + size]))
            if entries:
                return size, entries
        return None

    def choose(
        self, entries: list[tuple[str, str]], source: SourcePlace, language: str = ""
    ) -> RegionNode | None:
        """The node a name most likely means for this source.

        Places in the source's country come first, those in the source's
        region first; abroad, only regions and large places; for a source of
        no country, those in a country speaking the item's language (Nord-Est
        in Romanian is RO21, in Italian ITH); then the most populous. A
        region that shares its name with a municipality inside it (Wien)
        gives way to the municipality, which brings the region along as its
        ancestor.
        """
        nodes = self.gazetteer.nodes
        candidates = [nodes[code] for code, _ in entries if code in nodes]
        home = [n for n in candidates if source.country and n.country == source.country]
        candidates = home or [n for n in candidates if is_known_abroad(n)]
        if not candidates:
            return None

        near = nuts_to_iso(source.region) if source.region else None
        speaking = set() if source.country else countries_speaking(language)
        inside = {
            n.code: [
                m
                for m in candidates
                if m.level == "municipality"
                and n.code in self.gazetteer.ancestors(m.code)
            ]
            for n in candidates
            if n.level != "municipality"
        }
        best = max(
            candidates,
            key=lambda n: (
                near is not None
                and near in (n.code, *self.gazetteer.ancestors(n.code)),
                n.country in speaking,
                weight(n, inside.get(n.code, [])),
            ),
        )
        if inside.get(best.code):
            return max(inside[best.code], key=lambda n: n.population or 0)
        return best

    def index_for(self, family: str | None) -> NameIndex:
        """The name index for a language family, built on first use."""
        index = self._indexes.get(family)
        if index is None:
            exact = self._indexes.get(None)
            if exact is None:
                exact = build_name_index(self.gazetteer, None)
                self._indexes[None] = exact
            index = build_name_index(self.gazetteer, family, exact)
            self._indexes[family] = index
        return index

    def _add_with_ancestors(
        self, found: dict[str, ItemRegion], node: RegionNode, reason: str, evidence: str
    ) -> None:
        if node.code not in found:
            found[node.code] = ItemRegion(
                node.code, node.level, node.country, reason, evidence
            )
        for code in self.gazetteer.ancestors(node.code):
            ancestor = self.gazetteer.nodes[code]
            if ancestor.level == "eu" or code in found:
                # The EU root is reached by every place; only EU-wide items
                # carry it, or every item would be EU-wide.
                continue
            found[code] = ItemRegion(
                code, ancestor.level, ancestor.country, reason, evidence, via=node.code
            )


def build_name_index(
    gazetteer: Gazetteer, family: str | None, exact: NameIndex | None = None
) -> NameIndex:
    """Every name of every node as a word tuple, exact and stemmed.

    The exact part is the same for every family: pass the one built first
    as ``exact`` and only the stems are added (and held) per family.
    """
    if exact is None:
        exact = NameIndex()
        for node in gazetteer.nodes.values():
            if node.level == "eu":
                continue
            for name in (node.name, *node.names):
                words = tuple(fold(w.rstrip(".")) for w in _WORD.findall(name))
                if not words or len(words) > MAX_NAME_WORDS:
                    continue
                exact.exact.setdefault(words, []).append((node.code, fold(name)))
                if len(words) > 1:
                    exact.openers.add(words[0])
    if family is None:
        return exact

    stemmed: dict[tuple[str, ...], list[tuple[str, str]]] = {}
    for words, entries in exact.exact.items():
        stems = tuple(stem(word, family) for word in words)
        # The first list for a stem is the exact one, shared, not copied; a
        # second name with the same stem makes a new list, so the exact
        # index never changes.
        before = stemmed.get(stems)
        stemmed[stems] = entries if before is None else before + entries
    return NameIndex(exact.exact, stemmed, exact.openers)


def add_editor_regions(
    regions: list[ItemRegion], codes: list[str], gazetteer: Gazetteer, editor: str
) -> list[ItemRegion]:
    """The item's regions with those an editor set, and their ancestors."""
    found = {region.code: region for region in regions}
    for code in codes:
        resolved = gazetteer.resolve(code)
        if resolved is None:
            raise UnknownRegion(
                f"no region {code!r} in the tree: use a country (AT), NUTS (AT130) "
                "or imported municipality code (lau:AT:90001)"
            )
        node = gazetteer.nodes[resolved]
        found[node.code] = ItemRegion(
            node.code, node.level, node.country, "editor", editor
        )
        for parent in gazetteer.ancestors(node.code):
            ancestor = gazetteer.nodes[parent]
            if ancestor.level != "eu" and parent not in found:
                found[parent] = ItemRegion(
                    parent,
                    ancestor.level,
                    ancestor.country,
                    "editor",
                    editor,
                    node.code,
                )
    return list(found.values())


def countries_speaking(language: str) -> set[str]:
    """The member states where a language is official."""
    return {
        country
        for country, languages in COUNTRY_LANGUAGES.items()
        if language in languages.split()
    }


def weight(node: RegionNode, inside: list[RegionNode]) -> int:
    """How likely a name means this node: its population; for a region, that
    of the largest place inside it of the same name, or a large default."""
    if node.level == "municipality":
        return node.population or 0
    return max([REGION_WEIGHT, *(m.population or 0 for m in inside)])


def is_known_abroad(node: RegionNode) -> bool:
    """True for a node worth taking when the source is elsewhere or nowhere."""
    if node.level in REGION_LEVELS:
        return True
    return (node.population or 0) >= FOREIGN_MIN_POPULATION


def nuts_to_iso(code: str) -> str:
    """Greece's NUTS country code EL as the tree's ISO code GR."""
    return "GR" if code.upper() == "EL" else code.upper()


def own_evidence(source: SourcePlace) -> str:
    """The registry field a source's place came from, as evidence."""
    if source.municipality:
        return f"municipality {source.municipality}"
    if source.region:
        return f"region {source.region}"
    return f"country {source.country}"
