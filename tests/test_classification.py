"""Regions and topics of stored items: decided after a crawl, kept with their
reasons, corrected by editors, shown by ``aggregator inspect``."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

from click.testing import CliRunner
from sqlalchemy import select

from aggregator.cli import cli
from extractors.entry import Entry
from storage.classification import item_regions, item_topics
from storage.items import save_entries
from storage.models import Item, ItemRegionRow, ItemTopicRow
from storage.sources import sync_sources

NOW = datetime.now(UTC).replace(microsecond=0)
SOURCES = [
    {"id": "brno", "name": "Statutární město Brno", "kind": "feed",
     "url": "{site}/brno.xml", "publisher": "municipality", "country": "CZ",
     "region": "CZ064", "languages": ["cs"]},
    {"id": "ec", "name": "European Commission", "kind": "feed",
     "url": "{site}/ec.xml", "publisher": "eu_institution", "languages": ["en"]},
]  # fmt: skip


def _rss(items: list[tuple[str, str, str]]) -> str:
    entries = "".join(
        f"<item><title>{title}</title><link>https://x.example/{guid}</link>"
        f"<guid>{guid}</guid><description>{text}</description>"
        f"<pubDate>{(NOW - timedelta(hours=n)).strftime('%a, %d %b %Y %H:%M:%S +0000')}"
        f"</pubDate></item>"
        for n, (guid, title, text) in enumerate(items, start=1)
    )
    channel = f"<channel><title>t</title>{entries}</channel>"
    return f'<?xml version="1.0"?><rss version="2.0">{channel}</rss>'


BRNO = [
    ("tram", "Nová tramvajová trať do Bystrce",
     "Dopravní podnik města Brna zahájí stavbu tramvajové trati v pondělí. "
     "Autobusy nahradí tramvaje na lince 1."),
]  # fmt: skip
EC = [
    ("cohesion", "Commission approves €40 million for Brno's tram network",
     "The European Commission has approved funding from the Cohesion Fund "
     "for new tram lines in Brno, Czechia."),
    ("roaming", "Commission proposes new rules on roaming charges",
     "The proposal aims to lower prices for consumers across the single market."),
]  # fmt: skip


def _crawl(runtime, site) -> None:
    specs = [{**s, "url": s["url"].format(site=site.base_url)} for s in SOURCES]
    with runtime.sessions() as session:
        sync_sources(session, specs, NOW)
        session.commit()
    asyncio.run(runtime.crawl())


def _regions(runtime, guid: str) -> dict[str, ItemRegionRow]:
    with runtime.sessions() as session:
        item = session.scalar(select(Item).where(Item.guid == guid))
        return {row.code: row for row in item_regions(session, item.id)}


def _topics(runtime, guid: str) -> dict[str, ItemTopicRow]:
    with runtime.sessions() as session:
        item = session.scalar(select(Item).where(Item.guid == guid))
        return {row.slug: row for row in item_topics(session, item.id)}


def test_a_crawl_stores_each_items_regions_and_topics_with_reasons(runtime, site):
    site.serve("/brno.xml", _rss(BRNO), "application/rss+xml")
    site.serve("/ec.xml", _rss(EC), "application/rss+xml")

    _crawl(runtime, site)

    tram = _regions(runtime, "tram")
    assert tram["CZ064"].reason == "source"
    assert tram["CZ"].reason == "source"
    brno = [row for row in tram.values() if row.level == "municipality"]
    assert "Brna" in [row.evidence for row in brno]
    assert "mobility-transport" in _topics(runtime, "tram")

    cohesion = _regions(runtime, "cohesion")
    assert "CZ064" in cohesion and "EU" not in cohesion
    assert {row.reason for row in cohesion.values()} == {"mention"}
    assert "eu-funding" in _topics(runtime, "cohesion")
    # An EU institution's item that names no place is EU-wide.
    assert set(_regions(runtime, "roaming")) == {"EU"}


def test_topic_evidence_names_the_terms_that_decided(runtime, site):
    site.serve("/brno.xml", _rss(BRNO), "application/rss+xml")
    site.serve("/ec.xml", _rss(EC), "application/rss+xml")

    _crawl(runtime, site)

    mobility = _topics(runtime, "tram")["mobility-transport"]
    assert mobility.reason == "rules" and mobility.score > 0
    assert any("tramvaj" in part["matched"] for part in mobility.evidence)


def test_an_edited_item_is_classified_again_but_an_editors_correction_wins(
    runtime, site
):
    site.serve("/brno.xml", _rss(BRNO), "application/rss+xml")
    site.serve("/ec.xml", _rss(EC[1:]), "application/rss+xml")
    _crawl(runtime, site)
    with runtime.sessions() as session:
        item = session.scalar(select(Item).where(Item.guid == "roaming"))
        session.add(
            ItemRegionRow(item_id=item.id, code="AT", level="country", country="AT",
                          reason="editor", evidence="ed@town.example")
        )  # fmt: skip
        session.add(
            ItemTopicRow(item_id=item.id, slug="digital-innovation", score=0,
                         reason="editor", evidence=[])
        )  # fmt: skip
        # The source edits the entry: it must be read again.
        edited = Entry(
            title="Commission proposes new rules on roaming charges in Vienna",
            link="https://x.example/roaming",
            guid="roaming",
            summary="Vienna hosts the talks.",
            published=NOW - timedelta(hours=1),
            language="en",
        )
        save_entries(session, "ec", [edited], NOW)
        session.commit()

    assert runtime.classify_waiting() == 1

    assert {code: row.reason for code, row in _regions(runtime, "roaming").items()} == {
        "AT": "editor"
    }
    assert {slug: row.reason for slug, row in _topics(runtime, "roaming").items()} == {
        "digital-innovation": "editor"
    }


def test_nothing_is_classified_twice(runtime, site):
    site.serve("/brno.xml", _rss(BRNO), "application/rss+xml")
    site.serve("/ec.xml", _rss(EC), "application/rss+xml")
    _crawl(runtime, site)

    assert runtime.classify_waiting() == 0


def test_inspect_shows_regions_topics_and_what_decided_them(tmp_path):
    feed = tmp_path / "brno.xml"
    feed.write_text(_rss(BRNO), encoding="utf-8")

    result = CliRunner().invoke(
        cli,
        ["inspect", str(feed), "--language", "cs", "--country", "CZ",
         "--region", "CZ064", "--publisher", "municipality"],
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    [report] = [json.loads(line) for line in result.stdout.splitlines()]
    regions = {region["code"]: region for region in report["regions"]}
    assert regions["CZ064"]["reason"] == "source"
    assert any(r["evidence"] == "Brna" for r in report["regions"])
    assert report["topics"][0] == "mobility-transport"
    best = report["topic_scores"][0]
    assert best["topic"] == "mobility-transport"
    assert any("tramvaj" in reason for reason in best["evidence"])


def test_region_and_topic_feeds_hold_the_items_of_the_region_and_below(runtime, site):
    import feedparser
    from fastapi.testclient import TestClient

    site.serve("/brno.xml", _rss(BRNO), "application/rss+xml")
    site.serve("/ec.xml", _rss(EC), "application/rss+xml")
    _crawl(runtime, site)

    with TestClient(runtime.web_app()) as client:

        def titles(path: str) -> set[str]:
            response = client.get(path)
            assert response.status_code == 200, path
            parsed = feedparser.parse(response.content)
            assert not parsed.bozo, parsed.get("bozo_exception")
            return {entry.title for entry in parsed.entries}

        tram, cohesion, roaming = (
            "Nová tramvajová trať do Bystrce",
            "Commission approves €40 million for Brno's tram network",
            "Commission proposes new rules on roaming charges",
        )
        # The country holds the region, which holds the city.
        assert titles("/feeds/regions/CZ.atom") == {tram, cohesion}
        assert titles("/feeds/regions/CZ064.rss") == {tram, cohesion}
        assert titles("/feeds/regions/EU.atom") == {roaming}
        assert titles("/feeds/regions/AT.atom") == set()
        assert cohesion in titles("/feeds/topics/eu-funding.atom")
        assert tram not in titles("/feeds/topics/eu-funding.atom")
        assert titles("/feeds/all.atom?region=CZ&topic=eu-funding") == {cohesion}
        assert titles("/feeds/regions/CZ.atom?lang=cs") == {tram}
        json_feed = client.get("/feeds/topics/mobility-transport.json?lang=cs").json()
        assert json_feed["title"].startswith("Mobilita a doprava")
        assert json_feed["feed_url"].endswith(
            "/feeds/topics/mobility-transport.json?lang=cs"
        )
        assert client.get("/feeds/topics/nothing-here.atom").status_code == 404
        assert client.get("/feeds/all.atom?region=no%20such").status_code == 422
