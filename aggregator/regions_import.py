"""``aggregator regions import``: the shipped tree and Eurostat's tables.

The regions table holds the whole tree: the shipped gazetteer, synced on
every import, and what an operator imports from Eurostat: the NUTS table
(code, level, label) and the LAU table (every municipality with its NUTS 3
code), as CSV (GISCO) or XLSX (one sheet per country). A file is checked
whole before anything is written; one bad row refuses it, naming the row and
the column. Nodes are compared with the stored ones in memory, so a second
import of the same file writes nothing.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from aggregator.crawler import Crawler
from aggregator.errors import AggregatorError
from aggregator.registry import EU_COUNTRIES
from aggregator.settings import Settings
from classifiers.gazetteer import RegionNode, fold, read_shipped_nodes
from classifiers.regions import nuts_to_iso
from storage.regions import RegionChanges, upsert_regions

logger = logging.getLogger(__name__)

_NUTS_CODE = re.compile(r"^[A-Z]{2}[0-9A-Z]{1,3}$")
_LAU_CODE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._/-]{0,19}$")
MAX_ERRORS_SHOWN = 20
# Eurostat's LAU workbook is larger than any page or feed the crawl reads.
MAX_TABLE_BYTES = 200_000_000

# Header names, case and spacing ignored, as Eurostat's and GISCO's tables
# spell them in the years seen.
LAU_COLUMNS = {
    "nuts3": ("nuts 3 code", "nuts3", "nuts_3", "nuts3_code", "nuts_id"),
    "lau": ("lau code", "lau_id", "lau2", "lau_code", "lau"),
    "name": ("lau name national", "lau_name", "name_national", "lau name"),
    "latin": ("lau name latin", "name_latin", "lau_name_latin"),
    "population": ("population", "pop"),
    "country": ("cntr_code", "country_code", "country"),
}
NUTS_COLUMNS = {
    "code": ("nuts code", "nuts_id", "code 2024", "nuts_code", "code"),
    "level": ("nuts level", "levl_code", "level"),
    "name": ("nuts label", "nuts_name", "name_latn", "label"),
}


class RegionsImportError(AggregatorError):
    """A NUTS or LAU table that cannot be imported, with every problem found."""

    def __init__(self, source: str, problems: list[str]) -> None:
        shown = problems[:MAX_ERRORS_SHOWN]
        more = len(problems) - len(shown)
        lines = "\n  ".join(shown + ([f"... and {more} more"] if more else []))
        super().__init__(f"{source}: nothing imported, fix these rows:\n  {lines}")
        self.problems = problems


@dataclass(frozen=True, slots=True)
class ImportReport:
    """What one import did, all kinds of nodes together."""

    changes: RegionChanges
    municipalities: int
    nuts: int


def import_regions(
    session: Session,
    nuts: tuple[str, bytes] | None = None,
    lau: tuple[str, bytes] | None = None,
) -> ImportReport:
    """Sync the shipped tree and import the given (name, bytes) tables.

    Commits once at the end; a refused file raises before anything changed.
    """
    # Limitation: a municipality missing from a newer table stays in the tree
    # (items may still point at it), and the common-word lists only know the
    # shipped names, so an imported name that is a common word is matched.
    shipped, _common = read_shipped_nodes()
    nodes = {node.code: node for node in shipped}

    nuts_nodes = read_nuts_table(*nuts) if nuts else []
    for node in nuts_nodes:
        nodes[node.code] = node
    lau_nodes = read_lau_table(*lau, nodes) if lau else []
    for node in lau_nodes:
        nodes[node.code] = node

    imported = {node.code for node in (*nuts_nodes, *lau_nodes)}
    rows = [
        node_row(node, nodes, "eurostat" if node.code in imported else "gazetteer")
        for node in nodes.values()
    ]
    shipped_rows = [row for row in rows if row["origin"] == "gazetteer"]
    imported_rows = [row for row in rows if row["origin"] == "eurostat"]
    synced = upsert_regions(session, shipped_rows, keep_origin="eurostat")
    loaded = upsert_regions(session, imported_rows)
    session.commit()

    changes = RegionChanges(
        synced.added + loaded.added,
        synced.changed + loaded.changed,
        synced.unchanged + loaded.unchanged,
    )
    logger.info(
        "regions imported",
        extra={"added": changes.added, "changed": changes.changed},
    )
    return ImportReport(changes, len(lau_nodes), len(nuts_nodes))


async def fetch_table(settings: Settings, url: str) -> bytes:
    """A published table, fetched through the crawler with its usual rules
    (robots.txt, allowed hosts, timeouts) but a body cap fit for tables."""
    table_settings = settings.model_copy(
        update={"max_body_bytes": max(settings.max_body_bytes, MAX_TABLE_BYTES)}
    )
    async with Crawler(table_settings) as crawler:
        return (await crawler.fetch(url)).body


def node_row(
    node: RegionNode, nodes: dict[str, RegionNode], origin: str
) -> dict[str, Any]:
    """The table row of a node, with its path from the root."""
    chain = [node.code]
    parent = node.parent
    while parent is not None and parent in nodes and len(chain) < 10:
        chain.append(parent)
        parent = nodes[parent].parent
    return {
        "code": node.code,
        "parent": node.parent,
        "level": node.level,
        "country": node.country,
        "name": node.name,
        "names": list(node.names),
        "population": node.population,
        "path": "/".join(reversed(chain)) + "/",
        "replaces": node.replaces,
        "origin": origin,
    }


def read_lau_table(
    source: str, data: bytes, nodes: dict[str, RegionNode]
) -> list[RegionNode]:
    """Municipalities of a LAU table, each under its NUTS 3 region.

    A municipality that has the name of a shipped GeoNames place of the same
    NUTS 3 region (or, failing that, country) replaces it.
    """
    problems: list[str] = []
    found: dict[str, RegionNode] = {}
    for where, row in read_rows(source, data, LAU_COLUMNS, ("nuts3", "lau", "name")):
        node = lau_node(where, row, nodes, problems)
        if node is None:
            continue
        if node.code in found:
            problems.append(f"{where}: LAU CODE {row['lau']!r} appears twice")
            continue
        found[node.code] = node
    # A refused file is refused before the places are indexed, the slow part.
    if problems:
        raise RegionsImportError(source, problems)

    places = _places_by_name(nodes)
    municipalities = []
    for node in found.values():
        twins = places.get((node.country or "", fold(node.name)), [])
        same_region = [p for p in twins if p.parent == node.parent] or twins
        official = [p for p in same_region if fold(p.name) == fold(node.name)]
        candidates = official or same_region
        # Two places of the name in one region: which one is meant is unknown.
        replaces = candidates[0].code if len(candidates) == 1 else None
        municipalities.append(dataclasses.replace(node, replaces=replaces))
    return municipalities


def _places_by_name(
    nodes: dict[str, RegionNode],
) -> dict[tuple[str, str], list[RegionNode]]:
    """The shipped GeoNames places by country and every name, folded."""
    places: dict[tuple[str, str], list[RegionNode]] = {}
    for node in nodes.values():
        if node.code.startswith("geo:"):
            # GeoNames may call the place by an exonym (Vienna): every name.
            for name in dict.fromkeys(fold(n) for n in (node.name, *node.names)):
                places.setdefault((node.country or "", name), []).append(node)
    return places


def lau_node(
    where: str, row: dict[str, str], nodes: dict[str, RegionNode], problems: list[str]
) -> RegionNode | None:
    """One municipality from a checked row; problems are appended."""
    before = len(problems)
    nuts3 = row["nuts3"].strip().upper()
    lau = row["lau"].strip()
    name = row["name"].strip()
    if not _NUTS_CODE.match(nuts3) or len(nuts3) != 5:
        problems.append(f"{where} column NUTS 3 CODE: {nuts3!r} is not a NUTS 3 code")
    elif nuts3 not in nodes:
        problems.append(
            f"{where} column NUTS 3 CODE: {nuts3} is not in the NUTS 2024 tree; "
            "import the NUTS table of the same year with --nuts"
        )
    country = nuts_to_iso((row.get("country") or nuts3[:2]).strip())
    if country not in EU_COUNTRIES:
        problems.append(f"{where} column COUNTRY: {country!r} is not an EU country")
    if not _LAU_CODE.match(lau):
        problems.append(f"{where} column LAU CODE: {lau!r} is not a LAU code")
    if not name:
        problems.append(f"{where} column LAU NAME: empty")
    population = parse_population(where, row.get("population"), problems)
    if len(problems) > before:
        return None

    latin = (row.get("latin") or "").strip()
    return RegionNode(
        code=f"lau:{country}:{lau}",
        parent=nuts3,
        level="municipality",
        country=country,
        name=name,
        names=(latin,) if latin and latin != name else (),
        population=population,
    )


def parse_population(where: str, value: str | None, problems: list[str]) -> int | None:
    """A population figure, or None where the table gives none."""
    text = (value or "").strip().replace(" ", "").replace(",", "")
    if text in ("", "-", ":"):
        return None
    try:
        number = int(float(text))
    except ValueError:
        problems.append(f"{where} column POPULATION: {value!r} is not a number")
        return None
    if number < 0:
        problems.append(f"{where} column POPULATION: {value!r} is negative")
        return None
    return number


def read_nuts_table(source: str, data: bytes) -> list[RegionNode]:
    """NUTS 1-3 regions of the member states from a NUTS table."""
    problems: list[str] = []
    regions = []
    for where, row in read_rows(source, data, NUTS_COLUMNS, ("code", "name")):
        code = row["code"].strip().upper()
        name = row["name"].strip()
        if not _NUTS_CODE.match(code):
            problems.append(f"{where} column NUTS CODE: {code!r} is not a NUTS code")
            continue
        country = nuts_to_iso(code[:2])
        if country not in EU_COUNTRIES or len(code) == 2 or code.endswith("Z"):
            # Countries come from the shipped tree; "Extra-Regio" units
            # (ending in Z) are no place an item belongs to.
            continue
        if not name:
            problems.append(f"{where} column NUTS LABEL: empty")
            continue
        level = len(code) - 2
        regions.append(
            RegionNode(
                code=code,
                parent=country if level == 1 else code[:-1],
                level=f"nuts{level}",
                country=country,
                name=name,
            )
        )
    if problems:
        raise RegionsImportError(source, problems)
    return regions


def read_rows(
    source: str, data: bytes, columns: dict[str, tuple[str, ...]], required: tuple
) -> Iterator[tuple[str, dict[str, str]]]:
    """Rows of every sheet as dicts of our column names, with their place.

    The header is the first row naming every required column; rows before
    it (titles, notes) and sheets without one (notes sheets) are skipped.
    """
    sheets = list(read_sheets(source, data))
    seen_header = False
    for sheet, rows in sheets:
        header: dict[str, int] | None = None
        for number, cells in enumerate(rows, start=1):
            if header is None:
                header = find_header(cells, columns, required)
                continue
            if not any(cell.strip() for cell in cells):
                continue
            row = {
                key: cells[index] if index < len(cells) else ""
                for key, index in header.items()
            }
            place = f"sheet {sheet} row {number}" if sheet else f"row {number}"
            yield place, row
        seen_header = seen_header or header is not None
    if not seen_header:
        names = ", ".join(columns[key][0].upper() for key in required)
        raise RegionsImportError(source, [f"no header row with the columns {names}"])


def find_header(
    cells: list[str], columns: dict[str, tuple[str, ...]], required: tuple
) -> dict[str, int] | None:
    """Our column names to positions, if this row is the header."""
    spelled = [" ".join(cell.strip().lower().split()) for cell in cells]
    header = {}
    for key, names in columns.items():
        for index, cell in enumerate(spelled):
            if cell in names or (key == "population" and cell.startswith("pop")):
                header[key] = index
                break
    return header if all(key in header for key in required) else None


def read_sheets(source: str, data: bytes) -> Iterable[tuple[str, Iterable[list[str]]]]:
    """(sheet name, rows of text cells) of an XLSX workbook or a CSV file."""
    if data[:2] == b"PK":
        return read_xlsx(source, data)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise RegionsImportError(
            source, [f"not UTF-8 text nor an XLSX workbook ({error})"]
        ) from error
    try:
        delimiter = csv.Sniffer().sniff(text[:4096], delimiters=",;\t").delimiter
    except csv.Error:
        delimiter = ","
    return [("", csv.reader(io.StringIO(text), delimiter=delimiter))]


def read_xlsx(source: str, data: bytes) -> list[tuple[str, Iterable[list[str]]]]:
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    except Exception as error:  # openpyxl raises many kinds for a bad file
        raise RegionsImportError(source, [f"not a readable XLSX file: {error}"]) from (
            error
        )
    return [
        (
            sheet.title,
            (
                [cell_text(value) for value in row]
                for row in sheet.iter_rows(values_only=True)
            ),
        )
        for sheet in workbook.worksheets
    ]


def cell_text(value: object) -> str:
    """A cell as text; whole numbers without ".0" (LAU codes typed as numbers
    lose leading zeros, which the check on the code then reports)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
