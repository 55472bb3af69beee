"""Design matrices for time-invariant covariates (shared by the covariate fitters).

A covariate is a column of customer attributes:

- **categorical** (strings, ``category``, or numbers with more than two values given as
  ``pd.Categorical``): dummy-coded against a reference level, the most frequent level
  unless ``reference=`` names another; one 0/1 feature per other level, named
  ``column[level]``;
- **binary** (bool, or numbers taking only 0 and 1): one 0/1 feature, used as given;
- **numeric** (any other numbers): one feature on the user's scale; the optimiser sees it
  standardised (mean 0, sd 1) and the effects are reported back on the user's scale.

Checks: every customer needs a row (missing rows are an error naming them); NaN values,
constant columns and perfectly collinear features are errors naming the columns; at
prediction time a level not seen in the fit is an error naming it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd


@dataclass
class Feature:
    name: str        # feature name (column, or column[level])
    column: str      # source column
    kind: str        # "numeric", "binary" or "dummy"
    level: Any = None
    mean: float = 0.0
    sd: float = 1.0


@dataclass
class Encoder:
    """Turns attribute columns into the numeric features of a fit (user scale)."""

    columns: list[str]
    kinds: dict[str, str]                       # column -> numeric / binary / categorical
    levels: dict[str, list[Any]] = field(default_factory=dict)   # categorical: all levels
    reference: dict[str, Any] = field(default_factory=dict)
    features: list[Feature] = field(default_factory=list)

    # ---- construction --------------------------------------------------------------
    @classmethod
    def fit(cls, frame: pd.DataFrame, reference: Mapping[str, Any] | None = None,
            _seen: dict[str, Any] | None = None) -> "Encoder":
        """_seen (internal): filled with each categorical column's factorisation, which a
        transform of the same frame then reuses."""
        reference = dict(reference or {})
        unknown = [c for c in reference if c not in frame.columns]
        if unknown:
            raise ValueError(f"reference= names columns that are not covariates: {unknown}; "
                             f"covariates are {list(map(str, frame.columns))}")
        enc = cls(columns=[str(c) for c in frame.columns], kinds={})
        for col in frame.columns:
            s = frame[col]
            name = str(col)
            kind = _kind(s)
            if kind == "categorical":
                codes, uniq = _factorize(s)       # missing values get code -1
                nmiss = int((codes < 0).sum())
            else:
                nmiss = int(s.isna().sum())
            if nmiss:
                raise ValueError(f"covariate {name!r} has {nmiss} missing (NaN/None) values; "
                                 "fill them (e.g. with a level 'unknown') or drop those "
                                 "customers")
            enc.kinds[name] = kind
            if kind == "categorical":
                if _seen is not None:
                    _seen[name] = (codes, uniq)
                counts = pd.Series(np.bincount(codes, minlength=len(uniq)),
                                   index=pd.Index(uniq, dtype=object))
                if len(counts) < 2:
                    raise ValueError(f"covariate {name!r} is constant (one level: "
                                     f"{_show(counts.index[0])}); it carries no information, "
                                     "drop it")
                # most frequent first; ties in the order the levels sort
                lv = sorted(counts.index.tolist(), key=lambda v: (-int(counts[v]), str(v)))
                ref = reference.get(col, reference.get(name, lv[0]))
                if ref not in counts.index:
                    raise ValueError(f"reference level {_show(ref)} of {name!r} does not occur; "
                                     f"its levels are {[_show(v) for v in lv]}")
                enc.levels[name] = lv
                enc.reference[name] = ref
                for v in lv:
                    if v != ref:
                        enc.features.append(Feature(f"{name}[{v}]", name, "dummy", v))
            else:
                if col in reference or name in reference:
                    raise ValueError(f"reference= applies to categorical covariates; {name!r} "
                                     f"is {kind}")
                v = s.to_numpy(dtype=np.float64)
                if not np.all(np.isfinite(v)):
                    raise ValueError(f"covariate {name!r} contains inf values")
                if np.all(v == v[0]):
                    raise ValueError(f"covariate {name!r} is constant ({_show(v[0])} for "
                                     "every customer); it carries no information, drop it")
                if kind == "numeric":
                    enc.features.append(Feature(name, name, "numeric", None, float(v.mean()),
                                                float(v.std())))
                else:
                    enc.features.append(Feature(name, name, "binary"))
        return enc

    # ---- applying ----------------------------------------------------------------------
    @property
    def names(self) -> list[str]:
        return [f.name for f in self.features]

    def transform(self, frame: pd.DataFrame, what: str = "covariates",
                  _seen: dict[str, Any] | None = None) -> np.ndarray:
        """(n, n_features) matrix on the user's scale; checks levels and missing columns.
        _seen (internal): the factorisations fit() made of this same frame."""
        missing = [c for c in self.columns if c not in frame.columns]
        if missing:
            raise ValueError(f"{what} lacks the covariate columns {missing} the model was "
                             f"fitted with (it needs {self.columns})")
        n = len(frame)
        # column by column (Fortran order): each feature is written and later read whole
        out = np.empty((len(self.features), n), dtype=np.float64).T
        for col in self.columns:
            s = frame[col]
            if self.kinds[col] == "categorical":
                codes, uniq = (_seen or {}).get(col) or _factorize(s)
                nmiss = int((codes < 0).sum())
            else:
                nmiss = int(s.isna().sum())
            if nmiss:
                raise ValueError(f"{what}: covariate {col!r} has {nmiss} missing values")
            if self.kinds[col] == "categorical":
                known = set(self.levels[col])
                unseen = sorted({_show(v) for v in uniq if v not in known})
                if unseen:
                    raise ValueError(f"{what}: covariate {col!r} has levels not seen in the fit: "
                                     f"{unseen}; the model knows {[_show(v) for v in self.levels[col]]}"
                                     " (map new levels to a known one, or refit)")
                # each dummy from the codes of the distinct values (no per-row comparison of
                # Python objects); a level absent here is a column of zeros
                for j, f in enumerate(self.features):
                    if f.column == col:
                        hit = [i for i, v in enumerate(uniq) if v == f.level]
                        out[:, j] = (codes == hit[0] if len(hit) == 1 else np.isin(codes, hit)
                                     if hit else 0.0)
            else:
                if _kind(s) == "categorical":
                    raise TypeError(f"{what}: covariate {col!r} was numeric in the fit but "
                                    f"holds text now")
                v = s.to_numpy(dtype=np.float64)
                if not np.all(np.isfinite(v)):
                    raise ValueError(f"{what}: covariate {col!r} contains inf values")
                if self.kinds[col] == "binary" and not np.all((v == 0) | (v == 1)):
                    raise ValueError(f"{what}: covariate {col!r} was 0/1 in the fit; got other "
                                     "values")
                for j, f in enumerate(self.features):
                    if f.column == col:
                        out[:, j] = v
        return out

    def standardise(self, Z: np.ndarray) -> np.ndarray:
        """User-scale features -> the optimiser's scale (numeric columns standardised)."""
        if not any(f.kind == "numeric" for f in self.features):
            return np.asarray(Z, dtype=np.float64)        # read only by the callers
        out = np.array(Z, dtype=np.float64, copy=True)
        for j, f in enumerate(self.features):
            if f.kind == "numeric":
                out[:, j] = (out[:, j] - f.mean) / f.sd
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"columns": self.columns, "kinds": self.kinds,
                "levels": {k: [_jsonable(v) for v in lv] for k, lv in self.levels.items()},
                "reference": {k: _jsonable(v) for k, v in self.reference.items()},
                "features": [{"name": f.name, "column": f.column, "kind": f.kind,
                              "level": _jsonable(f.level), "mean": f.mean, "sd": f.sd}
                             for f in self.features]}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Encoder":
        return cls(columns=list(d["columns"]), kinds=dict(d["kinds"]),
                   levels={k: list(v) for k, v in d["levels"].items()},
                   reference=dict(d["reference"]),
                   features=[Feature(**f) for f in d["features"]])


def _jsonable(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    return v


def _show(v: Any) -> Any:
    """A value as users wrote it (no NumPy reprs in messages)."""
    return v.item() if isinstance(v, np.generic) else v


def _factorize(s: pd.Series) -> tuple[np.ndarray, list[Any]]:
    """Codes and distinct values (as Python objects, first-seen order) of a column
    without missing values: one hash pass, as value_counts / unique would do."""
    if isinstance(s.dtype, pd.CategoricalDtype):      # from its codes: no hashing
        codes, uniq = pd.factorize(s.array, sort=False)
        return np.asarray(codes), list(np.asarray(uniq, dtype=object))
    codes, uniq = pd.factorize(s.to_numpy(dtype=object), sort=False)
    return codes, list(uniq)


def _kind(s: pd.Series) -> str:
    if isinstance(s.dtype, pd.CategoricalDtype) or not (
            pd.api.types.is_numeric_dtype(s.dtype) or pd.api.types.is_bool_dtype(s.dtype)):
        return "categorical"
    if pd.api.types.is_bool_dtype(s.dtype):
        return "binary"
    if s.dtype.kind in "iu":                       # plain integers: two reductions
        if not len(s):
            return "numeric"
        return "binary" if s.min() >= 0 and s.max() <= 1 else "numeric"
    v = s.to_numpy(dtype=np.float64)
    v = v[np.isfinite(v)]
    if v.size and np.all((v == 0) | (v == 1)):
        return "binary"
    return "numeric"


def check_collinear(Z: np.ndarray, names: Sequence[str], block: str) -> None:
    """Error naming the features that are constant or a linear combination of others
    (with the intercept) in one process's design.  One pass over the rows (the Gram
    matrix of the standardised features), then sequential projections on it."""
    k = Z.shape[1]
    if k == 0:
        return
    n = Z.shape[0]
    if n <= k:
        raise ValueError(f"{block} covariates: {k} features but only {n} customers; "
                         "use fewer covariates")
    X = Z - Z.mean(axis=0)                  # centred: orthogonal to the intercept
    C = (X.T @ X) / n                       # covariances
    sd = np.sqrt(np.maximum(np.diag(C), 0.0))
    for j in range(k):
        if not sd[j] > 0:
            raise ValueError(f"{block} covariate {names[j]!r} is constant among the fitted "
                             "customers; drop it")
    G = C / np.outer(sd, sd)                # correlations
    kept: list[int] = []
    for j in range(k):
        if kept:
            A = G[np.ix_(kept, kept)]
            g = G[kept, j]
            coef = np.linalg.lstsq(A, g, rcond=None)[0]
            resid = G[j, j] - g @ coef      # residual variance share after the others
        else:
            coef, resid = np.zeros(0), G[j, j]
        if resid < 1e-10:
            involved = [names[kept[i]] for i in range(len(kept)) if abs(coef[i]) > 1e-6]
            raise ValueError(f"{block} covariates are perfectly collinear: {names[j]!r} is a "
                             f"linear combination of {involved} (and the intercept); drop one "
                             f"of {[names[j]] + involved}")
        kept.append(j)


def select(frame: pd.DataFrame, spec: Any, what: str) -> pd.DataFrame | None:
    """Covariate columns from ``spec``: None, a column name, a list of names (of
    ``frame``), or a DataFrame of attributes (returned as it is)."""
    if spec is None:
        return None
    if isinstance(spec, pd.DataFrame):
        return spec
    if isinstance(spec, pd.Series):
        return spec.to_frame()
    if isinstance(spec, str):
        spec = [spec]
    try:
        cols = list(spec)
    except TypeError:
        raise TypeError(f"{what} must be a DataFrame of customer attributes or a list of "
                        f"column names, got {type(spec).__name__}") from None
    if frame is None:
        raise TypeError(f"{what} given as column names needs a summary DataFrame; pass a "
                        "DataFrame of attributes instead")
    missing = [c for c in cols if c not in frame.columns]
    if missing:
        raise ValueError(f"{what}: columns {missing} are not in the summary; it has "
                         f"{list(map(str, frame.columns))} (tx.summary(attributes=['channel', "
                         "'member']) adds channel and member)")
    # the columns without a copy (frame[cols] takes every column: 15 ms per million rows)
    out = pd.DataFrame({c: frame[c] for c in cols}, copy=False)
    out.index = frame.index
    return out


def align(cov: pd.DataFrame, index: pd.Index | None, n: int, what: str) -> pd.DataFrame:
    """Rows of ``cov`` for the fitted customers: by id when ``index`` (the summary's ids)
    is given and ``cov`` has rows for them, else by position (lengths must match)."""
    if index is not None and len(cov) == len(index) and cov.index.equals(index):
        return cov                                  # already aligned (summary columns)
    if index is not None:
        if cov.index.has_duplicates:
            dup = cov.index[cov.index.duplicated()].unique()[:5].tolist()
            raise ValueError(f"{what} has several rows for customers {[_show(v) for v in dup]}; "
                             "give one row per customer")
        inside = index.isin(cov.index)
        if inside.all():
            return cov.loc[index]
        if not (isinstance(cov.index, pd.RangeIndex) and len(cov) == n and not inside.any()):
            missing = index[~inside]
            raise ValueError(f"{what} has no row for {len(missing)} customer(s), e.g. "
                             f"{[_show(v) for v in missing[:5].tolist()]}; every customer of the "
                             "summary needs its covariates")
    if len(cov) != n:
        raise ValueError(f"{what} has {len(cov)} rows but there are {n} customers; index it by "
                         "customer id or give one row per customer in the same order")
    return cov


@dataclass
class CovSetup:
    """A fit's covariates: the encoder, which features enter which process, the effect
    each feature uses, and the fitted customers' features (user scale and standardised)."""

    encoder: Encoder
    blocks: dict[str, list[int]]        # block -> feature indices
    effects: dict[str, list[int]]       # block -> effect index of each feature
    effect_names: list[str]
    F: np.ndarray                       # (n, n_features) user scale
    index: pd.Index | None
    zp: np.ndarray | None = None        # optimiser's scale, shape (k, n) (column-major)
    zd: np.ndarray | None = None
    ip: np.ndarray | None = None
    id: np.ndarray | None = None

    @property
    def ng(self) -> int:
        return len(self.effect_names)

    def prepare(self, order: Sequence[str]) -> None:
        """Arrays for the C fit: the first block of ``order`` is the purchase (or spend)
        block, the second the dropout block."""
        Fint = self.encoder.standardise(self.F)
        arrs: list[Any] = []
        made: dict[tuple[int, ...], np.ndarray] = {}
        for b in order:
            cols = self.blocks.get(b, [])
            if cols:
                key = tuple(cols)
                if key not in made:  # one array when both processes use the same columns
                    whole = cols == list(range(Fint.shape[1]))
                    made[key] = np.ascontiguousarray((Fint if whole else Fint[:, cols]).T)
                arrs.append((made[key], np.asarray(self.effects[b], dtype=np.int32)))
            else:
                arrs.append((None, None))
        (self.zp, self.ip), (self.zd, self.id) = (arrs + [(None, None)])[:2]

    def jacobian(self, nb: int, targets: Mapping[str, tuple[tuple[int, int], ...]]) -> np.ndarray:
        """J with theta_user = J theta_internal (standardisation undone)."""
        k = nb + self.ng
        J = np.eye(k)
        feats = self.encoder.features
        for b, cols in self.blocks.items():
            for f_idx, e in zip(cols, self.effects[b]):
                f = feats[f_idx]
                J[nb + e, nb + e] = 1.0 / f.sd
                for j, sign in targets[b]:
                    J[j, nb + e] += -sign * f.mean / f.sd
        return J

    def row_params(self, base: np.ndarray, effects: np.ndarray, F: np.ndarray,
                   targets: Mapping[str, tuple[tuple[int, int], ...]]) -> np.ndarray:
        """(n, nb) natural parameters of each row of F (user scale)."""
        F = np.atleast_2d(np.asarray(F, dtype=np.float64))
        if F.shape[1] != len(self.encoder.features):
            raise ValueError(f"covariate rows need {len(self.encoder.features)} features "
                             f"({self.encoder.names}), got {F.shape[1]}")
        out = np.tile(np.asarray(base, dtype=np.float64), (F.shape[0], 1))
        for b, cols in self.blocks.items():
            if not cols:
                continue
            lin = F[:, cols] @ np.asarray(effects, dtype=np.float64)[self.effects[b]]
            for j, sign in targets[b]:
                out[:, j] *= np.exp(sign * lin)
        return out


def setup(summary: pd.DataFrame | None, index: pd.Index | None, n: int,
          specs: Mapping[str, Any], constrain: Any = None, reference: Any = None
          ) -> CovSetup | None:
    """Build the covariate setup from the ``covariates=`` style arguments of one block
    each (``specs``: block name -> None / column names / DataFrame)."""
    frames: dict[str, pd.DataFrame] = {}
    for b, spec in specs.items():
        f = select(summary, spec, f"{b}_covariates" if len(specs) > 1 else "covariates")
        if f is not None:
            if f.shape[1] == 0:
                raise ValueError(f"{b} covariates: no columns given")
            frames[b] = align(f, index, n, f"{b} covariates")
    if not frames:
        if constrain:
            raise ValueError("constrain= needs covariates")
        if reference:
            raise ValueError("reference= needs covariates")
        return None
    cols: list[str] = []
    parts: list[pd.Series] = []
    for b, f in frames.items():
        for c in f.columns:
            if str(c) not in cols:
                cols.append(str(c))
                parts.append(pd.Series(f[c].to_numpy(), name=str(c)))
    combined = pd.DataFrame({p.name: p.to_numpy() for p in parts}, copy=False)
    if isinstance(reference, Mapping):
        ref = dict(reference)
    elif reference is None:
        ref = {}
    else:
        cats = [c for c in cols if _kind(combined[c]) == "categorical"]
        if len(cats) != 1:
            raise ValueError("reference= as a single level needs exactly one categorical "
                             f"covariate; use a dict such as reference={{'channel': '公域'}} "
                             f"(categorical covariates: {cats})")
        ref = {cats[0]: reference}
    seen: dict[str, Any] = {}
    enc = Encoder.fit(combined, ref, _seen=seen)
    F = enc.transform(combined, _seen=seen)
    del seen
    if isinstance(constrain, str):
        constrain = [constrain]
    constrain = [str(c) for c in (constrain or [])]
    if constrain:
        if len(frames) < 2:
            raise ValueError("constrain= forces one effect on both processes; it needs a "
                             "model with a purchase and a dropout process")
        blist = list(frames)
        for c in constrain:
            bad = [b for b in specs if b not in frames or c not in map(str, frames[b].columns)]
            if bad:
                raise ValueError(f"constrain: {c!r} must be a covariate of both processes "
                                 f"(missing from: {bad})")
        del blist
    blocks: dict[str, list[int]] = {}
    effects: dict[str, list[int]] = {}
    names: list[str] = []
    shared: dict[int, int] = {}
    checked: list[list[int]] = []
    for b, f in frames.items():
        bcols = set(map(str, f.columns))
        idx = [j for j, ft in enumerate(enc.features) if ft.column in bcols]
        if idx not in checked:              # one check when both processes share a design
            check_collinear(F if idx == list(range(F.shape[1])) else F[:, idx],
                            [enc.features[j].name for j in idx], b)
            checked.append(idx)
        eff = []
        for j in idx:
            ft = enc.features[j]
            if ft.column in constrain:
                if j not in shared:
                    shared[j] = len(names)
                    names.append(f"both:{ft.name}")
                eff.append(shared[j])
            else:
                eff.append(len(names))
                names.append(f"{b}:{ft.name}")
        blocks[b] = idx
        effects[b] = eff
    return CovSetup(enc, blocks, effects, names, F, index)
