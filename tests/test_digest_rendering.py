"""A rendered digest against golden files, in two languages: grouped by
region and topic, each story in the reader's language where it has one.

Set UPDATE_GOLDEN=1 to write the files anew after an intended change, and
read the difference before committing it.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest

from classifiers.taxonomy import load_topics
from publisher.digests import (
    OTHER_NEWS,
    DigestLinks,
    digest_message,
    group_digest,
    render_digest,
)
from publisher.i18n import Catalogues
from publisher.mails import MailTemplates
from storage.digest_stories import StoryCard, StoryText, short_summary

GOLDEN = Path(__file__).parent / "fixtures" / "digests"
NOW = datetime(2026, 12, 3, 6, 0, tzinfo=UTC)


def _text(
    item_id: int, title: str, language: str, source: str, hours: int
) -> StoryText:
    return StoryText(
        item_id, title,
        short_summary(f"<p>{title}: what the council decided, and when.</p>"),
        f"https://news.example/{item_id}", language, source,
        NOW - timedelta(hours=hours),
    )  # fmt: skip


def _cards() -> list[StoryCard]:
    tram = StoryCard(
        1, NOW, _text(1, "Neue Straßenbahnlinie nach Favoriten", "de", "Stadt Wien", 3),
        regions={"AT", "AT13", "AT130"}, topics=["mobility-transport"],
    )  # fmt: skip
    tram.versions = {
        "de": tram.headline,
        "fr": _text(
            2, "Nouvelle ligne de tramway vers Favoriten", "fr", "Stadt Wien", 3
        ),
    }
    budget = StoryCard(
        3, NOW, _text(3, "Gemeinderat beschließt Budget 2027", "de", "Stadt Wien", 5),
        regions={"AT", "AT13"},
    )  # fmt: skip
    budget.versions = {"de": budget.headline}
    bikes = StoryCard(
        4, NOW, _text(4, "Piste cyclable sur les quais", "fr", "Ville de Lyon", 1),
        regions={"FR", "FRK26"}, topics=["mobility-transport", "climate-environment"],
    )  # fmt: skip
    bikes.versions = {"fr": bikes.headline}
    market = StoryCard(
        5, NOW, _text(5, "Christkindlmarkt eröffnet", "de", "Stadt Wien", 9),
        regions={"AT", "AT13"}, topics=["culture-tourism"],
    )  # fmt: skip
    return [tram, budget, bikes, market]


@pytest.fixture(scope="module")
def templates() -> MailTemplates:
    return MailTemplates(Catalogues.load(), "Europe/Brussels")


@pytest.mark.parametrize("locale", ["de", "fr"])
def test_rendered_digest_matches_its_golden_files(templates, locale):
    labels = {topic.slug: dict(topic.labels) for topic in load_topics()}
    digest = group_digest(
        _cards(), locale=locale, frequency="daily", regions=("FRK26", "AT"),
        topics=(), languages=(), region_names={"FRK26": "Rhône", "AT": "Österreich"},
        topic_labels=labels, other_news=templates.gettext(locale, OTHER_NEWS),
        max_stories=3,
    )  # fmt: skip
    rendered = render_digest(templates, digest, "https://portal.example")
    links = DigestLinks(
        f"https://portal.example/{locale}/subscriptions/manage/7.x.sig",
        f"https://portal.example/{locale}/subscriptions/unsubscribe/7.x.sig",
    )
    message = digest_message(
        rendered, sender="News <news@portal.example>",
        to="reader@example.org", links=links,
        message_id="<digest.7.2026-12-03@portal.example>", now=NOW,
    )  # fmt: skip

    # As the reader's mail program sees it.
    message = BytesParser(policy=policy.default).parsebytes(message.data)
    parts = {
        "txt": message.get_body(("plain",)).get_content(),
        "html": message.get_body(("html",)).get_content(),
    }
    for suffix, content in parts.items():
        path = GOLDEN / f"digest.{locale}.{suffix}"
        if os.environ.get("UPDATE_GOLDEN"):
            path.write_text(content, encoding="utf-8")
        assert content == path.read_text(encoding="utf-8"), path.name
    assert message["Subject"] == (
        "Ihre täglichen Nachrichten: 3 neue Meldungen"
        if locale == "de"
        else "Vos actualités du jour : 3 nouvelles"
    )
