"""Exact ranks of values spread over the partitions of a cluster.

Quantile scores (RFM) need the values at given positions of the sorted multiset of all
values, and for those values how many are smaller / equal and which value comes next.
Nothing is sampled or sketched: each value's 64-bit order-preserving key is refined 16
bits at a time by summed histograms (one small pass per 16 bits, usually two or three in
all), and once a target's key range holds few values they are gathered exactly.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

_STEP = 16                 # key bits resolved per histogram pass
_GATHER = 200_000          # values in a target's key range small enough to gather
_SIGN = np.uint64(1 << 63)


def keys(values: np.ndarray) -> np.ndarray:
    """Order-preserving uint64 keys of finite float64 values (-0.0 and 0.0 share one)."""
    v = np.ascontiguousarray(values, dtype=np.float64) + 0.0      # -0.0 -> 0.0
    b = v.view(np.uint64)
    return np.where(b >> np.uint64(63) != 0, ~b, b | _SIGN)


def from_keys(k: np.ndarray) -> np.ndarray:
    """Inverse of :func:`keys`."""
    k = np.asarray(k, dtype=np.uint64)
    b = np.where(k & _SIGN != 0, k & ~_SIGN, ~k)
    return b.view(np.float64)


def _top(k: np.ndarray, bits: int) -> np.ndarray:
    return np.zeros(k.shape, np.uint64) if bits == 0 else k >> np.uint64(64 - bits)


# ---------------------------------------------------------------- per-partition tasks
def histogram(sorted_values: np.ndarray, prefixes: np.ndarray, bits: int) -> dict[int, Any]:
    """For each prefix (top ``bits`` bits of a key): counts of the next 16 bits."""
    k = keys(sorted_values)
    top = _top(k, bits)
    nxt = (k >> np.uint64(64 - bits - _STEP)) & np.uint64((1 << _STEP) - 1)
    out: dict[int, Any] = {}
    for p in prefixes:
        sel = top == np.uint64(p)
        b, c = np.unique(nxt[sel], return_counts=True)
        out[int(p)] = (b.astype(np.uint64), c.astype(np.int64))
    return out


def gather(sorted_values: np.ndarray, prefixes: np.ndarray, bits: int) -> dict[int, np.ndarray]:
    """The values whose key starts with each prefix."""
    top = _top(keys(sorted_values), bits)
    return {int(p): sorted_values[top == np.uint64(p)] for p in prefixes}


def neighbourhood(sorted_values: np.ndarray, q: np.ndarray) -> tuple[np.ndarray, ...]:
    """Per query value: count below, count equal, smallest value above (inf if none)."""
    v = np.asarray(sorted_values, dtype=np.float64)
    lo = np.searchsorted(v, q, side="left")
    hi = np.searchsorted(v, q, side="right")
    if v.size:
        nxt = np.where(hi < v.size, v[np.minimum(hi, v.size - 1)], np.inf)
    else:
        nxt = np.full(len(q), np.inf)
    return lo.astype(np.int64), (hi - lo).astype(np.int64), np.asarray(nxt, dtype=np.float64)


# ---------------------------------------------------------------- combining
def _add_hist(a: dict[int, Any], b: dict[int, Any]) -> dict[int, Any]:
    out = dict(a)
    for p, (bb, cc) in b.items():
        if p in out:
            ab, ac = out[p]
            allb = np.concatenate([ab, bb])
            allc = np.concatenate([ac, cc])
            u, inv = np.unique(allb, return_inverse=True)
            out[p] = (u, np.bincount(inv.ravel(), weights=allc, minlength=u.size).astype(np.int64))
        else:
            out[p] = (bb, cc)
    return out


def _add_gather(a: dict[int, np.ndarray], b: dict[int, np.ndarray]) -> dict[int, np.ndarray]:
    return {p: np.concatenate([a.get(p, np.zeros(0)), b.get(p, np.zeros(0))])
            for p in set(a) | set(b)}


def _add_neigh(a: tuple[np.ndarray, ...], b: tuple[np.ndarray, ...]) -> tuple[np.ndarray, ...]:
    return a[0] + b[0], a[1] + b[1], np.minimum(a[2], b[2])


def select(reduce: Any, parts: Sequence[Any], ranks: Sequence[int],
           n: int | None = None) -> np.ndarray:
    """Values at 0-based ``ranks`` of the sorted values of all ``parts``.

    ``parts`` are (persisted) Dask objects holding sorted float64 arrays; ``reduce(func,
    combine, *args)`` runs ``func(part, *args)`` on every part and combines the results
    (a tree reduction on the cluster).  ``n``, the number of values when known, lets a
    small total be gathered at once.
    """
    ranks = [int(r) for r in ranks]
    out = np.zeros(len(ranks))
    if not ranks:
        return out
    prefix = np.zeros(len(ranks), dtype=np.uint64)
    below = np.zeros(len(ranks), dtype=np.int64)
    # values in each target's current key range (all of them at first, when n is known)
    inside = np.full(len(ranks), np.iinfo(np.int64).max if n is None else int(n),
                     dtype=np.int64)
    bits = 0
    todo = np.ones(len(ranks), dtype=bool)
    while todo.any():
        if bits == 64:                        # the whole key: the value itself
            out[todo] = from_keys(prefix[todo])
            break
        small = todo & (inside <= _GATHER)
        if small.any():
            ps = np.unique(prefix[small])
            got = reduce(gather, _add_gather, ps, bits)
            for i in np.flatnonzero(small):
                vals = np.sort(got[int(prefix[i])])
                out[i] = vals[ranks[i] - below[i]]
            todo &= ~small
            if not todo.any():
                break
        ps = np.unique(prefix[todo])
        hist = reduce(histogram, _add_hist, ps, bits)
        for i in np.flatnonzero(todo):
            b, c = hist[int(prefix[i])]
            cum = np.cumsum(c)
            j = int(np.searchsorted(cum, ranks[i] - below[i], side="right"))
            before = int(cum[j - 1]) if j else 0
            below[i] += before
            inside[i] = int(c[j])
            prefix[i] = (prefix[i] << np.uint64(_STEP)) | b[j]
        bits += _STEP
    return out


def score_of(lo: int, hi: int, n: int, bins: int, ties: str) -> int:
    """The quantile score of a block of equal values at 0-based positions lo..hi of n
    (the same integer arithmetic as the C kernel: ceil(rank * bins / n))."""
    r2 = 2 * (lo + 1) if ties == "min" else 2 * (hi + 1) if ties == "max" else (lo + 1) + (hi + 1)
    twon = 2 * n
    return min(max((r2 * bins + twon - 1) // twon, 1), bins)


def thresholds(reduce: Any, parts: Sequence[Any], n: int, bins: int, ties: str) -> np.ndarray:
    """u[s-1] = smallest value whose score exceeds s (inf when none), s = 1..bins-1;
    a value's score is then 1 + the number of u <= it."""
    if n == 0:
        return np.full(bins - 1, np.inf)
    pos = [(s * n) // bins for s in range(1, bins)]
    vals = select(reduce, parts, pos, n)
    uq = np.unique(vals)
    less, equal, nxt = reduce(neighbourhood, _add_neigh, uq)
    u = np.empty(bins - 1)
    for s, v in enumerate(vals, start=1):
        i = int(np.searchsorted(uq, v))
        lo, e = int(less[i]), int(equal[i])
        u[s - 1] = v if score_of(lo, lo + e - 1, n, bins, ties) > s else nxt[i]
    return u


def scores_from_thresholds(values: np.ndarray, u: np.ndarray, bins: int) -> np.ndarray:
    v = np.asarray(values, dtype=np.float64) + 0.0
    return np.clip(1 + np.searchsorted(u, v, side="right"), 1, bins).astype(np.int64)


def scores_from_counts(values: np.ndarray, uniq: np.ndarray, counts: np.ndarray, bins: int,
                       ties: str) -> np.ndarray:
    """Scores of ``values`` from the global value counts (``uniq`` sorted ascending)."""
    n = int(counts.sum())
    if n == 0 or len(values) == 0:
        return np.zeros(len(values), dtype=np.int64)
    hi_pos = np.cumsum(counts) - 1
    lo_pos = hi_pos - counts + 1
    if ties == "min":
        r2 = 2 * (lo_pos + 1)
    elif ties == "max":
        r2 = 2 * (hi_pos + 1)
    else:
        r2 = (lo_pos + 1) + (hi_pos + 1)
    table = np.clip((r2 * bins + 2 * n - 1) // (2 * n), 1, bins).astype(np.int64)
    return table[np.searchsorted(uniq, values)]
