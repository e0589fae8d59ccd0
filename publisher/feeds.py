"""Feeds out: Atom 1.0, RSS 2.0 and JSON Feed 1.1 of stored items."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime

from jinja2 import Environment

from storage.health import short_duration
from storage.models import Item

# XML 1.0 forbids most control characters; one scraped from a page would make
# the whole feed unreadable to every reader.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")

MEDIA_TYPES = {
    "atom": "application/atom+xml; charset=utf-8",
    "rss": "application/rss+xml; charset=utf-8",
    "json": "application/feed+json; charset=utf-8",
}


@dataclass(frozen=True)
class FeedInfo:
    """What a feed says about itself."""

    title: str
    feed_url: str
    home_url: str
    feed_id: str
    updated: datetime
    language: str = ""
    # Entry ids are the same in every feed an item appears in, so a reader
    # subscribed to two of them recognises one entry; they must not depend on
    # the feed's own home page, which may carry a fragment already.
    entry_base: str = ""

    def entry_id(self, item_id: int) -> str:
        return f"{self.entry_base}#item-{item_id}"


def xml_safe(value: object) -> str:
    return _NOT_XML.sub("", "" if value is None else str(value))


def install_filters(environment: Environment) -> None:
    environment.filters["xml_safe"] = xml_safe
    environment.filters["duration"] = short_duration
    environment.filters["rfc3339"] = lambda moment: moment.astimezone(UTC).isoformat()
    environment.filters["rfc822"] = lambda moment: format_datetime(
        moment.astimezone(UTC), usegmt=True
    )


def render_feed(
    environment: Environment, form: str, info: FeedInfo, items: Sequence[Item]
) -> str:
    """Render ``items`` as ``form`` (atom, rss or json)."""
    if form == "json":
        return render_json_feed(info, items)
    template = environment.get_template(f"feed.{form}.xml")
    return template.render(info=info, items=items)


def render_json_feed(info: FeedInfo, items: Sequence[Item]) -> str:
    document = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": info.title,
        "home_page_url": info.home_url,
        "feed_url": info.feed_url,
        "items": [_json_item(item) for item in items],
    }
    if info.language:
        document["language"] = info.language
    return json.dumps(document, ensure_ascii=False, indent=1)


def _json_item(item: Item) -> dict[str, object]:
    entry: dict[str, object] = {
        "id": f"item-{item.id}",
        "url": item.url,
        "title": item.shown_title,
        "date_published": item.published_at.isoformat(),
        "content_text": item.summary or item.shown_title,
        "_source": {"id": item.source_id, "name": item.source.name},
    }
    if item.content_html:
        entry["content_html"] = item.content_html
    if item.changed_at:
        entry["date_modified"] = item.changed_at.isoformat()
    if item.language:
        entry["language"] = item.language
    if item.image_url:
        entry["image"] = item.image_url
    if item.categories:
        entry["tags"] = list(item.categories)
    if item.authors:
        entry["authors"] = [{"name": name} for name in item.authors]
    return entry
