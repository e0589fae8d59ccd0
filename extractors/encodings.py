"""Bytes of a feed or page to text, whatever its server and CMS declare.

The order follows what feedparser documents (RFC 3023: a byte order mark,
then the HTTP charset, then the XML declaration) with two corrections seen on
municipal sites. Bytes that are valid UTF-8 and hold non-ASCII characters are
UTF-8 whatever the labels say: a legacy-encoded text almost never passes as
UTF-8 by chance, while CMSs that re-encode their output and keep an old
declaration are common. And a declared encoding that cannot decode the bytes,
or none at all, gives way to the legacy code page of the source's languages
(a Czech town hall's undeclared feed is windows-1250, not windows-1252), and
without a language hint to charset-normalizer's best guess.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterable, Mapping, Sequence

import charset_normalizer

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_CHARSET = re.compile(r"""charset\s*=\s*["']?\s*([\w.:-]+)""", re.I)
_META = re.compile(r"<meta[^>]+>", re.I)
_XML_DECLARATION = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([\w.:-]+)["']""")
_XML_ENCODING = re.compile(r"""(^\s*<\?xml[^>]*?encoding\s*=\s*["'])[\w.:-]+(["'])""")
# The code page Windows and old CMSs used for each EU language.
_LEGACY = {
    **dict.fromkeys(("cs", "sk", "pl", "hu", "sl", "hr", "ro"), "cp1250"),
    "bg": "cp1251",
    "el": "cp1253",
    **dict.fromkeys(("lt", "lv", "et"), "cp1257"),
    "mt": "iso8859-3",
}


def http_charset(headers: Mapping[str, str]) -> str:
    """The charset of a Content-Type header, or ''."""
    content_type = next(
        (value for name, value in headers.items() if name.lower() == "content-type"),
        "",
    )
    match = _CHARSET.search(content_type)
    return match[1] if match else ""


def decode_bytes(
    body: bytes, declared: Iterable[str], languages: Sequence[str] = ()
) -> tuple[str, str]:
    """Decode ``body``: return the text and the name of the codec used.

    ``declared`` are the labels in the order they count (HTTP, then the
    document's own); ``languages`` the ISO 639-1 codes the source publishes in.
    """
    for bom, name in _BOMS:
        if body.startswith(bom):
            return body[len(bom) :].decode(name, "replace"), name

    if not body.isascii():
        try:
            return body.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            pass

    for label in declared:
        name = _codec(label)
        if not name or name == "utf-8":
            continue
        try:
            return body.decode(name), name
        except UnicodeDecodeError:
            continue

    if body.isascii():
        return body.decode("ascii"), "ascii"
    name = _guess(body, languages)
    return body.decode(name, "replace"), name


def feed_as_utf8(
    body: bytes, headers: Mapping[str, str], languages: Sequence[str] = ()
) -> bytes:
    """The feed re-encoded as UTF-8, its XML declaration saying so."""
    declared = [http_charset(headers)]
    match = _XML_DECLARATION.match(body.lstrip(b"\xef\xbb\xbf")[:512])
    if match:
        declared.append(match[1].decode("ascii"))
    text, _codec_name = decode_bytes(body, filter(None, declared), languages)
    return _XML_ENCODING.sub(r"\g<1>utf-8\g<2>", text, count=1).encode("utf-8")


def decode_html(
    body: bytes, headers: Mapping[str, str] | None = None, languages: Sequence[str] = ()
) -> str:
    """An HTML page as text: the HTTP charset counts before ``<meta>``'s."""
    metas = _META.findall(body[:4096].decode("latin-1"))
    labels = [http_charset(headers or {})]
    labels += [match[1] for match in map(_CHARSET.search, metas) if match]
    text, _codec_name = decode_bytes(body, filter(None, labels), languages)
    return text


def _codec(label: str) -> str:
    try:
        name = codecs.lookup(label).name
        b"a".decode(name)  # refuses base64 and other codecs that are no charset
    except (LookupError, UnicodeDecodeError):
        return ""
    # A UTF-16 or UTF-32 text starts with its byte order mark, found above; a
    # label saying so on a document without one is wrong (browsers agree).
    if name.startswith(("utf-16", "utf-32")):
        return ""
    # WHATWG Encoding: latin-1 and ascii labels mean windows-1252, whose quotes
    # and dashes such documents use.
    return "cp1252" if name in ("iso8859-1", "ascii") else name


def _guess(body: bytes, languages: Sequence[str]) -> str:
    pages = {_LEGACY.get(language, "cp1252") for language in languages}
    if len(pages) == 1:
        return pages.pop()
    best = charset_normalizer.from_bytes(body[:65536]).best()
    return best.encoding if best is not None else "cp1252"
