"""Case clustering: case-entity evidence -> rarity-weighted case graph -> Leiden consensus."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .. import distributed
from .._checks import check_choice, check_int, check_positive
from .._progress import stages
from ..community import consensus
from ..community._common import with_provenance
from ..distributed import ENGINES
from ..errors import ParameterError
from ..graph import case_graph
from ..graph.build import _bipartite, auto_max_cases
from ..options import tabular
from ..tables import get_table
from ..vocabulary import VOCABULARY_FILE, default_vocabulary, vocabulary_of
from ._data import PERSON_KINDS, evidence_links

__all__ = ["cluster_cases"]


@tabular
def cluster_cases(
    data,
    *,
    rarity: str = "newman",
    max_cases: int | str | None = "auto",
    kind_weights: dict[str, float] | None = None,
    person_kinds: tuple[str, ...] = PERSON_KINDS,
    density: float = 2e-4,
    n_runs: int = 5,
    seed: int = 0,
    progress: bool = False,
    links: pa.Table | None = None,
    vocabulary=None,
    engine: str = "local",
    client=None,
) -> pa.Table:
    """Which cases belong together: one row per case with its cluster and how stable it is.

    Steps: :func:`case_links` (entities plus the persons of each case) -> rarity-weighted
    case–case graph (:func:`jinduanalytics.graph.case_graph`; hubs above the cap ignored) ->
    Leiden run with ``n_runs`` seeds; the best run is kept and each case's ``stability`` is
    its mean Jaccard agreement with the other runs (:func:`jinduanalytics.community.consensus`).

    The objective is scale-free: a constant Potts model whose node weight is the case's
    strength (its total evidence weight ``S``). Two groups of cases stay apart unless the
    evidence between them exceeds ``density * S_a * S_b`` — the same rule whether the data
    hold a county or the whole rim. (It equals modularity with resolution
    ``density * 2m``; plain modularity at a fixed resolution merges small networks more and
    more as the data grow — its resolution limit — which cost 0.07 ARI at the Beibu scale.)

    Parameters
    ----------
    data : Dataset, mapping of tables, or a dataset folder (with ``engine="dask"``)
        ``cases``, ``case_entities``; ``case_persons`` and ``person_records`` when
        ``person_kinds`` is not empty. A folder (tables as Parquet files or partitioned folders,
        validated beforehand) is read by the Dask workers, partition by partition
        (:func:`jinduanalytics.distributed.case_links`): only the case ids and the projected graph
        come into this process.
    rarity, max_cases, kind_weights
        Evidence weighting, see :func:`jinduanalytics.graph.case_graph`; ``kind_weights`` adds to
        (and overrides) the vocabulary's ``evidence_weights`` (shipped: ``ip`` 0.25). The default cap
        ``"auto"`` is a robust outlier bound on how many cases an entity links
        (:func:`jinduanalytics.graph.auto_max_cases`); the value used is in the provenance.
    person_kinds : tuple of str
        Person-derived link kinds to add (``()`` for entities only).
    density : float
        Evidence density two groups need to merge (see above); larger splits more. The
        default 2e-4 was the best of 1e-4 .. 1.6e-3 on the county, city and Beibu presets.
    n_runs : int
        Seeds in the consensus (>= 2).
    seed : int, numpy.random.Generator or None
        The first run's seed (the others follow from it); the same seed gives the same table.
    progress : bool
        Show a progress bar.
    links : pyarrow.Table, optional
        :func:`case_links` of ``data`` (with every person kind), when already computed.
    vocabulary : Vocabulary, path or mapping, optional
        Default: the dataset's (see :mod:`jinduanalytics.vocabulary`).
    engine : {"local", "dask"}
        ``"dask"``: the case graph's projection runs on a Dask cluster (:mod:`jinduanalytics.distributed`;
        the same graph bit for bit, so the same table); Leiden runs here on the assembled graph.
    client : distributed.Client, optional
        With ``engine="dask"``: the cluster to use (default: a local one for the call).

    Returns
    -------
    pyarrow.Table
        ``case_id``, ``cluster`` (0 = largest; a case sharing nothing is its own cluster),
        ``cluster_size``, ``stability`` (0..1), ``cluster_stability`` (mean over the
        cluster), ``n_links`` (evidence rows of the case). Provenance (parameters, the cap
        used, seed, version, input digest) in the schema metadata.

    Examples
    --------
    >>> from jinduanalytics.synthetic import generate
    >>> ds = generate("county", seed=7, progress=False)
    >>> cl = cluster_cases(ds, seed=1)
    >>> cl.column_names
    ['case_id', 'cluster', 'cluster_size', 'stability', 'cluster_stability', 'n_links']
    >>> cl.num_rows == ds.cases.num_rows
    True
    """
    check_positive(density=density)
    check_int("n_runs", n_runs, minimum=2)
    check_int("seed", seed, minimum=0)
    check_choice("engine", engine, ENGINES)
    with contextlib.ExitStack() as stack:
        if engine == "dask" and client is None:  # one local cluster for the whole call
            client = stack.enter_context(distributed.engine_client())
        return _cluster(data, rarity=rarity, max_cases=max_cases, kind_weights=kind_weights,
                        person_kinds=person_kinds, density=density, n_runs=n_runs, seed=seed, progress=progress,
                        links=links, vocabulary=vocabulary, engine=engine, client=client)


def _cluster(data, *, rarity, max_cases, kind_weights, person_kinds, density, n_runs, seed, progress, links,
             vocabulary, engine, client) -> pa.Table:
    folder = isinstance(data, (str, os.PathLike))  # a dataset folder the Dask workers read themselves
    if folder and engine != "dask":
        raise ParameterError("cluster_cases: a folder is read by the workers with engine='dask'; otherwise pass "
                             "read_dataset(folder)")
    cases = distributed.folder_case_ids(data) if folder else get_table(data, "cases", columns=("case_id",))
    with stages(["links", "case graph", "leiden consensus"], enabled=progress, desc="cluster_cases") as step:
        step("links")
        if folder:
            links = distributed.case_links(data, person_kinds=person_kinds)
            present = links["kind"].unique().compute().tolist()
            own = Path(data) / VOCABULARY_FILE  # the folder's additions to the shipped vocabulary
            vocab = vocabulary_of(None, vocabulary) if vocabulary is not None else (
                default_vocabulary().extend(own) if own.is_file() else default_vocabulary())
            kind_weights = _kind_weights(pa.table({"kind": pa.array(present, pa.string())}), vocab, kind_weights)
        else:
            links = evidence_links(data, person_kinds, links)
            kind_weights = _kind_weights(links, vocabulary_of(data, vocabulary), kind_weights)
        step("case graph")
        if engine == "dask":
            g, cap = distributed._case_graph(links, cases=cases.select(["case_id"]), rarity=rarity,
                                             max_cases=max_cases, kind_weights=kind_weights, client=client,
                                             npartitions=None)
        else:
            cap = max_cases
            if cap == "auto":
                cap = auto_max_cases(_bipartite(links, cases, entity_order="hash").entity_cases())
            g = case_graph(links, cases=cases.select(["case_id"]), rarity=rarity, max_cases=cap,
                           kind_weights=kind_weights)
        step("leiden consensus")
        resolution = density * float(g.weights.sum()) if g.n_edges else 1.0
        cons = consensus(g, n_runs=n_runs, seed=seed, resolution=resolution)
    labels = cons.column("community").to_numpy()
    sizes = np.bincount(labels)
    if folder:  # evidence rows per case, counted by the workers
        per = links.groupby("case_id").size().compute()
        n_links = np.zeros(g.n_nodes, dtype=np.int64)
        idx = pc.index_in(pa.array(per.index.astype(str).tolist(), pa.string()), value_set=g.node_ids).to_numpy(
            zero_copy_only=False).astype(np.int64)
        n_links[idx] = per.to_numpy()
    else:
        link_case = pc.index_in(links.column("case_id"), value_set=g.node_ids).to_numpy(zero_copy_only=False)
        n_links = np.bincount(link_case, minlength=g.n_nodes)
    out = pa.table({
        "case_id": g.node_ids,
        "cluster": pa.array(labels, pa.int64()),
        "cluster_size": pa.array(sizes[labels], pa.int64()),
        "stability": cons.column("agreement"),
        "cluster_stability": cons.column("community_agreement"),
        "n_links": pa.array(n_links, pa.int64()),
    })
    params = {"rarity": rarity, "max_cases": max_cases, "max_cases_used": cap, "kind_weights": kind_weights,
              "person_kinds": list(person_kinds), "density": density, "resolution": resolution, "n_runs": n_runs,
              "engine": engine}
    return with_provenance(out, algorithm="cluster_cases", seed=seed, params=params, digest=g.digest())


def _kind_weights(links: pa.Table, vocabulary, kind_weights) -> dict[str, float] | None:
    """The vocabulary's evidence weights of the kinds the links hold, overridden by the call's."""
    present = set(pc.unique(links.column("kind")).to_pylist())
    weights = {k: w for k, w in vocabulary.evidence_weights if k in present}
    weights.update(kind_weights or {})
    return weights or None
