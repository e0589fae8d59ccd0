"""Language decisions, and the quality gate on the labelled texts."""

from __future__ import annotations

from pathlib import Path

import pytest

from extractors.language import EU_LANGUAGES, detect_language, language_code

LABELLED = Path(__file__).parent / "fixtures" / "languages"
# The floors; per language, so that one language cannot hide behind
# the average of the others.
PARAGRAPH_FLOOR = 0.995
TITLE_FLOOR = 0.98


def _labelled(code: str) -> dict[str, list[str]]:
    path = LABELLED / f"{code}.txt"
    # A missing language fails: the gate is for all 24, not for those written.
    assert path.exists(), f"no labelled texts for {code}: write {path}"
    sections: dict[str, list[str]] = {}
    current: list[str] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("# "):
            current = sections.setdefault(line[2:].strip(), [])
        elif line.strip():
            current.append(line.strip())
    return sections


def _accuracy(code: str, texts: list[str], as_title: bool) -> float:
    decisions = [
        detect_language(text, "") if as_title else detect_language("", text)
        for text in texts
    ]
    return sum(decision.code == code for decision in decisions) / len(texts)


@pytest.mark.parametrize("code", sorted(EU_LANGUAGES))
def test_labelled_set_has_25_titles_of_40_to_80_chars_and_25_paragraphs(
    code: str,
) -> None:
    sections = _labelled(code)

    assert len(sections["titles"]) >= 25
    assert len(sections["paragraphs"]) >= 25
    assert [t for t in sections["titles"] if not 40 <= len(t) <= 80] == []


@pytest.mark.parametrize("code", sorted(EU_LANGUAGES))
def test_paragraph_accuracy_meets_floor(code: str) -> None:
    paragraphs = _labelled(code)["paragraphs"]

    assert _accuracy(code, paragraphs, as_title=False) >= PARAGRAPH_FLOOR


@pytest.mark.parametrize("code", sorted(EU_LANGUAGES))
def test_title_accuracy_meets_floor(code: str) -> None:
    titles = _labelled(code)["titles"]

    assert _accuracy(code, titles, as_title=True) >= TITLE_FLOOR


def test_labelled_files_are_exactly_the_eu_languages() -> None:
    written = {path.stem for path in LABELLED.glob("*.txt")}

    assert written == set(EU_LANGUAGES)


def test_every_eu_language_meets_both_floors() -> None:
    scores = {
        code: (
            _accuracy(code, _labelled(code)["titles"], as_title=True),
            _accuracy(code, _labelled(code)["paragraphs"], as_title=False),
        )
        for code in sorted(EU_LANGUAGES)
    }

    below = {
        code: {"titles": titles, "paragraphs": paragraphs}
        for code, (titles, paragraphs) in scores.items()
        if titles < TITLE_FLOOR or paragraphs < PARAGRAPH_FLOOR
    }
    assert below == {}


def test_detection_that_agrees_confirms_declared_language() -> None:
    decision = detect_language(
        "Gemeinderat beschließt neuen Haushalt", "Die Sitzung war öffentlich.", "de-AT"
    )

    assert (decision.code, decision.method) == ("de", "declared-confirmed")


def test_confident_detection_overrides_site_default_declaration() -> None:
    text = (
        "Kommunen meddelar att beläggningen på Storgatan byts ut från och med "
        "måndag. Arbetet beräknas ta ungefär tre veckor."
    )

    decision = detect_language("Vägarbete på Storgatan", text, declared="en")

    assert (decision.code, decision.method) == ("sv", "detected")
    assert decision.confidence >= 0.9


def test_short_text_keeps_declared_language() -> None:
    decision = detect_language("Info", "", declared="sk")

    assert (decision.code, decision.method) == ("sk", "declared-short-text")


def test_detection_below_confidence_keeps_declared_close_language() -> None:
    # Croatian by its "i" and "u", but too close to Slovenian to overrule the
    # source's declaration.
    decision = detect_language("Obnova ceste i mosta u središtu", "", declared="sl")

    assert (decision.code, decision.method) == ("sl", "declared")
    assert decision.confidence < 0.9


def test_nothing_to_read_and_nothing_declared_is_unknown() -> None:
    decision = detect_language("", "  12.03.2026 ", declared="")

    assert (decision.code, decision.method, decision.confidence) == ("", "unknown", 0)


def test_without_declaration_the_best_detection_is_taken() -> None:
    decision = detect_language("Zastupitelstvo schválilo rozpočet na příští rok", "")

    assert (decision.code, decision.method) == ("cs", "detected")


def test_declared_tags_are_reduced_to_their_primary_code() -> None:
    assert [language_code(t) for t in ("pt_BR", " DE-at ", "x-default", "")] == [
        "pt",
        "de",
        "",
        "",
    ]
