"""Why an extractor could not turn bytes into entries.

The extractors know nothing of the conductor, so their errors stand on their
own; the pipeline records them on the source like any fetch failure.

    ExtractionError
     ├── NotAFeed      the bytes are no RSS, Atom or RDF feed
     ├── NotAPage      the bytes are no HTML page with article links
     └── NotAnArticle  the bytes are no HTML page with a main text
"""


class ExtractionError(Exception):
    """The content could not be turned into entries."""

    kind = "extraction"

    def __init__(self, message: str, *, url: str = "") -> None:
        super().__init__(message)
        self.url = url


class NotAFeed(ExtractionError):
    kind = "not_a_feed"


class NotAPage(ExtractionError):
    kind = "not_a_page"


class NotAnArticle(ExtractionError):
    kind = "not_an_article"
