"""The region tree: EU, countries, NUTS 1-3 regions and municipalities.

The tree ships as classifiers/data/gazetteer.json.gz (built by
scripts/build_gazetteer.py). Municipalities an operator imports from
Eurostat's LAU tables come in as extra nodes; one that names a shipped
GeoNames place replaces it and takes over its exonyms.
"""

from __future__ import annotations

import gzip
import importlib.resources
import json
import logging
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field

logger = logging.getLogger(__name__)

# The official languages of each member state.
COUNTRY_LANGUAGES = {
    "AT": "de", "BE": "nl fr de", "BG": "bg", "CY": "el", "CZ": "cs", "DE": "de",
    "DK": "da", "EE": "et", "ES": "es", "FI": "fi sv", "FR": "fr", "GR": "el",
    "HR": "hr", "HU": "hu", "IE": "ga en", "IT": "it", "LT": "lt", "LU": "fr de",
    "LV": "lv", "MT": "mt en", "NL": "nl", "PL": "pl", "PT": "pt", "RO": "ro",
    "SE": "sv", "SI": "sl", "SK": "sk",
}  # fmt: skip
LEVELS = ("eu", "country", "nuts1", "nuts2", "nuts3", "municipality")


class GazetteerError(Exception):
    """The gazetteer file or a node given to it cannot be used."""


@dataclass(frozen=True, slots=True)
class RegionNode:
    """One place of the tree. ``names`` are other names than ``name``."""

    code: str
    parent: str | None
    level: str
    country: str | None
    name: str
    names: tuple[str, ...] = ()
    population: int | None = None
    # The shipped GeoNames node ("geo:...") this imported municipality is.
    replaces: str | None = None


@dataclass(slots=True)
class Gazetteer:
    """The tree with its lookups: ancestors, paths and names to nodes."""

    nodes: dict[str, RegionNode]
    # Per language, one-word place names that are common words in it.
    common_words: dict[str, frozenset[str]] = field(default_factory=dict)
    # A replaced GeoNames code to the imported node that replaced it.
    aliases: dict[str, str] = field(default_factory=dict)
    _ancestors: dict[str, tuple[str, ...]] = field(default_factory=dict)
    _by_country_name: dict[tuple[str, str], list[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for node in self.nodes.values():
            for name in (node.name, *node.names):
                key = (node.country or "", fold(name))
                self._by_country_name.setdefault(key, []).append(node.code)

    def resolve(self, code: str) -> str | None:
        """The code a node has now, following a replacement; None if unknown."""
        code = self.aliases.get(code, code)
        return code if code in self.nodes else None

    def ancestors(self, code: str) -> tuple[str, ...]:
        """The node's ancestors, nearest first, up to the EU root."""
        cached = self._ancestors.get(code)
        if cached is not None:
            return cached
        chain: list[str] = []
        parent = self.nodes[code].parent
        while parent is not None and parent in self.nodes and len(chain) < 10:
            chain.append(parent)
            parent = self.nodes[parent].parent
        result = tuple(chain)
        self._ancestors[code] = result
        return result

    def path(self, code: str) -> str:
        """The node's path from the root, "EU/AT/AT1/AT13/AT130/", so that
        a region's descendants are the nodes whose path starts with its own."""
        return "/".join([*reversed(self.ancestors(code)), code]) + "/"

    def find_by_name(
        self, country: str, name: str, within: str | None = None
    ) -> RegionNode | None:
        """The node of a country with this name; one under ``within`` (a NUTS
        code) first, then one whose official name it is, then the most
        populous. GeoNames' main name of a place is not always its official
        name (Sofia, София), so every name counts."""
        codes = self._by_country_name.get((country, fold(name)), [])
        if not codes:
            return None
        nodes = [self.nodes[code] for code in codes]
        return max(
            nodes,
            key=lambda n: (
                within is not None and within in self.ancestors(n.code),
                fold(n.name) == fold(name),
                n.level == "municipality",
                n.population or 0,
            ),
        )


def fold(text: str) -> str:
    """Case-folded and NFC-composed: the form names are compared in."""
    return unicodedata.normalize("NFC", text).casefold()


def read_shipped_nodes() -> tuple[list[RegionNode], dict[str, frozenset[str]]]:
    """The nodes and common-word lists of the shipped gazetteer file."""
    resource = importlib.resources.files("classifiers") / "data" / "gazetteer.json.gz"
    try:
        with resource.open("rb") as raw, gzip.open(raw, "rt", encoding="utf-8") as f:
            document = json.load(f)
    except (OSError, ValueError) as error:
        raise GazetteerError(
            f"cannot read the shipped gazetteer {resource}: {error}; "
            "reinstall the package or run scripts/build_gazetteer.py"
        ) from error

    nodes = [
        RegionNode(
            code=code,
            parent=parent,
            level=level,
            country=country,
            name=name,
            names=tuple(names),
            population=population,
        )
        for code, parent, level, country, name, names, population in document["nodes"]
    ]
    common = {
        lang: frozenset(words) for lang, words in document["common_words"].items()
    }
    return nodes, common


def build_gazetteer(
    nodes: Iterable[RegionNode], common_words: dict[str, frozenset[str]]
) -> Gazetteer:
    """A gazetteer of these nodes; an imported node replaces the node it names
    in ``replaces`` and inherits its other names."""
    by_code = {node.code: node for node in nodes}
    aliases = {}
    for node in list(by_code.values()):
        if node.replaces is None or node.replaces not in by_code:
            continue
        old = by_code.pop(node.replaces)
        aliases[old.code] = node.code
        names = (old.name, *old.names, *node.names)
        by_code[node.code] = RegionNode(
            code=node.code,
            parent=node.parent,
            level=node.level,
            country=node.country,
            name=node.name,
            names=tuple(n for n in dict.fromkeys(names) if n != node.name),
            population=node.population or old.population,
            replaces=node.replaces,
        )
    return Gazetteer(nodes=by_code, common_words=common_words, aliases=aliases)


def load_gazetteer(extra: Iterable[RegionNode] = ()) -> Gazetteer:
    """The shipped tree, with imported nodes added over it."""
    nodes, common = read_shipped_nodes()
    gazetteer = build_gazetteer([*nodes, *extra], common)
    logger.info("gazetteer loaded", extra={"nodes": len(gazetteer.nodes)})
    return gazetteer
