"""``aggregator digest``: e-mail digests, sent now rather than on schedule."""

from __future__ import annotations

import sys

import click

from aggregator.errors import AggregatorError, MailServerUnavailable
from aggregator.runtime import Runtime
from aggregator.settings import Settings


@click.group()
def digest() -> None:
    """E-mail digests of the subscriptions."""


@digest.command("send")
@click.option(
    "--frequency",
    type=click.Choice(["daily", "weekly"]),
    required=True,
    help="Which subscriptions' digests to send.",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Match and render every digest, send and record nothing.",
)
@click.pass_obj
def digest_send(settings: Settings, frequency: str, dry_run: bool) -> None:
    """Send the current period's digests that are not sent yet.

    The period is the latest scheduled time that has passed; a digest already
    sent for it is not sent again, so running this twice is harmless.
    """
    from aggregator.digests import digest_run

    runtime = Runtime.build(settings)
    try:
        runtime.require_schema()
        summary = digest_run(runtime).run(frequency, dry_run=dry_run)
    except MailServerUnavailable as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(75)  # EX_TEMPFAIL: try again later
    except AggregatorError as error:
        raise click.ClickException(str(error)) from error
    finally:
        runtime.close()
    click.echo(f"Digest run: {summary}.")
