"""The quality gate on article extraction: main text against what a reader expects.

Each page of tests/fixtures/article_set is extracted, and the bag of word
tokens of the text is compared with that of the expected text (precision and
recall over the multiset intersection, casefolded). The overall score is
micro-averaged: the token counts of all pages are pooled before precision and
recall are taken, so a long page weighs more than a short one. Each page must
also pass a lower floor, so that one bad page cannot hide behind the others.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from extractors.articles import extract_article

PAGES = Path(__file__).parent / "fixtures" / "article_set"
# The set's score as measured (0.962; the issue asks 0.90), pinned so that
# it can only go up: raise it when extraction gets better.
OVERALL_FLOOR = 0.96
# Below the lowest page as measured (0.89), with room for a harmless change
# in trafilatura's boilerplate rules; a page under it has lost or gained a
# whole block, such as a paragraph or a menu.
PAGE_FLOOR = 0.80
_WORD = re.compile(r"\w+")


def _pages() -> list[Path]:
    return sorted(PAGES.glob("*.html"))


def _tokens(text: str) -> Counter[str]:
    return Counter(word.casefold() for word in _WORD.findall(text))


def _counts(page: Path) -> tuple[int, int, int]:
    """Tokens in common, tokens extracted, tokens expected."""
    expected = _tokens(page.with_suffix(".expected.txt").read_text(encoding="utf-8"))
    article = extract_article(page.read_bytes(), f"https://www.example.org/{page.name}")
    extracted = _tokens(article.text)
    common = sum((extracted & expected).values())
    return common, sum(extracted.values()), sum(expected.values())


def _f1(common: int, extracted: int, expected: int) -> float:
    if common == 0:
        return 0.0
    precision, recall = common / extracted, common / expected
    return 2 * precision * recall / (precision + recall)


def test_token_f1_counts_repeated_words_once_per_occurrence() -> None:
    extracted, expected = _tokens("the bus, the bus"), _tokens("The bus stops")

    common = sum((extracted & expected).values())

    assert common == 2
    assert _f1(common, 4, 3) == pytest.approx(2 * 0.5 * (2 / 3) / (0.5 + 2 / 3))


def test_page_set_has_12_pages_in_8_languages_each_with_its_expected_text() -> None:
    pages = _pages()

    assert len(pages) >= 12
    assert len({page.name[:2] for page in pages}) >= 8
    assert [p.name for p in pages if not p.with_suffix(".expected.txt").exists()] == []


@pytest.mark.parametrize("page", _pages(), ids=lambda page: page.stem)
def test_each_page_meets_the_page_floor(page: Path) -> None:
    assert _f1(*_counts(page)) >= PAGE_FLOOR


def test_overall_micro_averaged_f1_meets_the_floor() -> None:
    totals = [sum(column) for column in zip(*map(_counts, _pages()), strict=True)]

    assert _f1(*totals) >= OVERALL_FLOOR
