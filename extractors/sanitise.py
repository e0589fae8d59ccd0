"""HTML made safe to republish: an allow-list, with nh3 (Rust's ammonia).

Only the markup a reader needs survives: no scripts, styles, event handlers,
frames, forms, objects, SVG or MathML, and no URL but http(s) (and mailto
for links). Relative links and image sources are made absolute against the
item's URL, since the portal shows the fragment on another host; a
``<base href>`` in the fragment is ignored with the rest of the unknown
markup. Tracking pixels are removed and tracking parameters are cut from
every link and image source; links get ``rel="noopener noreferrer nofollow"``.
"""

from __future__ import annotations

import re
from html import escape
from urllib.parse import urljoin, urlsplit

import lxml.html
import nh3
from lxml import etree

from extractors.text import strip_control_characters
from extractors.urls import strip_tracking_parameters

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
# Elements whose content is dropped with them: their text is code, a hidden
# alternative or a form control's value, never part of the article.
_DROPPED_WITH_CONTENT = {
    "script", "style", "noscript", "template", "iframe", "object", "embed",
    "svg", "math", "select", "textarea", "title", "head",
}  # fmt: skip
_LINK_SCHEMES = ("http", "https", "mailto")
_IMAGE_SCHEMES = ("http", "https")

# Hosts that serve only counting pixels, and paths that only count a view.
TRACKER_HOSTS = (
    "pixel.wp.com", "stats.wordpress.com", "google-analytics.com",
    "googletagmanager.com", "doubleclick.net", "pixel.quantserve.com",
    "scorecardresearch.com", "mc.yandex.ru", "bat.bing.com", "ct.pinterest.com",
    "analytics.twitter.com", "pixel.mathtag.com", "feeds.feedblitz.com",
    "facebook.com", "list-manage.com",
)  # fmt: skip
_TRACKER_PATH = re.compile(
    r"/~r/|/~ff/|/~a/|(?:^|/)(?:piwik|matomo)\.php|/track/open|/wf/open"
    r"|/(?:pixel|beacon|tracking)\.(?:gif|png)$",
    re.I,
)
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(?:px)?\s*$", re.I)
_STYLE_SIZE = re.compile(r"\b(width|height)\s*:\s*(\d+(?:\.\d+)?)\s*px", re.I)
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)
_IMG_TAG = re.compile(r"<img\b[^>]*>?")
# What a pixel's tag must hold: a size, a style, or a tracker's host or path
# (a wider net than _TRACKER_PATH, which also matches only at an address' end).
_PIXEL_SIGNAL = re.compile(
    "|".join(
        [
            *("width", "height", "style", "pixel", "beacon", "tracking", "piwik"),
            *("matomo", "/~", "/track/", "/wf/"),
            *(re.escape(host) for host in TRACKER_HOSTS),
        ]
    )
)
# Browsers skip ASCII whitespace and control characters inside a scheme
# ("java\tscript:"), so they are removed before the scheme is judged.
_URL_NOISE = re.compile(r"[\x00-\x20\x7f]+")


def sanitise_html(html: str, base_url: str = "") -> str:
    """Keep the markup a reader needs and nothing that runs, tracks or embeds.

    ``base_url`` is the item's URL; without it relative links and images
    are dropped, as there is no telling where they point.
    """
    html = strip_control_characters(html)
    if not html.strip():
        return ""
    if _may_hold_tracking_pixels(html, base_url):
        html = _without_tracking_pixels(html, base_url)

    def keep_attribute(element: str, attribute: str, value: str) -> str | None:
        if attribute == "href":
            return safe_url(value, base_url, _LINK_SCHEMES)
        if attribute == "src":
            return safe_url(value, base_url, _IMAGE_SCHEMES)
        return value

    return nh3.clean(
        html,
        tags=_ALLOWED_TAGS,
        clean_content_tags=_DROPPED_WITH_CONTENT,
        attributes=_ALLOWED_ATTRIBUTES,
        attribute_filter=keep_attribute,
        url_schemes=set(_LINK_SCHEMES),
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    ).strip()


def safe_url(value: str, base_url: str, schemes: tuple[str, ...]) -> str | None:
    """``value`` made absolute and cleaned, or None unless its scheme is allowed.

    nh3 does not check what its attribute filter returns, so this is the
    last word on every URL that is republished.
    """
    value = _URL_NOISE.sub("", value)
    if not value:
        return None
    if base_url:
        value = urljoin(base_url, value)
    try:
        parts = urlsplit(value)
    except ValueError:
        return None
    if parts.scheme.lower() not in schemes:
        return None
    if parts.scheme.lower() != "mailto" and not parts.netloc:
        return None
    if parts.query:
        parts = parts._replace(query=strip_tracking_parameters(parts.query))
    return parts.geturl()


def is_tracking_pixel(src: str, width: str, height: str, style: str) -> bool:
    """Whether an image is there to count readers rather than to be seen."""
    host = (urlsplit(src).hostname or "") if "//" in src else ""
    if any(
        host == tracker or host.endswith("." + tracker) for tracker in TRACKER_HOSTS
    ):
        return True
    if _TRACKER_PATH.search(urlsplit(src).path if "//" in src else src):
        return True
    if _HIDDEN_STYLE.search(style):
        return True

    sizes = {name.lower(): float(size) for name, size in _STYLE_SIZE.findall(style)}
    for name, attribute in (("width", width), ("height", height)):
        if match := _SIZE.match(attribute):
            sizes.setdefault(name, float(match.group(1)))
    return sizes.get("width", 2) <= 1 and sizes.get("height", 2) <= 1


def _may_hold_tracking_pixels(html: str, base_url: str) -> bool:
    """Whether an image tag of ``html`` could be a tracking pixel at all.

    Parsing the fragment to look closer costs more than cleaning it; an image
    that names no size, no style and no tracker anywhere in its tag, on a page
    of a host that counts nobody, is a picture.
    """
    lowered = html.lower()
    if "<img" not in lowered:
        return False
    if is_tracking_pixel(base_url, "", "", ""):
        return True
    return any(_PIXEL_SIGNAL.search(tag) for tag in _IMG_TAG.findall(lowered))


def _without_tracking_pixels(html: str, base_url: str) -> str:
    # A pass before nh3, which sees one attribute at a time and so cannot tell
    # a 1x1 image from a picture; nh3 still cleans whatever this returns.
    try:
        root = lxml.html.fragment_fromstring(html, create_parent="div")
    except (etree.ParserError, ValueError):
        return html

    pixels = [
        image
        for image in root.iter("img")
        if is_tracking_pixel(
            urljoin(base_url, _URL_NOISE.sub("", image.get("src", ""))),
            image.get("width", ""),
            image.get("height", ""),
            image.get("style", ""),
        )
    ]
    if not pixels:
        return html
    for image in pixels:
        image.drop_tree()
    children = (lxml.html.tostring(child, encoding="unicode") for child in root)
    return escape(root.text or "", quote=False) + "".join(children)
