"""sources.yaml: validation with located errors, and syncing to the database."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from aggregator.errors import RegistryError
from aggregator.registry import load_registry, parse_registry
from storage.models import Source

GOOD = """\
sources:
  - id: wien
    name: Stadt Wien
    kind: feed
    url: https://www.wien.example/rss
    publisher: municipality
    country: AT
    region: AT13
    languages: [de]
  - id: eu-commission
    name: European Commission
    kind: page
    url: https://commission.example/press
    publisher: eu_institution
    languages: [en, fr, de]
    poll_interval: 30
"""


def _problems(text: str) -> list[str]:
    with pytest.raises(RegistryError) as raised:
        parse_registry(text)
    return [str(problem) for problem in raised.value.problems]


def test_parse_registry_accepts_a_valid_file():
    specs = parse_registry(GOOD)

    assert [spec.id for spec in specs] == ["wien", "eu-commission"]
    assert specs[1].country is None
    assert specs[1].poll_interval == 30


def test_bad_yaml_is_refused_with_its_line():
    problems = _problems(GOOD + "  - id: [unclosed\n")

    assert len(problems) == 1
    assert problems[0].startswith("line 18")
    assert "not valid YAML" in problems[0]


def test_missing_field_is_named_with_line_and_source():
    problems = _problems(GOOD.replace("    name: Stadt Wien\n", ""))

    assert problems == ["line 2, source 'wien', field 'name': is missing"]


def test_unknown_country_is_named_with_its_line():
    problems = _problems(GOOD.replace("country: AT", "country: XX"))

    assert len(problems) == 1
    assert problems[0].startswith("line 7, source 'wien', field 'country': unknown")


def test_duplicate_id_names_both_lines():
    problems = _problems(GOOD.replace("id: eu-commission", "id: wien"))

    assert problems == [
        "line 10, source 'wien', field 'id': duplicate id; first used on line 2"
    ]


def test_country_is_required_except_for_eu_institutions():
    problems = _problems(GOOD.replace("    country: AT\n", ""))

    assert problems == [
        "line 2, source 'wien', field 'country': "
        "country is required unless publisher is eu_institution"
    ]


def test_unquoted_lau_code_is_refused_because_it_loses_its_zeros():
    text = GOOD.replace("    region: AT13\n", "    municipality: 01001\n")

    problems = _problems(text)

    assert "LAU codes must be quoted" in problems[0]


def test_every_problem_of_the_file_is_listed_at_once():
    text = GOOD.replace("country: AT", "country: XX").replace("kind: page", "kind: x")

    assert len(_problems(text)) == 2


def test_shipped_registry_is_valid_and_broad():
    specs = load_registry(Path(__file__).parent.parent / "sources.yaml")

    countries = {spec.country for spec in specs if spec.country}
    languages = {language for spec in specs for language in spec.languages}
    publishers = {spec.publisher for spec in specs}
    assert len(specs) >= 60
    assert len(countries) >= 15
    assert len(languages) >= 10
    assert publishers == {"municipality", "region", "national", "eu_institution"}


def test_sync_adds_updates_and_retires_sources(runtime):
    path = runtime.settings.sources_file
    path.write_text(GOOD, encoding="utf-8")
    first = runtime.sync_sources()

    path.write_text(
        GOOD.replace("Stadt Wien", "Wien").split("  - id: eu-commission")[0],
        encoding="utf-8",
    )
    second = runtime.sync_sources()

    assert first.added == ["wien", "eu-commission"]
    assert (second.updated, second.retired) == (["wien"], ["eu-commission"])
    with runtime.sessions() as session:
        states = {s.id: (s.name, s.state) for s in session.scalars(select(Source))}
    assert states == {"wien": ("Wien", "active"), "eu-commission": (
        "European Commission", "retired")}  # fmt: skip


def test_broken_registry_changes_nothing_stored(runtime):
    path = runtime.settings.sources_file
    path.write_text(GOOD, encoding="utf-8")
    runtime.sync_sources()
    with runtime.sessions() as session:
        before = [
            (s.id, s.name, s.url, s.state) for s in session.scalars(select(Source))
        ]

    path.write_text(
        GOOD.replace("Stadt Wien", "Renamed").replace("country: AT", "country: XX"),
        encoding="utf-8",
    )
    with pytest.raises(RegistryError):
        runtime.sync_sources()

    with runtime.sessions() as session:
        after = [
            (s.id, s.name, s.url, s.state) for s in session.scalars(select(Source))
        ]
    assert after == before


def test_selector_of_a_page_source_is_kept():
    text = GOOD.replace(
        "    poll_interval: 30\n",
        "    poll_interval: 30\n    selector: 'ul.press > li a.title'\n",
    )

    assert parse_registry(text)[1].selector == "ul.press > li a.title"


def test_invalid_css_selector_is_refused_with_its_line():
    text = GOOD.replace(
        "    poll_interval: 30\n", "    poll_interval: 30\n    selector: 'ul >> [a'\n"
    )

    problems = _problems(text)

    assert len(problems) == 1
    assert problems[0].startswith("line 17, source 'eu-commission', field 'selector'")
    assert "not a valid CSS selector" in problems[0]


def test_selector_on_a_feed_source_is_refused():
    text = GOOD.replace(
        "    languages: [de]\n", "    languages: [de]\n    selector: a.title\n"
    )

    assert _problems(text) == [
        "line 10, source 'wien', field 'selector': "
        "selector is only for sources of kind: page"
    ]
