"""HTML to plain text, and HTML made safe to republish."""

from __future__ import annotations

import re
from urllib.parse import urljoin

import nh3
from bs4 import BeautifulSoup

# Block elements end a line of text; without this, "<p>a</p><p>b</p>" reads "ab".
_BLOCKS = ("p", "div", "br", "li", "h1", "h2", "h3", "h4", "h5", "h6", "tr")

# Control characters other than tab and line breaks carry no text, and XML
# forbids them: one would make every feed that republishes the item invalid.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

_ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "cite", "code", "dd", "del",
    "dl", "dt", "em", "figcaption", "figure", "h2", "h3", "h4", "h5", "h6", "hr",
    "i", "img", "ins", "li", "ol", "p", "pre", "q", "s", "small", "strong", "sub",
    "sup", "table", "tbody", "td", "tfoot", "th", "thead", "time", "tr", "u", "ul",
}  # fmt: skip
_ALLOWED_ATTRIBUTES = {
    "a": {"href", "title", "hreflang"},
    "img": {"src", "alt", "title", "width", "height"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan", "scope"},
    "time": {"datetime"},
    "*": {"lang"},
}


def html_to_text(html: str) -> str:
    """The readable text of an HTML fragment, paragraphs kept as blank lines."""
    html = _CONTROL.sub("", html)
    if not html or ("<" not in html and "&" not in html):
        return html.strip()

    soup = BeautifulSoup(html, "lxml")
    for hidden in soup(["script", "style", "noscript", "template"]):
        hidden.decompose()
    for block in soup.find_all(_BLOCKS):
        block.insert_after("\n")
    lines = (" ".join(line.split()) for line in soup.get_text().splitlines())
    return "\n".join(line for line in lines if line).strip()


def sanitise_html(html: str, base_url: str = "") -> str:
    """Keep the markup a reader needs and nothing that runs, tracks or embeds.

    Relative links and image sources are made absolute against ``base_url``,
    since the portal shows the fragment on another host than its origin.
    """
    html = _CONTROL.sub("", html)
    if not html.strip():
        return ""

    def absolute(element: str, attribute: str, value: str) -> str | None:
        if attribute in ("href", "src"):
            url = urljoin(base_url, value.strip()) if base_url else value.strip()
            return url if url.startswith(("http://", "https://")) else None
        return value

    return nh3.clean(
        html,
        tags=_ALLOWED_TAGS,
        attributes=_ALLOWED_ATTRIBUTES,
        attribute_filter=absolute,
        url_schemes={"http", "https"},
        link_rel="noopener noreferrer nofollow",
    ).strip()
