"""Press-release listings crawled end to end: each new release page fetched once."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from aggregator.runtime import Runtime
from storage.models import FetchLog, Item, Source
from tests.conftest import Site

RELEASES = {
    "neue-kita": (
        "Neue Kita am Stadtpark eröffnet",
        "2026-03-14",
        "Oberbürgermeisterin Anna Beispiel hat am Freitag die neue Kindertagesstätte "
        "am Stadtpark eingeweiht; 75 Kinder finden dort in sechs Gruppen Platz.",
    ),
    "bahnhofstrasse": (
        "Sperrung der Bahnhofstraße ab Montag",
        "2026-03-12",
        "Wegen Kanalarbeiten ist die Bahnhofstraße zwischen Marktplatz und Post "
        "zwei Wochen lang gesperrt; die Umleitung führt über die Ringstraße.",
    ),
    "haushalt-2026": (
        "Gemeinderat beschließt Haushalt 2026",
        "2026-03-10",
        "Mit großer Mehrheit hat der Gemeinderat den Haushalt beschlossen; er sieht "
        "Investitionen von 38 Millionen Euro in Schulen und Straßen vor.",
    ),
    "wochenmarkt": (
        "Wochenmarkt zieht auf den Rathausplatz",
        "2026-03-16",
        "Ab April findet der Wochenmarkt wieder mittwochs und samstags auf dem "
        "Rathausplatz statt, mit zwölf neuen Ständen aus der Region.",
    ),
}


def _listing(slugs: list[str]) -> str:
    teasers = "".join(
        f"""<li class="teaser"><h2><a href="/presse/{slug}">{RELEASES[slug][0]}</a>
        </h2><p>Kurzmeldung: {RELEASES[slug][0]}, mehr auf der Seite.</p></li>"""
        for slug in slugs
    )
    return f"""<!doctype html><html lang="de"><body>
      <nav><a href="/">Startseite</a> <a href="/kontakt">Kontakt und Anfahrt</a></nav>
      <main><h1>Pressemitteilungen</h1><ul>{teasers}</ul></main></body></html>"""


def _release(slug: str, dated: bool = True) -> str:
    title, day, text = RELEASES[slug]
    stamp = (
        f'<meta property="article:published_time" content="{day}T09:00:00+01:00">'
        if dated
        else ""
    )
    return f"""<!doctype html><html lang="de"><head><title>{title}</title>
      <meta property="og:title" content="{title}">{stamp}
      <meta property="og:image" content="/bilder/{slug}.jpg"></head>
      <body><nav><a href="/">Startseite</a> <a href="/presse">Presse</a></nav>
      <main><article><h1>{title}</h1><p>{text}</p>
      <p>Weitere Auskünfte erteilt das Presseamt der Stadt unter 01234 567-89.</p>
      </article></main><footer><a href="/impressum">Impressum</a></footer>
      </body></html>"""


def _register(runtime: Runtime, site: Site, selector: str | None = None) -> None:
    chosen = f"\n    selector: '{selector}'" if selector else ""
    runtime.settings.sources_file.write_text(
        f"""
sources:
  - id: musterstadt-presse
    name: Stadt Musterstadt
    kind: page
    url: {site.url("/presse")}
    publisher: municipality
    country: DE
    languages: [de]{chosen}
""",
        encoding="utf-8",
    )
    runtime.sync_sources()


def _serve(site: Site, slugs: list[str]) -> None:
    site.serve("/presse", _listing(slugs), "text/html; charset=utf-8")
    for slug in slugs:
        site.serve(f"/presse/{slug}", _release(slug), "text/html; charset=utf-8")


def _items(runtime: Runtime) -> dict[str, Item]:
    with runtime.sessions() as session:
        items = session.scalars(select(Item))
        return {item.url.rsplit("/", 1)[1]: item for item in items}


def _release_requests(site: Site) -> list[str]:
    return [path for path, _ in site.requests if path.startswith("/presse/")]


def test_first_crawl_fetches_each_release_and_stores_its_full_text(runtime, site):
    slugs = ["neue-kita", "bahnhofstrasse", "haushalt-2026"]
    _serve(site, slugs)
    _register(runtime, site)

    summary = asyncio.run(runtime.crawl())

    assert (summary.fetched, summary.failed, summary.new_items) == (1, 0, 3)
    assert sorted(_release_requests(site)) == sorted(f"/presse/{s}" for s in slugs)
    items = _items(runtime)
    for slug in slugs:
        title, day, text = RELEASES[slug]
        item = items[slug]
        assert item.title == title
        assert text in item.summary and "Presseamt der Stadt" in item.summary
        assert "Kurzmeldung" not in item.summary
        assert f"<p>{text}</p>" in item.content_html
        assert item.published_at == datetime.fromisoformat(f"{day}T08:00:00+00:00")
        assert item.image_url == site.url(f"/bilder/{slug}.jpg")
        assert item.language == "de"
    with runtime.sessions() as session:
        log = session.scalars(select(FetchLog)).one()
        assert (log.entries_found, log.items_new) == (3, 3)


def test_second_crawl_fetches_only_the_release_added_since(runtime, site):
    _serve(site, ["neue-kita", "bahnhofstrasse", "haushalt-2026"])
    _register(runtime, site)
    asyncio.run(runtime.crawl())
    first = _release_requests(site)

    _serve(site, ["wochenmarkt", "neue-kita", "bahnhofstrasse", "haushalt-2026"])
    runtime.make_all_due()
    summary = asyncio.run(runtime.crawl())

    assert _release_requests(site)[len(first) :] == ["/presse/wochenmarkt"]
    assert (summary.new_items, summary.updated_items) == (1, 0)
    items = _items(runtime)
    assert len(items) == 4
    assert RELEASES["wochenmarkt"][2] in items["wochenmarkt"].summary
    # The releases fetched before keep their full text.
    assert RELEASES["neue-kita"][2] in items["neue-kita"].summary


def test_release_page_that_fails_keeps_its_teaser_and_the_source_healthy(
    runtime, site, caplog
):
    _serve(site, ["neue-kita", "bahnhofstrasse", "haushalt-2026"])
    site.serve("/presse/bahnhofstrasse", "kaputt", "text/plain", status=500)
    _register(runtime, site)

    with caplog.at_level(logging.WARNING, logger="aggregator.releases"):
        summary = asyncio.run(runtime.crawl())

    assert (summary.fetched, summary.failed, summary.new_items) == (1, 0, 3)
    teaser = _items(runtime)["bahnhofstrasse"]
    assert teaser.title == "Sperrung der Bahnhofstraße ab Montag"
    assert teaser.summary.startswith("Kurzmeldung: Sperrung der Bahnhofstraße")
    assert teaser.content_html == ""
    assert RELEASES["neue-kita"][2] in _items(runtime)["neue-kita"].summary
    [warning] = [r for r in caplog.records if r.name == "aggregator.releases"]
    assert warning.levelno == logging.WARNING
    assert warning.source_id == "musterstadt-presse"
    assert warning.url == site.url("/presse/bahnhofstrasse")
    assert warning.status == 500
    with runtime.sessions() as session:
        assert session.get(Source, "musterstadt-presse").last_error is None


def test_release_page_without_a_date_keeps_the_teasers_date(runtime, site):
    listing = _listing(["neue-kita"]).replace(
        "</h2>", '</h2><time datetime="2026-03-14T07:45:00Z">14.03.2026</time>'
    )
    site.serve("/presse", listing, "text/html; charset=utf-8")
    site.serve("/presse/neue-kita", _release("neue-kita", dated=False), "text/html")
    _register(runtime, site)

    asyncio.run(runtime.crawl())

    item = _items(runtime)["neue-kita"]
    assert item.published_at == datetime(2026, 3, 14, 7, 45, tzinfo=UTC)
    assert RELEASES["neue-kita"][2] in item.summary


def test_releases_beyond_the_per_crawl_cap_keep_their_teaser(runtime, site):
    slugs = ["wochenmarkt", "neue-kita", "bahnhofstrasse", "haushalt-2026"]
    _serve(site, slugs)
    runtime.settings.max_releases_per_crawl = 2
    _register(runtime, site)

    summary = asyncio.run(runtime.crawl())

    assert summary.new_items == 4
    assert _release_requests(site) == ["/presse/wochenmarkt", "/presse/neue-kita"]
    items = _items(runtime)
    assert RELEASES["neue-kita"][2] in items["neue-kita"].summary
    assert items["haushalt-2026"].summary.startswith("Kurzmeldung")


@pytest.mark.parametrize(
    ("selector", "links"),
    [("li.teaser h2 a", 3), ("article.pressemitteilung a", 0)],
    ids=["matching", "matching-nothing"],
)
def test_selector_of_the_registry_chooses_the_release_links(
    runtime, site, selector: str, links: int
):
    _serve(site, ["neue-kita", "bahnhofstrasse", "haushalt-2026"])
    _register(runtime, site, selector=selector)

    summary = asyncio.run(runtime.crawl())

    assert summary.new_items == links
    with runtime.sessions() as session:
        source = session.get(Source, "musterstadt-presse")
        if links:
            assert source.last_error is None
        else:
            assert source.last_error_kind == "not_a_page"
            assert "matched no link" in source.last_error
