"""Article links from a municipal or EU press-release / news listing page.

Heuristic: refuse bodies that are no HTML page (empty, binary, a feed). Drop
page chrome: nav, aside, page-level header and footer, ARIA landmarks, blocks
whose class or id names a menu, breadcrumb, pager, language switcher, share bar
or cookie banner. Read ``<main>`` or ``[role=main]``, else the whole body. Keep
http(s) links to the page's host or its subdomains that are no file download,
not the home page and not the listing or another of its pages. A link's teaser
is the largest block around it that holds no other article link, stopping at a
list item, article, table row or repeated block: its heading is the title, its
paragraphs the summary, its ``<time>`` or a line that is mostly a date the
publication date. Titles need three words or 20 characters; each link is kept
once, in page order.

A source's CSS selector, when it has one, names the article links instead:
the blocks holding them survive the chrome removal and any title will do.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from itertools import islice
from urllib.parse import SplitResult, parse_qsl, urldefrag, urljoin, urlsplit

import dateparser
import soupsieve
from bs4 import BeautifulSoup, CData, NavigableString, PageElement, Tag

from extractors.encodings import decode_html
from extractors.entry import Entry
from extractors.errors import NotAPage

# Possessive, so that a hostile prologue cannot make the match backtrack.
_ROOT = re.compile(
    r"(?:\s|<\?[^>]*>|<!--.*?-->|<!doctype[^>]*>)*+<([a-z][\w:.-]*)", re.I | re.S
)
_HTML_TAG = re.compile(r"<(?:html|body|div|p|a|ul|main|article|table)[\s>]", re.I)
_DATE = re.compile(
    r"\b(?:(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})"
    r"|(?P<d2>\d{1,2})(?P<sep>[./])\s?(?P<m2>\d{1,2})(?P=sep)\s?(?P<y2>\d{4}))\b"
)
# Dates with a month name ("14 mars 2026", "March 14, 2026") are read by
# dateparser in the page's language: without the hint it misreads them.
_NAMED_DATE = re.compile(
    r"\b\d{1,2}\.?\s+[^\W\d]{3,12}\.?\s+\d{4}\b|\b[^\W\d]{3,12}\.?\s+\d{1,2},\s+\d{4}\b"
)
_DATEPARSER_SETTINGS: dict[str, object] = {
    "REQUIRE_PARTS": ["day", "month", "year"],
    "PREFER_DATES_FROM": "past",
}
_FILE = re.compile(
    r"\.(?:pdf|docx?|xlsx?|pptx?|od[tsp]|rtf|csv|txt|zip|rar|7z|gz|jpe?g|png|gif"
    r"|webp|svg|mp[34]|avi|mov|wmv|ics|vcf|xml|rss|atom)$",
    re.I,
)
_CHROME_NAME = re.compile(
    r"cookie|consent|gdpr|breadcrumb|pagination|masthead|^(?:(?:site|page)-)?(?:header"
    r"|footer)$|(?:^|[-_])(?:paginator|pager|paging|menu|nav|navbar|navigation|share"
    r"|sharing|shariff|social|sidebar|skip|skiplinks|toolbar|lang|languages?"
    r"|langswitch)(?:$|[-_])"
)
# Names that describe a layout state ("has-sidebar") sit on wrappers that hold
# the content, so they say nothing about the block being chrome.
_STATE_PREFIXES = ("has-", "with-", "no-", "is-", "layout-", "page-", "template-")
_CHROME_TAGS = {"script", "style", "noscript", "template", "svg", "iframe", "nav"}
_CHROME_TAGS |= {"aside", "button", "select", "dialog"}
_CHROME_ROLES = {"navigation", "banner", "contentinfo", "complementary", "search"}
_CHROME_ROLES |= {"menu", "menubar", "dialog", "alertdialog"}
_PAGING_KEY = re.compile(
    r"^(?:pg|seite|start|offset|sida|strana|strona)$|page\]*$", re.I
)
_HEADINGS = ["h1", "h2", "h3", "h4", "h5", "h6"]
_TITLE_CLASS = re.compile(r"title|headline|heading", re.I)
_TEASER_UNITS = {"li", "article", "tr", "dd"}
# Teasers are shallow; the cap keeps deeply nested hostile pages linear.
_TEASER_DEPTH = 12
_IMAGE_ATTRS = ("data-src", "data-lazy-src", "data-original", "src")


def parse_listing(
    body: bytes,
    url: str,
    headers: Mapping[str, str] | None = None,
    selector: str | None = None,
) -> list[Entry]:
    """Return one entry per article linked from the listing page at ``url``.

    With ``selector``, a CSS selector from the source's registry entry, the
    article links are the elements it matches (an ``<a>`` or an element that
    holds one), in page order, each with its teaser found as without one.
    """
    soup = BeautifulSoup(_page_text(body, headers or {}, url), "lxml")
    html = soup.find("html")
    lang = re.split(r"[-_]", _attr(html, "lang") or _attr(html, "xml:lang"))[0].strip()
    language = lang.lower() if re.fullmatch(r"[a-zA-Z]{2,3}", lang) else ""
    base = urljoin(url, _attr(soup.find("base", href=True), "href"))
    base = base if urlsplit(base).scheme in ("http", "https") else url

    # The operator's selector overrules the chrome heuristic: the blocks that
    # hold a chosen link stay, whatever they are named.
    chosen = _selected_anchors(soup, selector, url) if selector else []
    kept = {id(node) for anchor in chosen for node in [anchor, *anchor.parents]}

    # Walking down only into kept blocks visits each element once; asking each
    # element whether it was decomposed would cost a search of its subtree.
    stack: list[Tag] = [soup]
    while stack:
        for child in stack.pop().find_all(True, recursive=False):
            if _is_chrome(child) and id(child) not in kept:
                child.decompose()
            else:
                stack.append(child)

    if selector:
        return _chosen_entries(chosen, soup.body or soup, base, language)

    main = soup.find("main") or soup.find(role="main")
    for region in [main] if isinstance(main, Tag) else []:
        if entries := _entries_in(region, base, url, language, in_main=True):
            return entries
    if entries := _entries_in(soup.body or soup, base, url, language, in_main=False):
        return entries
    raise NotAPage(
        "no article links found on the page; is this the press-release listing?",
        url=url,
    )


def _page_text(body: bytes, headers: Mapping[str, str], url: str) -> str:
    if not body.strip():
        raise NotAPage("the page is empty; is the address right?", url=url)
    # Images, archives and office files hold NUL bytes in their first header.
    # Limitation: UTF-16 pages are refused too; no municipal site uses it.
    if body.startswith(b"%PDF") or b"\x00" in body[:1024]:
        kind = "a PDF document" if body.startswith(b"%PDF") else "binary data"
        raise NotAPage(f"the address returned {kind}, not an HTML page", url=url)

    text = decode_html(body, headers)

    root = _ROOT.match(text.lstrip("\ufeff")[:8192])
    if root and root[1].lower() in ("rss", "feed", "rdf:rdf"):
        raise NotAPage("this address is a feed, register it as kind: feed", url=url)
    if not _HTML_TAG.search(text):
        start = " ".join(text.split())[:40]
        raise NotAPage(f"the address returned no HTML; it starts {start!r}", url=url)
    return text


def _is_chrome(tag: Tag) -> bool:
    if tag.name in _CHROME_TAGS or _attr(tag, "role").lower() in _CHROME_ROLES:
        return True
    if tag.name in ("header", "footer"):
        # An article's or card's own header holds its title and date.
        return tag.find_parent(["main", "article", "section", "li"]) is None
    names = [n.lower() for n in [*tag.get_attribute_list("class"), _attr(tag, "id")]]
    names = [n for n in names if n and not n.startswith(_STATE_PREFIXES)]
    if tag.name in ("html", "body", "main", "article") or not any(
        map(_CHROME_NAME.search, names)
    ):
        return False
    # A wrapper named after one of its parts ("nav-col") may hold the content.
    return not (tag.find(["main", "article"]) or tag.find(role="main"))


def _entries_in(
    region: Tag, base: str, url: str, language: str, *, in_main: bool
) -> list[Entry]:
    page = urlsplit(url)
    anchors_by_link: dict[str, list[Tag]] = {}
    for anchor in region.find_all("a", href=True):
        if link := _article_link(_attr(anchor, "href"), base, page):
            anchors_by_link.setdefault(link, []).append(anchor)

    entries, lists = _teaser_entries(anchors_by_link, region, base, language)

    # Outside a marked main region the listing is the repeated structure; a
    # link standing alone is chrome named in a way we do not know, such as a
    # legacy CMS's footer whose id is in the local language.
    sizes = Counter(lists)
    if not in_main and max(sizes.values(), default=0) >= 2:
        entries = [e for e, at in zip(entries, lists, strict=True) if sizes[at] >= 2]
    return entries


def _selected_anchors(soup: BeautifulSoup, selector: str, url: str) -> list[Tag]:
    try:
        matched = soup.select(selector)
    except soupsieve.SelectorSyntaxError as error:
        raise NotAPage(
            f"the selector {selector!r} is no valid CSS selector: {error}", url=url
        ) from error

    anchors: list[Tag] = []
    for element in matched:
        is_link = element.name == "a" and element.get("href")
        anchor = element if is_link else element.find("a", href=True)
        if isinstance(anchor, Tag) and all(anchor is not a for a in anchors):
            anchors.append(anchor)
    if not anchors:
        raise NotAPage(
            f"the selector {selector!r} matched no link on the page; check it "
            "against the listing page's current HTML",
            url=url,
        )
    return anchors


def _chosen_entries(
    anchors: list[Tag], region: Tag, base: str, language: str
) -> list[Entry]:
    anchors_by_link: dict[str, list[Tag]] = {}
    for anchor in anchors:
        href = _attr(anchor, "href").strip()
        link = urldefrag(urljoin(base, href))[0] if href[:1] != "#" else ""
        if urlsplit(link).scheme in ("http", "https"):
            anchors_by_link.setdefault(link, []).append(anchor)
    return _teaser_entries(anchors_by_link, region, base, language, chosen=True)[0]


def _teaser_entries(
    anchors_by_link: dict[str, list[Tag]],
    region: Tag,
    base: str,
    language: str,
    *,
    chosen: bool = False,
) -> tuple[list[Entry], list[int]]:
    """The entry of each link, and the id of the block that holds its teaser."""

    # Every link a selector chose is an article's, however short its text.
    def is_strong(anchor: Tag) -> bool:
        return chosen or _is_strong(anchor)

    # Map every element to the article links it holds, so that finding a
    # teaser's edge is a lookup instead of a search per ancestor.
    holders: dict[int, set[str]] = {}
    for link, anchors in anchors_by_link.items():
        for anchor in filter(is_strong, anchors):
            for parent in islice(anchor.parents, _TEASER_DEPTH):
                holders.setdefault(id(parent), set()).add(link)

    entries, lists = [], []
    for link, anchors in anchors_by_link.items():
        seed = next(filter(is_strong, anchors), anchors[0])
        teaser = _teaser(seed, region, link, holders)
        if entry := _entry(link, anchors, teaser, base, language, chosen=chosen):
            entries.append(entry)
            lists.append(id(teaser[0].parent))
    return entries, lists


def _article_link(href: str, base: str, page: SplitResult) -> str:
    link = urldefrag(urljoin(base, href.strip()))[0] if href.strip()[:1] != "#" else ""
    parts = urlsplit(link)
    site = (page.hostname or "").removeprefix("www.")
    host = (parts.hostname or "").removeprefix("www.")
    is_ours = host == site or host.endswith("." + site)
    is_home = not parts.path.strip("/") and not parts.query
    if parts.scheme not in ("http", "https") or not is_ours or is_home:
        return ""
    if _FILE.search(parts.path) or _listing_key(parts) == _listing_key(page):
        return ""
    return link


def _listing_key(parts: SplitResult) -> tuple[str, str, list[tuple[str, str]]]:
    """What the pages of one listing have in common."""
    query = parse_qsl(parts.query, keep_blank_values=True)
    kept = sorted((key, value) for key, value in query if not _PAGING_KEY.search(key))
    return (parts.hostname or "").removeprefix("www."), parts.path.rstrip("/"), kept


def _teaser(
    seed: Tag, region: Tag, link: str, holders: dict[int, set[str]]
) -> list[Tag]:
    block = seed
    for parent in islice(seed.parents, _TEASER_DEPTH):
        if parent is region or holders.get(id(parent), set()) - {link}:
            break
        block = parent
        if parent.name in _TEASER_UNITS or _is_repeated(parent):
            break
    if not _is_heading(block):
        return [block]

    # In a list of bare headings the blocks up to the next heading belong to it.
    teaser = [block]
    for sibling in block.find_next_siblings():
        if _is_heading(sibling) or holders.get(id(sibling)):
            break
        teaser.append(sibling)
    return teaser


def _is_repeated(tag: Tag) -> bool:
    siblings = [
        *tag.find_previous_siblings(tag.name),
        *tag.find_next_siblings(tag.name),
    ]
    shape = _attr(tag, "class")
    return tag.name in ("div", "section") and any(
        _attr(s, "class") == shape for s in siblings
    )


def _is_heading(tag: Tag) -> bool:
    return tag.name in _HEADINGS or bool(_TITLE_CLASS.search(_attr(tag, "class")))


def _entry(
    link: str,
    anchors: list[Tag],
    teaser: list[Tag],
    base: str,
    language: str,
    *,
    chosen: bool = False,
) -> Entry | None:
    headings = [h for h in _find(teaser, _is_heading) if _is_title(_text(h))]
    linked = [h for h in headings if any(_is_inside(a, h) for a in anchors)]
    if headings:
        title_nodes = [(linked or headings)[0]]
        title = _text(title_nodes[0])
    else:
        texts = [_text(a) for a in anchors] + [_attr(a, "title") for a in anchors]
        texts = [" ".join(text.split()) for text in texts]
        title = next(filter(_is_title, texts), "")
        if chosen and not title:
            title = next(filter(None, texts), "")
        title_nodes = anchors
    if not title:
        return None

    return Entry(
        title=title,
        link=link,
        summary=_summary(teaser, title_nodes, title),
        published=_published(teaser, title_nodes, language),
        image=_image(teaser, base),
        language=language,
    )


def _summary(teaser: list[Tag], title_nodes: list[Tag], title: str) -> str:
    # "Read more", tag and download links are no teaser text, but a card that is
    # one big link holds its text inside the link.
    skipped = title_nodes + _find(teaser, "time")
    for a in _find(teaser, "a"):
        if not any(_is_inside(node, a) for node in title_nodes):
            skipped.append(a)

    # Paragraphs are the text when there are any; otherwise each loose string
    # is weighed alone, so that a date or label beside it can be dropped.
    units = [text for p in _find(teaser, "p") if (text := _text(p, skipped))]
    units = units or _lines(teaser, skipped)
    summary = " ".join(unit for unit in units if not _is_date_line(unit))
    return summary if len(summary) >= 20 and summary != title else ""


def _published(
    teaser: list[Tag], title_nodes: list[Tag], language: str
) -> datetime | None:
    for stamp in _find(teaser, "time"):
        moment = _date(_attr(stamp, "datetime")) or _date(_text(stamp), language)
        if moment:
            return moment
    # A date in the teaser's prose is more often an event's than the
    # publication's, so only a line that is mostly a date counts.
    lines = filter(_is_date_line, _lines(teaser, title_nodes))
    return next(filter(None, (_date(line, language) for line in lines)), None)


def _is_date_line(text: str) -> bool:
    """Whether the text is a date with at most a label ("Published 14.03.2026")."""
    undated = _NAMED_DATE.sub("", _DATE.sub("", text))
    return undated != text and len(undated.strip()) < 30


def _date(text: str, language: str = "") -> datetime | None:
    """An ISO 8601 timestamp, else the first numeric date in ``text``, else a
    date with a month name in ``language``; in UTC."""
    try:
        parsed = datetime.fromisoformat(text.strip())
        # Limitation: a time without an offset is taken as UTC, one or two
        # hours off for most of Europe.
        return parsed.replace(tzinfo=parsed.tzinfo or UTC).astimezone(UTC)
    except ValueError:
        pass
    # Limitation: slashed dates are read day first, as Europe writes them.
    for match in _DATE.finditer(text):
        ymd = (
            match.group("y", "m", "d") if match["y"] else match.group("y2", "m2", "d2")
        )
        year, month, day = map(int, ymd)
        try:
            return datetime(year, month, day, tzinfo=UTC)
        except ValueError:
            continue
    named = _NAMED_DATE.search(text)
    if named and language:
        return named_date(named[0], language)
    return None


def named_date(text: str, language: str) -> datetime | None:
    """A date written with its month name in ``language``, at midnight UTC."""
    # Limitation: dateparser misses some Latvian, Lithuanian and Maltese long
    # forms ("2026. gada 14. marts") even with the language given; such teasers
    # stay undated until their release page is read.
    try:
        moment = dateparser.parse(
            text, languages=[language], settings=_DATEPARSER_SETTINGS
        )
    except (ValueError, LookupError):
        # dateparser refuses languages it has no data for.
        return None
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC)


def _image(teaser: list[Tag], base: str) -> str:
    for img in _find(teaser, "img"):
        # Icons and spacer images are not the teaser's picture.
        sizes = [_attr(img, "width"), _attr(img, "height")]
        if any(size.isdigit() and int(size) < 50 for size in sizes):
            continue
        sources = [_attr(img, name).strip() for name in _IMAGE_ATTRS]
        sources += [_attr(img, "srcset").split(",")[0].strip().partition(" ")[0]]
        for source in filter(None, sources):
            image = urldefrag(urljoin(base, source))[0]
            is_icon = urlsplit(image).path.lower().endswith(".svg")
            if urlsplit(image).scheme in ("http", "https") and not is_icon:
                return image
    return ""


def _is_title(text: str) -> bool:
    text = " ".join(text.split())
    is_long = len(text) >= 20 or len(text.split()) >= 3
    return is_long and any(char.isalpha() for char in text)


def _is_strong(anchor: Tag) -> bool:
    """Whether the anchor reads like an article's title, not "more" or a tag."""
    parents = islice(anchor.parents, _TEASER_DEPTH)
    return _is_title(_text(anchor)) or any(p.name in _HEADINGS for p in parents)


def _find(teaser: list[Tag], match: str | Callable[[Tag], bool]) -> list[Tag]:
    """The teaser's parts and their descendants that ``match``."""
    found = []
    for part in teaser:
        if match(part) if callable(match) else part.name == match:
            found.append(part)
        found += part.find_all(match)
    return found


def _strings(tag: Tag, skipped: list[Tag]) -> list[str]:
    """The text under ``tag`` in document order, leaving out ``skipped`` blocks."""
    skip = {id(node) for node in skipped}
    found: list[str] = []
    stack: list[PageElement] = [tag]
    while stack:
        node = stack.pop()
        if isinstance(node, Tag) and id(node) not in skip:
            stack.extend(reversed(node.contents))
        elif type(node) in (NavigableString, CData):
            found.append(str(node))
    return found


def _text(tag: Tag, skipped: list[Tag] | None = None) -> str:
    return " ".join("".join(_strings(tag, skipped or [])).split())


def _lines(teaser: list[Tag], skipped: list[Tag]) -> list[str]:
    lines = (" ".join(s.split()) for part in teaser for s in _strings(part, skipped))
    return [line for line in lines if line]


def _is_inside(node: PageElement, container: Tag) -> bool:
    return node is container or any(parent is container for parent in node.parents)


def _attr(tag: object, name: str) -> str:
    value = tag.get(name) if isinstance(tag, Tag) else None
    return " ".join(value) if isinstance(value, list) else (value or "")
