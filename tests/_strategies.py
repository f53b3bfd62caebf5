"""Hypothesis strategies shared by the operator tests."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from operators.schema import GeneSchema, repair

UNIT = st.floats(0.0, 1.0)


@st.composite
def schemas(draw, kinds=("float", "int", "categorical"), max_genes=6):
    """Random schemas of ``kinds``; a ``"bit"`` draw adds a run of 1 to 8 bit
    columns, a group with count bounds or (one time in four) free bits."""
    d = draw(st.integers(1, max_genes))
    ks, nc, lo, hi, lg, gr = [], [], [], [], [], []
    n_groups = 0
    for _ in range(d):
        k = draw(st.sampled_from(kinds))
        if k == "bit":
            m = draw(st.integers(1, 8))
            free = draw(st.integers(0, 3)) == 0
            low = draw(st.integers(0, m))
            high = draw(st.integers(low, m))
            ks += ["bit"] * m
            nc += [0] * m
            lo += [np.nan if free else low] * m
            hi += [np.nan if free else high] * m
            lg += [False] * m
            gr += [-1 if free else n_groups] * m
            n_groups += 0 if free else 1
            continue
        ks.append(k)
        gr.append(-1)
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
    return GeneSchema.from_lists(ks, nc, lo, hi, lg, gr)


@st.composite
def valid_genes(draw, schema, n, unit=UNIT):
    """Valid genomes of ``schema``: numbers in ``unit``, categories in range,
    bits within their group's bounds (drawn freely, then repaired)."""
    rows = []
    for _ in range(n):
        row = []
        for j in range(schema.n_genes):
            if schema.categorical[j]:
                row.append(float(draw(st.integers(0, int(schema.n_choices[j]) - 1))))
            elif schema.bit[j]:
                row.append(float(draw(st.booleans())))
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
    assert_bits_valid(out, schema)
    # integers exactly on their bin centres, everything already repaired
    np.testing.assert_array_equal(repair(out, schema), out)


def assert_bits_valid(out: np.ndarray, schema: GeneSchema) -> None:
    """Bits are 0 or 1 and every group keeps its count within its bounds."""
    bits = out[:, schema.bit]
    assert np.isin(bits, (0.0, 1.0)).all()
    for cols, low, high in schema.bit_groups:
        count = out[:, cols].sum(axis=1)
        assert ((count >= low) & (count <= high)).all(), (count, low, high)
