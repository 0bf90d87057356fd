"""Exact and near-duplicate fingerprints of the clean text: ``fingerprint(doc)``.

``content_hash`` (sha256 of the normalised text) catches byte-for-byte reposts
after whitespace/quote/case changes. The 64-bit SimHash (Charikar) over word
2-shingles catches syndicated copies with a few words changed or a paragraph
dropped: such copies differ in a handful of bits, different articles in ~32.

For Elasticsearch, ``simhash_bands`` splits the hash into ``SIMHASH_BANDS``
exact terms. By the pigeonhole principle two hashes at Hamming distance
``<= NEAR_DUPLICATE_MAX_DISTANCE`` (< ``SIMHASH_BANDS``) agree on at least one
band, so a ``terms`` query on the bands finds every near duplicate; the exact
distance is then checked on the few hits.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import unicodedata
import zlib

import numpy as np

from transforms.document import Document, Fingerprint

SIMHASH_BITS = 64
SHINGLE_SIZE = 2
# Measured on tests/data/entities/ (see docs/entities.md): light edits (words changed,
# a paragraph dropped) stayed <= 13 bits apart, different articles on one topic >= 25.
NEAR_DUPLICATE_MAX_DISTANCE = 14
SIMHASH_BANDS = NEAR_DUPLICATE_MAX_DISTANCE + 1  # pigeonhole: one band must match
_WORD = re.compile(r"[^\W_]+")


def _combining_marks() -> re.Pattern[str]:
    marks = [chr(c) for c in range(0x10000) if unicodedata.combining(chr(c))]
    return re.compile("[" + "".join(map(re.escape, marks)) + "]+")


_COMBINING = _combining_marks()
# Odd 64-bit constants (from splitmix64) to mix three word hashes into one shingle hash.
_K2, _K3 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)
_POSITION_KEYS = [
    np.uint64(k) for k in (0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9)
]


def normalise_text(text: str) -> str:
    """Case-, accent-, punctuation- and whitespace-insensitive form of a text."""
    folded = text.casefold()
    if not folded.isascii():
        folded = _COMBINING.sub("", unicodedata.normalize("NFKD", folded))
    return " ".join(_WORD.findall(folded))


def content_hash(text: str) -> str:
    """sha256 hex of the normalised text."""
    return _content_hash(normalise_text(text))


def _content_hash(normalised: str) -> str:
    return hashlib.sha256(normalised.encode("utf-8")).hexdigest()


def simhash(text: str) -> str:
    """64-bit SimHash over word 2-shingles of the normalised text, as 16 hex digits."""
    return _simhash(normalise_text(text))


def _word_hashes(words: list[str]) -> np.ndarray:
    """A stable 64-bit value per word (two CRC-32s; ``_mix`` spreads them)."""
    table: dict[str, int] = {}
    for word in words:
        if word not in table:
            data = word.encode("utf-8")
            table[word] = zlib.crc32(data) << 32 | zlib.crc32(data, 0x5BD1E995)
    return np.fromiter((table[w] for w in words), dtype=np.uint64, count=len(words))


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: every input bit affects every output bit."""
    x = (x ^ (x >> np.uint64(30))) * _K2
    x = (x ^ (x >> np.uint64(27))) * _K3
    mixed: np.ndarray = x ^ (x >> np.uint64(31))
    return mixed


def _simhash(normalised: str) -> str:
    words = normalised.split()
    if not words:
        return "0" * 16
    hashes = _word_hashes(words)
    size = min(SHINGLE_SIZE, len(words))
    count = len(words) - size + 1
    # A shingle's hash depends on its words and their order (one multiplier per position).
    with np.errstate(over="ignore"):
        combined = np.zeros(count, dtype=np.uint64)
        for position in range(size):
            combined += _mix(hashes[position : position + count]) * _POSITION_KEYS[position]
        features = _mix(combined)
    # One row of 64 bits per feature; a SimHash bit is set when most features have it.
    bits = np.unpackbits(features.astype(">u8").view(np.uint8)).reshape(len(features), 64)
    majority = bits.sum(axis=0, dtype=np.int64) * 2 > len(features)
    return bytes(np.packbits(majority)).hex()


def simhash_distance(a: str, b: str) -> int:
    """Hamming distance between two SimHashes given as hex strings."""
    return (int(a, 16) ^ int(b, 16)).bit_count()


def is_near_duplicate(
    a: Fingerprint, b: Fingerprint, max_distance: int = NEAR_DUPLICATE_MAX_DISTANCE
) -> bool:
    """Same normalised text, or SimHashes at most ``max_distance`` bits apart."""
    if a.content_hash == b.content_hash:
        return True
    return simhash_distance(a.simhash, b.simhash) <= max_distance


def simhash_bands(h: str, bands: int = SIMHASH_BANDS) -> list[str]:
    """The hash cut into ``bands`` contiguous bit ranges, each an exact term "i:bits".

    Two hashes within ``bands - 1`` bits share at least one term (pigeonhole).
    """
    if not 1 <= bands <= SIMHASH_BITS:
        raise ValueError(f"bands={bands} must be between 1 and {SIMHASH_BITS}.")
    value = int(h, 16)
    terms: list[str] = []
    for i in range(bands):
        low = i * SIMHASH_BITS // bands
        high = (i + 1) * SIMHASH_BITS // bands
        chunk = (value >> low) & ((1 << (high - low)) - 1)
        terms.append(f"{i}:{chunk:x}")
    return terms


def fingerprint(doc: Document) -> Document:
    """A new document with ``fingerprint`` set from its clean text."""
    normalised = normalise_text(doc.text)
    return dataclasses.replace(
        doc, fingerprint=Fingerprint(_content_hash(normalised), _simhash(normalised))
    )
