"""Tests for extractors.pages: listing pages of municipal and EU sites to entries."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from extractors.entry import Entry
from extractors.errors import NotAPage
from extractors.pages import parse_listing

FIXTURES = Path(__file__).parent / "fixtures" / "pages"

DE_URL = "https://www.musterstadt.de/rathaus/presse/pressemitteilungen"
SV_URL = "https://www.exempelstad.se/nyheter"
FR_URL = "https://www.ville-exemple.fr/actualites/"
VILLE = "https://www.ville-exemple.fr"
CS_URL = "https://www.obec-prikladov.cz/novinky/"
PL_URL = "https://www.przykladowo.pl/aktualnosci"
EU_URL = "https://www.consilium.europa.eu/en/press/press-releases/"


def parse_fixture(
    name: str, url: str, headers: dict[str, str] | None = None
) -> list[Entry]:
    return parse_listing((FIXTURES / name).read_bytes(), url, headers)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def test_parse_listing_reads_german_press_releases_with_time_and_text_dates():
    entries = parse_fixture("de_stadt_pressemitteilungen.html", DE_URL)

    assert [(e.title, e.link, e.published) for e in entries] == [
        (
            "Neue Kita am Stadtpark eröffnet",
            DE_URL + "/neue-kita-am-stadtpark-eroeffnet",
            utc(2026, 3, 14, 8, 30),
        ),
        (
            "Sperrung der Bahnhofstraße ab Montag",
            DE_URL + "/sperrung-der-bahnhofstrasse",
            utc(2026, 3, 12),
        ),
        (
            # The linked heading wins over the topline heading above it.
            "Gemeinderat beschließt Haushalt 2026",
            DE_URL + "/gemeinderat-beschliesst-haushalt-2026",
            utc(2026, 3, 10),
        ),
    ]
    assert all(e.language == "de" and e.guid == "" for e in entries)


def test_parse_listing_takes_summary_and_image_from_the_teaser():
    first, second, third = parse_fixture("de_stadt_pressemitteilungen.html", DE_URL)

    assert first.summary == (
        "Oberbürgermeisterin Anna Beispiel hat am Freitag die neue "
        "Kindertagesstätte mit 75 Plätzen eingeweiht."
    )
    assert first.image == (
        "https://www.musterstadt.de/fileadmin/_processed_/kita-stadtpark_400.jpg"
    )
    # The download link beside the text and the "Pressemitteilung vom" line are
    # no part of the summary.
    assert second.summary == (
        "Wegen Kanalarbeiten ist die Bahnhofstraße zwischen Marktplatz und Post "
        "für zwei Wochen gesperrt."
    )
    assert third.summary.startswith("Mit großer Mehrheit hat der Gemeinderat")
    assert second.image == third.image == ""


def test_parse_listing_skips_navigation_footer_cookie_and_share_links():
    links = {e.link for e in parse_fixture("de_stadt_pressemitteilungen.html", DE_URL)}

    chrome = {
        "https://www.musterstadt.de/datenschutz/cookies-und-tracking",
        "https://www.musterstadt.de/rathaus/",
        "https://www.musterstadt.de/buergerservice/online-dienste",
        "https://www.musterstadt.de/rathaus/presse/",
        "https://www.musterstadt.de/rathaus/presse/ansprechpartner-der-pressestelle",
        "https://www.musterstadt.de/impressum",
        "https://www.musterstadt.de/barrierefreiheit",
    }
    assert links.isdisjoint(chrome)


def test_parse_listing_skips_other_sites_downloads_and_pagination():
    links = {e.link for e in parse_fixture("de_stadt_pressemitteilungen.html", DE_URL)}

    assert not any("baden-wuerttemberg.de" in link for link in links)
    assert not any(link.endswith(".pdf") for link in links)
    assert not any("currentPage" in link for link in links)


def test_parse_listing_reads_month_name_dates_in_swedish_news():
    entries = parse_fixture("sv_kommun_nyheter.html", SV_URL)

    assert [(e.title, e.link, e.published) for e in entries] == [
        (
            "Ny simhall öppnar i höst",
            SV_URL + "/nyheter/2026-03-14-ny-simhall-oppnar-i-host.html",
            utc(2026, 3, 14),
        ),
        (
            "Trafikomläggning på Storgatan",
            SV_URL + "/nyheter/2026-03-11-trafikomlaggning-pa-storgatan.html",
            utc(2026, 3, 11),
        ),
        (
            "Lämna synpunkter på översiktsplanen",
            SV_URL + "/nyheter/2026-03-09-lamna-synpunkter-pa-oversiktsplanen.html",
            utc(2026, 3, 9),
        ),
    ]
    # The date line is no summary, named month or not.
    assert entries[0].summary.startswith("Bygget av den nya simhallen")
    assert entries[2].summary == ""
    assert {e.language for e in entries} == {"sv"}


def test_parse_listing_skips_links_back_to_the_listing_and_its_next_pages():
    links = [e.link for e in parse_fixture("sv_kommun_nyheter.html", SV_URL)]

    assert SV_URL not in links
    assert SV_URL + "?sida=2" not in links
    assert not any("/languages/" in link for link in links)
    assert len(links) == 3


def test_parse_listing_reads_french_cards_with_base_href_and_lazy_images():
    entries = parse_fixture("fr_mairie_actualites.html", FR_URL)

    assert [(e.title, e.link, e.published, e.image) for e in entries] == [
        (
            "Rénovation de la place de la Mairie : début des travaux",
            f"{VILLE}/actualites/renovation-de-la-place-de-la-mairie",
            utc(2026, 3, 14),
            "https://www.ville-exemple.fr/medias/actualites/place-mairie-640x360.jpg",
        ),
        (
            "Inscriptions au centre de loisirs pour l’été",
            f"{VILLE}/actualites/inscriptions-centre-de-loisirs-ete-2026",
            utc(2026, 3, 2),
            "https://www.ville-exemple.fr/medias/actualites/centre-loisirs.webp",
        ),
        (
            "Collecte des encombrants",
            "https://www.ville-exemple.fr/actualites/collecte-des-encombrants",
            None,
            "https://www.ville-exemple.fr/medias/actualites/encombrants-320.jpg",
        ),
    ]
    assert {e.language for e in entries} == {"fr"}


def test_parse_listing_takes_the_title_from_the_heading_when_links_say_read_more():
    entries = parse_fixture("fr_mairie_actualites.html", FR_URL)

    card = entries[1]
    assert card.title == "Inscriptions au centre de loisirs pour l’été"
    assert card.summary == (
        "Les inscriptions pour les vacances d’été sont ouvertes jusqu’au 30 avril "
        "sur le portail famille."
    )


def test_parse_listing_ignores_a_date_inside_the_teaser_prose():
    entries = parse_fixture("fr_mairie_actualites.html", FR_URL)

    # "Prochain passage le 28/03/2026" is the next collection, not the release.
    assert entries[2].published is None
    assert (
        entries[2].summary == "Prochain passage le 28/03/2026 dans tous les quartiers."
    )


def test_parse_listing_decodes_windows_1250_declared_only_in_the_header():
    entries = parse_fixture(
        "cs_obec_novinky_windows-1250.html",
        CS_URL,
        {"content-type": "text/html; charset=windows-1250"},
    )

    assert [(e.title, e.link, e.published) for e in entries] == [
        (
            "Uzavírka silnice do Sousedova",
            CS_URL + "uzavirka-silnice-do-sousedova.html",
            utc(2026, 3, 14),
        ),
        (
            "Svoz bioodpadu opět začíná",
            CS_URL + "svoz-bioodpadu-zacina.html",
            utc(2026, 3, 9),
        ),
        (
            "Výsledky ankety o dětském hřišti",
            CS_URL + "index.php?clanek=418&sekce=novinky",
            utc(2026, 3, 2),
        ),
    ]
    assert entries[1].summary == (
        "Hnědé popelnice se budou vyvážet každé úterý až do konce listopadu."
    )
    assert {e.language for e in entries} == {"cs"}


def test_parse_listing_drops_a_lone_footer_link_on_a_page_without_main():
    entries = parse_fixture(
        "cs_obec_novinky_windows-1250.html",
        CS_URL,
        {"Content-Type": "text/html; charset=windows-1250"},
    )

    links = [e.link for e in entries]
    assert "https://www.obec-prikladov.cz/prohlaseni-o-pristupnosti/" not in links
    assert CS_URL + "?strana=2" not in links


def test_parse_listing_decodes_iso_8859_2_declared_in_meta():
    entries = parse_fixture("pl_gmina_aktualnosci_iso-8859-2.html", PL_URL)

    assert [(e.title, e.link, e.published) for e in entries] == [
        (
            "Nabór wniosków o dotacje na wymianę pieców",
            PL_URL + "/424-nabor-wnioskow-o-dotacje-na-wymiane-piecow",
            utc(2026, 3, 13),
        ),
        (
            "Sesja Rady Gminy Przykładowo",
            PL_URL + "/423-sesja-rady-gminy",
            utc(2026, 3, 6),
        ),
    ]
    assert entries[0].summary == (
        "Wójt Gminy Przykładowo ogłasza nabór wniosków o dofinansowanie wymiany "
        "źródeł ciepła."
    )


def test_parse_listing_prefers_the_header_charset_over_meta():
    page = (
        '<html><head><meta charset="iso-8859-2"></head><body><ul>'
        '<li><a href="/a/1">Oprava mostu přes Svratku začíná</a></li>'
        '<li><a href="/a/2">Nový jízdní řád městské dopravy</a></li>'
        "</ul></body></html>"
    ).encode("cp1250")

    entries = parse_listing(
        page, "https://www.mesto.cz/", {"Content-Type": "text/html; charset=cp1250"}
    )

    assert [e.title for e in entries] == [
        "Oprava mostu přes Svratku začíná",
        "Nový jízdní řád městské dopravy",
    ]


def test_parse_listing_reads_latin_1_labels_as_windows_1252():
    # Sites labelled latin-1 send windows-1252 quotes, as browsers assume.
    page = (
        '<html><head><meta charset="iso-8859-1"></head><body><main><ul>'
        '<li><a href="/news/1">Rathaus lädt zum „Tag der offenen Tür“ ein</a></li>'
        "</ul></main></body></html>"
    ).encode("cp1252")

    entries = parse_listing(page, "https://www.stadt.example.eu/news")

    assert [e.title for e in entries] == ["Rathaus lädt zum „Tag der offenen Tür“ ein"]


@pytest.mark.parametrize("charset", ["no-such-charset", "base64", "utf-16"])
def test_parse_listing_falls_back_to_utf_8_for_unusable_charset_labels(charset: str):
    page = (
        "<html><body><main><ul>"
        '<li><a href="/news/1">Straßensanierung im Ortsteil Süd beginnt</a></li>'
        "</ul></main></body></html>"
    ).encode()

    entries = parse_listing(
        page,
        "https://www.stadt.example.eu/news",
        {"Content-Type": f"text/html; charset={charset}"},
    )

    assert [e.title for e in entries] == ["Straßensanierung im Ortsteil Süd beginnt"]


def test_parse_listing_reads_eu_press_releases_and_keeps_only_its_own_site():
    entries = parse_fixture("en_eu_press_releases.html", EU_URL)

    assert [(e.title, e.link, e.published) for e in entries] == [
        (
            "Council adopts rules on cross-border ambulance services",
            EU_URL
            + "2026/03/14/council-adopts-rules-on-cross-border-ambulance-services/",
            utc(2026, 3, 14, 10, 15),
        ),
        (
            "Statement by the High Representative on the elections in Moldova",
            EU_URL + "2026/03/13/statement-by-the-high-representative-on-the-"
            "elections-in-moldova/",
            utc(2026, 3, 13, 17, 40),
        ),
        (
            "Cohesion ministers meet in Brussels",
            "https://newsroom.consilium.europa.eu/en/events/"
            "20260312-cohesion-ministers-meeting",
            utc(2026, 3, 12, 8, 0),
        ),
    ]
    assert entries[1].summary == ""
    assert {e.language for e in entries} == {"en"}
    assert all(e.published and e.published.tzinfo is UTC for e in entries)


def test_parse_listing_reads_paragraphs_after_a_bare_heading_as_its_summary():
    page = b"""<html lang="nl-BE"><body><main>
      <h1>Nieuws</h1>
      <h2><a href="/nieuws/fietsstraat">Nieuwe fietsstraat in het centrum</a></h2>
      <p>Gepubliceerd op 14.03.2026</p>
      <p>Vanaf april krijgen fietsers voorrang in de Kerkstraat en de Markt.</p>
      <h2><a href="/nieuws/containerpark">Containerpark zaterdag gesloten</a></h2>
      <p>Door onderhoudswerken blijft het containerpark dicht.</p>
    </main></body></html>"""

    entries = parse_listing(page, "https://www.gemeente.be/nieuws")

    assert [(e.title, e.summary, e.published) for e in entries] == [
        (
            "Nieuwe fietsstraat in het centrum",
            "Vanaf april krijgen fietsers voorrang in de Kerkstraat en de Markt.",
            utc(2026, 3, 14),
        ),
        (
            "Containerpark zaterdag gesloten",
            "Door onderhoudswerken blijft het containerpark dicht.",
            None,
        ),
    ]
    assert {e.language for e in entries} == {"nl"}


def test_parse_listing_keeps_each_link_once_in_page_order():
    page = b"""<html><body><main>
      <article><h2><a href="/news/b">Bridge reopens after repairs</a></h2></article>
      <ul>
        <li><a href="/news/a#top">Library extends opening hours</a></li>
        <li><a href="/news/b">Bridge reopens after repairs (again listed)</a></li>
        <li><a href="/news/c">New bus line to the hospital</a></li>
      </ul>
    </main></body></html>"""

    entries = parse_listing(page, "https://city.example.eu/news")

    assert [(e.title, e.link) for e in entries] == [
        ("Bridge reopens after repairs", "https://city.example.eu/news/b"),
        ("Library extends opening hours", "https://city.example.eu/news/a"),
        ("New bus line to the hospital", "https://city.example.eu/news/c"),
    ]
    assert all(e.language == "" for e in entries)


def test_parse_listing_skips_nav_aside_and_scripts_inside_main():
    page = b"""<html><body><main>
      <nav><a href="/news/archive-2025">All press releases of 2025</a></nav>
      <ul>
        <li><a href="/news/new-playground">New playground in the park opens</a></li>
        <li><a href="/news/tax-office">The tax office moves to Main Street</a></li>
      </ul>
      <aside><a href="/news/most-read">Most read press releases this week</a></aside>
      <script>document.write('<a href="/news/x">Written by a script</a>')</script>
    </main></body></html>"""

    entries = parse_listing(page, "https://www.city.example.eu/news")

    assert [e.link for e in entries] == [
        "https://www.city.example.eu/news/new-playground",
        "https://www.city.example.eu/news/tax-office",
    ]


def test_parse_listing_keeps_a_lone_teaser_apart_from_its_section_heading():
    page = b"""<html><body><main><section>
      <h2>Latest news from the town hall</h2>
      <ul><li>
        <a href="/news/water-works">Water works on the market square</a>
        <p>The square is closed to cars until Friday evening.</p>
      </li></ul>
    </section></main></body></html>"""

    entries = parse_listing(page, "https://www.town.example.eu/news")

    assert [(e.title, e.summary) for e in entries] == [
        (
            "Water works on the market square",
            "The square is closed to cars until Friday evening.",
        )
    ]


@pytest.mark.parametrize(
    "href",
    [
        "/news",
        "/news/",
        "?page=3",
        "/news?seite=2",
        "/news?tx_news_pi1%5B%40widget_0%5D%5BcurrentPage%5D=2",
        "https://city.example.eu/news?start=20",
    ],
)
def test_parse_listing_skips_links_to_the_listing_and_its_pages(href: str):
    page = f"""<html><body><main><ul>
      <li><a href="{href}">More press releases from the city</a></li>
      <li><a href="/news/budget-2026">Council presents the budget</a></li>
      <li><a href="/news?id=41">Tram line closed for repairs</a></li>
    </ul></main></body></html>""".encode()

    entries = parse_listing(page, "https://www.city.example.eu/news")

    assert [e.link for e in entries] == [
        "https://www.city.example.eu/news/budget-2026",
        "https://www.city.example.eu/news?id=41",
    ]


def test_parse_listing_skips_icons_when_choosing_the_teaser_image():
    page = b"""<html><body><main><ul>
      <li>
        <img src="/icons/calendar.svg" alt="">
        <img src="/icons/arrow.png" width="16" height="16" alt="">
        <img src="/media/tram-640.jpg#crop" alt="">
        <a href="/news/tram">Tram line closed for repairs</a>
      </li>
      <li><a href="/news/budget">Council presents the budget</a></li>
    </ul></main></body></html>"""

    entries = parse_listing(page, "https://www.city.example.eu/news")

    assert [e.image for e in entries] == [
        "https://www.city.example.eu/media/tram-640.jpg",
        "",
    ]


def test_parse_listing_pairs_read_more_links_with_their_own_teaser_heading():
    page = """<html lang="de"><body><main><div class="teaser-list">
      <div class="teaser">
        <h3>Wochenmarkt zieht auf den Rathausplatz</h3>
        <p>Ab April findet der Wochenmarkt wieder im Zentrum statt.</p>
        <a href="/aktuelles/wochenmarkt">Weiterlesen</a>
      </div>
      <div class="teaser">
        <h3>Sprechstunde des Ortsvorstehers entfällt</h3>
        <p>Die Sprechstunde am Dienstag muss leider ausfallen.</p>
        <a href="/aktuelles/sprechstunde">Weiterlesen</a>
      </div>
    </div></main></body></html>""".encode()

    entries = parse_listing(page, "https://www.gemeinde.example.eu/aktuelles")

    assert [(e.title, e.link, e.summary) for e in entries] == [
        (
            "Wochenmarkt zieht auf den Rathausplatz",
            "https://www.gemeinde.example.eu/aktuelles/wochenmarkt",
            "Ab April findet der Wochenmarkt wieder im Zentrum statt.",
        ),
        (
            "Sprechstunde des Ortsvorstehers entfällt",
            "https://www.gemeinde.example.eu/aktuelles/sprechstunde",
            "Die Sprechstunde am Dienstag muss leider ausfallen.",
        ),
    ]


def test_parse_listing_keeps_content_inside_a_wrapper_named_after_its_sidebar():
    # WordPress themes wrap the content in "content-sidebar-wrap".
    page = b"""<html><body><div class="content-sidebar-wrap">
      <main><ul>
        <li><a href="/news/1">Mayor opens the town hall</a></li>
        <li><a href="/news/2">Winter service plan set</a></li>
      </ul></main>
      <div class="sidebar"><a href="/news/3">Most read press releases</a></div>
    </div></body></html>"""

    entries = parse_listing(page, "https://www.town.example.eu/news")

    assert [e.title for e in entries] == [
        "Mayor opens the town hall",
        "Winter service plan set",
    ]


def test_parse_listing_skips_short_link_texts_and_non_web_links():
    page = b"""<html><body><main><ul>
      <li><a href="/news/short">Short</a></li>
      <li><a href="mailto:press@city.example.eu">Write to the press office</a></li>
      <li><a href="tel:+3212345678">Call the press office today</a></li>
      <li><a href="javascript:void(0)">Show all the press releases</a></li>
      <li><a href="#main">Jump back to the top of the page</a></li>
      <li><a href="/">The city's home page</a></li>
      <li><a href="/news/budget">Council presents the budget</a></li>
    </ul></main></body></html>"""

    entries = parse_listing(page, "https://www.city.example.eu/news")

    assert [e.link for e in entries] == ["https://www.city.example.eu/news/budget"]


def test_parse_listing_reads_the_whole_page_when_main_has_no_article_links():
    page = b"""<html><body>
      <main><h1>Press releases</h1><p>Our latest news.</p></main>
      <div class="list">
      <div class="item"><h3><a href="/press/1">Mayor opens the town hall</a></h3></div>
      <div class="item"><h3><a href="/press/2">Winter service plan set</a></h3></div>
      </div>
    </body></html>"""

    entries = parse_listing(page, "https://www.town.example.eu/press")

    assert [e.title for e in entries] == [
        "Mayor opens the town hall",
        "Winter service plan set",
    ]


def test_parse_listing_raises_not_a_page_when_only_navigation_links_exist():
    body = (FIXTURES / "navigation_only.html").read_bytes()
    url = "https://www.beispielbach.de/aktuelles"

    with pytest.raises(NotAPage, match="no article links found") as caught:
        parse_listing(body, url)

    assert caught.value.url == url
    assert caught.value.kind == "not_a_page"


def test_parse_listing_raises_not_a_page_saying_an_rss_document_is_a_feed():
    body = (FIXTURES / "rss_feed.xml").read_bytes()

    with pytest.raises(NotAPage, match="register it as kind: feed"):
        parse_listing(body, DE_URL, {"Content-Type": "application/rss+xml"})


@pytest.mark.parametrize(
    "body",
    [
        b'<feed xmlns="http://www.w3.org/2005/Atom"><title>News</title></feed>',
        b'\xef\xbb\xbf<?xml version="1.0"?>\n<rdf:RDF xmlns:rdf="x"></rdf:RDF>',
    ],
    ids=["atom", "rdf-with-bom"],
)
def test_parse_listing_raises_not_a_page_for_atom_and_rdf_feeds(body: bytes):
    with pytest.raises(NotAPage, match="register it as kind: feed"):
        parse_listing(body, "https://www.city.example.eu/feed")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "the page is empty"),
        (b"  \r\n\t ", "the page is empty"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "a PDF document"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary data"),
        (b'{"items": [{"title": "News"}]}', 'no HTML; it starts \'{"items"'),
        (b"Service temporarily unavailable", "no HTML; it starts 'Service"),
        (b'<?xml version="1.0"?><urlset><url/></urlset>', "no HTML; it starts '<"),
    ],
    ids=["empty", "blank", "pdf", "png", "json", "text", "sitemap"],
)
def test_parse_listing_raises_not_a_page_naming_what_the_body_is(
    body: bytes, message: str
):
    with pytest.raises(NotAPage, match=message) as caught:
        parse_listing(body, "https://www.city.example.eu/news")

    assert caught.value.url == "https://www.city.example.eu/news"


# A listing whose releases sit in a block named like a menu, with short titles,
# beside a block of longer links the heuristic takes for the listing.
SELECTOR_PAGE = b"""<html lang="it"><body>
  <div class="news-menu">
    <ul class="comunicati">
      <li class="comunicato">
        <span class="data">12.03.2026</span>
        <a href="/comunicati/bilancio-2026">Bilancio 2026</a>
        <p>Il consiglio comunale ha approvato il bilancio di previsione.</p>
      </li>
      <li class="comunicato">
        <span class="data">10.03.2026</span>
        <a href="/comunicati/tari">TARI</a>
        <p>Le nuove scadenze della tassa sui rifiuti per le famiglie.</p>
      </li>
    </ul>
  </div>
  <div class="servizi">
    <div class="box">
      <a href="/servizi/anagrafe">Servizi anagrafici del comune online</a>
    </div>
    <div class="box">
      <a href="/servizi/tributi">Pagamento dei tributi comunali online</a>
    </div>
  </div>
</body></html>"""
IT_URL = "https://www.comune.esempio.it/comunicati"


def test_parse_listing_without_selector_misreads_the_selector_page():
    links = [e.link for e in parse_listing(SELECTOR_PAGE, IT_URL)]

    assert "https://www.comune.esempio.it/comunicati/tari" not in links


def test_parse_listing_with_selector_of_links_takes_exactly_those_links():
    entries = parse_listing(SELECTOR_PAGE, IT_URL, selector="li.comunicato > a")

    assert [(e.title, e.link, e.published) for e in entries] == [
        ("Bilancio 2026", IT_URL + "/bilancio-2026", utc(2026, 3, 12)),
        ("TARI", IT_URL + "/tari", utc(2026, 3, 10)),
    ]
    assert entries[0].summary == (
        "Il consiglio comunale ha approvato il bilancio di previsione."
    )
    assert all(e.language == "it" for e in entries)


def test_parse_listing_with_selector_of_blocks_takes_the_link_inside_each():
    entries = parse_listing(SELECTOR_PAGE, IT_URL, selector="ul.comunicati li")

    assert [e.link for e in entries] == [IT_URL + "/bilancio-2026", IT_URL + "/tari"]


def test_parse_listing_with_selector_keeps_one_entry_per_link():
    entries = parse_listing(SELECTOR_PAGE, IT_URL, selector="li.comunicato, li a")

    assert len(entries) == 2


@pytest.mark.parametrize("selector", ["article.release a", "span.data"])
def test_parse_listing_raises_not_a_page_when_the_selector_matches_no_link(
    selector: str,
):
    with pytest.raises(NotAPage, match="matched no link on the page") as caught:
        parse_listing(SELECTOR_PAGE, IT_URL, selector=selector)

    assert selector in str(caught.value)
    assert caught.value.url == IT_URL


def test_parse_listing_raises_not_a_page_for_an_invalid_selector():
    with pytest.raises(NotAPage, match="no valid CSS selector"):
        parse_listing(SELECTOR_PAGE, IT_URL, selector="ul >> [a")


@pytest.mark.parametrize(
    ("lang", "written", "expected"),
    [
        ("fr", "14 mars 2026", utc(2026, 3, 14)),
        ("de", "Veröffentlicht am 3. Februar 2026", utc(2026, 2, 3)),
        ("pl", "14 października 2026", utc(2026, 10, 14)),
        ("bg", "14 март 2026", utc(2026, 3, 14)),
        ("en", "Published March 9, 2026", utc(2026, 3, 9)),
    ],
)
def test_teaser_date_with_a_month_name_is_read_in_the_page_language(
    lang, written, expected
):
    page = f"""<html lang="{lang}"><body><main><ul>
    <li><h3><a href="/news/one-release-of-the-town">A release of the town hall
    about the budget</a></h3><p>{written}</p><p>The teaser text of it.</p></li>
    <li><h3><a href="/news/another-release">Another release of the town hall
    about the schools</a></h3><p>Teaser of the second.</p></li>
    </ul></main></body></html>"""

    first, _second = parse_listing(page.encode(), "https://town.example/news/")

    assert first.published == expected
