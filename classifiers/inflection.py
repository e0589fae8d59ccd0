"""Stems of inflected place names, by rules per language family.

Czech writes "v Brně", "s Brnem" for Brno; Finnish "Helsingissä"; Hungarian
"Szegeden". Cutting the case ending from both the name and the word of the
text lets them meet at one stem ("brn"). A rule, not a dictionary: stems must
keep three letters, and forms that change the stem itself (Praha, v Praze)
are not found.
"""

from __future__ import annotations

# Longest endings first, so that "ách" is cut before "h".
_SLAVIC = (
    "owie ach ami ách ech ích ého ému ími ový ová ové owi iem ich ych ów ym ím ým ie "
    "ii iu em om ou ov ą ę a e ě i í o u y ý á é"
)
_ENDINGS = {
    "slavic": _SLAVIC,
    "baltic": (
        "ėje oje uje yje ams ame ose ės os as is ys us ai ei ą ę į ų ā ē ī ū o e a "
        "ė u s š"
    ),
    "finnic": (
        "ssa ssä sta stä lla llä lta ltä lle ksi iin ään seen ssa na nä an en in "
        "on un yn sse st ga ni ks n s l"
    ),
    "hungarian": (
        "ban ben ból ből ról ről hoz hez höz nak nek nál nél tól től val vel ért "
        "ba be ra re on en ön ig i n"
    ),
    # Greek is compared case-folded, where the final sigma is a plain sigma.
    "greek": "ουσ ων ου ασ ησ εσ οσ σ α η ο",
    "germanic": "s",
}
_SORTED_ENDINGS = {
    family: tuple(sorted(endings.split(), key=len, reverse=True))
    for family, endings in _ENDINGS.items()
}
FAMILIES = {
    **dict.fromkeys(("bg", "cs", "hr", "pl", "sk", "sl"), "slavic"),
    **dict.fromkeys(("lt", "lv"), "baltic"),
    **dict.fromkeys(("et", "fi"), "finnic"),
    "hu": "hungarian",
    "el": "greek",
    **dict.fromkeys(("da", "de", "nl", "sv"), "germanic"),
}
MIN_STEM = 3
_ALTERNATIONS = {"z": "h", "c": "k", "ň": "n", "ť": "t", "ď": "d"}
_VOWELS = frozenset("aeiouyáéíóúýěůą")


def family_of(language: str | None) -> str | None:
    """The family whose rules apply to a language; None: names do not inflect."""
    return FAMILIES.get((language or "").lower())


def stem(word: str, family: str | None) -> str:
    """The word without its case ending, or the word itself.

    ``word`` is case-folded. Germanic languages only add a genitive -s
    (Wiens, Amsterdams); a word is left whole when cutting would leave fewer
    than three letters.
    """
    if family is None:
        return word
    for ending in _SORTED_ENDINGS[family]:
        if word.endswith(ending) and len(word) - len(ending) >= MIN_STEM:
            word = word[: -len(ending)]
            break
    if family == "slavic":
        return soften(word)
    return word


def soften(stem: str) -> str:
    """One form for the stem changes Czech and Slovak make before endings:
    Praha, v Praze (h/z); Amerika, v Americe (k/c); Vídeň, ve Vídni and
    Liberec, v Liberci (the e that drops out, ň/n)."""
    last = _ALTERNATIONS.get(stem[-1], stem[-1])
    stem = stem[:-1] + last
    dropped = stem[-2:-1] == "e" and stem[-1] not in _VOWELS
    if dropped and len(stem) > MIN_STEM + 1 and stem[-3] not in _VOWELS:
        stem = stem[:-2] + stem[-1]
    return stem
