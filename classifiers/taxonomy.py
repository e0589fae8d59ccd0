"""The topic taxonomy: topics, their labels and the rules of each language.

Everything an editor may change lives in data files under classifiers/topics/:
`taxonomy.yaml` names the topics, their labels and how scores become decisions,
and one `<language>.yaml` per EU language holds the weighted terms, exclusions
and feed categories of each topic (the format is explained at the top of
taxonomy.yaml). The files are checked whole when they are loaded; a mistake is
refused with an error that names the file, the line, the topic and the field.
"""

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from classifiers.terms import Rule, normalise, parse_term
from extractors.language import EU_LANGUAGES

PUBLISHER_KINDS = ("municipality", "region", "national", "eu_institution")
DATA_DIRECTORY = Path(__file__).with_name("topics")
MAX_WEIGHT = 10.0


class TaxonomyError(ValueError):
    """A taxonomy or rule file that cannot be used, with where and why."""

    def __init__(self, name: str, node: yaml.Node | None, message: str) -> None:
        line = f", line {node.start_mark.line + 1}" if node is not None else ""
        super().__init__(f"{name}{line}: {message}")
        self.name = name


@dataclass(frozen=True)
class Topic:
    slug: str
    labels: dict[str, str]

    def label(self, language: str) -> str:
        """The topic's label in a language, in English when it has none there."""
        return self.labels.get(language) or self.labels["en"]


@dataclass(frozen=True)
class Scoring:
    """How the scores of an item's topics become its decided topics."""

    threshold: float
    relative: float
    max_topics: int
    title_weight: float
    category_weight: float
    priors: dict[str, dict[str, float]] = field(default_factory=dict)


@dataclass(frozen=True)
class RuleSet:
    """The rules of one language: terms, exclusions and feed categories."""

    language: str
    rules: tuple[Rule, ...]
    categories: dict[str, tuple[str, ...]]


@dataclass(frozen=True)
class Taxonomy:
    topics: tuple[Topic, ...]
    scoring: Scoring
    rule_sets: dict[str, RuleSet]

    @property
    def slugs(self) -> tuple[str, ...]:
        return tuple(topic.slug for topic in self.topics)


def load_topics(directory: Path | None = None) -> tuple[Topic, ...]:
    """Only the topics and their labels, without compiling any rules: what
    the portal needs to name topics."""
    taxonomy_path = (directory or DATA_DIRECTORY) / "taxonomy.yaml"
    topics, _scoring = parse_topics(_read(taxonomy_path), str(taxonomy_path))
    return tuple(topics)


def load_taxonomy(directory: Path | None = None) -> Taxonomy:
    """Read taxonomy.yaml and every <language>.yaml of a directory."""
    directory = directory or DATA_DIRECTORY
    taxonomy_path = directory / "taxonomy.yaml"
    topics, scoring = parse_topics(_read(taxonomy_path), str(taxonomy_path))
    slugs = {topic.slug for topic in topics}

    rule_sets = {}
    for path in sorted(directory.glob("*.yaml")):
        if path.stem in EU_LANGUAGES:
            rule_sets[path.stem] = parse_rules(_read(path), str(path), slugs)
        elif path.name != "taxonomy.yaml":
            raise TaxonomyError(
                str(path),
                None,
                f"{path.stem!r} is no EU language; rule files are named like de.yaml "
                f"after one of {', '.join(sorted(EU_LANGUAGES))}",
            )
    return Taxonomy(tuple(topics), scoring, rule_sets)


def parse_topics(text: str, name: str) -> tuple[list[Topic], Scoring]:
    """The topics and the scoring settings of a taxonomy file."""
    root = _compose(text, name)
    fields = _mapping(root, name, "the file")
    _only(root, {"scoring", "topics"}, name, "the file")
    scoring = _parse_scoring(_required(fields, "scoring", root, name), name)

    topics = []
    for slug, node in _mapping(_required(fields, "topics", root, name), name, "topics"):
        topic_fields = _mapping(node, name, f"topic {slug!r}")
        _only(node, {"labels"}, name, f"topic {slug!r}")
        labels_node = _required(topic_fields, "labels", node, name)
        labels = {}
        for language, label_node in _mapping(labels_node, name, f"labels of {slug!r}"):
            if language not in EU_LANGUAGES:
                raise TaxonomyError(
                    name, label_node, f"topic {slug!r}: {language!r} is no EU language"
                )
            labels[language] = _text(label_node, name, f"label {language} of {slug!r}")
        if "en" not in labels:
            raise TaxonomyError(name, node, f"topic {slug!r} needs an English label")
        topics.append(Topic(slug, labels))

    known = {topic.slug for topic in topics}
    for publisher, priors in scoring.priors.items():
        for slug in priors:
            if slug not in known:
                raise TaxonomyError(
                    name, None, f"scoring.priors.{publisher}: unknown topic {slug!r}"
                )
    return topics, scoring


def parse_rules(text: str, name: str, slugs: set[str]) -> RuleSet:
    """The rules of one language file, checked against the known topic slugs."""
    root = _compose(text, name)
    fields = dict(_mapping(root, name, "the file"))
    _only(root, {"language", "exclude", "topics"}, name, "the file")
    language = _text(_required(fields, "language", root, name), name, "language")
    if language not in EU_LANGUAGES or not name.endswith(f"{language}.yaml"):
        raise TaxonomyError(
            name, fields["language"], f"language {language!r} must name the file"
        )

    rules: list[Rule] = []
    for term, node in _terms(fields.get("exclude"), name, "exclude"):
        rules.append(_rule("", term, 0.0, node, name, excludes=True))

    categories: dict[str, list[str]] = {}
    for slug, node in _mapping(_required(fields, "topics", root, name), name, "topics"):
        if slug not in slugs:
            raise TaxonomyError(
                name,
                node,
                f"unknown topic {slug!r}; the topics are {', '.join(sorted(slugs))}",
            )
        where = f"topic {slug!r}"
        topic_fields = dict(_mapping(node, name, where))
        _only(node, {"terms", "exclude", "categories"}, name, where)
        for weight_text, weight_node, terms_node in _weights(
            topic_fields.get("terms"), name, where
        ):
            weight = _weight(weight_text, weight_node, name, where)
            for term, term_node in _terms(terms_node, name, f"{where}, terms"):
                rules.append(_rule(slug, term, weight, term_node, name))
        for term, term_node in _terms(
            topic_fields.get("exclude"), name, f"{where}, exclude"
        ):
            rules.append(_rule(slug, term, 0.0, term_node, name, excludes=True))
        for category, _ in _terms(
            topic_fields.get("categories"), name, f"{where}, categories"
        ):
            categories.setdefault(" ".join(normalise(category).split()), []).append(
                slug
            )

    frozen = {key: tuple(value) for key, value in categories.items()}
    return RuleSet(language, tuple(rules), frozen)


def _parse_scoring(node: yaml.Node, name: str) -> Scoring:
    fields = dict(_mapping(node, name, "scoring"))
    expected = {
        "threshold",
        "relative",
        "max_topics",
        "title_weight",
        "category_weight",
        "priors",
    }
    _only(node, expected, name, "scoring")
    numbers = {}
    for key in expected - {"priors"}:
        value_node = _required(fields, key, node, name)
        numbers[key] = _number(value_node, name, f"scoring.{key}")
        if numbers[key] <= 0:
            raise TaxonomyError(name, value_node, f"scoring.{key} must be above 0")
    if numbers["relative"] > 1:
        raise TaxonomyError(name, fields["relative"], "scoring.relative is at most 1")

    priors: dict[str, dict[str, float]] = {}
    for publisher, prior_node in _mapping(fields.get("priors"), name, "priors"):
        if publisher not in PUBLISHER_KINDS:
            raise TaxonomyError(
                name,
                prior_node,
                f"scoring.priors: {publisher!r} is no publisher kind "
                f"({', '.join(PUBLISHER_KINDS)})",
            )
        priors[publisher] = {
            slug: _weight_value(value, name, f"scoring.priors.{publisher}.{slug}")
            for slug, value in _mapping(prior_node, name, f"priors.{publisher}")
        }
    return Scoring(
        threshold=numbers["threshold"],
        relative=numbers["relative"],
        max_topics=int(numbers["max_topics"]),
        title_weight=numbers["title_weight"],
        category_weight=numbers["category_weight"],
        priors=priors,
    )


def _rule(
    topic: str,
    term: str,
    weight: float,
    node: yaml.Node,
    name: str,
    *,
    excludes: bool = False,
) -> Rule:
    try:
        words = parse_term(term)
    except ValueError as error:
        where = f"topic {topic!r}" if topic else "exclude"
        raise TaxonomyError(name, node, f"{where}: term {term!r}: {error}") from error
    return Rule(topic, term, words, weight, excludes)


def _weights(
    node: yaml.Node | None, name: str, where: str
) -> Iterator[tuple[str, yaml.Node, yaml.Node]]:
    if node is None:
        return
    if not isinstance(node, yaml.MappingNode):
        raise TaxonomyError(
            name,
            node,
            f"{where}, terms: expected weights as keys, e.g. `3: [tram*, bus]`",
        )
    for key_node, value_node in node.value:
        if not isinstance(key_node, yaml.ScalarNode):
            raise TaxonomyError(name, key_node, f"{where}, terms: a weight is a number")
        yield key_node.value, key_node, value_node


def _weight(text: str, node: yaml.Node, name: str, where: str) -> float:
    try:
        weight = float(text)
    except ValueError:
        weight = float("nan")
    if not (-MAX_WEIGHT <= weight <= MAX_WEIGHT) or weight == 0:
        raise TaxonomyError(
            name,
            node,
            f"{where}, terms: weight {text!r} must be a number from -{MAX_WEIGHT:g} "
            f"to {MAX_WEIGHT:g} other than 0",
        )
    return weight


def _weight_value(node: yaml.Node, name: str, where: str) -> float:
    text = node.value if isinstance(node, yaml.ScalarNode) else repr(node)
    return _weight(str(text), node, name, where)


def _terms(
    node: yaml.Node | None, name: str, where: str
) -> Iterator[tuple[str, yaml.Node]]:
    if node is None:
        return
    if not isinstance(node, yaml.SequenceNode):
        raise TaxonomyError(name, node, f"{where}: expected a list of terms")
    for item in node.value:
        yield _text(item, name, where), item


def _compose(text: str, name: str) -> yaml.Node:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        line = f", line {mark.line + 1}" if mark is not None else ""
        # A term such as *bahn reads as a YAML alias unless it is quoted.
        hint = (
            '; a term that starts with * must be quoted, like "*bahn"'
            if "alias" in str(error.problem)
            else ""
        )
        raise TaxonomyError(
            name, None, f"not valid YAML{line}: {error.problem}{hint}"
        ) from error
    if root is None:
        raise TaxonomyError(name, None, "the file is empty")
    return root


def _mapping(
    node: yaml.Node | None, name: str, where: str
) -> list[tuple[str, yaml.Node]]:
    if node is None:
        return []
    if not isinstance(node, yaml.MappingNode):
        raise TaxonomyError(name, node, f"{where}: expected a mapping of names")
    pairs = []
    seen = set()
    for key_node, value_node in node.value:
        key = _text(key_node, name, where)
        if key in seen:
            raise TaxonomyError(name, key_node, f"{where}: {key!r} is given twice")
        seen.add(key)
        pairs.append((key, value_node))
    return pairs


def _only(node: yaml.Node, allowed: set[str], name: str, where: str) -> None:
    """Refuse a field of a mapping that is not allowed, at the field's own line."""
    for key_node, _ in node.value:
        if key_node.value not in allowed:
            raise TaxonomyError(
                name,
                key_node,
                f"{where}: unknown field {key_node.value!r}; "
                f"the fields are {', '.join(sorted(allowed))}",
            )


def _required(
    fields: list[tuple[str, yaml.Node]] | dict[str, yaml.Node],
    key: str,
    parent: yaml.Node,
    name: str,
) -> yaml.Node:
    found = dict(fields).get(key)
    if found is None:
        raise TaxonomyError(name, parent, f"the field {key!r} is missing")
    return found


def _text(node: yaml.Node, name: str, where: str) -> str:
    if not isinstance(node, yaml.ScalarNode) or not str(node.value).strip():
        raise TaxonomyError(name, node, f"{where}: expected a non-empty text")
    return str(node.value)


def _number(node: yaml.Node, name: str, where: str) -> float:
    try:
        return float(_text(node, name, where))
    except ValueError as error:
        raise TaxonomyError(name, node, f"{where}: expected a number") from error


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise TaxonomyError(str(path), None, f"cannot be read: {error}") from error
