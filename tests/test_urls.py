"""Canonical URLs: the same article reached two ways is one URL."""

from __future__ import annotations

import pytest

from extractors.urls import canonical_url, strip_tracking_parameters


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("HTTPS://WWW.Town.Example/News", "https://www.town.example/News"),
        ("https://town.example:443/a", "https://town.example/a"),
        ("http://town.example:80/a", "http://town.example/a"),
        ("http://town.example:8080/a", "http://town.example:8080/a"),
        ("https://town.example/a#comments", "https://town.example/a"),
        ("https://town.example", "https://town.example/"),
        ("https://town.example/a/./b/../c", "https://town.example/a/c"),
        ("https://town.example/a?", "https://town.example/a"),
        ("https://town.example/a?utm_source=rss", "https://town.example/a"),
        ("https://user:pw@town.example/a", "https://town.example/a"),
        ("https://bücherei.example/ä", "https://xn--bcherei-n2a.example/%C3%A4"),
        ("https://town.example/a%2fb", "https://town.example/a%2Fb"),
        ("  https://town.example/a\n  ", "https://town.example/a"),
        ("http://[::1]:80/x", "http://[::1]/x"),
        ("mailto:press@town.example", "mailto:press@town.example"),
    ],
)
def test_canonical_url_normalises_case_port_path_and_fragment(
    url: str, expected: str
) -> None:
    assert canonical_url(url) == expected


def test_tracking_parameters_are_removed_and_others_kept_in_order() -> None:
    url = (
        "https://town.example/news?id=12&utm_source=rss&utm_medium=feed&lang=de"
        "&fbclid=abc&gclid=x&mc_cid=1&mc_eid=2&_hsenc=p&pk_campaign=c&page=2"
    )

    assert canonical_url(url) == "https://town.example/news?id=12&lang=de&page=2"


def test_parameters_that_cms_use_as_keys_are_kept() -> None:
    url = "https://town.example/a?uid=5&source=council&ref=2024-17&zeta=1&alpha=2"

    assert canonical_url(url) == url


def test_empty_pairs_are_dropped_and_encoding_kept() -> None:
    assert strip_tracking_parameters("a=1&&b=x%20y&utm_term=z") == "a=1&b=x%20y"


def test_script_routes_in_fragment_are_kept() -> None:
    url = "https://town.example/#!/news/12"

    assert canonical_url(url) == url


def test_same_article_reached_two_ways_is_one_url() -> None:
    first = canonical_url("HTTPS://Town.Example:443/news/1?utm_source=fb#top")
    second = canonical_url("https://town.example/news/./1")

    assert first == second


@pytest.mark.parametrize(
    ("canonical", "expected"),
    [
        ("/news/road-works", "https://www.stadt-beispiel.de/news/road-works"),
        ("https://stadt-beispiel.de/news/1", "https://stadt-beispiel.de/news/1"),
        ("http://news.stadt-beispiel.de/1", "http://news.stadt-beispiel.de/1"),
    ],
)
def test_rel_canonical_on_same_site_is_used(canonical: str, expected: str) -> None:
    url = "https://www.stadt-beispiel.de/news/1?utm_source=rss"

    assert canonical_url(url, canonical) == expected


@pytest.mark.parametrize(
    "canonical",
    [
        "https://other.example/news/1",
        "https://www.stadt-beispiel.de/",
        "javascript:alert(1)",
        "ftp://www.stadt-beispiel.de/news/1",
        "https://b.github.io/news/1",
    ],
)
def test_rel_canonical_elsewhere_or_to_home_page_is_ignored(canonical: str) -> None:
    url = "https://a.github.io/news/1" if "github" in canonical else ""
    url = url or "https://www.stadt-beispiel.de/news/1"

    assert canonical_url(url, canonical) == url
