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
# An odd 32-bit multiplier (the golden ratio's) to combine hashes in order.
_MULTIPLIER = np.uint64(0x9E3779B1)
_MASK = np.uint64(0xFFFFFFFF)


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
    """32-bit hashes of the runs of ``size`` consecutive words.

    Each word is hashed once (crc32) and a run's hash combines its words' in
    order, which is several times faster than hashing every run's text;
    datasketch mixes every input hash again before permuting.
    """
    if not words:
        return frozenset()
    hashes = np.fromiter(
        (zlib.crc32(word.encode("utf-8")) for word in words), np.uint64, len(words)
    )
    runs = max(1, len(words) - size + 1)
    combined = np.zeros(runs, dtype=np.uint64)
    for offset in range(min(size, len(words))):
        combined = (combined * _MULTIPLIER + hashes[offset : offset + runs]) & _MASK
    return frozenset(combined.tolist())


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

    The hash covers the band's index too, so equal rows in different bands
    hash apart. It is a signed 32-bit integer: small in the index, and a
    chance collision only adds a candidate that the exact check turns away.
    """
    values = np.frombuffer(minhash, dtype="<u4").astype(np.uint64)
    rows = len(values) // bands
    if rows == 0:
        raise ValueError(f"{len(values)} permutations cannot make {bands} bands")
    table = values[: bands * rows].reshape(bands, rows)
    hashes = np.arange(1, bands + 1, dtype=np.uint64)
    for row in range(rows):
        hashes = (hashes * _MULTIPLIER + table[:, row]) & _MASK
    mixed = _mix(hashes).astype(np.uint32).view(np.int32)
    return list(enumerate(mixed.tolist()))


def _mix(values: np.ndarray) -> np.ndarray:
    # The 32-bit finaliser of MurmurHash3: every input bit moves every output
    # bit, so neighbouring band values land far apart in the index.
    values = values ^ (values >> np.uint64(16))
    values = (values * np.uint64(0x85EBCA6B)) & _MASK
    values = values ^ (values >> np.uint64(13))
    values = (values * np.uint64(0xC2B2AE35)) & _MASK
    return values ^ (values >> np.uint64(16))


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
