"""Which topics an item is about, and why.

The classifier is built once from the taxonomy (classifiers/topics/*.yaml):
each language's rules are compiled into one matcher. An item's title, text and
its feed's own categories are matched with the rules of the item's language;
every term found adds its weight to its topic (more in the title), and the
topics that score enough are decided. The result keeps every scored topic with
the terms and categories that gave the score, so an editor can see why.

An editor's correction of a single item wins over the rules: handed in as
`editor_topics`, it is returned as decided with the reason "editor".

Limitation: words are matched one by one, so a topic that an item only implies
(a concert review that never says concert, music or culture) is missed; a
second stage on multilingual embeddings could read such items, after rules.
"""

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from classifiers.taxonomy import RuleSet, Taxonomy, TaxonomyError, load_taxonomy
from classifiers.terms import Match, Matcher, normalise, words_of

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Evidence:
    """One reason for a topic's score: a term of the rules, a category, an editor."""

    kind: str  # "title", "text", "category", "prior" or "editor"
    term: str  # the rule's term, the feed's category or the editor's slug
    matched: str  # the item's words that matched, normalised
    weight: float  # what it added to the score


@dataclass(frozen=True)
class TopicScore:
    slug: str
    score: float
    evidence: tuple[Evidence, ...]


@dataclass(frozen=True)
class TopicResult:
    """The decided topics of an item (best first), and every topic's score."""

    topics: tuple[str, ...]
    reason: str  # "rules" or "editor"
    language: str | None  # the language whose rules were used
    scores: tuple[TopicScore, ...]


class UnknownTopic(ValueError):
    """An editor assigned a topic slug that the taxonomy does not have."""


class TopicClassifier:
    """Decides the topics of items with the compiled rules of each language."""

    def __init__(self, taxonomy: Taxonomy) -> None:
        self.taxonomy = taxonomy
        self._matchers = {
            language: Matcher(rule_set.rules)
            for language, rule_set in taxonomy.rule_sets.items()
        }

    @classmethod
    def from_directory(cls, directory: Path | None = None) -> "TopicClassifier":
        """The classifier for the taxonomy files of a directory (default: shipped)."""
        return cls(load_taxonomy(directory))

    def classify(
        self,
        title: str,
        text: str = "",
        language: str | None = None,
        categories: Sequence[str] = (),
        publisher: str | None = None,
        editor_topics: Iterable[str] | None = None,
    ) -> TopicResult:
        """The topics of one item, each with its score and the evidence for it."""
        scores = self._score(title, text, language, categories, publisher)

        if editor_topics is not None:
            return self._editor_result(tuple(editor_topics), language, scores)

        scoring = self.taxonomy.scoring
        best = scores[0].score if scores else 0.0
        decided = tuple(
            entry.slug
            for entry in scores
            if entry.score >= scoring.threshold
            and entry.score >= scoring.relative * best
        )[: scoring.max_topics]
        used = language if language in self._matchers else None
        return TopicResult(decided, "rules", used, scores)

    def _score(
        self,
        title: str,
        text: str,
        language: str | None,
        categories: Sequence[str],
        publisher: str | None,
    ) -> tuple[TopicScore, ...]:
        matcher = self._matchers.get(language or "")
        if matcher is None:
            logger.debug(
                "No topic rules for the language", extra={"language": language}
            )
            return ()
        scoring = self.taxonomy.scoring
        evidence: dict[str, list[Evidence]] = {}

        fields = (("title", title, scoring.title_weight), ("text", text, 1.0))
        for kind, value, factor in fields:
            for match in _kept(matcher.find(words_of(value))):
                _add(evidence, match, kind, match.rule.weight * factor)

        rule_set = self.taxonomy.rule_sets[language or ""]
        for category in categories:
            for slug, strength in _category_topics(category, rule_set, matcher):
                evidence.setdefault(slug, []).append(
                    Evidence(
                        "category",
                        category,
                        normalise(category),
                        scoring.category_weight * strength,
                    )
                )

        # A prior only strengthens a topic that the item's words already name.
        for slug, bonus in scoring.priors.get(publisher or "", {}).items():
            if slug in evidence:
                evidence[slug].append(Evidence("prior", publisher or "", "", bonus))

        scores = [
            TopicScore(slug, round(sum(e.weight for e in found), 3), tuple(found))
            for slug, found in evidence.items()
        ]
        scores = [entry for entry in scores if entry.score > 0]
        scores.sort(key=lambda entry: (-entry.score, entry.slug))
        return tuple(scores)

    def _editor_result(
        self,
        editor_topics: tuple[str, ...],
        language: str | None,
        scores: tuple[TopicScore, ...],
    ) -> TopicResult:
        known = set(self.taxonomy.slugs)
        unknown = [slug for slug in editor_topics if slug not in known]
        if unknown:
            raise UnknownTopic(
                f"unknown topic {', '.join(map(repr, unknown))}; "
                f"the topics are {', '.join(self.taxonomy.slugs)}"
            )
        decided = tuple(dict.fromkeys(editor_topics))
        editor_scores = tuple(
            TopicScore(slug, 0.0, (Evidence("editor", slug, "", 0.0),))
            for slug in decided
        )
        used = language if language in self._matchers else None
        return TopicResult(decided, "editor", used, editor_scores + scores)


def _category_topics(
    category: str, rule_set: RuleSet, matcher: Matcher
) -> list[tuple[str, float]]:
    """The topics a feed's category names, each with a strength from 0 to 1.

    A category listed under a topic is full strength; otherwise the topic's
    strongest term in the category decides: a weight of 3 or more is full
    strength, a weak term (1) a third, so "Council meetings" means democracy
    more than it means public services.
    """
    words = words_of(category)
    strengths = {slug: 1.0 for slug in rule_set.categories.get(" ".join(words), ())}
    for match in _kept(matcher.find(words)):
        strength = min(1.0, match.rule.weight / 3)
        slug = match.rule.topic
        strengths[slug] = max(strengths.get(slug, 0.0), strength)
    return sorted((slug, value) for slug, value in strengths.items() if value > 0)


def _kept(matches: list[Match]) -> list[Match]:
    """The matches that count: each term once, each word once per topic.

    An exclusion of a topic removes that topic's terms inside the excluded words;
    an exclusion of the whole language ("" topic) removes every topic's terms.
    Where terms of one topic overlap ("development plan", "develop*"), the
    heaviest counts, so one word cannot add to a topic twice.
    """
    exclusions = [match for match in matches if match.rule.excludes]
    candidates = [
        match
        for match in matches
        if not match.rule.excludes
        and not any(
            exclusion.rule.topic in ("", match.rule.topic)
            and _overlap(exclusion, match)
            for exclusion in exclusions
        )
    ]
    candidates.sort(key=lambda match: -abs(match.rule.weight))

    kept: list[Match] = []
    seen = set()
    for match in candidates:
        rule = match.rule
        if (rule.topic, rule.term) in seen:
            continue
        if any(
            other.rule.topic == rule.topic and _overlap(other, match) for other in kept
        ):
            continue
        seen.add((rule.topic, rule.term))
        kept.append(match)
    return kept


def _overlap(first: Match, second: Match) -> bool:
    return first.start < second.end and second.start < first.end


def _add(evidence: dict[str, list[Evidence]], match: Match, kind: str, weight: float):
    evidence.setdefault(match.rule.topic, []).append(
        Evidence(kind, match.rule.term, match.text, weight)
    )


__all__ = [
    "Evidence",
    "TaxonomyError",
    "TopicClassifier",
    "TopicResult",
    "TopicScore",
    "UnknownTopic",
]
