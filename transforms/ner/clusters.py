"""Word clusters derived from the training text alone (Brown-cluster stand-in).

Each frequent lower-cased word is described by the words seen left and right of it
(positive PMI over the ``CONTEXT_WORDS`` most frequent words), reduced to ``DIMENSIONS``
by a randomised truncated SVD, and grouped by spherical k-means at two granularities.
Rare words that share contexts with frequent names ("i <city>", "<given name> <surname>")
then share a cluster feature, which carries what the model learned about the frequent
ones. Deterministic for a seed; numpy only. Stored as ``word<TAB>coarse<TAB>fine``.
"""

from __future__ import annotations

import gzip
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

MIN_COUNT = 4
MAX_WORDS = 60_000
CONTEXT_WORDS = 1000
DIMENSIONS = 96
GRANULARITIES = (64, 512)
KMEANS_ITERATIONS = 12


def derive_clusters(sentences: Iterable[Sequence[str]], seed: int) -> dict[str, tuple[str, str]]:
    """Lower-cased word -> (coarse, fine) cluster ids, from tokenised sentences."""
    lowered = [[w.lower() for w in s] for s in sentences]
    counts = Counter(w for s in lowered for w in s)
    vocab = [w for w, c in counts.most_common(MAX_WORDS) if c >= MIN_COUNT]
    index = {w: i for i, w in enumerate(vocab)}
    context = {w: i for i, w in enumerate(vocab[:CONTEXT_WORDS])}
    rows: list[int] = []
    cols: list[int] = []
    for sentence in lowered:
        padded = ["<s>", *sentence, "</s>"]
        for k in range(1, len(padded) - 1):
            row = index.get(padded[k])
            if row is None:
                continue
            left = context.get(padded[k - 1], -1)
            right = context.get(padded[k + 1], -1)
            if left >= 0:
                rows.append(row)
                cols.append(left)
            if right >= 0:
                rows.append(row)
                cols.append(CONTEXT_WORDS + right)
    rng = np.random.default_rng(seed)
    pairs, pair_counts = np.unique(
        np.asarray(rows, dtype=np.int64) * (2 * CONTEXT_WORDS) + np.asarray(cols),
        return_counts=True,
    )
    words, contexts = pairs // (2 * CONTEXT_WORDS), pairs % (2 * CONTEXT_WORDS)
    # Positive PMI: frequent contexts ("," "the") weigh less than telling ones ("i", "Mr.").
    word_totals = np.bincount(words, weights=pair_counts, minlength=len(vocab))
    context_totals = np.bincount(contexts, weights=pair_counts, minlength=2 * CONTEXT_WORDS)
    pmi = np.log(pair_counts * pair_counts.sum() / (word_totals[words] * context_totals[contexts]))
    weights = np.maximum(pmi, 0).astype(np.float32)
    matrix = np.zeros((len(vocab), 2 * CONTEXT_WORDS), dtype=np.float32)
    matrix[words, contexts] = weights
    # Randomised truncated SVD (Halko et al.): the top DIMENSIONS directions of the PPMI rows.
    sketch = matrix @ rng.standard_normal((2 * CONTEXT_WORDS, DIMENSIONS + 16)).astype(np.float32)
    basis, _ = np.linalg.qr(sketch)
    small_u, singular, _ = np.linalg.svd(basis.T @ matrix, full_matrices=False)
    del matrix
    vectors = (basis @ small_u[:, :DIMENSIONS]) * np.sqrt(singular[:DIMENSIONS])
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True) + 1e-6
    labels = [_spherical_kmeans(vectors, k, rng) for k in GRANULARITIES]
    return {w: (str(labels[0][i]), str(labels[1][i])) for i, w in enumerate(vocab)}


def _spherical_kmeans(vectors: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    k = min(k, len(vectors))
    centroids = vectors[rng.choice(len(vectors), size=k, replace=False)].copy()
    assignment = np.zeros(len(vectors), dtype=np.int64)
    for _ in range(KMEANS_ITERATIONS):
        for start in range(0, len(vectors), 8192):
            block = vectors[start : start + 8192]
            assignment[start : start + 8192] = np.argmax(block @ centroids.T, axis=1)
        sums = np.zeros_like(centroids)
        np.add.at(sums, assignment, vectors)
        norms = np.linalg.norm(sums, axis=1, keepdims=True)
        empty = norms[:, 0] == 0
        centroids = np.where(empty[:, None], centroids, sums / np.maximum(norms, 1e-6))
    return assignment


def write_clusters(path: Path, clusters: dict[str, tuple[str, str]]) -> None:
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        for word, (coarse, fine) in clusters.items():
            if "\t" not in word and "\n" not in word:
                handle.write(f"{word}\t{coarse}\t{fine}\n")


def read_clusters(path: Path) -> dict[str, tuple[str, str]]:
    """The clusters file written by ``write_clusters``; empty when the file is absent."""
    if not path.is_file():
        return {}
    clusters: dict[str, tuple[str, str]] = {}
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            word, coarse, fine = line.rstrip("\n").split("\t")
            clusters[word] = (coarse, fine)
    return clusters
