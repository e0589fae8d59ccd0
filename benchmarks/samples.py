"""Municipal news written by the benchmarks themselves: feeds and article pages.

Every text is composed from short sentences written here in ten EU
languages, so the language stage, the sanitiser and the extractor meet the
scripts and accents they meet on the web (Greek, Cyrillic, Polish, Czech...).
Everything is drawn from a seeded ``random.Random``: the same arguments give
the same bytes.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from html import escape


@dataclass(frozen=True)
class Language:
    code: str
    towns: tuple[str, ...]
    titles: tuple[str, ...]
    sentences: tuple[str, ...]
    menu: tuple[str, ...]
    footer: str


LANGUAGES = (
    Language(
        "de",
        ("Graz", "Linz", "Freiburg", "Regensburg", "Bregenz", "Lüneburg"),
        (
            "{town}: Gemeinderat beschließt neuen Radweg entlang der Hauptstraße",
            "Bürgerversammlung zur Sanierung der Volksschule in {town}",
            "Stadtbibliothek {town} verlängert ihre Öffnungszeiten",
            "Straßensperre in der Bahnhofstraße wegen Kanalarbeiten",
            "Neue Förderung für Photovoltaik auf Privatdächern in {town}",
            "{town} sucht Freiwillige für das Sommerfest im Stadtpark",
        ),
        (
            "Der Gemeinderat hat in seiner Sitzung am Dienstag mit großer "
            "Mehrheit zugestimmt.",
            "Die Arbeiten beginnen voraussichtlich im Frühjahr und dauern rund "
            "sechs Monate.",
            "Anrainerinnen und Anrainer werden gebeten, die ausgeschilderte "
            "Umleitung zu nutzen.",
            "Anträge können ab sofort online oder im Bürgerservice im Rathaus "
            "gestellt werden.",
            "Die Bürgermeisterin bedankte sich bei allen Beteiligten für die "
            "gute Zusammenarbeit.",
            "Weitere Auskünfte erteilt das Bauamt während der Parteienverkehrszeiten.",
            "Das Vorhaben wird zu einem Drittel aus Mitteln des Landes finanziert.",
            "Für Kinder unter zwölf Jahren ist der Eintritt wie immer frei.",
        ),
        ("Startseite", "Rathaus", "Bürgerservice", "Aktuelles", "Kultur", "Kontakt"),
        "Stadtverwaltung, Hauptplatz 1 – Impressum – Datenschutz – Barrierefreiheit",
    ),
    Language(
        "fr",
        ("Lyon", "Nantes", "Rennes", "Annecy", "Namur", "Colmar"),
        (
            "{town} : le conseil municipal adopte le budget participatif",
            "Travaux de rénovation de l'école primaire du centre-ville",
            "La médiathèque de {town} élargit ses horaires d'ouverture",
            "Fermeture temporaire de la rue de la République",
            "Nouvelle aide pour l'isolation des logements à {town}",
            "{town} cherche des bénévoles pour la fête de la musique",
        ),
        (
            "Le conseil municipal a approuvé le projet à une large majorité mardi "
            "soir.",
            "Les travaux devraient commencer au printemps et durer environ six mois.",
            "Les riverains sont invités à emprunter la déviation mise en place.",
            "Les demandes peuvent être déposées en ligne ou à l'accueil de la mairie.",
            "Le maire a remercié l'ensemble des services pour leur engagement.",
            "Pour tout renseignement, contactez le service de l'urbanisme.",
            "Le projet est financé pour un tiers par la région et par l'État.",
            "L'entrée reste gratuite pour les enfants de moins de douze ans.",
        ),
        ("Accueil", "Mairie", "Démarches", "Actualités", "Culture", "Contact"),
        "Hôtel de ville, place de la Mairie – Mentions légales – Accessibilité",
    ),
    Language(
        "it",
        ("Bologna", "Trento", "Lecce", "Bergamo", "Perugia", "Udine"),
        (
            "{town}, il consiglio comunale approva il nuovo piano del traffico",
            "Lavori di ristrutturazione nella scuola elementare di via Roma",
            "La biblioteca civica di {town} amplia l'orario di apertura",
            "Chiusura temporanea di corso Garibaldi per lavori alla rete idrica",
            "Nuovi contributi per i pannelli solari sulle case private",
            "{town} cerca volontari per la festa del patrono",
        ),
        (
            "Il consiglio comunale ha approvato la delibera con un'ampia maggioranza.",
            "I lavori inizieranno in primavera e dureranno circa sei mesi.",
            "I residenti sono invitati a seguire il percorso alternativo segnalato.",
            "Le domande si presentano online oppure allo sportello del cittadino.",
            "Il sindaco ha ringraziato tutti gli uffici per la collaborazione.",
            "Per informazioni è possibile rivolgersi all'ufficio tecnico comunale.",
            "Il progetto è finanziato per un terzo con fondi regionali.",
            "L'ingresso è gratuito per i bambini sotto i dodici anni.",
        ),
        ("Home", "Comune", "Servizi", "Notizie", "Cultura", "Contatti"),
        "Palazzo comunale, piazza Maggiore – Note legali – Privacy – Accessibilità",
    ),
    Language(
        "es",
        ("València", "Zaragoza", "Cádiz", "Burgos", "Oviedo", "Logroño"),
        (
            "{town}: el pleno aprueba el nuevo carril bici del centro",
            "Obras de rehabilitación en el colegio público de la calle Mayor",
            "La biblioteca municipal de {town} amplía su horario",
            "Corte de tráfico en la avenida del Puerto por obras",
            "Nuevas ayudas para la instalación de placas solares en {town}",
            "{town} busca voluntarios para las fiestas patronales",
        ),
        (
            "El pleno municipal aprobó la propuesta con una amplia mayoría.",
            "Las obras comenzarán en primavera y durarán unos seis meses.",
            "Se ruega a los vecinos que utilicen el desvío señalizado.",
            "Las solicitudes pueden presentarse en la sede electrónica del "
            "ayuntamiento.",
            "La alcaldesa agradeció a todos los servicios municipales su trabajo.",
            "Para más información puede dirigirse a la oficina de atención ciudadana.",
            "El proyecto está financiado en un tercio con fondos europeos.",
            "La entrada es gratuita para los menores de doce años.",
        ),
        ("Inicio", "Ayuntamiento", "Trámites", "Noticias", "Cultura", "Contacto"),
        "Ayuntamiento, plaza del Ayuntamiento 1 – Aviso legal – Accesibilidad",
    ),
    Language(
        "pl",
        ("Gdańsk", "Toruń", "Łódź", "Rzeszów", "Opole", "Białystok"),
        (
            "{town}: rada miasta przyjęła nowy plan zagospodarowania",
            "Remont szkoły podstawowej przy ulicy Długiej",
            "Biblioteka miejska w {town} wydłuża godziny otwarcia",
            "Utrudnienia w ruchu na ulicy Grunwaldzkiej z powodu prac",
            "Nowe dofinansowanie do paneli fotowoltaicznych dla mieszkańców",
            "{town} szuka wolontariuszy do obsługi festynu rodzinnego",
        ),
        (
            "Rada miasta przyjęła uchwałę zdecydowaną większością głosów.",
            "Prace rozpoczną się wiosną i potrwają około sześciu miesięcy.",
            "Mieszkańców prosimy o korzystanie z oznakowanego objazdu.",
            "Wnioski można składać przez internet lub w biurze obsługi mieszkańców.",
            "Prezydent miasta podziękowała wszystkim za dobrą współpracę.",
            "Szczegółowych informacji udziela wydział inwestycji urzędu miasta.",
            "Inwestycja jest w jednej trzeciej finansowana ze środków unijnych.",
            "Dzieci do lat dwunastu jak zawsze wchodzą bezpłatnie.",
        ),
        ("Strona główna", "Urząd", "Załatw sprawę", "Aktualności", "Kultura"),
        "Urząd Miasta, ul. Nowe Ogrody – Deklaracja dostępności – Polityka prywatności",
    ),
    Language(
        "nl",
        ("Utrecht", "Gent", "Leuven", "Zwolle", "Haarlem", "Brugge"),
        (
            "{town}: gemeenteraad keurt nieuw fietspad goed",
            "Renovatie van de basisschool aan de Kerkstraat",
            "Bibliotheek {town} verruimt de openingstijden",
            "Wegafsluiting op de Stationsweg door rioleringswerken",
            "Nieuwe subsidie voor zonnepanelen op particuliere daken",
            "{town} zoekt vrijwilligers voor het zomerfeest in het park",
        ),
        (
            "De gemeenteraad heeft dinsdagavond met ruime meerderheid ingestemd.",
            "De werkzaamheden beginnen in het voorjaar en duren ongeveer zes maanden.",
            "Omwonenden worden gevraagd de aangegeven omleiding te volgen.",
            "Aanvragen kunnen online of aan de balie van het stadhuis worden "
            "ingediend.",
            "De burgemeester bedankte alle betrokkenen voor de goede samenwerking.",
            "Meer informatie is verkrijgbaar bij het klantcontactcentrum van de "
            "gemeente.",
            "Het project wordt voor een derde betaald door de provincie.",
            "Kinderen onder de twaalf jaar hebben zoals altijd gratis toegang.",
        ),
        ("Home", "Gemeente", "Producten", "Nieuws", "Cultuur", "Contact"),
        "Stadhuis, Markt 1 – Privacyverklaring – Toegankelijkheid – Cookies",
    ),
    Language(
        "sv",
        ("Uppsala", "Malmö", "Umeå", "Växjö", "Lund", "Gävle"),
        (
            "{town}: kommunfullmäktige beslutar om ny cykelväg",
            "Renovering av grundskolan vid Storgatan",
            "Stadsbiblioteket i {town} förlänger sina öppettider",
            "Avstängd gata på Drottninggatan på grund av ledningsarbeten",
            "Nytt bidrag för solceller på villatak i {town}",
            "{town} söker volontärer till sommarfesten i stadsparken",
        ),
        (
            "Kommunfullmäktige fattade beslutet med bred majoritet i tisdags.",
            "Arbetet beräknas starta i vår och pågå i ungefär sex månader.",
            "Boende i området ombeds följa den skyltade omledningen.",
            "Ansökan görs enklast via e-tjänsten eller i kommunens kontaktcenter.",
            "Kommunstyrelsens ordförande tackade alla inblandade för samarbetet.",
            "Mer information lämnas av stadsbyggnadskontoret på vardagar.",
            "Projektet finansieras till en tredjedel av regionen.",
            "Barn under tolv år går som vanligt in gratis.",
        ),
        ("Start", "Kommun och politik", "Förskola", "Nyheter", "Kultur", "Kontakt"),
        "Stadshuset, Stora torget 1 – Om webbplatsen – Tillgänglighet – Kakor",
    ),
    Language(
        "cs",
        ("Brno", "Olomouc", "Plzeň", "Liberec", "Třebíč", "Zlín"),
        (
            "{town}: zastupitelstvo schválilo novou cyklostezku",
            "Rekonstrukce základní školy v Husově ulici",
            "Městská knihovna v {town} prodlužuje otevírací dobu",
            "Uzavírka Masarykovy ulice kvůli opravě kanalizace",
            "Nová dotace na fotovoltaiku pro rodinné domy",
            "{town} hledá dobrovolníky na letní slavnosti v parku",
        ),
        (
            "Zastupitelstvo města návrh v úterý schválilo velkou většinou hlasů.",
            "Práce začnou na jaře a potrvají přibližně šest měsíců.",
            "Obyvatelé jsou žádáni, aby využili vyznačenou objížďku.",
            "Žádosti lze podávat elektronicky nebo na podatelně městského úřadu.",
            "Primátorka poděkovala všem zúčastněným za dobrou spolupráci.",
            "Bližší informace poskytne odbor investic městského úřadu.",
            "Stavba je z jedné třetiny financována z evropských fondů.",
            "Děti do dvanácti let mají jako vždy vstup zdarma.",
        ),
        ("Úvod", "Radnice", "Úřad", "Aktuality", "Kultura", "Kontakty"),
        "Magistrát města, náměstí Svobody 1 – Prohlášení o přístupnosti – Cookies",
    ),
    Language(
        "el",
        ("Θεσσαλονίκη", "Πάτρα", "Ηράκλειο", "Λάρισα", "Βόλος", "Χανιά"),
        (
            "{town}: το δημοτικό συμβούλιο εγκρίνει νέο ποδηλατόδρομο",
            "Εργασίες ανακαίνισης στο δημοτικό σχολείο του κέντρου",
            "Η δημοτική βιβλιοθήκη διευρύνει το ωράριο λειτουργίας",
            "Διακοπή κυκλοφορίας στην οδό Ερμού λόγω έργων",
            "Νέο πρόγραμμα επιδότησης για φωτοβολταϊκά σε κατοικίες",
            "{town}: αναζητούνται εθελοντές για τη γιορτή της πόλης",
        ),
        (
            "Το δημοτικό συμβούλιο ενέκρινε την πρόταση με μεγάλη πλειοψηφία.",
            "Οι εργασίες θα ξεκινήσουν την άνοιξη και θα διαρκέσουν έξι μήνες.",
            "Οι κάτοικοι παρακαλούνται να ακολουθούν την προσωρινή παράκαμψη.",
            "Οι αιτήσεις υποβάλλονται ηλεκτρονικά ή στο κέντρο εξυπηρέτησης πολιτών.",
            "Ο δήμαρχος ευχαρίστησε όλες τις υπηρεσίες για τη συνεργασία τους.",
            "Για περισσότερες πληροφορίες απευθυνθείτε στην τεχνική υπηρεσία.",
            "Το έργο χρηματοδοτείται κατά ένα τρίτο από ευρωπαϊκούς πόρους.",
            "Η είσοδος για παιδιά κάτω των δώδεκα ετών είναι δωρεάν.",
        ),
        ("Αρχική", "Δήμος", "Υπηρεσίες", "Νέα", "Πολιτισμός", "Επικοινωνία"),
        "Δημαρχείο, Πλατεία Δημαρχείου 1 – Όροι χρήσης – Προσβασιμότητα",
    ),
    Language(
        "bg",
        ("Пловдив", "Варна", "Бургас", "Русе", "Плевен", "Габрово"),
        (
            "{town}: общинският съвет одобри нова велоалея",
            "Ремонт на основното училище на улица Васил Левски",
            "Градската библиотека удължава работното си време",
            "Затваряне на булевард България заради ремонт на водопровода",
            "Нова програма за соларни панели на жилищни сгради",
            "{town} търси доброволци за празника на града",
        ),
        (
            "Общинският съвет прие предложението с голямо мнозинство във вторник.",
            "Работите ще започнат през пролетта и ще продължат около шест месеца.",
            "Живущите в района се молят да ползват обозначения обходен маршрут.",
            "Заявления се подават онлайн или в центъра за услуги на общината.",
            "Кметът благодари на всички служители за добрата съвместна работа.",
            "Повече информация може да получите в отдел Строителство.",
            "Проектът се финансира с една трета от европейски програми.",
            "Входът за деца до дванадесет години е безплатен.",
        ),
        ("Начало", "Община", "Услуги", "Новини", "Култура", "Контакти"),
        "Община, пл. Централен 1 – Политика за поверителност – Достъпност",
    ),
)

START = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Story:
    """One news item: what a feed entry and its article page both tell."""

    language: Language
    title: str
    paragraphs: tuple[str, ...]
    published: datetime
    link: str

    @property
    def teaser(self) -> str:
        return self.paragraphs[0].split(". ")[0].rstrip(".") + "."


def make_story(
    rng: random.Random, language: Language, link: str, paragraphs: int
) -> Story:
    town = rng.choice(language.towns)
    title = rng.choice(language.titles).format(town=town)
    texts = tuple(
        " ".join(rng.sample(language.sentences, rng.randint(2, 5)))
        for _ in range(paragraphs)
    )
    published = START + timedelta(minutes=rng.randint(0, 60 * 24 * 30))
    return Story(language, title, texts, published, link)


def render_feed(
    stories: list[Story], feed_url: str, title: str, atom: bool, full: bool
) -> bytes:
    """RSS 2.0 or Atom 1.0 bytes; ``full`` puts the whole text in each entry."""
    language = stories[0].language.code if stories else "en"
    if atom:
        return _atom(stories, feed_url, title, language, full).encode("utf-8")
    return _rss(stories, feed_url, title, language, full).encode("utf-8")


def _entry_html(story: Story, full: bool) -> str:
    paragraphs = story.paragraphs if full else (story.teaser,)
    return "".join(f"<p>{escape(text)}</p>" for text in paragraphs)


def _rss(stories: list[Story], url: str, title: str, language: str, full: bool) -> str:
    items = []
    for number, story in enumerate(stories):
        items.append(
            "<item>"
            f"<title>{escape(story.title)}</title>"
            f"<link>{escape(story.link)}</link>"
            f'<guid isPermaLink="false">{escape(url)}#{number}</guid>'
            f"<pubDate>{format_datetime(story.published)}</pubDate>"
            f"<category>{escape(story.language.menu[3])}</category>"
            f"<dc:creator>{escape(story.language.towns[0])}</dc:creator>"
            f"<description>{escape(_entry_html(story, full))}</description>"
            "</item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/">'
        f"<channel><title>{escape(title)}</title><link>{escape(url)}</link>"
        f"<description>{escape(title)}</description>"
        f"<language>{language}</language>{''.join(items)}</channel></rss>"
    )


def _atom(stories: list[Story], url: str, title: str, language: str, full: bool) -> str:
    entries = []
    for number, story in enumerate(stories):
        stamp = story.published.isoformat()
        entries.append(
            "<entry>"
            f"<title>{escape(story.title)}</title>"
            f'<link rel="alternate" href="{escape(story.link)}"/>'
            f"<id>{escape(url)}#{number}</id>"
            f"<published>{stamp}</published><updated>{stamp}</updated>"
            f"<author><name>{escape(story.language.towns[0])}</name></author>"
            f'<category term="{escape(story.language.menu[3])}"/>'
            f'<content type="html">{escape(_entry_html(story, full))}</content>'
            "</entry>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f'<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="{language}">'
        f"<title>{escape(title)}</title><id>{escape(url)}</id>"
        f'<link rel="self" href="{escape(url)}"/>'
        f"<updated>{START.isoformat()}</updated>{''.join(entries)}</feed>"
    )


def render_page(story: Story, rng: random.Random, related: list[Story]) -> bytes:
    """The article page of ``story``, inside the navigation and boilerplate of
    a municipal site: menu, breadcrumb, sidebar, footer and a cookie notice."""
    language = story.language
    menu = "".join(
        f'<li><a href="/{escape(item.lower())}/">{escape(item)}</a></li>'
        for item in language.menu
    )
    sidebar = "".join(
        f'<li><a href="{escape(other.link)}">{escape(other.title)}</a></li>'
        for other in related
    )
    body = "".join(f"<p>{escape(text)}</p>" for text in story.paragraphs)
    if rng.random() < 0.5:
        body += (
            "<ul>"
            + "".join(
                f"<li>{escape(text)}</li>" for text in rng.sample(language.sentences, 3)
            )
            + "</ul>"
        )
    image = f"{story.link.rsplit('/', 1)[0]}/images/{rng.randint(1, 999)}.jpg"
    stamp = story.published.isoformat()
    return (
        f'<!DOCTYPE html><html lang="{language.code}"><head><meta charset="utf-8">'
        f"<title>{escape(story.title)} – {escape(language.towns[0])}</title>"
        f'<link rel="canonical" href="{escape(story.link)}">'
        f'<meta property="og:image" content="{escape(image)}">'
        f'<meta property="article:published_time" content="{stamp}">'
        '<link rel="stylesheet" href="/assets/site.css">'
        "<script>window.dataLayer=window.dataLayer||[];</script></head><body>"
        f'<header><nav class="main-menu"><ul>{menu}</ul></nav>'
        f'<form class="search"><input name="q"><button>{escape(language.menu[0])}'
        "</button></form></header>"
        f'<nav class="breadcrumb"><a href="/">{escape(language.menu[0])}</a> › '
        f'<a href="/news/">{escape(language.menu[3])}</a></nav>'
        f'<main><article><h1>{escape(story.title)}</h1><p class="date">'
        f'<time datetime="{stamp}">{story.published:%d.%m.%Y}</time></p>'
        f'<figure><img src="{escape(image)}" alt="{escape(story.title)}">'
        f"</figure>{body}</article></main>"
        f'<aside class="related"><h2>{escape(language.menu[3])}</h2>'
        f"<ul>{sidebar}</ul></aside>"
        f'<footer><ul class="footer-menu">{menu}</ul>'
        f"<p>{escape(language.footer)}</p></footer>"
        '<div class="cookie-banner"><p>Cookies</p><button>OK</button></div>'
        "</body></html>"
    ).encode()


def make_feed(
    rng: random.Random,
    feed_url: str,
    link_base: str,
    size: int,
    language: Language,
    atom: bool,
    full: bool = True,
) -> tuple[bytes, list[Story]]:
    """A feed of 20 stories about ``size`` bytes long (longer stories, longer
    feed), linking to articles under ``link_base``."""
    title = f"{language.menu[3]} – {rng.choice(language.towns)}"
    body = b""
    stories: list[Story] = []
    for paragraphs in range(1, 16):
        seed = rng.random()
        local = random.Random(seed)
        stories = [
            make_story(local, language, f"{link_base}/{number}", paragraphs)
            for number in range(20)
        ]
        body = render_feed(stories, feed_url, title, atom, full)
        if len(body) >= size:
            break
    return body, stories
