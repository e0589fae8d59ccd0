"""Tests for extractors.articles: article pages to main text and metadata."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from extractors.articles import extract_article
from extractors.errors import ExtractionError, NotAnArticle

FIXTURES = Path(__file__).parent / "fixtures"
DE_URL = "https://www.musterstadt.de/rathaus/presse/neue-kita?id=17"
FR_URL = "https://www.ville-exemple.fr/index.php?page=actualite&id=412"
PL_URL = "https://www.przykladowo.pl/index.php?art=88"
SV_URL = "https://www.exempelstad.se/nyheter/ny-simhall-oppnar-i-host.html"


def extract_fixture(name: str, url: str, headers: dict[str, str] | None = None):
    return extract_article((FIXTURES / "articles" / name).read_bytes(), url, headers)


def test_extract_article_reads_a_german_press_release_and_its_metadata():
    article = extract_fixture("de_pressemitteilung.html", DE_URL)

    assert article.title == "Neue Kita am Stadtpark eröffnet"
    assert article.published == datetime(2026, 3, 14, 7, 30, tzinfo=UTC)
    assert article.authors == ("Petra Schmidt", "Jonas Weber")
    assert article.image == (
        "https://www.musterstadt.de/fileadmin/presse/kita-stadtpark_1200.jpg"
    )
    assert article.description == (
        "Die Stadt hat eine Kindertagesstätte mit 75 Plätzen eröffnet."
    )
    assert article.language == "de"
    assert article.canonical_url == (
        "https://www.musterstadt.de/rathaus/presse/neue-kita-am-stadtpark-eroeffnet"
    )
    assert article.url == DE_URL


def test_extract_article_keeps_the_main_text_and_leaves_the_page_chrome_out():
    article = extract_fixture("de_pressemitteilung.html", DE_URL)

    assert article.text.startswith("Oberbürgermeisterin Anna Beispiel hat am Freitag")
    assert "Anmeldung über das Kita-Portal" in article.text
    assert "Naturspielplatz direkt am Park" in article.text
    for chrome in ("Rathaus und Verwaltung", "Impressum", "Cookies", "trackPageView"):
        assert chrome not in article.text
    # The title is shown apart from the text, so the text does not repeat it.
    assert "Neue Kita am Stadtpark eröffnet" not in article.text


def test_extract_article_gives_sanitised_html_with_absolute_links():
    article = extract_fixture("de_pressemitteilung.html", DE_URL)

    html = BeautifulSoup(article.html, "lxml")
    assert html.find("strong") is not None
    assert [li.get_text() for li in html.find_all("li")][:1] == [
        "75 Plätze in sechs Gruppen"
    ]
    assert html.find("a")["href"] == "https://www.musterstadt.de/leben/kita-portal"
    assert html.find("script") is None and html.find("h1") is None
    assert "trackPageView" not in article.html


def test_extract_article_reads_og_locale_and_og_url_when_html_declares_nothing():
    article = extract_fixture("fr_communique.html", FR_URL)

    assert article.title == "Rénovation de la médiathèque : les travaux commencent"
    assert article.language == "fr"
    assert article.canonical_url == (
        "https://www.ville-exemple.fr/actualites/renovation-mediatheque"
    )
    assert article.published == datetime(2026, 3, 9, tzinfo=UTC)
    assert "point de prêt provisoire" in article.text
    assert "Partager sur Facebook" not in article.text
    assert article.image == "https://www.ville-exemple.fr/medias/mediatheque-1200.jpg"


def test_extract_article_decodes_iso_8859_2_declared_in_meta():
    article = extract_fixture("pl_komunikat_iso-8859-2.html", PL_URL)

    assert article.title == "Nabór wniosków na wymianę pieców"
    assert "Wójt Gminy Przykładowo ogłasza nabór wniosków" in article.text
    assert "\ufffd" not in article.text
    assert article.language == "pl"
    assert article.published == datetime(2026, 3, 5, tzinfo=UTC)


def test_extract_article_reads_date_and_author_from_json_ld():
    article = extract_fixture("sv_nyhet.html", SV_URL)

    assert article.title == "Ny simhall öppnar i höst"
    assert article.published == datetime(2026, 3, 14, 9, 15, tzinfo=UTC)
    assert article.authors == ("Karin Lindqvist",)
    assert article.language == "sv"
    assert article.canonical_url == ""
    assert "25-metersbassäng med åtta banor" in article.text
    assert "Kontakta oss" not in article.text


def test_extract_article_decodes_a_charset_given_only_in_the_header():
    article = extract_article(
        (FIXTURES / "pages" / "cs_obec_novinky_windows-1250.html").read_bytes(),
        "https://www.obec-prikladov.cz/novinky/",
        {"Content-Type": "text/html; charset=windows-1250"},
    )

    assert "Uzavírka silnice do Sousedova" in article.text
    assert article.language == "cs"


def test_extract_article_prefers_html_lang_over_the_content_language_header():
    body = (FIXTURES / "articles" / "sv_nyhet.html").read_bytes()

    article = extract_article(body, SV_URL, {"Content-Language": "en-GB, sv"})

    assert article.language == "sv"


def test_extract_article_falls_back_to_the_content_language_header():
    body = (FIXTURES / "articles" / "sv_nyhet.html").read_bytes()
    body = body.replace(b'<html lang="sv">', b"<html>")

    article = extract_article(body, SV_URL, {"Content-Language": "sv-FI, fi"})

    assert article.language == "sv"


def test_extract_article_leaves_the_date_out_when_the_page_gives_none():
    body = b"""<html><head><title>Winterdienst</title></head><body><article>
      <h1>Winterdienst der Gemeinde</h1>
      <p>Der Bauhof r\xc3\xa4umt die Gehwege an den Hauptstra\xc3\x9fen ab f\xc3\xbcnf
      Uhr; Anlieger r\xc3\xa4umen die \xc3\xbcbrigen Gehwege selbst.</p>
    </article></body></html>"""

    article = extract_article(body, "https://www.gemeinde.example.eu/winterdienst")

    assert article.published is None
    assert article.authors == ()
    assert "Der Bauhof räumt die Gehwege" in article.text


def test_extract_article_raises_not_an_article_for_a_page_of_menus_only():
    with pytest.raises(NotAnArticle, match="only links or a few words") as caught:
        extract_fixture("navigation_only.html", "https://www.example.eu/start")

    assert caught.value.kind == "not_an_article"
    assert caught.value.url == "https://www.example.eu/start"
    assert isinstance(caught.value, ExtractionError)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "the page is empty"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "a PDF document"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary data"),
        (b"<html><body><p>Kurz.</p></body></html>", "only links or a few words"),
    ],
    ids=["empty", "pdf", "png", "short"],
)
def test_extract_article_raises_not_an_article_naming_what_the_body_is(
    body: bytes, message: str
):
    with pytest.raises(NotAnArticle, match=message):
        extract_article(body, "https://www.example.eu/a")


def test_extract_article_reads_the_listing_fixtures_without_failing():
    # A listing page is no article, but its teasers are text: extraction must
    # give text rather than fail, since a feed entry may link to such a page.
    for path in sorted((FIXTURES / "pages").glob("*.html")):
        if path.name == "navigation_only.html":
            continue
        article = extract_article(path.read_bytes(), "https://www.example.eu/news")
        assert article.text and article.title, path.name


def test_extract_article_dates_by_the_address_when_it_holds_a_date():
    body = (FIXTURES / "articles" / "sv_nyhet.html").read_bytes()
    url = "https://www.exempelstad.se/nyheter/2026-03-14-ny-simhall.html"

    article = extract_article(body, url)

    assert article.published == datetime(2026, 3, 14, tzinfo=UTC)


def test_extract_article_leaves_out_what_a_browser_does_not_show():
    body = """<html lang="de"><head><title>Neue Buslinie</title></head>
    <body style="display: none"><article><h1>Neue Buslinie</h1>
    <p>Ab Montag fährt die Linie 7 alle zwanzig Minuten vom Bahnhof zum
    Klinikum und hält dabei an sechs neuen Haltestellen im Westen der Stadt.</p>
    <div style="color: red; display:none">Newsletter abonnieren und gewinnen</div>
    <p hidden>Dieser Hinweis erscheint erst nach dem Klick.</p>
    <div style="visibility: hidden">Werbung</div>
    <p hidden="until-found">Der Fahrplan liegt im Kundenzentrum aus.</p>
    </article></body></html>""".encode()

    article = extract_article(body, "https://www.example.de/buslinie")

    assert "Linie 7 alle zwanzig Minuten" in article.text
    assert "Der Fahrplan liegt im Kundenzentrum aus." in article.text
    for hidden in ("Newsletter", "erst nach dem Klick", "Werbung"):
        assert hidden not in article.text
