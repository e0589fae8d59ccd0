"""`aggregator regions import`: the shipped tree and Eurostat tables, on both
databases; bad files refused whole; a second import changes nothing."""

from __future__ import annotations

import asyncio
import io

import openpyxl
import pytest
from click.testing import CliRunner
from lau_tables import lau_csv, lau_rows

from aggregator.cli import cli
from aggregator.regions_import import RegionsImportError, fetch_table, import_regions
from classifiers.gazetteer import RegionNode, build_gazetteer, read_shipped_nodes
from classifiers.regions import RegionClassifier, SourcePlace
from storage.regions import count_regions, descendant_codes, read_regions


def xlsx(sheets: dict[str, list[list[object]]]) -> bytes:
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for title, rows in sheets.items():
        sheet = workbook.create_sheet(title)
        for row in rows:
            sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def test_import_of_200_municipalities_then_again_changes_nothing(runtime):
    data = lau_csv(lau_rows(200))
    with runtime.sessions() as session:
        first = import_regions(session, lau=("lau.csv", data))
        counts = count_regions(session)
    with runtime.sessions() as session:
        second = import_regions(session, lau=("lau.csv", data))

    assert first.municipalities == 200
    assert first.changes.added == sum(counts.values())
    assert counts["country"] == 27
    assert (second.changes.added, second.changes.changed) == (0, 0)


def test_descendants_of_a_region_include_imported_municipalities(runtime):
    rows = [["AT130", "90001", "Wien", "1982097"], ["AT221", "60101", "Graz", "1"]]
    with runtime.sessions() as session:
        import_regions(session, lau=("lau.csv", lau_csv(rows)))
        below_austria = descendant_codes(session, "AT")
        below_vienna = descendant_codes(session, "AT13")
        stored = {row["code"]: row for row in read_regions(session)}

    assert {"lau:AT:90001", "lau:AT:60101", "AT130"} <= set(below_austria)
    assert "lau:AT:90001" in below_vienna and "lau:AT:60101" not in below_vienna
    assert stored["lau:AT:90001"]["path"] == "EU/AT/AT1/AT13/AT130/lau:AT:90001/"
    # The imported Wien is the shipped GeoNames place, with its exonyms.
    assert stored["lau:AT:90001"]["replaces"].startswith("geo:")


def test_classifier_sees_imported_municipalities(runtime):
    rows = [["AT130", "90001", "Wien", "1982097"]]
    with runtime.sessions() as session:
        import_regions(session, lau=("lau.csv", lau_csv(rows)))
        stored = read_regions(session)
    _nodes, common = read_shipped_nodes()
    fields = ("code", "parent", "level", "country", "name", "population", "replaces")
    # Austria's part of the stored tree is enough, and builds in a fraction
    # of the time of the whole.
    nodes = [
        RegionNode(**{f: row[f] for f in fields}, names=tuple(row["names"]))
        for row in stored
        if row["country"] in (None, "AT")
    ]
    classifier = RegionClassifier(build_gazetteer(nodes, common))

    found = classifier.classify(
        "Concert in Vienna", "", "en", SourcePlace(country="DE")
    )
    assert "lau:AT:90001" in {r.code for r in found}
    source = SourcePlace(country="AT", municipality="90001")
    assert classifier.source_node(source).code == "lau:AT:90001"


def test_xlsx_with_a_sheet_per_country_and_title_rows_is_read(runtime):
    header = ["NUTS 3 CODE", "LAU CODE", "LAU NAME NATIONAL", "LAU NAME LATIN",
              "POPULATION"]  # fmt: skip
    data = xlsx({
        "Notes": [["Local administrative units 2024"]],
        "AT": [["LAU 2024"], header, ["AT130", "90001", "Wien", "Wien", 1982097]],
        "EL": [header, ["EL301", "01010101", "Αθήνα", "Athina", 643452]],
    })  # fmt: skip
    with runtime.sessions() as session:
        report = import_regions(session, lau=("lau.xlsx", data))
        stored = {row["code"]: row for row in read_regions(session)}

    assert report.municipalities == 2
    assert stored["lau:GR:01010101"]["names"] == ["Athina"]
    assert stored["lau:GR:01010101"]["parent"] == "EL301"


BAD_ROWS = [
    (["AT999", "90001", "Wien", "5"], "row 3 column NUTS 3 CODE"),
    (["AT130", "", "Wien", "5"], "row 3 column LAU CODE"),
    (["AT130", "90001", "", "5"], "row 3 column LAU NAME"),
    (["AT130", "90001", "Wien", "many"], "row 3 column POPULATION"),
    (["AT13", "90001", "Wien", "5"], "row 3 column NUTS 3 CODE"),
    (["AT221", "60101", "Graz", "2"], "row 3: LAU CODE '60101' appears twice"),
]


def test_a_bad_row_refuses_the_file_and_changes_nothing(runtime):
    good = lau_csv([["AT221", "60101", "Graz", "1"]])
    with runtime.sessions() as session:
        import_regions(session, lau=("good.csv", good))
        before = read_regions(session)

    # One file with every bad row, after a good one: each is named.
    rows = [["AT221", "60101", "Graz", "2"], *(row for row, _ in BAD_ROWS)]
    with runtime.sessions() as session, pytest.raises(RegionsImportError) as error:
        import_regions(session, lau=("bad.csv", lau_csv(rows)))
    for number, (_row, complaint) in enumerate(BAD_ROWS, start=3):
        assert complaint.replace("row 3", f"row {number}") in str(error.value)

    with runtime.sessions() as session:
        assert read_regions(session) == before


def test_a_table_at_an_address_is_fetched_through_the_crawler(runtime, site):
    rows = [["AT130", "90001", "Wien", "1982097"]]
    site.serve("/robots.txt", "", "text/plain")
    url = site.serve("/lau.csv", lau_csv(rows), "text/csv")

    data = asyncio.run(fetch_table(runtime.settings, url))
    with runtime.sessions() as session:
        report = import_regions(session, lau=(url, data))

    assert report.municipalities == 1
    assert [path for path, _headers in site.requests][-1] == "/lau.csv"


def test_a_file_without_the_columns_is_refused(runtime):
    with runtime.sessions() as session, pytest.raises(RegionsImportError) as error:
        import_regions(session, lau=("x.csv", b"a,b,c\n1,2,3\n"))
    assert "no header row" in str(error.value)


def test_nuts_table_renames_a_region_and_keeps_it_across_imports(runtime):
    table = (
        b"NUTS Code,NUTS level,NUTS label\n"
        b"AT13,2,Wien (Land)\nAT1,1,Ostoesterreich\nATZZZ,3,Extra-Regio\n"
    )
    with runtime.sessions() as session:
        import_regions(session, nuts=("nuts.csv", table))
    with runtime.sessions() as session:
        again = import_regions(session)
        stored = {row["code"]: row for row in read_regions(session)}

    assert "ATZZZ" not in stored
    assert stored["AT13"]["name"] == "Wien (Land)"
    assert stored["AT13"]["origin"] == "eurostat"
    assert (again.changes.added, again.changes.changed) == (0, 0)


def test_cli_imports_a_file_and_reports_nothing_changed_the_second_time(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("AGGREGATOR_DATABASE_URL", f"sqlite:///{tmp_path / 'r.db'}")
    path = tmp_path / "lau.csv"
    path.write_bytes(lau_csv(lau_rows(50)))
    runner = CliRunner()
    assert runner.invoke(cli, ["db", "upgrade"]).exit_code == 0

    first = runner.invoke(cli, ["regions", "import", "--lau", str(path)])
    second = runner.invoke(cli, ["regions", "import", "--lau", str(path)])
    bad = tmp_path / "bad.csv"
    bad.write_bytes(lau_csv([["AT999", "1", "X", "1"]]))
    refused = runner.invoke(cli, ["regions", "import", "--lau", str(bad)])

    assert first.exit_code == 0 and "50 municipalities" in first.output
    assert "\n0 added, 0 changed," in "\n" + second.output
    assert refused.exit_code != 0 and "row 2 column NUTS 3 CODE" in refused.output
