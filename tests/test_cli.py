"""The command line: settings, schema, sources and a crawl with its summary."""

from __future__ import annotations

import json
import logging
import re

import pytest
from click.testing import CliRunner

from aggregator.cli import cli
from aggregator.logs import JsonFormatter, TextFormatter
from aggregator.settings import Settings
from tests.conftest import FIXTURES, Site

REGISTRY = """\
sources:
  - id: musterhausen
    name: Stadt Musterhausen
    kind: feed
    url: {url}
    publisher: municipality
    country: DE
    languages: [de]
"""


@pytest.fixture
def env(tmp_path, monkeypatch) -> dict[str, str]:
    values = {
        "AGGREGATOR_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
        "AGGREGATOR_SOURCES_FILE": str(tmp_path / "sources.yaml"),
        "AGGREGATOR_ALLOW_HOSTS": "127.0.0.1",
        "AGGREGATOR_HOST_GAP_SECONDS": "0",
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


def _run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_help_lists_every_setting_with_its_help():
    result = _run("--help")

    assert result.exit_code == 0
    for name in Settings.model_fields:
        assert f"AGGREGATOR_{name.upper()}" in result.output
    assert "Secret for signed links" in result.output


def test_settings_command_shows_values_but_hides_secrets(monkeypatch):
    monkeypatch.setenv("AGGREGATOR_SECRET_KEY", "very-secret-value")
    monkeypatch.setenv("AGGREGATOR_ALLOW_HOSTS", "127.0.0.1, 10.0.0.0/8")

    result = CliRunner().invoke(cli, ["settings"], env={"COLUMNS": "200"})

    assert result.exit_code == 0
    assert "very-secret-value" not in result.output
    assert "127.0.0.1,10.0.0.0/8" in result.output


def test_invalid_setting_is_refused_with_the_variable_name(monkeypatch):
    monkeypatch.setenv("AGGREGATOR_LISTEN", "nowhere")

    result = CliRunner().invoke(cli, ["settings"])

    assert result.exit_code != 0
    assert "AGGREGATOR_LISTEN" in result.output


def test_commands_on_a_database_not_upgraded_say_what_to_run(env):
    result = CliRunner().invoke(cli, ["sources", "list"])

    assert result.exit_code != 0
    assert "aggregator db upgrade" in result.output


def test_upgrade_sync_list_and_crawl_print_their_results(env, site: Site):
    url = site.serve_file("/feed.xml", "feeds/rss20.xml", "application/rss+xml")
    with open(env["AGGREGATOR_SOURCES_FILE"], "w", encoding="utf-8") as registry:
        registry.write(REGISTRY.format(url=url))

    assert _run("db", "upgrade").exit_code == 0
    synced = _run("sources", "sync")
    crawled = _run("crawl")
    listed = CliRunner().invoke(cli, ["sources", "list"], env={"COLUMNS": "200"})
    again = _run("crawl")

    assert "1 added, 0 updated, 0 retired, 0 unchanged." in synced.output
    assert re.search(
        r"^Crawled 1 sources: 1 fetched, 0 not modified, 0 failed; "
        r"2 new items, 0 updated in \d+\.\d s; 2 items placed in stories, "
        r"2 classified\.$",
        crawled.output,
        re.MULTILINE,
    )
    assert "musterhausen" in listed.output and "ok" in listed.output
    assert "Crawled 0 sources" in again.output


def test_sync_of_a_broken_registry_exits_with_the_located_problem(env):
    with open(env["AGGREGATOR_SOURCES_FILE"], "w", encoding="utf-8") as registry:
        registry.write(REGISTRY.format(url="https://a.example/").replace("DE", "XX"))
    _run("db", "upgrade")

    result = CliRunner().invoke(cli, ["sources", "sync"])

    assert result.exit_code == 1
    assert "line 7, source 'musterhausen', field 'country'" in result.output
    assert "nothing was changed" in result.output


def _record(**extra: object) -> logging.LogRecord:
    record = logging.makeLogRecord(
        {"name": "aggregator.pipeline", "levelname": "WARNING", "msg": "Source failed"}
    )
    record.__dict__.update(extra)
    return record


def test_text_log_lines_carry_fields_as_key_value():
    line = TextFormatter().format(_record(source_id="wien", error="timed out"))

    assert line.endswith(
        'aggregator.pipeline: Source failed source_id=wien error="timed out"'
    )


def test_json_log_lines_are_one_object_with_the_fields():
    line = JsonFormatter().format(_record(source_id="wien", status=503))

    entry = json.loads(line)
    assert entry["message"] == "Source failed"
    assert (entry["source_id"], entry["status"]) == ("wien", 503)


HOMEPAGE = """<!doctype html><html lang="de"><head><title>Musterhausen</title>
<link rel="alternate" type="application/rss+xml" title="Aktuelles" href="/feed.xml">
<link rel="alternate" type="application/atom+xml" title="Termine" href="/termine.atom">
</head><body><main><p>Willkommen in Musterhausen.</p></main></body></html>"""


def test_sources_check_of_a_homepage_lists_and_checks_its_advertised_feeds(
    env, site: Site
):
    site.serve_file("/feed.xml", "feeds/rss20.xml", "application/rss+xml")
    site.serve("/termine.atom", "<html><body>Wartung</body></html>", "text/html")
    url = site.serve("/", HOMEPAGE, "text/html; charset=utf-8")

    result = _run("sources", "check", url)

    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0] == f"HTML page: {url}"
    assert lines[1] == "Advertised feeds (2):"
    assert lines[2].startswith(f"  {site.url('/feed.xml')}  'Aktuelles': ok, 2 entries")
    assert lines[3].startswith(f"  {site.url('/termine.atom')}  'Termine': not a feed")
    assert [path for path, _ in site.requests if path != "/robots.txt"] == [
        "/",
        "/feed.xml",
        "/termine.atom",
    ]


def test_sources_check_of_a_feed_prints_its_title_language_and_latest_entries(
    env, site: Site
):
    url = site.serve_file("/feed.xml", "feeds/rss20.xml", "application/rss+xml")

    result = _run("sources", "check", url)

    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0].startswith("Feed: ")
    assert "  entries:  2" in lines
    assert len([line for line in lines if re.match(r"  \d{4}-\d\d-\d\d  ", line)]) == 2


def test_sources_check_of_a_listing_without_feeds_counts_its_release_links(
    env, site: Site
):
    listing = (FIXTURES / "pages" / "de_stadt_pressemitteilungen.html").read_bytes()
    url = site.serve("/presse", listing, "text/html; charset=utf-8")

    result = _run("sources", "check", url)

    assert result.exit_code == 0
    assert "No working feed advertised." in result.output
    # The third release links to the real site's host, which is not this one.
    assert "Looks like a press-release listing: 2 release links" in result.output
    assert "2026-03-14  Neue Kita am Stadtpark eröffnet" in result.output


def test_sources_check_of_an_unreachable_address_exits_1_with_the_error(
    env, site: Site
):
    url = site.serve("/weg", "nicht da", "text/plain", status=404)

    result = CliRunner().invoke(cli, ["sources", "check", url])

    assert result.exit_code == 1
    assert result.output.strip() == (
        f"error: {url}: http_status: the server answered HTTP 404"
    )


def test_sources_check_refuses_a_private_address_not_allowed(env, monkeypatch):
    monkeypatch.setenv("AGGREGATOR_ALLOW_HOSTS", "")

    result = CliRunner().invoke(cli, ["sources", "check", "http://127.0.0.1:9/"])

    assert result.exit_code == 1
    assert result.output.startswith("error: http://127.0.0.1:9/: refused_address")


def test_inspect_prints_one_json_object_per_feed_entry(env):
    result = _run("inspect", str(FIXTURES / "feeds" / "rss20.xml"))

    reports = [json.loads(line) for line in result.stdout.splitlines()]
    assert result.exit_code == 0
    assert len(reports) >= 2
    first = reports[0]
    assert first["kind"] == "feed entry"
    assert first["title"] == "Neue Radwege am Rheinufer freigegeben"
    assert (first["language"], first["language_method"]) == (
        "de",
        "declared-confirmed",
    )
    assert first["published"].startswith("2026-11-03")


def test_inspect_reads_a_saved_listing_with_its_address(env):
    result = _run(
        "inspect", "--listing", "--url",
        "https://www.musterstadt.de/rathaus/presse/pressemitteilungen",
        str(FIXTURES / "pages" / "de_stadt_pressemitteilungen.html"),
    )  # fmt: skip

    reports = [json.loads(line) for line in result.stdout.splitlines()]
    assert [report["kind"] for report in reports] == ["listing teaser"] * 3
    assert reports[0]["title"] == "Neue Kita am Stadtpark eröffnet"


def test_inspect_fetches_an_address_and_detects_the_language(env, site: Site):
    article = (
        "<html lang='de'><body><article><h1>Le conseil municipal vote le budget"
        "</h1><p>Le conseil municipal a adopté mardi soir le budget de la ville "
        "pour l'année prochaine, avec de nouveaux crédits pour les écoles, les "
        "pistes cyclables et la rénovation de la médiathèque du centre.</p>"
        "</article></body></html>"
    )
    url = site.serve("/actualites/budget", article, "text/html; charset=utf-8")

    result = _run("inspect", url)

    [report] = [json.loads(line) for line in result.stdout.splitlines()]
    assert report["kind"] == "article"
    assert (report["language"], report["language_method"]) == ("fr", "detected")
    assert "pistes cyclables" in report["text"]


def test_inspect_names_what_it_could_not_read_and_exits_1(env, tmp_path):
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"\x00\x01\x02" * 100)

    result = CliRunner().invoke(cli, ["inspect", str(junk)])

    assert result.exit_code == 1
    assert f"error: {junk}: not_a" in result.output
