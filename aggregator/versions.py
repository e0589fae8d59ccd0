"""Language versions of one release: its reference number and its address.

An institution that publishes a release in several languages gives every
version the same reference (the European Commission's ``IP/26/1234``) and
usually the same address but for a language segment (``/en/``, ``/fr/``),
a language parameter (``?lang=fr``) or a suffix (``_fr.htm``). Both are
read here as plain values; dedup joins items that share one.
"""

from __future__ import annotations

import hashlib
import re
from urllib.parse import urlsplit, urlunsplit

# The official EU languages, with a region (fr-be, pt_PT) or without.
EU_LANGUAGES = "bg cs da de el en es et fi fr ga hr hu it lt lv mt nl pl pt ro sk sl sv"
_LANGUAGE = "(?:" + EU_LANGUAGES.replace(" ", "|") + r")(?:[-_][a-zA-Z]{2})?"
_SEGMENT = re.compile(f"^{_LANGUAGE}$", re.IGNORECASE)
# "release_IP-26-1234_en.htm", "page.fr.html", "news_de"
_SUFFIX = re.compile(f"(?<=[_.-])({_LANGUAGE})(?=\\.[a-z0-9]+$|$)", re.IGNORECASE)
_PARAMETERS = {"lang", "language", "locale", "hl", "lng", "sprache", "langue"}
_PLACEHOLDER = "{lang}"

# Kinds of the European Commission's press material, which numbers every
# release as KIND/YY/NUMBER in all its languages.
_KINDS = "IP|MEMO|STATEMENT|SPEECH|QANDA|AC|MEX|INF|FS|ANNOUNCEMENT"
_TEXT_REFERENCE = re.compile(rf"\b({_KINDS})/(\d{{2}})/(\d{{1,5}})\b")
_URL_REFERENCE = re.compile(
    rf"(?<![a-z])({_KINDS})[_-](\d{{2}})[_-](\d{{1,5}})(?!\d)", re.IGNORECASE
)
# A release states its own number in its first or last lines; a number in
# the middle of a text is usually another release being cited.
_EDGE = 300


def release_reference(url: str, text: str) -> str | None:
    """The reference number the release at ``url`` with ``text`` carries.

    From the address first; from the text only when its opening or closing
    lines name exactly one reference.
    """
    path = urlsplit(url).path
    found = _URL_REFERENCE.search(path)
    if found:
        return _reference(*found.groups())

    edges = text[:_EDGE] + "\n" + text[-_EDGE:]
    references = {_reference(*match) for match in _TEXT_REFERENCE.findall(edges)}
    if len(references) == 1:
        return references.pop()
    return None


def language_key(url: str) -> str | None:
    """A hash of ``url`` with its language marker replaced, or None without one.

    Two addresses with the same key differ at most by the language they name.
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    segments = parts.path.split("/")
    marked = False
    for index, segment in enumerate(segments):
        if _SEGMENT.match(segment):
            segments[index] = _PLACEHOLDER
            marked = True
    if segments and _SUFFIX.search(segments[-1]):
        segments[-1] = _SUFFIX.sub(_PLACEHOLDER, segments[-1])
        marked = True

    pairs = []
    for pair in parts.query.split("&") if parts.query else []:
        name, _, value = pair.partition("=")
        if name.lower() in _PARAMETERS and _SEGMENT.match(value):
            marked = True
            continue
        pairs.append(pair)
    if not marked:
        return None

    neutral = urlunsplit(
        (parts.scheme, parts.netloc.lower(), "/".join(segments), "&".join(pairs), "")
    )
    return hashlib.sha256(neutral.encode("utf-8")).hexdigest()[:32]


def _reference(kind: str, year: str, number: str) -> str:
    return f"{kind.upper()}/{year}/{int(number)}"
