"""Item and user features for the hybrid model: one code path for training and for new users.

Items: category, price band, and the words of the description ("word:lantern"). Users: country,
and device class when the event log knows it. Feature names are plain strings, so the same
function turns a catalog row or a visitor's context into the same columns every time.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np
import scipy.sparse as sp

_WORD = re.compile(r"[a-z]{3,}")
# words that say nothing about what a product is
STOPWORDS = frozenset(
    {"and", "the", "for", "with", "set", "of", "in", "pack", "assorted", "colour", "design"}
)


def words(title: str) -> list[str]:
    """Distinct lower-case words of a product title worth a feature each."""
    seen: dict[str, None] = {}
    for w in _WORD.findall(str(title or "").lower()):
        if w not in STOPWORDS:
            seen[w] = None
    return list(seen)


def item_tokens(title: str, category: str | None, band: str | None) -> list[str]:
    """The features of one product."""
    out = [f"category:{category or 'other'}", f"band:{band or 'unknown'}"]
    return out + [f"word:{w}" for w in words(title)]


def user_tokens(country: str | None, device: str | None = None) -> list[str]:
    """The features of one shopper: where they are, and on what when known."""
    out = [f"country:{country}"] if country else []
    if device and device not in ("unknown", "bot"):
        out.append(f"device:{device}")
    return out


def vocabulary(rows: Iterable[Sequence[str]], min_count: int = 1) -> tuple[str, ...]:
    """Feature names used by at least min_count rows (rare description words are noise)."""
    counts = Counter(tok for row in rows for tok in set(row))
    keep = [t for t, c in counts.items() if c >= min_count or not t.startswith("word:")]
    return tuple(sorted(keep))


def matrix(rows: Sequence[Sequence[str]], names: Sequence[str]) -> sp.csr_matrix:
    """rows x names, 1.0 where a row has a feature; names outside the vocabulary are ignored."""
    index = {n: i for i, n in enumerate(names)}
    indptr = [0]
    indices: list[int] = []
    for row in rows:
        cols = sorted({index[t] for t in row if t in index})
        indices.extend(cols)
        indptr.append(len(indices))
    data = np.ones(len(indices), dtype=np.float32)
    return sp.csr_matrix((data, indices, indptr), shape=(len(rows), len(names)))


def item_features(
    titles: Sequence[str],
    categories: Sequence[str | None],
    bands: Sequence[str | None],
    min_word_count: int = 3,
) -> tuple[sp.csr_matrix, tuple[str, ...]]:
    """items x features for the given products (in item index order), and the names."""
    rows = [item_tokens(t, c, b) for t, c, b in zip(titles, categories, bands, strict=True)]
    names = vocabulary(rows, min_word_count)
    return matrix(rows, names), names


def user_features(
    countries: Sequence[str | None],
    devices: Sequence[str | None] | None = None,
    names: Sequence[str] | None = None,
) -> tuple[sp.csr_matrix, tuple[str, ...]]:
    """users x features; pass the training names to describe new users in the same columns."""
    devices = devices if devices is not None else [None] * len(countries)
    rows = [user_tokens(c, d) for c, d in zip(countries, devices, strict=True)]
    names = tuple(names) if names is not None else vocabulary(rows)
    return matrix(rows, names), names
