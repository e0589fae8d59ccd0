"""A digest as the reader sees it: the new stories of their regions grouped by
region and topic, rendered in their language as text and HTML.

The stories part of a digest is the same for every subscription with the
same wishes and language, so it is rendered once per run and only the
links that open one subscription are rendered per message.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from markupsafe import Markup, escape

from publisher.i18n import N_
from publisher.mails import MailTemplates, OutgoingMail, assemble_message
from storage.digest_stories import StoryCard, StoryText

OTHER_NEWS = N_("Other news")


@dataclass(frozen=True, slots=True)
class TopicGroup:
    title: str
    stories: tuple[StoryText, ...]


@dataclass(frozen=True, slots=True)
class RegionSection:
    title: str
    groups: tuple[TopicGroup, ...]


@dataclass(frozen=True, slots=True)
class Digest:
    """What one digest holds, ready to render."""

    locale: str
    frequency: str
    sections: tuple[RegionSection, ...]
    stories: int
    # Stories beyond the digest's limit, left for the portal.
    more: int


@dataclass(frozen=True, slots=True)
class RenderedDigest:
    subject: str
    text: str
    html: str
    stories: int


@dataclass(frozen=True, slots=True)
class DigestLinks:
    manage: str
    unsubscribe: str
    # An address whose mail is read, offered as the second way out.
    unsubscribe_mailto: str = ""


def group_digest(
    cards: Sequence[StoryCard],
    *,
    locale: str,
    frequency: str,
    regions: Sequence[str],
    topics: Sequence[str],
    languages: Sequence[str],
    region_names: Mapping[str, str],
    topic_labels: Mapping[str, Mapping[str, str]],
    other_news: str,
    max_stories: int,
) -> Digest:
    """Each story once: under the first of the reader's regions it belongs
    to, then under its best topic among theirs; newest first."""
    shown = sorted(cards, key=lambda card: card.headline.published_at, reverse=True)
    kept = shown[:max_stories]
    placed: set[int] = set()
    sections = []
    for code in regions:
        by_topic: dict[str, list[StoryText]] = {}
        for card in kept:
            if card.story_id in placed or code not in card.regions:
                continue
            placed.add(card.story_id)
            slug = next((s for s in card.topics if not topics or s in topics), "")
            by_topic.setdefault(slug, []).append(card.text_for(locale, languages))
        if by_topic:
            groups = tuple(
                TopicGroup(
                    _topic_title(slug, topic_labels, locale, other_news), tuple(texts)
                )
                for slug, texts in sorted(
                    by_topic.items(), key=lambda pair: pair[0] == ""
                )
            )
            sections.append(RegionSection(region_names.get(code, code), groups))
    return Digest(locale, frequency, tuple(sections), len(kept), len(shown) - len(kept))


def _topic_title(
    slug: str, labels: Mapping[str, Mapping[str, str]], locale: str, other: str
) -> str:
    if not slug:
        return other
    names = labels.get(slug, {})
    return names.get(locale) or names.get("en") or slug


# Where each subscriber's own links go in a digest rendered once for many.
_MARKS = DigestLinks("\x1amanage\x1a", "\x1aunsubscribe\x1a")
_STORIES = "\x1astories\x1a"
_SUBJECT = "\x1asubject\x1a"


def render_digest(
    templates: MailTemplates, digest: Digest, portal_url: str
) -> RenderedDigest:
    """A digest for every subscriber with the same wishes: the subject and
    both forms, with marks where each subscriber's links go. Each story is
    rendered once per language and run, however many digests hold it."""
    locale = digest.locale

    def text_part(story: StoryText) -> str:
        return templates.fragment(
            "digest_story.txt", locale, story.item_id, {"story": story}
        )

    def html_part(story: StoryText) -> Markup:
        return Markup(
            templates.fragment(
                "digest_story.html", locale, story.item_id, {"story": story}
            )
        )

    subject = templates.fragment(
        "digest_subject.txt",
        locale,
        (digest.frequency, digest.stories),
        {"frequency": digest.frequency, "stories": digest.stories},
    ).strip()
    values = {"digest": digest, "portal_url": portal_url}
    text = templates.render(
        "digest_stories.txt", locale, {**values, "story_part": text_part}
    )
    html = templates.render(
        "digest_stories.html", locale, {**values, "story_part": html_part}
    )
    # The frame around the stories is the same for every digest of a language.
    marks = RenderedDigest(_SUBJECT, _STORIES, _STORIES, 0)
    frame = {"stories": marks, "links": _MARKS}
    text_frame = templates.fragment("digest.txt", locale, "frame", frame)
    html_frame = templates.fragment("digest.html", locale, "frame", frame)
    return RenderedDigest(
        subject,
        text_frame.replace(_STORIES, text),
        html_frame.replace(_SUBJECT, escape(subject)).replace(_STORIES, html),
        digest.stories,
    )


def digest_message(
    rendered: RenderedDigest,
    *,
    sender: str,
    to: str,
    links: DigestLinks,
    message_id: str,
    now: datetime,
) -> OutgoingMail:
    """One subscriber's digest, with RFC 8058 one-click unsubscribe headers.

    The mail server must sign List-Unsubscribe and List-Unsubscribe-Post
    with DKIM for mailbox providers to offer the one-click button.
    """
    text = rendered.text.replace(_MARKS.manage, links.manage).replace(
        _MARKS.unsubscribe, links.unsubscribe
    )
    html = rendered.html.replace(_MARKS.manage, escape(links.manage)).replace(
        _MARKS.unsubscribe, escape(links.unsubscribe)
    )
    ways_out = f"<{links.unsubscribe}>"
    if links.unsubscribe_mailto:
        ways_out += f", <mailto:{links.unsubscribe_mailto}?subject=unsubscribe>"
    return assemble_message(
        sender=sender,
        to=to,
        subject=rendered.subject,
        text=text,
        html=html,
        message_id=message_id,
        date=now,
        headers={
            "List-Unsubscribe": ways_out,
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )
