"""OPML 2.0: the portal's sources as a list a feed reader imports at once."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from email.utils import format_datetime
from xml.etree import ElementTree

from publisher.context import PortalConfig
from publisher.feeds import xml_safe
from storage.models import Source


def render_opml(
    config: PortalConfig, sources: Sequence[Source], now: datetime | None = None
) -> bytes:
    """One outline per source, pointing at the source's feed on the portal.

    The portal's feed, not the source's own address, is what a reader gets:
    press-release pages have no feed of their own, and the portal's feeds
    carry the cleaned full text.
    """
    root = ElementTree.Element("opml", version="2.0")
    head = ElementTree.SubElement(root, "head")
    ElementTree.SubElement(head, "title").text = f"{config.site_title}: sources"
    ElementTree.SubElement(head, "dateCreated").text = format_datetime(
        now or datetime.now(UTC)
    )
    ElementTree.SubElement(head, "docs").text = "https://opml.org/spec2.opml"
    body = ElementTree.SubElement(root, "body")

    for source in sources:
        attributes = {
            "type": "rss",
            "text": xml_safe(source.name),
            "title": xml_safe(source.name),
            "xmlUrl": config.absolute(f"/feeds/sources/{source.id}.atom"),
            "htmlUrl": source.website or source.url,
        }
        if source.languages:
            attributes["language"] = source.languages[0]
        if source.country:
            attributes["category"] = f"/{source.country}/{source.publisher}"
        ElementTree.SubElement(body, "outline", attributes)

    ElementTree.indent(root)
    return ElementTree.tostring(root, encoding="utf-8", xml_declaration=True)
