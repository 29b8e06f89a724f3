"""Hypothesis strategies for edge and bipartite tables."""

import pyarrow as pa
from hypothesis import strategies as st


@st.composite
def edge_tables(draw, max_nodes=20, max_edges=60, string_ids=None, allow_self_loops=True):
    n = draw(st.integers(1, max_nodes))
    m = draw(st.integers(0, max_edges))
    src = draw(st.lists(st.integers(0, n - 1), min_size=m, max_size=m))
    dst = draw(st.lists(st.integers(0, n - 1), min_size=m, max_size=m))
    if not allow_self_loops:
        pairs = [(a, b) for a, b in zip(src, dst) if a != b]
        src, dst = [p[0] for p in pairs], [p[1] for p in pairs]
    w = draw(st.lists(st.floats(0.0, 10.0, allow_nan=False), min_size=len(src), max_size=len(src)))
    use_str = draw(st.booleans()) if string_ids is None else string_ids
    conv = (lambda x: f"n{x}") if use_str else (lambda x: x)
    typ = pa.string() if use_str else pa.int64()
    return pa.table({"source": pa.array([conv(x) for x in src], typ),
                     "target": pa.array([conv(x) for x in dst], typ),
                     "weight": pa.array(w, pa.float64())})


@st.composite
def case_entity_tables(draw, max_cases=15, max_entities=12, max_rows=60):
    n_cases = draw(st.integers(1, max_cases))
    n_ent = draw(st.integers(1, max_entities))
    m = draw(st.integers(0, max_rows))
    cases = draw(st.lists(st.integers(0, n_cases - 1), min_size=m, max_size=m))
    ents = draw(st.lists(st.integers(0, n_ent - 1), min_size=m, max_size=m))
    kinds = ["phone", "account", "address"]
    return pa.table({"case_id": pa.array([f"c{c:02d}" for c in cases], pa.string()),
                     "kind": pa.array([kinds[e % 3] for e in ents], pa.string()),
                     "value": pa.array([f"v{e}" for e in ents], pa.string())})
