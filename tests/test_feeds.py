"""Feed bytes to entries: the three formats, dates, languages, bad input."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from extractors.errors import NotAFeed
from extractors.feeds import parse_feed
from tests.conftest import FIXTURES

XML = {"Content-Type": "application/xml; charset=utf-8"}


def _parse(name: str):
    body = (FIXTURES / "feeds" / name).read_bytes()
    return parse_feed(body, f"https://feeds.example/{name}", XML)


def test_parse_feed_reads_rss20_entries_with_guid_dates_and_categories():
    feed = _parse("rss20.xml")

    assert feed.language == "de"
    assert feed.ttl_minutes == 120
    first = feed.entries[0]
    assert first.title == "Neue Radwege am Rheinufer freigegeben"
    assert first.guid == "presse-2026-0412"
    assert first.published == datetime(2026, 11, 3, 8, 30, tzinfo=UTC)
    assert first.categories == ("Verkehr",)
    assert first.language == "de"


def test_parse_feed_sanitises_content_and_makes_links_absolute():
    content = _parse("rss20.xml").entries[0].content_html

    assert "<script" not in content and "alert" not in content
    assert "onclick" not in content
    assert 'href="https://www.musterhausen.example/verkehr/radwege"' in content
    assert "Die Bauzeit betrug acht Monate." in content


def test_parse_feed_reads_atom_language_authors_and_utc_dates():
    feed = _parse("atom10.xml")

    first = feed.entries[0]
    assert first.link == "https://www.ville-exemple.example/actualites/marche-de-noel"
    assert first.language == "fr"
    assert first.authors == ("Service communication",)
    assert first.published == datetime(2026, 11, 4, 9, 0, tzinfo=UTC)
    assert feed.entries[1].updated == datetime(2026, 11, 2, 8, 15, tzinfo=UTC)


def test_parse_feed_reads_rss10_with_dc_date_and_dc_language():
    feed = _parse("rss10.rdf")

    assert [entry.title for entry in feed.entries] == [
        "Nov vrtec bo odprt spomladi",
        "Zapora ceste zaradi obnove vodovoda",
    ]
    assert feed.entries[0].published == datetime(2026, 10, 28, 11, 0, tzinfo=UTC)
    assert {entry.language for entry in feed.entries} == {"sl"}


def test_entry_key_stays_the_same_when_the_title_is_edited():
    import dataclasses

    entry = _parse("rss20.xml").entries[0]
    edited = dataclasses.replace(entry, title="Neue Radwege: Freigabe verschoben")

    assert edited.key == entry.key
    assert edited.content_hash != entry.content_hash


@pytest.mark.parametrize(
    "body",
    [
        b"<html><body><p>Welcome to our town</p></body></html>",
        b"just some text, no markup at all",
        b"",
    ],
)
def test_parse_feed_refuses_bytes_that_are_no_feed(body):
    with pytest.raises(NotAFeed) as raised:
        parse_feed(body, "https://www.town.example/", {"Content-Type": "text/html"})

    assert "not a feed" in str(raised.value)
    assert raised.value.url == "https://www.town.example/"


def test_parse_feed_salvages_entries_from_a_feed_with_a_stray_ampersand():
    body = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>T & C</title>'
        b"<item><title>Roads & bridges</title><link>https://a.example/1</link>"
        b"</item></channel></rss>"
    )

    feed = parse_feed(body, "https://a.example/feed", XML)

    assert [entry.link for entry in feed.entries] == ["https://a.example/1"]


def test_parse_feed_keeps_paragraphs_of_an_html_description_as_lines():
    body = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>'
        b"<item><title>Budget 2027</title><link>https://a.example/2</link>"
        b"<description>&lt;p&gt;Line one&lt;/p&gt;&lt;p&gt;Line two&lt;/p&gt;"
        b"</description></item></channel></rss>"
    )

    entry = parse_feed(body, "https://a.example/feed", XML).entries[0]

    assert entry.summary == "Line one\nLine two"


def test_parse_feed_removes_control_characters_from_text():
    body = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>'
        b"<item><title>Budget&#11; 2027</title><link>https://a.example/3</link>"
        b"<description>Ordre\x01 du jour</description></item></channel></rss>"
    )

    entry = parse_feed(body, "https://a.example/feed", XML).entries[0]

    assert (entry.title, entry.summary) == ("Budget 2027", "Ordre du jour")
