"""Typed search spaces: conditions, encoding, sampling, keys.

A genome is a row of ``d`` floats, in the space's order of parameters: one per
parameter, except a :class:`FeatureMask`, which takes one bit gene per column.
Numeric parameters are encoded as a position in the unit interval (in log space
for ``log=True``); a categorical parameter is encoded as the index of its
choice; a feature mask as 0 or 1 per column. This is the *internal* form the
operators work on; :meth:`Space.decode` gives the *external* form, the
parameter dict a model receives, which holds only the parameters whose
conditions are met.

The parameter types (:class:`Parameter`, :class:`Float`, :class:`Integer`,
:class:`Categorical`, :class:`FeatureMask`) are defined in
``evotune._parameters`` and ``evotune._feature_mask`` and re-exported here.
"""

from __future__ import annotations

import json
import numbers
import warnings
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from evotune._branches import BRANCH, Branches, branch_params
from evotune._convert import convert_entry
from evotune._distribution import Distribution
from evotune._feature_mask import FeatureMask
from evotune._parameters import (
    Categorical,
    Float,
    Integer,
    Parameter,
    _same_value,
)
from operators.schema import BIT, GeneSchema, repair

__all__ = ["Categorical", "Distribution", "FeatureMask", "Float", "Integer", "Parameter", "Space"]

_SAMPLING_METHODS = ("random", "lhs", "sobol")


class Space(Mapping[str, Parameter]):
    """A search space: named, typed, possibly conditional parameters.

    Parameters
    ----------
    params : dict or list of dicts
        Maps each name to an :class:`Integer`, :class:`Float`,
        :class:`Categorical`, :class:`Distribution` or :class:`FeatureMask`,
        or, as scikit-learn's ``param_distributions``, to a list or tuple of
        choices (a repeated value is kept once), a ``range`` (an
        :class:`Integer` if its step is 1, else a :class:`Categorical`) or a
        frozen ``scipy.stats`` distribution (``randint``, ``uniform`` and
        ``loguniform`` become an :class:`Integer` or :class:`Float`, any other
        a :class:`Distribution`, encoded through its cdf and ppf).

        A list of dicts is a conditional space, as in ``RandomizedSearchCV``:
        a hidden choice of dict (the gene ``"__branch__"``), then that dict's
        parameters, each dict's its own genes (``"C@0"``, ``"C@1"``), so one
        name may have another range in each dict. :meth:`decode` gives the
        public names only (:attr:`public_names`). An empty dict sets nothing:
        ``{}`` is a space of one candidate, the estimator as given.

    Examples
    --------
    >>> space = Space({"C": Float(1e-3, 1e3, log=True),
    ...                "kernel": Categorical(["rbf", "poly"]),
    ...                "degree": Integer(2, 5, when={"kernel": "poly"})})
    >>> space.decode(space.encode({"C": 1.0, "kernel": "rbf"}))
    {'C': 1.0, 'kernel': 'rbf'}
    >>> masked = Space({"mask": FeatureMask(3), "C": Float(1e-3, 1e3, log=True)})
    >>> masked.n_genes, masked.slices["C"]
    (4, slice(3, 4, None))
    >>> two = Space([{"kernel": ["linear"], "C": Float(1e-4, 1e2, log=True)},
    ...              {"kernel": ["rbf"], "C": Float(1e-2, 1e3, log=True)}])
    >>> two.decode(two.encode({"kernel": "rbf", "C": 1e3}))
    {'kernel': 'rbf', 'C': 1000.0}
    """

    _public: dict[str, str | None]  # internal name -> the name decode gives (None: hidden)
    _branches: Branches  # for a list of dicts: each dict's public -> internal names

    def __init__(self, params: Mapping[str, Any] | Sequence[Mapping[str, Any]]) -> None:
        public: dict[str, str | None] | None = None
        self._branches = []
        if isinstance(params, Space):
            other: Space = params
            public, self._branches = dict(other._public), list(other._branches)
            params = dict(params.items())
        elif isinstance(params, Mapping) and not params:
            params, public, self._branches = branch_params([{}])
        elif isinstance(params, (list, tuple)):
            if len(params) == 1 and isinstance(params[0], Mapping) and params[0]:
                params = params[0]  # one dict: the dict itself, no hidden gene
            else:
                params, public, self._branches = branch_params(params)
        if not isinstance(params, Mapping):
            raise TypeError(
                f"Space: 'params' must be a dict of parameter name to parameter, or a list of "
                f"such dicts, got {type(params).__name__}"
            )
        converted: dict[str, Parameter] = {}
        for name, value in params.items():
            if not isinstance(name, str) or not name:
                raise TypeError(f"Space: parameter names must be non-empty strings, got {name!r}")
            converted[name] = convert_entry(name, value)
        self._params = converted
        self._names = tuple(converted)
        self._public = public if public is not None else {n: n for n in self._names}
        self._check_conditions()
        self._order = self._topological_order()
        self._index = {n: i for i, n in enumerate(self._names)}
        self._slices: dict[str, slice] = {}
        start = 0
        for n, p in converted.items():
            self._slices[n] = slice(start, start + p.n_genes)
            start += p.n_genes
        self._n_genes = start
        self.schema = self._build_schema()

    # Mapping protocol
    def __getitem__(self, name: str) -> Parameter:
        return self._params[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def __repr__(self) -> str:
        return f"Space({self._params!r})"

    @property
    def names(self) -> tuple[str, ...]:
        return self._names

    @property
    def public_names(self) -> tuple[str, ...]:
        """The names :meth:`decode` gives, each once: :attr:`names` but for a
        list of dicts, whose hidden branch gene is left out and whose
        per-dict names (``"C@0"``, ``"C@1"``) are the one public ``"C"``.

        Examples
        --------
        >>> s = Space([{"C": Float(1e-4, 1e2, log=True)}, {"C": Float(1e-2, 1e3, log=True)}])
        >>> s.names, s.public_names
        (('__branch__', 'C@0', 'C@1'), ('C',))
        """
        return tuple(dict.fromkeys(p for p in self._public.values() if p is not None))

    @property
    def n_genes(self) -> int:
        """Genes in a genome: one per parameter, one per column of a mask."""
        return self._n_genes

    @property
    def slices(self) -> dict[str, slice]:
        """Each parameter's genes in a genome (``genome[space.slices[name]]``)."""
        return dict(self._slices)

    def _genes(self, row: np.ndarray, name: str) -> Any:
        """The gene (or, for a mask, the genes) of parameter ``name`` in ``row``."""
        sl = self._slices[name]
        return row[sl] if self._params[name].n_genes != 1 else row[sl.start]

    def _check_conditions(self) -> None:
        for name, p in self._params.items():
            for parent, allowed in p.when.items():
                if parent == name:
                    raise ValueError(f"parameter {name!r}: its condition names itself")
                if parent not in self._params:
                    raise ValueError(
                        f"parameter {name!r}: condition names unknown parameter {parent!r}; "
                        f"known parameters are {list(self._params)}"
                    )
                if isinstance(self._params[parent], FeatureMask):
                    raise ValueError(
                        f"parameter {name!r}: condition names {parent!r}, a FeatureMask; a "
                        "condition can name an Integer, Float or Categorical only"
                    )
                for v in allowed:
                    if not self._params[parent].can_take(v):
                        raise ValueError(
                            f"parameter {name!r}: condition {parent}={v!r} can never hold, "
                            f"{parent!r} is {self._params[parent]!r}"
                        )

    def _topological_order(self) -> tuple[str, ...]:
        order: list[str] = []
        state: dict[str, int] = {}  # 1 = on the stack, 2 = done

        def visit(name: str, path: list[str]) -> None:
            if state.get(name) == 2:
                return
            if state.get(name) == 1:
                cycle = [*path[path.index(name) :], name]
                raise ValueError(
                    f"parameter {name!r}: conditions form a cycle: {' -> '.join(cycle)}"
                )
            state[name] = 1
            for parent in self._params[name].when:
                visit(parent, [*path, name])
            state[name] = 2
            order.append(name)

        for n in self._names:
            visit(n, [])
        return tuple(order)

    def _build_schema(self) -> GeneSchema:
        kinds: list[int] = []
        n_choices: list[int] = []
        low: list[float] = []
        high: list[float] = []
        log: list[bool] = []
        group: list[int] = []
        n_groups = 0
        for p in self._params.values():
            if isinstance(p, FeatureMask):
                m = p.n_features
                kinds += [BIT] * m
                n_choices += [0] * m
                low += [float(p.min_features)] * m
                high += [float(p.max_features)] * m
                log += [False] * m
                group += [n_groups] * m
                n_groups += 1
                continue
            kinds.append(p.kind)
            n_choices.append(len(p.choices) if isinstance(p, Categorical) else 0)
            low.append(p.low if isinstance(p, Integer) else np.nan)
            high.append(p.high if isinstance(p, Integer) else np.nan)
            log.append(bool(getattr(p, "log", False)))
            group.append(-1)
        return GeneSchema.from_lists(kinds, n_choices, low, high, log, group)

    # encoding
    def _row(self, genes: np.ndarray) -> np.ndarray:
        row = np.asarray(genes, dtype=np.float64)
        if row.shape != (self.n_genes,):
            raise ValueError(f"a genome has shape ({self.n_genes},), got {row.shape}")
        return row

    def decode_all(self, genes: np.ndarray) -> tuple[dict[str, Any], dict[str, bool]]:
        """Every parameter's value, and whether its conditions hold."""
        row = self._row(genes)
        values = {n: self._params[n].decode(self._genes(row, n)) for n in self._names}
        active: dict[str, bool] = {}
        for n in self._order:
            active[n] = all(
                active[parent] and any(_same_value(values[parent], v) for v in allowed)
                for parent, allowed in self._params[n].when.items()
            )
        return values, {n: active[n] for n in self._names}

    def active_rows(self, genes: np.ndarray) -> dict[str, np.ndarray]:
        """Whether each parameter's conditions hold, for every row of ``genes``
        (``decode_all``'s second half, decoding each parent's distinct genes once).

        Examples
        --------
        >>> s = Space({"k": Categorical(["a", "b"]), "d": Integer(1, 3, when={"k": "b"})})
        >>> s.active_rows(np.array([[0.0, 0.5], [1.0, 0.5]]))["d"].tolist()
        [False, True]
        """
        rows = np.atleast_2d(np.asarray(genes, dtype=np.float64))
        n = len(rows)
        active: dict[str, np.ndarray] = {}
        for name in self._order:
            on = np.ones(n, dtype=bool)
            for parent, allowed in self._params[name].when.items():
                param = self._params[parent]
                cols = rows[:, self._slices[parent]]
                if param.n_genes == 1:  # a 1-D unique is many times faster
                    distinct, inverse = np.unique(cols[:, 0], return_inverse=True)
                else:
                    distinct, inverse = np.unique(cols, axis=0, return_inverse=True)
                ok = np.array(
                    [any(_same_value(param.decode(d), v) for v in allowed) for d in distinct],
                    dtype=bool,
                )
                on &= active[parent] & ok[inverse.ravel()]
            active[name] = on
        return {name: active[name] for name in self._names}

    def decode(self, genes: np.ndarray) -> dict[str, Any]:
        """The external form: the parameter dict for the model, active ones only."""
        values, active = self.decode_all(genes)
        out: dict[str, Any] = {}
        for n in self._names:
            public = self._public[n]
            if active[n] and public is not None:
                out[public] = values[n]
        return out

    def encode(self, params: Mapping[str, Any]) -> np.ndarray:
        """The internal form of a parameter dict; a missing (inactive) parameter
        takes the middle of its range or its first choice (a mask: its first
        ``max_features`` columns). A space from a list of dicts also takes
        public names (see :meth:`internal_params`)."""
        params = self.internal_params(params)
        unknown = set(params) - set(self._names)
        if unknown:
            raise ValueError(f"unknown parameters {sorted(unknown)}; known are {list(self._names)}")
        row = np.empty(self.n_genes)
        for n in self._names:
            p, sl = self._params[n], self._slices[n]
            if n in params:
                row[sl] = p.encode(params[n])
            elif isinstance(p, FeatureMask):
                row[sl] = 1.0  # repaired below to the first max_features columns
            else:
                row[sl] = 0.0 if isinstance(p, Categorical) else 0.5
        return repair(row[None, :], self.schema)[0]

    def internal_params(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """``params`` under the space's own names: as given, but for a list of
        dicts, whose public names go to the first dict that has exactly those
        names and takes every value, else the first that has them all.

        Examples
        --------
        >>> s = Space([{"C": Float(1e-4, 1e2, log=True)}, {"C": Float(1e-2, 1e3, log=True)}])
        >>> s.internal_params({"C": 500.0})
        {'__branch__': 1, 'C@1': 500.0}
        """
        given = set(params)
        if not self._branches or (BRANCH in given and given <= set(self._names)):
            return dict(params)

        def takes(i: int) -> bool:
            names = self._branches[i]
            return all(self._params[names[k]].can_take(v) for k, v in params.items())

        having = [i for i, names in enumerate(self._branches) if given <= set(names)]
        exact = [i for i in having if given == set(self._branches[i])]
        order = [*(i for i in exact if takes(i)), *(i for i in having if takes(i)), *having]
        if order:
            names = self._branches[order[0]]
            return {BRANCH: order[0], **{names[k]: v for k, v in params.items()}}
        raise ValueError(
            f"no dict of the space's list has every name of {dict(params)!r}; the dicts have "
            f"{[sorted(names) for names in self._branches]}"
        )

    def key(self, genes: np.ndarray) -> str:
        """Canonical key of a genome: equal for genomes a model cannot tell apart.

        Inactive parameters are left out, so changing them does not make a
        genome new; categories are keyed by index, so any object can be a choice;
        a mask by its string of ``0`` and ``1``.
        """
        row = np.asarray(genes, dtype=np.float64)
        values, active = self.decode_all(row)
        parts = []
        for n in self._names:
            if not active[n]:
                continue
            p = self._params[n]
            v: Any = values[n]
            if isinstance(p, Categorical):
                v = round(float(self._genes(row, n)))
            elif isinstance(p, FeatureMask):
                v = p.key_value(self._genes(row, n))
            parts.append([n, v])
        return json.dumps(parts, separators=(",", ":"))

    def sample(self, n: int, rng: np.random.Generator, method: str = "random") -> np.ndarray:
        """Draw ``n`` genomes: ``"random"`` (uniform), ``"lhs"`` (Latin
        hypercube) or ``"sobol"`` (scrambled Sobol), all through ``rng``.

        A :class:`FeatureMask` keeps a number of columns drawn uniformly
        between its ``min_features`` and ``max_features`` (spread by the
        method, as one more dimension), the columns themselves drawn at random.

        Examples
        --------
        >>> s = Space({"x": Float(0, 1), "k": Categorical(["a", "b"])})
        >>> s.sample(4, np.random.default_rng(0), method="lhs").shape
        (4, 2)
        >>> m = Space({"mask": FeatureMask(10, min_features=2, max_features=4)})
        >>> kept = m.sample(50, np.random.default_rng(0)).sum(axis=1)
        >>> int(kept.min()), int(kept.max())
        (2, 4)
        """
        if method not in _SAMPLING_METHODS:
            raise ValueError(f"method must be one of {_SAMPLING_METHODS}, got {method!r}")
        if not isinstance(n, numbers.Integral) or n < 0:
            raise ValueError(f"n must be a non-negative integer, got {n!r}")
        d = self.n_genes
        if n == 0:
            return np.empty((0, d))
        if method == "random":
            u = rng.random((n, d))
        else:
            from scipy.stats import qmc

            seed = int(rng.integers(0, 2**63 - 1))
            cls = qmc.LatinHypercube if method == "lhs" else qmc.Sobol
            try:
                engine = cls(d, rng=seed)
            except TypeError:  # scipy < 1.15 names it seed
                engine = cls(d, seed=seed)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # Sobol's note on non-powers of two
                u = engine.random(n)
        cats = self.schema.categorical
        u[:, cats] = np.floor(u[:, cats] * self.schema.n_choices[cats])
        for name, p in self._params.items():
            if isinstance(p, FeatureMask):
                u[:, self._slices[name]] = self._sample_mask(p, u[:, self._slices[name].start], rng)
        return repair(u, self.schema, rng)

    @staticmethod
    def _sample_mask(p: FeatureMask, u: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Masks keeping ``min_features + floor(u * range)`` random columns."""
        lo, hi, m = p.min_features, p.max_features, p.n_features
        kept = np.minimum(lo + np.floor(u * (hi - lo + 1)).astype(np.int64), hi)
        order = np.argsort(rng.random((u.shape[0], m)), axis=1)
        rank = np.empty_like(order)
        np.put_along_axis(rank, order, np.broadcast_to(np.arange(m), order.shape), axis=1)
        return (rank < kept[:, None]).astype(np.float64)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe description of the space (of a list of dicts: each
        entry also gives the ``name`` the model gets, None for the hidden branch)."""
        out = {n: p.to_dict() for n, p in self._params.items()}
        if self._branches:  # a report reads the public names from here
            for n, d in out.items():
                d["name"] = self._public[n]
        return out
