"""The region classifier on small texts written here."""

from __future__ import annotations

import pytest

from classifiers.gazetteer import load_gazetteer
from classifiers.inflection import stem
from classifiers.regions import (
    RegionClassifier,
    SourcePlace,
    UnknownRegion,
    add_editor_regions,
)

BRNO = SourcePlace(country="CZ", region="CZ064", municipality="CZ/Brno",
                   publisher="municipality")  # fmt: skip
EU = SourcePlace(publisher="eu_institution")


@pytest.fixture(scope="module")
def classifier() -> RegionClassifier:
    return RegionClassifier(load_gazetteer())


def names(classifier, regions, reason=None):
    nodes = classifier.gazetteer.nodes
    return {
        nodes[r.code].name
        for r in regions
        if r.via is None and (reason is None or r.reason == reason)
    }


def test_czech_case_endings_meet_the_name_at_one_stem():
    assert stem("brno", "slavic") == stem("brně", "slavic") == stem("brnem", "slavic")
    assert stem("praha", "slavic") == stem("praze", "slavic")
    assert stem("vídeň", "slavic") == stem("vídni", "slavic")
    assert stem("liberec", "slavic") == stem("liberci", "slavic")
    assert stem("wiens", "germanic") == "wien"
    assert stem("szegeden", "hungarian") == "szeged"


def test_inflected_mentions_find_the_place(classifier):
    ostrava = SourcePlace(country="CZ", region="CZ080", publisher="municipality")
    found = classifier.classify("Koncert v Brně", "Hosté přijedou s Brnem.", "cs",
                                ostrava)  # fmt: skip
    assert "Brno" in names(classifier, found, "mention")


def test_a_town_named_like_a_common_word_is_not_every_sentence(classifier):
    found = classifier.classify(
        "Nice weather for the weekend", "It was a nice day in the park.", "en", EU
    )
    assert found == [next(r for r in found if r.code == "EU")]
    czech = classifier.classify("Nový most", "Most přes řeku je hotový.", "cs", BRNO)
    assert names(classifier, czech, "mention") == set()


def test_lower_case_words_name_no_place(classifier):
    found = classifier.classify("Obecní zprávy", "jeli jsme do brna", "cs",
                                SourcePlace(country="CZ"))  # fmt: skip
    assert [r.code for r in found] == ["CZ"]


def test_places_in_the_sources_country_come_first(classifier):
    german = SourcePlace(country="DE", publisher="national")
    austrian = SourcePlace(country="AT", publisher="national")
    de = classifier.classify("Neues aus Neustadt", "", "de", german)
    at = classifier.classify("Neues aus Neustadt", "", "de", austrian)
    assert {r.country for r in de} == {"DE"}
    assert {r.country for r in at} <= {"AT"}


def test_a_place_rolls_up_to_every_ancestor_up_to_the_country(classifier):
    found = classifier.classify("Stadtfest in Graz", "", "de",
                                SourcePlace(country="AT"))  # fmt: skip
    graz = next(r for r in found if r.via is None and r.reason == "mention")
    rolled = {r.code for r in found if r.via == graz.code}
    codes = {r.code for r in found}
    assert set(classifier.gazetteer.ancestors(graz.code)) - {"EU"} <= codes
    assert {"AT2", "AT22", "AT221"} <= rolled
    assert "EU" not in {r.code for r in found}


def test_eu_institution_items_naming_no_place_are_eu_wide(classifier):
    found = classifier.classify("New rules for batteries", "Adopted today.", "en", EU)
    assert [(r.code, r.reason) for r in found] == [("EU", "source")]
    named = classifier.classify("Funds for Lyon", "", "en", EU)
    assert "EU" not in {r.code for r in named}


def test_each_region_says_why_it_is_there(classifier):
    found = classifier.classify("Brno a Paříž", "Spolupráce s Vídní a Paris.", "cs",
                                BRNO)  # fmt: skip
    source = [r for r in found if r.reason == "source" and r.via is None]
    assert [(r.code, r.evidence) for r in source] == [
        (classifier.gazetteer.find_by_name("CZ", "Brno").code, "municipality CZ/Brno")
    ]
    paris = [r for r in found if r.reason == "mention" and r.evidence == "Paříž"]
    assert paris and paris[0].country == "FR"

    edited = add_editor_regions(found, ["SK010"], classifier.gazetteer, "editor-1")
    assert {(r.code, r.reason) for r in edited if r.code.startswith("SK")} == {
        ("SK010", "editor"),
        ("SK01", "editor"),
        ("SK0", "editor"),
        ("SK", "editor"),
    }
    with pytest.raises(UnknownRegion):
        add_editor_regions(found, ["XX999"], classifier.gazetteer, "editor-1")


def test_small_places_abroad_are_not_taken(classifier):
    # A village abroad sharing its name with a word is the usual false hit.
    found = classifier.classify("Velká Británie", "Konference Union v Brně.", "cs",
                                BRNO)  # fmt: skip
    assert {r.country for r in found} == {"CZ"}


def test_for_a_source_of_no_country_the_items_language_picks_the_country(
    classifier,
):
    romanian = classifier.classify("Program pentru Nord-Est", "", "ro", EU)
    italian = classifier.classify("Programma per il Nord-Est", "", "it", EU)
    assert "RO21" in {r.code for r in romanian}
    assert "ITH" in {r.code for r in italian}
