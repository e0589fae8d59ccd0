"""The conductor's exceptions, in one tree.

    AggregatorError
     ├── RegistryError      sources.yaml is unusable; lists every problem found
     ├── FetchError         a source could not be fetched; ``kind`` says why
     ├── DatabaseError      the database cannot be reached or is not upgraded
     ├── DigestError        digests cannot be sent as configured
     └── MailError          the mail server cannot be used as configured
         └── MailServerUnavailable  it does not answer or keeps deferring

The extractors raise ``extractors.errors.ExtractionError`` (not a feed, not a
page) without knowing this tree; the pipeline records both kinds on the
source the same way.
"""

from __future__ import annotations

from dataclasses import dataclass


class AggregatorError(Exception):
    """Base of every error the aggregator raises on purpose."""


@dataclass(frozen=True)
class RegistryProblem:
    """One thing wrong in sources.yaml, located as a person would look for it."""

    message: str
    line: int | None = None
    source_id: str | None = None
    field: str | None = None

    def __str__(self) -> str:
        where = [f"line {self.line}" if self.line else ""]
        if self.source_id:
            where.append(f"source {self.source_id!r}")
        if self.field:
            where.append(f"field {self.field!r}")
        location = ", ".join(part for part in where if part)
        return f"{location}: {self.message}" if location else self.message


class RegistryError(AggregatorError):
    """The sources file was refused whole; nothing was changed."""

    def __init__(self, path: str, problems: list[RegistryProblem]) -> None:
        self.path = path
        self.problems = problems
        listed = "\n".join(f"  {path}: {problem}" for problem in problems)
        super().__init__(
            f"{path} was not loaded ({len(problems)} problem(s)); "
            f"nothing was changed:\n{listed}"
        )


class FetchError(AggregatorError):
    """A fetch failed. ``kind`` is one of timeout, dns, tls, connection,
    http_status, too_large, redirects, refused_address, bad_url, robots.

    ``headers`` are the response's, when there was one: a 429 or 503 says in
    Retry-After when to come back.
    """

    def __init__(
        self,
        kind: str,
        message: str,
        *,
        url: str,
        status: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.url = url
        self.status = status
        self.headers = headers or {}


class DatabaseError(AggregatorError):
    """The database is unreachable or its schema is behind; says what to run."""


class MailError(AggregatorError):
    """AGGREGATOR_SMTP_URL is unusable, or the server refused the login or the
    sender; no message can go out until an operator fixes it."""


class MailServerUnavailable(MailError):
    """The mail server stayed unreachable or kept answering 4xx after every
    try; a later run sends what is left."""


class DigestError(AggregatorError):
    """A digest run cannot start as configured; says which setting to fix."""
