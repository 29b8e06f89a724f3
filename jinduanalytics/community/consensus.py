"""Stability of a partition over seeds: which clusters an analyst can trust."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from .._checks import check_choice, check_int
from ..graph.build import as_graph
from ..options import tabular
from ._common import community_table, labels_from, resolve_seed
from .multilevel import leiden, louvain
from .propagation import label_propagation
from .quality import cpm_quality, modularity

__all__ = ["consensus"]


def _jaccard_to(ref: np.ndarray, other: np.ndarray) -> np.ndarray:
    """Per node: |C_ref(v) ∩ C_other(v)| / |C_ref(v) ∪ C_other(v)| (label-permutation free)."""
    size_a = np.bincount(ref)
    size_b = np.bincount(other)
    key = ref * (other.max() + 1) + other
    _, inv, counts = np.unique(key, return_inverse=True, return_counts=True)
    inter = counts[inv]
    return inter / (size_a[ref] + size_b[other] - inter)


@tabular
def consensus(graph, *, n_runs: int = 10, algorithm: str = "leiden", seed=0, **params) -> pa.Table:
    """Run a community algorithm with ``n_runs`` seeds and score how stable each node is.

    The reported partition is the run of highest quality (modularity, or CPM for
    ``objective="cpm"``). For each node, ``agreement`` is the mean over the other runs of the
    Jaccard overlap between its community in the reported partition and its community in that
    run (1 = the same community every time); ``community_agreement`` is the mean agreement of
    the community's nodes.

    Parameters
    ----------
    graph : CSRGraph, pyarrow.Table, pandas.DataFrame or networkx.Graph
    n_runs : int
        Runs, each with its own seed (>= 2).
    algorithm : {"leiden", "louvain", "label_propagation"}
    seed : int, numpy.random.Generator or None
        The runs' seeds follow from it; the same seed gives the same table.
    **params
        Passed to the algorithm (``resolution``, ``objective``...).

    Returns
    -------
    pyarrow.Table
        ``node_id``, ``community`` (0 = largest), ``agreement``, ``community_agreement``.
    """
    check_int("n_runs", n_runs, minimum=2)
    check_choice("algorithm", algorithm, ("leiden", "louvain", "label_propagation"))
    g = as_graph(graph)
    rng, seed_used = resolve_seed(seed)
    seeds = [int(s) for s in rng.integers(0, 2**62, n_runs)]
    fn = {"leiden": leiden, "louvain": louvain, "label_propagation": label_propagation}[algorithm]
    runs = [labels_from(g, fn(g, seed=s, **params)) for s in seeds]
    cpm = params.get("objective") == "cpm"
    res = params.get("resolution", 1.0)
    scores = [cpm_quality(g, r, resolution=res) if cpm else modularity(g, r, resolution=res) for r in runs]
    best = int(np.argmax(scores))
    ref = runs[best]
    agreement = np.mean([_jaccard_to(ref, r) for i, r in enumerate(runs) if i != best], axis=0) \
        if g.n_nodes else np.empty(0)
    comm_mean = np.bincount(ref, weights=agreement) / np.maximum(np.bincount(ref), 1) if g.n_nodes else np.empty(0)
    return community_table(g, ref, algorithm=f"consensus[{algorithm}]", seed=seed_used,
                           params=dict(n_runs=n_runs, run_seeds=seeds, best_run=best, **params),
                           extra={"agreement": agreement.astype(np.float64),
                                  "community_agreement": comm_mean[ref].astype(np.float64)})
