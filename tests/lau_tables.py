"""Synthetic LAU tables in Eurostat's shapes, for tests and the benchmark."""

from __future__ import annotations

import csv
import io
import random

from classifiers.gazetteer import read_shipped_nodes

SYLLABLES = "ba be bo da de do ka ke ko la le lo ma me mo na ne no ra re ro sa se so"


def nuts3_codes() -> list[str]:
    """The real NUTS 3 codes of the shipped tree."""
    nodes, _common = read_shipped_nodes()
    return sorted(node.code for node in nodes if node.level == "nuts3")


def lau_rows(count: int, seed: int = 5) -> list[list[str]]:
    """``count`` municipalities with invented names under real NUTS 3 codes."""
    rng = random.Random(seed)
    syllables = SYLLABLES.split()
    codes = nuts3_codes()
    rows = []
    for number in range(count):
        nuts3 = codes[number % len(codes)]
        name = "".join(rng.choice(syllables) for _ in range(3)).capitalize()
        rows.append(
            [nuts3, f"{number:06d}", f"{name} {number}", str(rng.randint(50, 90000))]
        )
    return rows


def lau_csv(rows: list[list[str]]) -> bytes:
    """A GISCO-style CSV of the rows."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["NUTS 3 CODE", "LAU CODE", "LAU NAME NATIONAL", "POPULATION"])
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")
