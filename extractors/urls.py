"""One URL per article, however it was reached.

``canonical_url`` lowercases the scheme and host, writes the host in its
IDNA (punycode) form, drops the default port, user info and the fragment,
removes dot segments and tracking parameters, and keeps every other query
parameter in its order and its encoding: a CMS may read ``?id=1&lang=de``
positionally or sign its query, so sorting or re-encoding is not safe.

courlan's ``normalize_url`` is not used for the query: it sorts parameters
and its tracker pattern also drops names such as ``uid``, ``source`` or
``ref``, which municipal CMSs use as article keys, so two articles would
become one URL. Its registrable-domain lookup (``extract_domain``, on the
public suffix list) decides which ``rel=canonical`` links are trusted.
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urljoin, urlsplit, urlunsplit

import idna
from courlan.urlutils import extract_domain

# Exact names, compared in lower case.
TRACKING_PARAMETERS = frozenset(
    {
        "fbclid", "gclid", "gclsrc", "dclid", "gbraid", "wbraid", "msclkid",
        "yclid", "twclid", "ttclid", "igshid", "li_fat_id", "mc_cid", "mc_eid",
        "_hsenc", "_hsmi", "__hstc", "__hssc", "__hsfp", "hsctatracking",
        "mkt_tok", "_ga", "_gl", "oly_anon_id", "oly_enc_id", "vero_id",
        "vero_conv", "wickedid", "rb_clickid", "s_cid", "xtor", "spm",
        "_openstat", "at_medium", "at_campaign", "ito",
    }
)  # fmt: skip
# Prefixes of campaign parameter families: Google Analytics (utm_), Matomo
# and Piwik (mtm_, pk_, matomo_, piwik_), HubSpot ads (hsa_).
TRACKING_PREFIXES = ("utm_", "mtm_", "pk_", "matomo_", "piwik_", "hsa_")

_DEFAULT_PORTS = {"http": 80, "https": 443}
_PERCENT = re.compile(r"%[0-9a-fA-F]{2}")
# Characters RFC 3986 allows unescaped in a path; anything else is escaped,
# so that an IRI and the URI a browser sends for it are one URL.
_PATH_SAFE = "/%:@!$&'()*+,;=-._~"
_QUERY_SAFE = _PATH_SAFE + "?"


def canonical_url(url: str, canonical: str = "") -> str:
    """The one URL of the article at ``url``, preferring its ``rel=canonical``.

    The canonical link is resolved against ``url`` and used only when it is
    http(s), on the same registrable domain (``www.example.eu`` and
    ``news.example.eu`` are one site, ``example.com`` is another), and not
    the site's home page while ``url`` is not: a CMS template that declares
    the home page canonical on every page would otherwise make every article
    one URL, and a hostile page could claim another site's address.
    A URL that is not http(s) or cannot be parsed is returned stripped.
    """
    url = _strip(url)
    chosen = url
    # Most pages name themselves; then there is nothing to trust or not.
    if canonical.strip() and canonical != url:
        candidate = urljoin(url, _strip(canonical))
        if _is_trusted_canonical(candidate, url):
            chosen = candidate
    return normalise_url(chosen)


def normalise_url(url: str) -> str:
    """``url`` with case, port, dot segments, fragment and trackers normalised."""
    url = _strip(url)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return url
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return url

    host = _idna_host(parts.hostname)
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    path = _uppercase_escapes(
        _escape(_remove_dot_segments(parts.path or "/"), _PATH_SAFE)
    )
    query = strip_tracking_parameters(parts.query)
    return urlunsplit((scheme, netloc, path, query, _kept_fragment(parts.fragment)))


def strip_tracking_parameters(query: str) -> str:
    """``query`` without tracking parameters or empty pairs, order kept."""
    if not query:
        return ""
    kept = []
    for pair in query.split("&"):
        if not pair:
            continue
        if not is_tracking_parameter(unquote(pair.split("=", 1)[0])):
            kept.append(pair)
    return _uppercase_escapes(_escape("&".join(kept), _QUERY_SAFE))


def is_tracking_parameter(name: str) -> bool:
    """Whether a query parameter only says where the reader came from."""
    name = name.strip().lower()
    return name in TRACKING_PARAMETERS or name.startswith(TRACKING_PREFIXES)


def _strip(url: str) -> str:
    # Browsers drop tabs and line breaks anywhere in a URL (WHATWG URL), and
    # feeds often wrap long links.
    return re.sub(r"[\t\r\n]", "", url).strip()


def _is_trusted_canonical(candidate: str, url: str) -> bool:
    try:
        target = urlsplit(candidate)
        origin = urlsplit(url)
    except ValueError:
        return False
    if target.scheme.lower() not in _DEFAULT_PORTS or not target.hostname:
        return False

    # Hosts under no public suffix (an address, "localhost") must match exactly.
    site = extract_domain(candidate) or target.hostname.lower()
    if site != (extract_domain(url) or (origin.hostname or "").lower()):
        return False

    points_home = target.path in ("", "/") and not target.query
    return not points_home or origin.path in ("", "/")


def _idna_host(host: str) -> str:
    host = host.rstrip(".").lower()
    if host.isascii():
        return host
    try:
        return idna.encode(host, uts46=True).decode("ascii")
    except idna.IDNAError:
        return host


def _remove_dot_segments(path: str) -> str:
    # RFC 3986 section 5.2.4, on whole segments.
    output: list[str] = []
    segments = path.split("/")
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        if segment == ".":
            if last:
                output.append("")
        elif segment == "..":
            if len(output) > 1:
                output.pop()
            if last:
                output.append("")
        else:
            output.append(segment)
    result = "/".join(output)
    return result if result.startswith("/") else "/" + result


def _kept_fragment(fragment: str) -> str:
    # "#!/news/12" and "#/news/12" are routes of script-driven sites: the
    # fragment names the article, so dropping it would merge every article.
    return fragment if fragment.startswith(("!", "/")) else ""


def _escape(value: str, safe: str) -> str:
    return "".join(
        char if char.isascii() and (char.isalnum() or char in safe) else _quote(char)
        for char in value
    )


def _quote(char: str) -> str:
    return "".join(f"%{byte:02X}" for byte in char.encode("utf-8"))


def _uppercase_escapes(value: str) -> str:
    return _PERCENT.sub(lambda match: match.group(0).upper(), value)
