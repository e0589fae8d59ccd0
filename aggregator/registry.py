"""sources.yaml: the registry of sources shipped with the portal.

The file is validated whole before anything is stored: one bad entry refuses
the file, with every problem named by line, source id and field.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import soupsieve
import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from aggregator.errors import RegistryError, RegistryProblem

# fmt: off
EU_COUNTRIES = frozenset({
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR",
    "HU", "IE", "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI",
    "SK",
})
EU_LANGUAGES = frozenset({
    "bg", "cs", "da", "de", "el", "en", "es", "et", "fi", "fr", "ga", "hr", "hu",
    "it", "lt", "lv", "mt", "nl", "pl", "pt", "ro", "sk", "sl", "sv",
})
# fmt: on
_ID = re.compile(r"^[a-z0-9](?:[a-z0-9-]{1,62})[a-z0-9]$")
_NUTS = re.compile(r"^[A-Z]{2}[A-Z0-9]{1,3}$")


class SourceSpec(BaseModel):
    """One source as the registry describes it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    name: str = Field(min_length=1, max_length=300)
    kind: Literal["feed", "page"]
    url: str
    publisher: Literal["municipality", "region", "national", "eu_institution"]
    country: str | None = None
    region: str | None = None
    municipality: str | None = None
    languages: list[str] = Field(min_length=1)
    poll_interval: int | None = Field(None, ge=5, le=10080)
    website: str | None = None
    # Only for kind: page. A CSS selector matching the links to the releases
    # on the listing page, for pages whose structure the heuristic misreads.
    selector: str | None = Field(None, min_length=1, max_length=500)

    @field_validator("id")
    @classmethod
    def check_id(cls, value: str) -> str:
        if not _ID.match(value):
            raise ValueError(
                "must be 3-64 lowercase letters, digits or hyphens, "
                "starting and ending with a letter or digit"
            )
        return value

    @field_validator("url", "website")
    @classmethod
    def check_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{value!r} is not an http(s) address with a host")
        return value

    @field_validator("country")
    @classmethod
    def check_country(cls, value: str | None) -> str | None:
        if value is None:
            return None
        code = value.upper()
        if code == "EL":
            # Eurostat writes Greece EL; the registry uses ISO 3166 codes.
            code = "GR"
        if code not in EU_COUNTRIES:
            raise ValueError(
                f"unknown country {value!r}: use the ISO 3166 code of an EU "
                f"member state ({', '.join(sorted(EU_COUNTRIES))})"
            )
        return code

    @field_validator("region")
    @classmethod
    def check_region(cls, value: str | None) -> str | None:
        if value is not None and not _NUTS.match(value):
            raise ValueError(f"{value!r} is not a NUTS code such as DE21 or FR101")
        return value

    @field_validator("municipality", mode="before")
    @classmethod
    def check_municipality(cls, value: Any) -> Any:
        # An unquoted LAU code such as 01001 would be read as a number and lose
        # its leading zero, so only strings are accepted.
        if value is not None and not isinstance(value, str):
            raise ValueError("LAU codes must be quoted, e.g. municipality: '01001'")
        return value

    @field_validator("languages")
    @classmethod
    def check_languages(cls, value: list[str]) -> list[str]:
        codes = [code.lower() for code in value]
        unknown = [code for code in codes if code not in EU_LANGUAGES]
        if unknown:
            raise ValueError(
                f"{', '.join(unknown)} not an official EU language code "
                "(ISO 639-1, e.g. de, fr, sv)"
            )
        return codes

    @field_validator("selector")
    @classmethod
    def check_selector(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            soupsieve.compile(value)
        except soupsieve.SelectorSyntaxError as error:
            raise ValueError(
                f"{value!r} is not a valid CSS selector: {error}"
            ) from None
        return value

    @model_validator(mode="after")
    def require_selector_on_pages(self) -> SourceSpec:
        if self.selector is not None and self.kind != "page":
            raise ValueError("selector is only for sources of kind: page")
        return self

    @model_validator(mode="after")
    def require_country(self) -> SourceSpec:
        if self.publisher != "eu_institution" and self.country is None:
            raise ValueError("country is required unless publisher is eu_institution")
        return self


def load_registry(path: Path) -> list[SourceSpec]:
    """Read and validate the registry at ``path``; raise ``RegistryError``."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise RegistryError(str(path), [RegistryProblem(str(error))]) from error
    except UnicodeDecodeError as error:
        problem = RegistryProblem(f"not UTF-8 text ({error.reason})")
        raise RegistryError(str(path), [problem]) from error
    return parse_registry(text, str(path))


def parse_registry(text: str, name: str = "sources.yaml") -> list[SourceSpec]:
    """Validate registry ``text``; ``name`` is used in error messages."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark else None
        problem = RegistryProblem(f"not valid YAML: {error.problem}", line=line)
        raise RegistryError(name, [problem]) from error

    entries = _source_nodes(root, name)
    problems: list[RegistryProblem] = []
    specs: list[SourceSpec] = []
    first_line: dict[str, int] = {}
    # One constructor for every source: it needs the nodes, not the text (a
    # loader made per source read the whole text again each time, which cost
    # seconds and 30 MB for a registry of 2,000 sources).
    constructor = yaml.SafeLoader("")

    for node in entries:
        if not isinstance(node, yaml.MappingNode):
            problems.append(
                RegistryProblem("each source must be a mapping of fields", _line(node))
            )
            continue
        data = constructor.construct_document(node)
        fields = {key.value: (key, value) for key, value in node.value}
        source_id = data.get("id") if isinstance(data.get("id"), str) else None

        if source_id is not None and source_id in first_line:
            problems.append(
                RegistryProblem(
                    f"duplicate id; first used on line {first_line[source_id]}",
                    _line(fields["id"][1]),
                    source_id,
                    "id",
                )
            )
        elif source_id is not None:
            first_line[source_id] = _line(node)

        try:
            specs.append(SourceSpec.model_validate(data))
        except ValidationError as error:
            problems.extend(_problems(error, node, fields, source_id))

    if problems:
        raise RegistryError(name, problems)
    return specs


def _source_nodes(root: yaml.Node | None, name: str) -> list[yaml.Node]:
    if isinstance(root, yaml.MappingNode):
        for key, value in root.value:
            if key.value == "sources":
                if isinstance(value, yaml.SequenceNode):
                    return list(value.value)
                problem = RegistryProblem(
                    "'sources' must be a list", _line(value), field="sources"
                )
                raise RegistryError(name, [problem])
    line = _line(root) if root is not None else None
    problem = RegistryProblem(
        "the file must be a mapping with a 'sources' list", line, field="sources"
    )
    raise RegistryError(name, [problem])


def _problems(
    error: ValidationError,
    node: yaml.MappingNode,
    fields: dict[str, tuple[yaml.Node, yaml.Node]],
    source_id: str | None,
) -> list[RegistryProblem]:
    problems = []
    for detail in error.errors():
        field = str(detail["loc"][0]) if detail["loc"] else None
        message = detail["msg"].removeprefix("Value error, ")
        if detail["type"] == "missing":
            message = "is missing"
        elif detail["type"] == "extra_forbidden":
            message = "is not a known field (check its spelling)"
        elif field is None and "country is required" in message:
            field = "country"
        elif field is None and "selector is only" in message:
            field = "selector"
        line = _line(fields[field][1]) if field in fields else _line(node)
        problems.append(RegistryProblem(message, line, source_id, field))
    return problems


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1
