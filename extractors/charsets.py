"""Bytes of an HTML page to text, in the encoding the page declares."""

from __future__ import annotations

import codecs
import re
from collections.abc import Mapping

_CHARSET = re.compile(r"""charset\s*=\s*["']?\s*([\w.:-]+)""", re.I)
_META = re.compile(r"<meta[^>]+>", re.I)


def decode_html(body: bytes, headers: Mapping[str, str] | None = None) -> str:
    """Decode ``body`` by the Content-Type header's charset, else ``<meta>``'s.

    The header wins, as in browsers; undecodable bytes become U+FFFD rather
    than failing the page, and an unusable label falls back to UTF-8.
    """
    lowered = {name.lower(): value for name, value in (headers or {}).items()}
    content_type = lowered.get("content-type", "")
    metas = _META.findall(body[:4096].decode("latin-1"))
    labels = [m[1] for m in map(_CHARSET.search, [content_type, *metas]) if m]
    encoding = next(filter(None, map(_codec, labels)), "utf-8")
    return body.decode(encoding, "replace")


def _codec(label: str) -> str:
    try:
        name = codecs.lookup(label).name
        b"a".decode(name, "replace")  # refuses base64 and other non-text codecs
    except LookupError:
        return ""
    # Browsers read latin-1 and ascii labels as windows-1252 (WHATWG Encoding),
    # so pages labelled that way use its quotes and dashes; a UTF-16 label on a
    # page without NUL bytes is wrong, and browsers read it as UTF-8.
    if name.startswith(("utf-16", "utf-32")):
        return "utf-8"
    return "cp1252" if name in ("iso8859-1", "ascii") else name
