"""What dedup compares: normalised text, its shingles, MinHash and LSH bands.

An item's text is case-folded, stripped of accents and punctuation and cut
into overlapping runs of words (shingles). Two texts are as alike as the
Jaccard similarity of their shingle sets. A MinHash signature estimates that
similarity in constant space, and its locality-sensitive bands turn "which
stored texts are alike?" into a few exact look-ups: two texts share a band
when all the band's rows of their signatures agree.

Band layout. With ``b`` bands of ``r`` rows, two texts of similarity ``s``
share at least one band with probability ``1 - (1 - s**r)**b`` (the S-curve);
its steepest point is near ``(1/b)**(1/r)``. The defaults, 64 permutations
cut into 21 bands of 3 rows (the 64th row is left out), give:

    s         0.05   0.2    0.3    0.4    0.5    0.6    0.7    0.8
    P(found)  0.003  0.16   0.44   0.75   0.94   0.994  1.000  1.000

so copies at the threshold (0.5) are candidates 94% of the time and at 0.6
or more practically always, while texts that only share common phrases
(similarity 0.05 or less) rarely cost a look-up. On the benchmark's edited
copies (``benchmarks/dedup.py``) the curves predict 96% found at 0.5 with 16
bands of 4 rows and 97% with 21 of 3, for a third more rows in the index.
Every candidate is then confirmed by the exact Jaccard similarity of the
shingle sets, so the band layout trades look-ups for recall, never precision.
"""

from __future__ import annotations

import hashlib
import re
import struct
import unicodedata
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from datasketch import MinHash

# Words are runs of letters and digits in any script.
_WORD = re.compile(r"\w+")
_ACCENT = re.compile(r"[\u0300-\u036f]")
# The seed fixes the permutations: signatures stored with one seed cannot be
# compared with signatures of another, so it never changes.
_SEED = 20261204
# datasketch 2's default permutations; named so a future default cannot
# silently make stored signatures incomparable.
_SCHEME = "affine32"


@dataclass(frozen=True)
class Fingerprint:
    """The dedup view of one text."""

    words: int
    text_hash: str
    shingles: frozenset[int]
    minhash: bytes

    def bands(self, bands: int) -> list[tuple[int, int]]:
        return band_hashes(self.minhash, bands)


def normalise_words(text: str) -> list[str]:
    """The words of ``text`` in lower case without accents or punctuation."""
    folded = unicodedata.normalize("NFKD", text.casefold())
    return _WORD.findall(_ACCENT.sub("", folded))


def shingles(words: Sequence[str], size: int) -> frozenset[int]:
    """Hashes of the runs of ``size`` consecutive words.

    crc32 is enough here: datasketch mixes every input hash before permuting,
    and within one text a collision only makes two shingles one.
    """
    if len(words) <= size:
        return (
            frozenset((zlib.crc32(" ".join(words).encode("utf-8")),))
            if words
            else frozenset()
        )
    return frozenset(
        zlib.crc32(" ".join(words[start : start + size]).encode("utf-8"))
        for start in range(len(words) - size + 1)
    )


def fingerprint(text: str, shingle_words: int, permutations: int) -> Fingerprint:
    """The fingerprint of one text."""
    return fingerprints([text], shingle_words, permutations)[0]


def fingerprints(
    texts: Sequence[str], shingle_words: int, permutations: int
) -> list[Fingerprint]:
    """Fingerprints of many texts at once (datasketch's bulk API is faster)."""
    words = [normalise_words(text) for text in texts]
    sets = [shingles(each, shingle_words) for each in words]
    signatures = MinHash.bulk(
        ([value for value in each] for each in sets),
        num_perm=permutations,
        seed=_SEED,
        hashfunc=int,
        scheme=_SCHEME,
    )
    return [
        Fingerprint(
            words=len(each),
            text_hash=_text_hash(each),
            shingles=shingle_set,
            minhash=signature.hashvalues.astype("<u4").tobytes(),
        )
        for each, shingle_set, signature in zip(words, sets, signatures, strict=True)
    ]


def band_hashes(minhash: bytes, bands: int) -> list[tuple[int, int]]:
    """(band index, band hash) of a signature cut into ``bands`` equal bands.

    The hash is a signed 32-bit integer: small in the index, and a chance
    collision only adds a candidate that the exact check turns away.
    """
    values = np.frombuffer(minhash, dtype="<u4")
    rows = len(values) // bands
    if rows == 0:
        raise ValueError(f"{len(values)} permutations cannot make {bands} bands")
    result = []
    for band in range(bands):
        chunk = values[band * rows : (band + 1) * rows].tobytes()
        (value,) = struct.unpack("<i", hashlib.blake2b(chunk, digest_size=4).digest())
        result.append((band, value))
    return result


def estimated_similarity(first: bytes, second: bytes) -> float:
    """The Jaccard similarity two signatures estimate."""
    a = np.frombuffer(first, dtype="<u4")
    b = np.frombuffer(second, dtype="<u4")
    if len(a) != len(b) or not len(a):
        return 0.0
    return float(np.count_nonzero(a == b)) / len(a)


def jaccard(first: frozenset[int], second: frozenset[int]) -> float:
    """The exact Jaccard similarity of two shingle sets."""
    if not first or not second:
        return 0.0
    common = len(first & second)
    return common / (len(first) + len(second) - common)


def _text_hash(words: Sequence[str]) -> str:
    return hashlib.sha256(" ".join(words).encode("utf-8")).hexdigest()[:32]
