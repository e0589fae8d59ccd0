"""``aggregator editors``: accounts for the people who curate the portal."""

from __future__ import annotations

import sys

import click
from rich.console import Console
from rich.table import Table

from aggregator.errors import AggregatorError
from aggregator.runtime import Runtime
from aggregator.settings import Settings
from publisher.auth import AuthError, Passwords
from storage.audit import Actor, record_action
from storage.editors import ROLES, add_editor, editor_by_email, list_editors

# What the audit log names as the actor of command-line changes.
OPERATOR = Actor("operator (command line)")


@click.group()
def editors() -> None:
    """Editor accounts."""


@editors.command("add")
@click.argument("email")
@click.option("--role", type=click.Choice(ROLES), default="editor", show_default=True)
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from standard input instead of asking for it.",
)
@click.pass_obj
def editors_add(
    settings: Settings, email: str, role: str, password_stdin: bool
) -> None:
    """Create the editor account EMAIL with a password asked for twice."""
    if "@" not in email or email.strip() != email or len(email) > 320:
        raise click.BadParameter("not an e-mail address", param_hint="EMAIL")
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        password_hash = Passwords().hash(password)
    except AuthError as problem:
        raise click.ClickException(str(problem)) from problem

    runtime = Runtime.build(settings)
    try:
        runtime.require_schema()
        with runtime.sessions() as session:
            if editor_by_email(session, email) is not None:
                raise click.ClickException(f"an editor {email} exists already")
            now = runtime.clock.now()
            editor = add_editor(session, email, password_hash, role, now)
            record_action(
                session,
                OPERATOR,
                "editor.add",
                ("editor", editor.id),
                now,
                after={"email": editor.email, "role": role, "active": True},
            )
            session.commit()
    except AggregatorError as error:
        raise click.ClickException(str(error)) from error
    finally:
        runtime.close()
    click.echo(f"Editor {email} added as {role}.")


@editors.command("list")
@click.pass_obj
def editors_list(settings: Settings) -> None:
    """Every editor account with its role and last login."""
    runtime = Runtime.build(settings)
    try:
        runtime.require_schema()
        with runtime.sessions() as session:
            table = Table("email", "role", "active", "last login", "locked until")
            for editor in list_editors(session):
                table.add_row(
                    editor.email,
                    editor.role,
                    "yes" if editor.active else "no",
                    f"{editor.last_login_at:%Y-%m-%d %H:%M}"
                    if editor.last_login_at
                    else "never",
                    f"{editor.locked_until:%Y-%m-%d %H:%M}"
                    if editor.locked_until
                    else "",
                )
    except AggregatorError as error:
        raise click.ClickException(str(error)) from error
    finally:
        runtime.close()
    Console().print(table)
