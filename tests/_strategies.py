"""Hypothesis strategies shared by the operator tests."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from operators.schema import GeneSchema


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
