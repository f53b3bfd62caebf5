"""Hypothesis strategies shared by the operator tests."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from operators.schema import GeneSchema, repair

UNIT = st.floats(0.0, 1.0)


@st.composite
def schemas(draw, kinds=("float", "int", "categorical"), max_genes=6):
    d = draw(st.integers(1, max_genes))
    ks, nc, lo, hi, lg = [], [], [], [], []
    for _ in range(d):
        k = draw(st.sampled_from(kinds))
        ks.append(k)
        if k == "int":
            log = draw(st.booleans())
            low = draw(st.integers(1, 50)) if log else draw(st.integers(-50, 50))
            nc.append(0)
            lo.append(low)
            hi.append(low + draw(st.integers(1, 200)))
            lg.append(log)
        else:
            nc.append(draw(st.integers(1, 6)) if k == "categorical" else 0)
            lo.append(np.nan)
            hi.append(np.nan)
            lg.append(False)
    return GeneSchema.from_lists(ks, nc, lo, hi, lg)


@st.composite
def valid_genes(draw, schema, n, unit=UNIT):
    """Valid genomes of ``schema``: numbers in ``unit``, categories in range."""
    rows = []
    for _ in range(n):
        row = []
        for j in range(schema.n_genes):
            if schema.categorical[j]:
                row.append(float(draw(st.integers(0, int(schema.n_choices[j]) - 1))))
            else:
                row.append(draw(unit))
        rows.append(row)
    genes = np.array(rows, dtype=np.float64).reshape(n, schema.n_genes)
    return repair(genes, schema)


def assert_valid(out: np.ndarray, schema: GeneSchema) -> None:
    """Every gene is valid for ``schema`` (what every operator must give)."""
    assert out.dtype == np.float64
    assert np.isfinite(out).all()
    num = out[:, schema.numeric]
    assert ((num >= 0) & (num <= 1)).all()
    cats = out[:, schema.categorical]
    assert (cats == np.rint(cats)).all()
    assert ((cats >= 0) & (cats < schema.n_choices[schema.categorical])).all()
    # integers exactly on their bin centres, everything already repaired
    np.testing.assert_array_equal(repair(out, schema), out)
