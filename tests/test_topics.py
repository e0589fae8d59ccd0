"""The topic classifier: its data files, matching, exclusions, categories, editors."""

from __future__ import annotations

from pathlib import Path

import pytest

from classifiers.taxonomy import DATA_DIRECTORY, TaxonomyError, load_taxonomy
from classifiers.terms import normalise, parse_term, words_of
from classifiers.topics import TopicClassifier, UnknownTopic
from extractors.language import EU_LANGUAGES

TAXONOMY = """
scoring:
  threshold: 3
  relative: 0.5
  max_topics: 3
  title_weight: 1.5
  category_weight: 3
  priors:
    eu_institution: {eu-funding: 1}
topics:
  mobility-transport: {labels: {en: Mobility, de: Mobilität}}
  energy: {labels: {en: Energy}}
  eu-funding: {labels: {en: EU funding}}
  sport: {labels: {en: Sport}}
"""

RULES_EN = """
language: en
exclude: ["tram art*"]
topics:
  mobility-transport:
    terms:
      3: [tram*, "bus lane*"]
      1: [street]
    categories: [Getting around]
  energy:
    terms:
      3: [energy, "*power"]
      -2: [wrestling]
    exclude: ["energy drink*"]
  eu-funding:
    terms:
      2: [grant*]
  sport:
    terms:
      3: [football]
"""

RULES_CS = """
language: cs
topics:
  mobility-transport:
    terms:
      3: [tramvaj*, "hromadn* doprav*"]
  energy:
    terms:
      3: ["*elektrarn*"]
"""


def _write(directory: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (directory / name).write_text(text, encoding="utf-8")
    return directory


@pytest.fixture
def classifier(tmp_path: Path) -> TopicClassifier:
    files = {"taxonomy.yaml": TAXONOMY, "en.yaml": RULES_EN, "cs.yaml": RULES_CS}
    return TopicClassifier.from_directory(_write(tmp_path, files))


def _error(tmp_path: Path, files: dict[str, str]) -> str:
    with pytest.raises(TaxonomyError) as raised:
        load_taxonomy(_write(tmp_path, {"taxonomy.yaml": TAXONOMY, **files}))
    return str(raised.value)


def test_loader_names_the_file_and_line_of_invalid_yaml(tmp_path):
    message = _error(tmp_path, {"en.yaml": "language: en\ntopics: [unclosed\n"})

    assert "en.yaml" in message
    assert "not valid YAML" in message
    assert "line 3" in message


ENERGY_RULES = (
    "language: en\ntopics:\n  {topic}:\n    {field}:\n      {weight}: [{term}]\n"
)


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        (
            {"topic": "transport"},
            ["en.yaml, line 4", "unknown topic 'transport'", "mobility-transport"],
        ),
        ({"weight": "heavy"}, ["en.yaml, line 5", "topic 'energy'", "'heavy'"]),
        ({"weight": "0"}, ["en.yaml, line 5", "weight '0'", "other than 0"]),
        ({"weight": "11"}, ["en.yaml, line 5", "weight '11'"]),
        ({"weight": "-12"}, ["en.yaml, line 5", "weight '-12'"]),
        ({"field": "words"}, ["en.yaml, line 4", "unknown field 'words'", "terms"]),
        ({"term": "so*lar"}, ["en.yaml, line 5", "term 'so*lar'"]),
        (
            {"term": '"*solar panel"'},
            ["line 5", "only a final * is allowed inside a phrase"],
        ),
        ({"term": "*solar"}, ["en.yaml", "line 5", 'must be quoted, like "*bahn"']),
    ],
)
def test_loader_names_file_line_and_field_of_a_bad_rule(tmp_path, rule, expected):
    fields = {"topic": "energy", "field": "terms", "weight": "3", "term": "solar"}
    rules = ENERGY_RULES.format(**{**fields, **rule})

    message = _error(tmp_path, {"en.yaml": rules})

    for fragment in expected:
        assert fragment in message


def test_loader_refuses_a_file_whose_language_is_not_its_name(tmp_path):
    message = _error(tmp_path, {"de.yaml": "language: en\ntopics: {}\n"})

    assert "de.yaml" in message
    assert "must name the file" in message


def test_loader_refuses_a_rule_file_named_after_no_eu_language(tmp_path):
    message = _error(tmp_path, {"xx.yaml": "language: xx\ntopics: {}\n"})

    assert "xx.yaml" in message
    assert "no EU language" in message


def test_shipped_taxonomy_has_rules_and_labels_for_every_eu_language():
    taxonomy = load_taxonomy()

    assert set(taxonomy.rule_sets) == set(EU_LANGUAGES)
    assert 15 <= len(taxonomy.topics) <= 19
    for topic in taxonomy.topics:
        assert set(topic.labels) == set(EU_LANGUAGES), topic.slug
    assert DATA_DIRECTORY.joinpath("taxonomy.yaml").exists()


def test_label_falls_back_to_english_without_a_translation(classifier):
    energy = next(t for t in classifier.taxonomy.topics if t.slug == "energy")

    assert energy.label("de") == "Energy"


def test_normalising_drops_case_and_diacritics():
    assert normalise("Brně") == "brne"
    assert normalise("STRAßE") == "strasse"
    assert normalise("Ηράκλειο") == "ηρακλειο"
    assert words_of("Wi-Fi, Łódź!") == ["wi", "fi", "lodz"]


def test_parsed_term_keeps_the_kind_of_each_word():
    kinds = [pattern.kind for pattern in parse_term("hromadn* doprava")]

    assert kinds == ["prefix", "exact"]
    assert parse_term("*energie*")[0].kind == "infix"
    assert parse_term("*bahn")[0].kind == "suffix"


def test_stem_matches_inflected_forms_in_czech(classifier):
    result = classifier.classify(
        "Nová trať", "Cestující pojedou tramvají a hromadnou dopravou.", "cs"
    )

    assert result.topics == ("mobility-transport",)
    terms = {e.term for e in result.scores[0].evidence}
    assert terms == {"tramvaj*", "hromadn* doprav*"}


def test_leading_and_trailing_wildcards_match_inside_compounds(classifier):
    result = classifier.classify("Větrné a vodní elektrárny", "", "cs")

    assert result.topics == ("energy",)


def test_phrase_needs_its_words_in_a_row(classifier):
    in_a_row = classifier.classify("New bus lanes on the quays", "", "en")
    apart = classifier.classify("A bus crossed the lanes", "", "en")

    assert in_a_row.topics == ("mobility-transport",)
    assert apart.topics == ()


def test_topic_exclusion_removes_its_terms_inside_the_excluded_words(classifier):
    drink = classifier.classify("Energy drinks banned at schools", "", "en")
    power = classifier.classify("Energy prices fall", "", "en")

    assert drink.topics == ()
    assert power.topics == ("energy",)


def test_language_exclusion_removes_every_topics_terms(classifier):
    excluded = classifier.classify("Tram art in the old depot", "", "en")
    kept = classifier.classify("Tram in the old depot", "", "en")

    assert excluded.scores == ()
    assert kept.topics == ("mobility-transport",)


def test_negative_weight_counts_against_its_topic(classifier):
    result = classifier.classify("Energy of the wrestling night", "", "en")

    assert result.topics == ()


def test_a_word_counts_once_per_topic_even_if_two_terms_match_it(classifier):
    result = classifier.classify("", "Hydropower and hydropower again", "en")

    (energy,) = result.scores
    assert [e.term for e in energy.evidence] == ["*power"]
    assert energy.score == 3


def test_title_weighs_more_than_text(classifier):
    in_title = classifier.classify("Tram", "", "en").scores[0].score
    in_text = classifier.classify("", "Tram", "en").scores[0].score

    assert in_title == 4.5
    assert in_text == 3


def test_feed_category_decides_an_item_without_topic_words(classifier):
    plain = classifier.classify("Notice", "Changes from Monday.", "en")
    with_category = classifier.classify(
        "Notice", "Changes from Monday.", "en", categories=["Getting around"]
    )

    assert plain.topics == ()
    assert with_category.topics == ("mobility-transport",)
    (evidence,) = with_category.scores[0].evidence
    assert (evidence.kind, evidence.term) == ("category", "Getting around")


def test_category_with_a_rule_term_counts_by_the_terms_weight(classifier):
    strong = classifier.classify("Notice", "", "en", categories=["Football"])
    weak = classifier.classify("Notice", "", "en", categories=["Street"])

    assert strong.topics == ("sport",)
    assert weak.scores[0].score == 1.0
    assert weak.topics == ()


def test_publisher_prior_strengthens_only_a_topic_already_named(classifier):
    named = classifier.classify("Grants", "", "en", publisher="eu_institution")
    unnamed = classifier.classify("Tram", "", "en", publisher="eu_institution")

    assert named.topics == ("eu-funding",)
    assert [s.slug for s in unnamed.scores] == ["mobility-transport"]


def test_result_keeps_scores_and_terms_of_undecided_topics(classifier):
    result = classifier.classify("Tram", "One grant", "en")

    assert result.topics == ("mobility-transport",)
    assert [(s.slug, s.score) for s in result.scores] == [
        ("mobility-transport", 4.5),
        ("eu-funding", 2.0),
    ]
    assert result.reason == "rules"
    assert result.language == "en"


def test_at_most_max_topics_are_decided_best_first(classifier):
    result = classifier.classify(
        "Tram, energy, football, grants", "Tram energy football grants", "en"
    )

    # Four topics qualify; equal scores are ordered by slug.
    assert result.topics == ("energy", "mobility-transport", "sport")
    assert "eu-funding" in {score.slug for score in result.scores}


def test_editor_topics_win_with_the_reason_editor(classifier):
    result = classifier.classify(
        "Tram", "", "en", editor_topics=["sport", "energy", "sport"]
    )

    assert result.topics == ("sport", "energy")
    assert result.reason == "editor"
    assert result.scores[0].evidence[0].kind == "editor"
    assert any(score.slug == "mobility-transport" for score in result.scores)


def test_editor_topic_unknown_to_the_taxonomy_is_refused(classifier):
    with pytest.raises(UnknownTopic, match="'transport'"):
        classifier.classify("Tram", "", "en", editor_topics=["transport"])


def test_language_without_rules_gets_no_topics(classifier):
    result = classifier.classify("Tram", "", "de")

    assert result.topics == ()
    assert result.language is None


def test_shipped_rules_read_a_town_named_like_a_word_only_as_a_word():
    classifier = TopicClassifier.from_directory()

    result = classifier.classify(
        "Město Most otevřelo nové dětské hřiště",
        "Radnice v Mostě investovala do herních prvků.",
        "cs",
    )

    assert "mobility-transport" not in result.topics
    assert "housing-urban-planning" in result.topics
