"""An article page's main text and metadata, with trafilatura.

trafilatura is handed a tree parsed here from bytes decoded here, never a URL:
fetching is the crawler's job. The metadata a page declares about itself
(language, canonical address) is read from the page, because trafilatura
guesses the one and may take the other from a JSON-LD block about something
else. Any page is welcome: a press release, or the article behind a feed
entry whose content is short.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urldefrag, urljoin, urlsplit

import trafilatura
from lxml import etree
from lxml.html import HtmlElement

# An internal module, but the only way to have the HTML output of the one
# extraction instead of running the extraction once more for it.
from trafilatura.htmlprocessing import convert_to_html
from trafilatura.settings import Document, set_date_params

from extractors.encodings import decode_html
from extractors.errors import NotAnArticle
from extractors.sanitise import sanitise_html
from extractors.text import tree_to_text

_LANGUAGE = re.compile(r"[a-z]{2,3}")
# When trafilatura finds no article it falls back to the page's whole text,
# which on a page of menus is link labels; an article has prose outside links.
# Limitation: a release of a single short sentence counts as no article, so
# its listing teaser is all the portal shows of it.
_MIN_PROSE = 60
# htmldate's own output format drops the time; with it, a page's
# article:published_time keeps its hour and offset.
# Limitation: htmldate trusts a date in the address first, so an article at
# /2026-03-14-... is dated midnight UTC even when the page gives the hour.
_DATE_FORMAT = "%Y-%m-%dT%H:%M:%S%z"
# What a browser never shows: closed dialogs, collapsed mobile menus, ad
# slots, the text of widgets that scripts fill and reveal. trafilatura reads
# the markup, not the rendering, so it keeps them.
# Limitation: a page that hides its own article until a script reveals it
# ("read more", tabs) loses the hidden part; only inline styles are read,
# not stylesheets.
_HIDDEN = re.compile(
    r"(?:^|;)\s*(?:display\s*:\s*none|visibility\s*:\s*hidden)\b", re.I
)


@dataclass(frozen=True, slots=True)
class Article:
    """What an article page says, main text first."""

    url: str
    title: str
    text: str
    # Sanitised: safe to store and republish as it is.
    html: str
    published: datetime | None = None
    authors: tuple[str, ...] = ()
    image: str = ""
    description: str = ""
    # The language the page declares, as a primary code such as "de".
    language: str = ""
    canonical_url: str = ""


def extract_article(
    body: bytes, url: str, headers: Mapping[str, str] | None = None
) -> Article:
    """Extract the article of the page fetched from ``url``.

    Raises ``NotAnArticle`` when the page holds no main text.
    """
    tree = _tree(body, headers or {}, url)
    language = _declared_language(tree, headers or {})
    canonical = _canonical_url(tree, url)

    document = trafilatura.bare_extraction(
        tree,
        url=url,
        with_metadata=True,
        include_comments=False,
        include_formatting=True,
        include_images=True,
        include_links=True,
        date_extraction_params={**set_date_params(), "outputformat": _DATE_FORMAT},
        # The text is read from the HTML below; trafilatura's own text output
        # (its default here) took a sixth of the extraction, and was not used.
        output_format="html",
    )
    body_tree = document.body if isinstance(document, Document) else None
    if not isinstance(document, Document) or body_tree is None or not document.raw_text:
        raise NotAnArticle("no main text found on the page; is it an article?", url=url)

    title = " ".join((document.title or "").split())
    _drop_title_heading(body_tree, title)
    if _prose_length(body_tree) < _MIN_PROSE:
        raise NotAnArticle(
            "the page's text is only links or a few words; is it an article?",
            url=url,
        )
    raw_html, text = _html_and_text(document.body)
    html = sanitise_html(raw_html, base_url=canonical or url)

    return Article(
        url=url,
        title=title,
        text=text,
        html=html,
        published=_utc(document.date or ""),
        authors=tuple(
            name
            for part in (document.author or "").split(";")
            if (name := part.strip())
        ),
        image=_absolute(document.image or "", url),
        description=" ".join((document.description or "").split()),
        language=language,
        canonical_url=canonical,
    )


def _tree(body: bytes, headers: Mapping[str, str], url: str) -> HtmlElement:
    if not body.strip():
        raise NotAnArticle("the page is empty; is the address right?", url=url)
    # Images, archives and office files hold NUL bytes in their first header.
    if body.startswith(b"%PDF") or b"\x00" in body[:1024]:
        kind = "a PDF document" if body.startswith(b"%PDF") else "binary data"
        raise NotAnArticle(f"the address returned {kind}, not an HTML page", url=url)

    tree = trafilatura.load_html(decode_html(body, headers))
    if tree is None:
        raise NotAnArticle("the page could not be parsed as HTML", url=url)
    _drop_hidden(tree)
    return tree


def _drop_hidden(tree: HtmlElement) -> None:
    """Remove the elements a browser does not show, their text with them."""
    # A hidden html or body is an anti-flicker script's doing: shown once the
    # page has loaded. hidden="until-found" is collapsed text a reader can
    # open, often part of the article.
    # libxml2 finds the few elements with either attribute; a walk over every
    # element of the page in Python cost more than the rest of this function.
    hidden = [
        element
        for element in tree.xpath("//*[@hidden or @style]")
        if element.tag not in ("html", "body")
        and (
            element.get("hidden", "until-found") != "until-found"
            or _HIDDEN.search(element.get("style") or "")
        )
    ]
    for element in hidden:
        # Keep the text after the element: it belongs to the parent.
        element.drop_tree()


def _declared_language(tree: HtmlElement, headers: Mapping[str, str]) -> str:
    lowered = {name.lower(): value for name, value in headers.items()}
    declared = [
        *tree.xpath("/html/@lang | /html/@xml:lang"),
        *tree.xpath("//meta[@property='og:locale']/@content"),
        # Content-Language may list several languages; the first is the main one.
        lowered.get("content-language", "").split(",")[0],
    ]
    for tag in declared:
        primary = re.split(r"[-_]", str(tag).strip().lower())[0]
        if _LANGUAGE.fullmatch(primary):
            return primary
    return ""


def _canonical_url(tree: HtmlElement, url: str) -> str:
    base = next(iter(tree.xpath("//base/@href")), "")
    base = urljoin(url, str(base)) if base else url
    found = [
        *tree.xpath("//link[@href][contains(concat(' ', @rel, ' '), ' canonical ')]"),
        *tree.xpath("//meta[@property='og:url'][@content]"),
    ]
    for element in found:
        if link := _absolute(element.get("href") or element.get("content") or "", base):
            return link
    return ""


def _absolute(link: str, base: str) -> str:
    absolute = urldefrag(urljoin(base, link.strip()))[0] if link.strip() else ""
    return absolute if urlsplit(absolute).scheme in ("http", "https") else ""


def _drop_title_heading(body: HtmlElement, title: str) -> None:
    """Remove a first heading that repeats the title; the item shows it apart."""
    first = next(iter(body), None)
    if first is not None and first.tag == "head" and title:
        heading = " ".join("".join(first.itertext()).split())
        if heading.casefold() == title.casefold():
            body.remove(first)


def _html_and_text(body: HtmlElement) -> tuple[str, str]:
    """The HTML of trafilatura's body and its plain text, from one tree.

    The text is read from the HTML tree, not trafilatura's text output, which
    writes links and images as Markdown; and from the tree as serialised, so
    that it is the text of the HTML stored, without parsing that HTML again.
    """
    tree = convert_to_html(body)
    _indent_as_pretty_printed(tree)
    html = etree.tostring(tree, encoding="unicode").strip()
    return html, tree_to_text(tree)


def _indent_as_pretty_printed(element: etree._Element, level: int = 0) -> None:
    """Put into the tree the line breaks that pretty-printing writes, so that
    the text has the lines the stored HTML shows.

    As libxml2 does: the children of an element are put on lines of their own
    only when it holds no text of its own between them, and an element with
    text leaves its whole subtree as it is (lxml's ``indent`` goes on inside).
    """
    children = list(element)
    if not children or element.text or any(child.tail for child in children):
        return
    inside = "\n" + "  " * (level + 1)
    element.text = inside
    for child in children:
        _indent_as_pretty_printed(child, level + 1)
        child.tail = inside
    children[-1].tail = "\n" + "  " * level


def _prose_length(body: HtmlElement) -> int:
    """Characters of text outside links (trafilatura's ``ref``), spaces aside."""
    linked = sum(_non_space_characters(ref) for ref in body.iter("ref"))
    return _non_space_characters(body) - linked


def _non_space_characters(element: HtmlElement) -> int:
    # libxml2 gathers the text in one call; itertext yields it piece by piece.
    text = etree.tostring(element, method="text", encoding="unicode", with_tail=False)
    return len("".join(text.split()))


def _utc(text: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    # Limitation: a page that gives a day without a time, or a time without
    # an offset, is read as UTC, one or two hours off for most of Europe.
    return parsed.replace(tzinfo=parsed.tzinfo or UTC).astimezone(UTC)
