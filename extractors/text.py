"""HTML to plain text."""

from __future__ import annotations

import re

from bs4 import BeautifulSoup

# Block elements end a line of text; without this, "<p>a</p><p>b</p>" reads "ab".
_BLOCKS = ("p", "div", "br", "li", "h1", "h2", "h3", "h4", "h5", "h6", "tr")

# Control characters other than tab and line breaks carry no text, and XML
# forbids them: one would make every feed that republishes the item invalid.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


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


def strip_control_characters(text: str) -> str:
    """``text`` without the control characters that XML forbids."""
    return _CONTROL.sub("", text)
