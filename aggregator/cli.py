"""The ``aggregator`` command line."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import click
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from aggregator.digest_commands import digest
from aggregator.editor_commands import editors
from aggregator.errors import AggregatorError, FetchError
from aggregator.logs import configure_logging
from aggregator.runtime import Runtime
from aggregator.settings import Settings, describe_settings
from extractors.entry import Entry
from extractors.errors import ExtractionError
from storage.fetches import FetchRecord
from storage.health import SourceHealth, short_duration, source_health
from storage.sources import list_sources

logger = logging.getLogger(__name__)


def _settings_help() -> str:
    lines = ["\b", "Settings (environment variables):"]
    for name, _value, help_text in describe_settings(Settings.model_construct()):
        lines.append(f"  {name}")
        lines.append(f"      {help_text}")
    return "\n".join(lines)


def _load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as error:
        problems = "; ".join(
            f"AGGREGATOR_{str(e['loc'][0]).upper()}: {e['msg']}" for e in error.errors()
        )
        raise click.ClickException(f"invalid settings: {problems}") from error


@contextmanager
def _runtime(settings: Settings) -> Iterator[Runtime]:
    runtime = Runtime.build(settings)
    try:
        yield runtime
    except AggregatorError as error:
        raise click.ClickException(str(error)) from error
    finally:
        runtime.close()


@click.group(epilog=_settings_help())
@click.version_option("0.1.0", prog_name="aggregator")
@click.pass_context
def cli(context: click.Context) -> None:
    """News of European municipalities, regions and EU institutions:
    crawled, stored and republished as a portal and feeds."""
    settings = _load_settings()
    configure_logging(settings.log_format, settings.log_level)
    context.obj = settings


@cli.command("settings")
@click.pass_obj
def show_settings(settings: Settings) -> None:
    """Show every setting with its current value and what it does."""
    table = Table("variable", "value", "what it does")
    for row in describe_settings(settings):
        table.add_row(*row)
    Console().print(table)


@cli.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.pass_obj
def db_upgrade(settings: Settings) -> None:
    """Create or upgrade the database schema to the current version."""
    with _runtime(settings) as runtime:
        runtime.upgrade()
    click.echo(f"Database at {settings.database_url} is up to date.")


@cli.group()
def sources() -> None:
    """The registry of sources."""


@sources.command("sync")
@click.option(
    "--file", "path", type=click.Path(path_type=Path), help="Registry to read."
)
@click.pass_obj
def sources_sync(settings: Settings, path: Path | None) -> None:
    """Add, update and retire sources to match sources.yaml."""
    with _runtime(settings) as runtime:
        runtime.require_schema()
        report = runtime.sync_sources(path)
    click.echo(
        f"{len(report.added)} added, {len(report.updated)} updated, "
        f"{len(report.retired)} retired, {len(report.unchanged)} unchanged."
    )


@sources.command("list")
@click.pass_obj
def sources_list(settings: Settings) -> None:
    """Show every source with its state and health.

    Delays are from an item's published time to the moment it was stored,
    median and 90th percentile over the last 30 days.
    """
    with _runtime(settings) as runtime:
        runtime.require_schema()
        with runtime.sessions() as session:
            rows = list_sources(session)
            health = source_health(session, runtime.clock.now())
    table = Table(
        "id", "kind", "country", "health", "items", "last fetch", "next fetch",
        "delay median / p90", "late because",
    )  # fmt: skip
    for row in rows:
        source = row.source
        state = health[source.id]
        fresh = state.freshness
        table.add_row(
            source.id,
            source.kind,
            source.country or "EU",
            _health_text(state),
            str(row.item_count),
            _moment(source.last_fetched_at),
            _moment(state.next_fetch_at) if state.next_fetch_at else "–",
            f"{short_duration(fresh.median_delay)} / {short_duration(fresh.p90_delay)}",
            state.late_because or "",
        )
    Console().print(table)


def _health_text(state: SourceHealth) -> str:
    if state.status == "failing":
        return f"failing: {state.error_kind} ({state.failures} in a row)"
    if state.status == "waiting":
        return "not fetched yet"
    return state.status


def _moment(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "never"


@sources.command("check")
@click.argument("url")
@click.pass_obj
def sources_check(settings: Settings, url: str) -> None:
    """Fetch URL and tell whether it is a feed, advertises feeds, or lists releases."""
    from aggregator.checks import check_address, describe_check
    from aggregator.crawler import Crawler

    async def check() -> list[str]:
        async with Crawler(settings) as crawler:
            return describe_check(await check_address(crawler, url))

    try:
        lines = asyncio.run(check())
    except FetchError as error:
        click.echo(f"error: {url}: {error.kind}: {error}", err=True)
        sys.exit(1)
    click.echo("\n".join(lines))


@cli.group()
def regions() -> None:
    """The region tree: EU, countries, NUTS regions, municipalities."""


@regions.command("import")
@click.option("--nuts", help="Eurostat NUTS table: a CSV or XLSX file, or its URL.")
@click.option("--lau", help="Eurostat LAU table: a CSV or XLSX file, or its URL.")
@click.pass_obj
def regions_import(settings: Settings, nuts: str | None, lau: str | None) -> None:
    """Load the shipped region tree, and Eurostat's NUTS and LAU tables if
    given, into the database. A second import of the same files changes
    nothing; a file with a bad row changes nothing and names the row."""
    from aggregator.regions_import import import_regions

    with _runtime(settings) as runtime:
        runtime.require_schema()
        tables = {
            name: (target, _read_table(settings, target))
            for name, target in (("nuts", nuts), ("lau", lau))
            if target
        }
        with runtime.sessions() as session:
            report = import_regions(session, tables.get("nuts"), tables.get("lau"))
    changes = report.changes
    click.echo(
        f"{changes.added} added, {changes.changed} changed, "
        f"{changes.unchanged} unchanged ({report.nuts} NUTS regions and "
        f"{report.municipalities} municipalities read)."
    )


def _read_table(settings: Settings, target: str) -> bytes:
    """A table's bytes from a file, or from an address through the crawler."""
    if not target.startswith(("http://", "https://")):
        try:
            return Path(target).read_bytes()
        except OSError as error:
            raise click.ClickException(f"cannot read {target}: {error}") from error

    from aggregator.regions_import import fetch_table

    try:
        return asyncio.run(fetch_table(settings, target))
    except FetchError as error:
        raise click.ClickException(f"cannot fetch {target}: {error}") from error


@cli.command()
@click.option("--all", "everything", is_flag=True, help="Crawl every active source.")
@click.pass_obj
def crawl(settings: Settings, everything: bool) -> None:
    """Crawl the due sources once, now, with a progress bar and a summary."""
    with _runtime(settings) as runtime:
        runtime.require_schema()
        if everything:
            runtime.make_all_due()
        total = len(runtime.due())
        console = Console(stderr=True)
        columns = (
            TextColumn("crawling"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.description}"),
        )
        with Progress(*columns, console=console, transient=True) as bar:
            task = bar.add_task("", total=total)

            def advance(record: FetchRecord) -> None:
                bar.update(task, advance=1, description=record.source_id)

            summary = asyncio.run(runtime.crawl(advance))
    click.echo(f"Crawled {summary}.")
    if summary.failed and summary.failed == summary.sources:
        sys.exit(1)


@cli.command()
@click.argument("targets", nargs=-1, required=True)
@click.option(
    "--language",
    "languages",
    multiple=True,
    help="A language the source publishes in (repeatable), as sources.yaml would say.",
)
@click.option("--url", "saved_from", default="", help="Address a FILE was saved from.")
@click.option(
    "--listing", is_flag=True, help="Read HTML pages as press-release listings."
)
@click.option("--country", default=None, help="The source's country (ISO code).")
@click.option("--region", default=None, help="The source's NUTS code.")
@click.option("--municipality", default=None, help="The source's LAU code.")
@click.option(
    "--publisher",
    type=click.Choice(["municipality", "region", "national", "eu_institution"]),
    default=None,
    help="Who publishes the source, as sources.yaml says.",
)
@click.pass_obj
def inspect(
    settings: Settings, targets: tuple[str, ...], languages: tuple[str, ...],
    saved_from: str, listing: bool, country: str | None, region: str | None,
    municipality: str | None, publisher: str | None,
) -> None:  # fmt: skip
    """Run the extraction stages on FILEs or URLs; print one JSON object per item.

    Shows the title, text, language and how it was decided, the dates, the
    canonical address, and the regions and topics with the mentions and terms
    that decided them, so that an editor or an operator sees why an item
    looks and lands as it does. Nothing is stored.
    """
    # The extractors are imported here: `aggregator crawl` has the parse
    # workers load them and does not carry them itself.
    from aggregator.classification import Classifiers, classification_report
    from aggregator.crawler import Crawler
    from aggregator.inspection import (
        Document,
        fetch_document,
        inspect_document,
        read_document,
    )
    from classifiers.regions import SourcePlace

    classifiers = Classifiers.load()
    place = SourcePlace(country, region, municipality, publisher)

    def classify(entry: Entry) -> dict[str, object]:
        return classification_report(classifiers, entry, place)

    async def fetch(url: str) -> Document:
        async with Crawler(settings) as crawler:
            return await fetch_document(crawler, url)

    failed = False
    for target in targets:
        try:
            if target.startswith(("http://", "https://")):
                document = asyncio.run(fetch(target))
            else:
                document = read_document(Path(target), saved_from)
            reports = inspect_document(document, languages, listing, classify)
        except (OSError, FetchError, ExtractionError) as error:
            kind = getattr(error, "kind", type(error).__name__)
            click.echo(f"error: {target}: {kind}: {error}", err=True)
            failed = True
            continue
        for report in reports:
            click.echo(json.dumps(report, ensure_ascii=False))
    if failed:
        sys.exit(1)


@cli.command()
@click.pass_obj
def web(settings: Settings) -> None:
    """Serve the portal only (workers crawl: 'aggregator worker')."""
    from aggregator.service import serve_web

    with _runtime(settings) as runtime:
        runtime.require_schema()
        serve_web(runtime)


@cli.command()
@click.pass_obj
def worker(settings: Settings) -> None:
    """Take crawl, dedup and classify jobs from the queue in PostgreSQL.

    Run any number, on any number of machines, beside 'aggregator web'; see
    "Running on several machines" in the README.
    """
    from aggregator.worker import CrawlWorker

    with _runtime(settings) as runtime:
        runtime.require_schema()
        asyncio.run(CrawlWorker(runtime).run())


@cli.command()
@click.option("--no-sync", is_flag=True, help="Do not sync sources.yaml at start.")
@click.pass_obj
def run(settings: Settings, no_sync: bool) -> None:
    """Everything in one process: upgrade, sync, crawl on schedule, serve."""
    from aggregator.service import run_all

    with _runtime(settings) as runtime:
        run_all(runtime, sync=not no_sync)


@cli.command()
@click.pass_obj
def demo(settings: Settings) -> None:
    """Run the portal on sample feeds this command serves on 127.0.0.1:8765."""
    from aggregator.demo import demo_settings, serve_demo_feeds
    from aggregator.service import run_all

    settings = demo_settings(settings)
    with serve_demo_feeds() as feeds_url, _runtime(settings) as runtime:
        click.echo(f"Sample feeds served at {feeds_url}")
        click.echo(f"Portal at {settings.base_url}")
        run_all(runtime, sync=True)


cli.add_command(editors)
cli.add_command(digest)


def main() -> None:
    cli(prog_name="aggregator")
