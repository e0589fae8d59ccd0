"""Feeds in every encoding their servers and CMSs get wrong still read right."""

from __future__ import annotations

import pytest

from extractors.encodings import decode_bytes, http_charset
from extractors.feeds import parse_feed

POLISH = "Żółć gęślą jaźń – nowy żłobek w Gdańsku"
BULGARIAN = "Община Пловдив обяви конкурс за проекти"
GREEK = "Ο Δήμος Αθηναίων ανακοινώνει νέα έργα"


def _rss(title: str, declared: str | None = None) -> str:
    declaration = f' encoding="{declared}"' if declared else ""
    return (
        f'<?xml version="1.0"{declaration}?><rss version="2.0"><channel>'
        f"<title>Nyheter</title><item><title>{title}</title>"
        "<link>https://town.example/1</link></item></channel></rss>"
    )


@pytest.mark.parametrize(
    ("body", "headers", "languages", "title"),
    [
        # UTF-8 bytes behind a stale latin-1 header or declaration.
        (_rss(POLISH).encode(), {"Content-Type": "text/xml; charset=iso-8859-1"},
         (), POLISH),
        (_rss(POLISH, "windows-1252").encode(), {}, (), POLISH),
        # windows-1250 bytes declared as UTF-8, or not declared at all.
        (_rss(POLISH, "utf-8").encode("cp1250"), {}, ("pl",), POLISH),
        (_rss(POLISH).encode("cp1250"), {"Content-Type": "text/xml"}, ("pl",),
         POLISH),
        # A right declaration wins over a wrong HTTP charset it cannot decode.
        (_rss(POLISH, "windows-1250").encode("cp1250"),
         {"Content-Type": "application/rss+xml; charset=utf-8"}, (), POLISH),
        # A byte order mark wins over every label.
        (b"\xef\xbb\xbf" + _rss(POLISH, "iso-8859-1").encode(), {}, (), POLISH),
        (_rss(POLISH).encode("utf-16"), {}, (), POLISH),
        # Undeclared legacy code pages of the source's language.
        (_rss(BULGARIAN).encode("cp1251"), {}, ("bg",), BULGARIAN),
        (_rss(GREEK, "iso-8859-7").encode("iso-8859-7"), {}, (), GREEK),
    ],
)  # fmt: skip
def test_feed_titles_are_readable_whatever_the_encoding_labels_say(
    body, headers, languages, title
):
    feed = parse_feed(body, "https://town.example/feed", headers, languages)

    assert [entry.title for entry in feed.entries] == [title]


def test_undeclared_legacy_bytes_without_a_language_are_guessed():
    text, codec = decode_bytes(
        ("Příliš žluťoučký kůň úpěl ďábelské ódy. " * 20).encode("cp1250"), []
    )

    assert "žluťoučký kůň" in text
    assert codec in ("cp1250", "iso8859_2")


def test_a_charset_that_is_no_text_encoding_is_ignored():
    text, codec = decode_bytes("Gdańsk".encode("cp1250"), ["base64"], ["pl"])

    assert (text, codec) == ("Gdańsk", "cp1250")


def test_http_charset_reads_quoted_and_unquoted_labels():
    assert http_charset({"content-type": 'text/xml; charset="UTF-8"'}) == "UTF-8"
    assert http_charset({"Content-Type": "application/rss+xml"}) == ""
