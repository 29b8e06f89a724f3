"""One row per case cluster: what it holds, who is in it, and why it ranks where it does."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from .._checks import check_int, check_nonnegative, check_positive
from ..errors import ParameterError
from ..graph import person_graph
from ..options import tabular
from ..tables import get_table
from ._data import as_date_array, cluster_params, clusters_frame
from .explain import cluster_evidence

__all__ = ["SCORE_WEIGHTS", "cluster_summary"]

#: Default weights of the ranking score's parts (they sum to 1, so the score is in 0..1).
SCORE_WEIGHTS = {"size": 0.30, "growth": 0.20, "span": 0.20, "quantity": 0.20, "stability": 0.10}
_UPSTREAM_ORDER = ("supplier", "wholesaler", "seller")


def _region_provinces(data) -> pd.Series:
    regions = get_table(data, "regions", required=False)
    if regions is None:
        from ..regions import beibu_regions

        regions = beibu_regions()
    r = regions.select(["region_id", "province"]).to_pandas()
    return r.set_index("region_id")["province"]


def _ranked_lists(df: pd.DataFrame, col: str) -> pd.Series:
    """Per cluster: the distinct values of ``col``, most frequent first (ties by value)."""
    n = df.dropna(subset=[col]).groupby(["cluster", col], sort=False).size().rename("n").reset_index()
    n = n.sort_values(["cluster", "n", col], ascending=[True, False, True], kind="mergesort")
    return n.groupby("cluster", sort=True)[col].agg(list)


@tabular
def cluster_summary(
    data,
    clusters: pa.Table,
    *,
    min_size: int = 3,
    small_quantity_g: float = 10.0,
    recent_days: int = 365,
    as_of=None,
    score_weights: dict[str, float] | None = None,
    top_entities: int = 3,
    key_persons: int = 3,
    evidence: pa.Table | None = None,
) -> pa.Table:
    """Summarise and rank the clusters of :func:`cluster_cases` for an analyst.

    Ranking: ``score = sum_i weight_i * part_i`` with every part in 0..1 and shown in its own
    ``score_<part>`` column (already multiplied by its weight, so the columns add up to
    ``score``):

    * ``size``: ``ln(1 + cases) / ln(1 + cases of the largest cluster)``;
    * ``growth``: share of the cluster's cases in the last ``recent_days`` up to ``as_of``
      (default: the latest case date) — still active networks first;
    * ``span``: ``min(1, ((provinces - 1) * 2 + (regions - 1)) / 4)`` — cross-region and
      cross-province clusters need joint operations;
    * ``quantity``: ``ln(1 + grams) / ln(1 + grams of the heaviest cluster)``;
    * ``stability``: the cluster's mean consensus agreement.

    Parameters
    ----------
    data : Dataset or mapping of tables
        ``cases`` (``case_id``, ``region_id``, ``date``, ``drug``, ``quantity_g``),
        ``case_persons``; ``regions`` (else the shipped Beibu regions), ``case_entities``
        and ``person_records`` for the evidence columns.
    clusters : pyarrow.Table
        From :func:`cluster_cases`.
    min_size : int
        Clusters with fewer cases are left out.
    small_quantity_g : float
        A case below this many grams is small (零包).
    recent_days, as_of, score_weights
        The growth window and the weights of the score parts (see above; :data:`SCORE_WEIGHTS`).
    top_entities, key_persons : int
        How many entities and persons each cluster lists.
    evidence : pyarrow.Table, optional
        :func:`cluster_evidence` of the same clusters (with a ``min_size`` no larger than this
        one), when already computed.

    Returns
    -------
    pyarrow.Table
        ``rank``, ``cluster``, ``n_cases``, ``n_small``, ``n_large``, ``regions``,
        ``provinces``, ``n_regions``, ``n_provinces``, ``first_date``, ``last_date``,
        ``span_days``, ``drugs``, ``quantity_g``, ``n_recent``, ``stability``,
        ``top_entities`` (list of {kind, value, share}: raw values — mask before reporting),
        ``key_persons`` (record ids, most central first: cases in the cluster plus
        co-offending and contact links inside it), ``upstream_chain`` (the most active
        supplier, wholesaler and seller records of the cluster, top down),
        ``score_size`` … ``score_stability``, ``score``; best first.
    """
    check_int("min_size", min_size, minimum=1)
    check_nonnegative(small_quantity_g=small_quantity_g)
    check_int("recent_days", recent_days, minimum=1)
    weights = dict(SCORE_WEIGHTS if score_weights is None else score_weights)
    unknown = sorted(set(weights) - set(SCORE_WEIGHTS))
    if unknown:
        raise ParameterError(f"score_weights: unknown part(s) {unknown}; parts are {', '.join(SCORE_WEIGHTS)}")
    check_positive(total_score_weight=float(sum(weights.values())) or -1.0)
    cluster_params(clusters)  # a cluster_cases table, or a clear error
    cl = clusters_frame(clusters)
    cl = cl[cl["cluster_size"] >= min_size][["case_id", "cluster", "cluster_stability"]]
    cases = get_table(data, "cases", columns=("case_id", "region_id", "date", "drug", "quantity_g")).to_pandas()
    df = cl.merge(cases[["case_id", "region_id", "date", "drug", "quantity_g"]], on="case_id", how="left")
    df["date"] = as_date_array(df["date"])
    df["province"] = df["region_id"].map(_region_provinces(data))
    end = np.datetime64(pd.Timestamp(as_of).date(), "D") if as_of is not None else df["date"].max()
    df["recent"] = df["date"] > end - np.timedelta64(recent_days, "D")
    df["small"] = df["quantity_g"] < small_quantity_g
    g = df.groupby("cluster", sort=True)
    out = g.agg(n_cases=("case_id", "size"), n_small=("small", "sum"), first_date=("date", "min"),
                last_date=("date", "max"), quantity_g=("quantity_g", "sum"), n_recent=("recent", "sum"),
                stability=("cluster_stability", "first"))
    out["n_large"] = out["n_cases"] - out["n_small"]
    for name, col in (("regions", "region_id"), ("provinces", "province"), ("drugs", "drug")):
        out[name] = _ranked_lists(df, col).reindex(out.index)
        out[name] = out[name].map(lambda x: x if isinstance(x, list) else [])
    out["n_regions"] = out["regions"].map(len)
    out["n_provinces"] = out["provinces"].map(len)
    out["span_days"] = (out["last_date"] - out["first_date"]).dt.days
    # evidence and persons
    ev = (cluster_evidence(data, clusters, min_size=min_size) if evidence is None else evidence).to_pandas()
    ev = ev[ev["cluster"].isin(out.index)] if evidence is not None else ev
    top = ev.groupby("cluster", sort=False).head(top_entities)
    items = pd.Series([{"kind": k, "value": v, "share": float(x)}
                       for k, v, x in zip(top["kind"], top["value"], top["share"])], index=top.index, dtype=object)
    out["top_entities"] = items.groupby(top["cluster"].to_numpy()).agg(list).reindex(out.index)
    out["top_entities"] = out["top_entities"].map(lambda x: x if isinstance(x, list) else [])
    persons = _persons(data, cl, key_persons)
    out = out.join(persons)
    for col in ("key_persons", "upstream_chain"):
        out[col] = out[col].map(lambda x: x if isinstance(x, list) else [])
    # ranking
    parts = {
        "size": np.log1p(out["n_cases"]) / np.log1p(out["n_cases"].max()) if len(out) else out["n_cases"],
        "growth": out["n_recent"] / out["n_cases"],
        "span": np.minimum(1.0, ((out["n_provinces"] - 1).clip(lower=0) * 2 + (out["n_regions"] - 1)) / 4.0),
        "quantity": np.log1p(out["quantity_g"]) / max(np.log1p(out["quantity_g"].max()), 1e-12) if len(out)
        else out["quantity_g"],
        "stability": out["stability"],
    }
    out["score"] = 0.0
    for name in SCORE_WEIGHTS:
        out[f"score_{name}"] = weights.get(name, 0.0) * parts[name].astype(float)
        out["score"] += out[f"score_{name}"]
    out = out.reset_index().sort_values(["score", "cluster"], ascending=[False, True], kind="mergesort")
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    cols = ["rank", "cluster", "n_cases", "n_small", "n_large", "regions", "provinces", "n_regions", "n_provinces",
            "first_date", "last_date", "span_days", "drugs", "quantity_g", "n_recent", "stability", "top_entities",
            "key_persons", "upstream_chain"] + [f"score_{n}" for n in SCORE_WEIGHTS] + ["score"]
    out = out[cols].reset_index(drop=True)
    out["first_date"] = pd.to_datetime(out["first_date"]).dt.date
    out["last_date"] = pd.to_datetime(out["last_date"]).dt.date
    for col in ("n_small", "n_large", "n_recent", "span_days", "n_regions", "n_provinces"):
        out[col] = out[col].astype(np.int64)
    return pa.Table.from_pandas(out, preserve_index=False)


def _persons(data, cl: pd.DataFrame, key_persons: int) -> pd.DataFrame:
    """Per cluster: key persons (centrality inside the cluster) and the upstream chain."""
    cp = get_table(data, "case_persons", columns=("case_id", "record_id", "role")).to_pandas()
    cp = cp.merge(cl[["case_id", "cluster"]], on="case_id")
    if cp.empty:
        return pd.DataFrame(columns=["key_persons", "upstream_chain"])
    rc = cp.groupby(["cluster", "record_id"]).size().rename("n_cases").reset_index()
    # links inside the cluster: co-offending and contacts, from the person graph
    pr = get_table(data, "person_records", required=False)
    ct = get_table(data, "contacts", required=False)
    pg = person_graph(get_table(data, "case_persons"), person_records=pr if ct is not None else None,
                      contacts=ct if pr is not None else None)
    ids = pg.node_ids.to_numpy(zero_copy_only=False)
    e = pd.DataFrame({"u": ids[pg.sources()], "v": ids[pg.indices], "w": pg.weights})
    e = e.merge(rc[["cluster", "record_id"]].rename(columns={"record_id": "u"}), on="u")
    e = e.merge(rc[["cluster", "record_id"]].rename(columns={"record_id": "v"}), on=["v", "cluster"])
    deg = e.groupby(["cluster", "u"])["w"].sum().rename("degree").reset_index().rename(columns={"u": "record_id"})
    rc = rc.merge(deg, on=["cluster", "record_id"], how="left").fillna({"degree": 0.0})
    rc["centrality"] = rc["n_cases"] + rc["degree"]
    rc = rc.sort_values(["cluster", "centrality", "record_id"], ascending=[True, False, True], kind="mergesort")
    key = rc.groupby("cluster").head(key_persons).groupby("cluster")["record_id"].apply(list)
    chain_rows = cp[cp["role"].isin(_UPSTREAM_ORDER)].groupby(["cluster", "role", "record_id"]).size()
    chain_rows = chain_rows.rename("n").reset_index()
    chain_rows["order"] = chain_rows["role"].map({r: i for i, r in enumerate(_UPSTREAM_ORDER)})
    chain_rows = chain_rows.sort_values(["cluster", "order", "n", "record_id"], ascending=[True, True, False, True],
                                        kind="mergesort").drop_duplicates(["cluster", "role"])
    chain = (chain_rows["role"] + ":" + chain_rows["record_id"]).groupby(chain_rows["cluster"].to_numpy()).agg(list)
    return pd.DataFrame({"key_persons": key, "upstream_chain": chain})


@tabular
def cluster_persons(data, clusters: pa.Table, cluster: int) -> tuple[pa.Table, pa.Table]:
    """The persons of one cluster and the links between them, ready for a network drawing.

    Parameters
    ----------
    data : Dataset or mapping of tables
    clusters : pyarrow.Table
        From :func:`cluster_cases`.
    cluster : int
        The cluster's id.

    Returns
    -------
    (nodes, edges) : tuple of pyarrow.Table
        nodes: ``node_id`` (record id), ``role`` (the highest role the record has in the
        cluster's cases), ``n_cases``; edges: ``source``, ``target``, ``weight``
        (co-offending and phone contacts, as in :func:`jinduanalytics.graph.person_graph`).
    """
    cl = clusters_frame(clusters)
    members = cl.loc[cl["cluster"] == cluster, "case_id"]
    if members.empty:
        raise ParameterError(f"cluster {cluster!r} is not in the clusters table")
    cp = get_table(data, "case_persons", columns=("case_id", "record_id", "role")).to_pandas()
    cp = cp[cp["case_id"].isin(members)]
    order = {r: i for i, r in enumerate(("supplier", "wholesaler", "seller", "courier", "buyer", "user"))}
    cp = cp.assign(o=cp["role"].map(order).fillna(99))
    nodes = (cp.sort_values(["record_id", "o"], kind="mergesort").groupby("record_id")
             .agg(role=("role", "first"), n_cases=("case_id", "nunique")).reset_index()
             .rename(columns={"record_id": "node_id"}))
    pr = get_table(data, "person_records", required=False)
    ct = get_table(data, "contacts", required=False)
    sub = pa.Table.from_pandas(cp[["case_id", "record_id"]], preserve_index=False)
    keep = pa.array(nodes["node_id"].tolist(), pa.string())
    if pr is not None:
        import pyarrow.compute as pc

        pr = pr.filter(pc.is_in(pr.column("record_id"), value_set=keep))
    g = person_graph(sub, person_records=pr if ct is not None else None, contacts=ct if pr is not None else None)
    e = g.edges().to_pandas()
    e = e[e["source"].isin(nodes["node_id"]) & e["target"].isin(nodes["node_id"])]
    return (pa.Table.from_pandas(nodes, preserve_index=False),
            pa.Table.from_pandas(e.reset_index(drop=True), preserve_index=False))


@tabular
def cluster_timeline(data, clusters: pa.Table, summary: pa.Table | None = None, *, top: int = 12) -> pa.Table:
    """Cases of the top clusters with their dates: ``cluster``, ``rank``, ``case_id``, ``date``,
    ``case_type``, ``quantity_g``, ``region_id`` (rank from ``summary``, else by size).

    Parameters
    ----------
    data : Dataset or mapping of tables
    clusters : pyarrow.Table
        From :func:`cluster_cases`.
    summary : pyarrow.Table, optional
        From :func:`cluster_summary` (its ranking picks the clusters; default: the largest).
    top : int, default 12
    """
    check_int("top", top, minimum=1)
    cl = clusters_frame(clusters)[["case_id", "cluster", "cluster_size"]]
    if summary is not None:
        rk = summary.select(["cluster", "rank"]).to_pandas()
    else:
        sizes = cl.drop_duplicates("cluster").sort_values(["cluster_size", "cluster"], ascending=[False, True])
        rk = pd.DataFrame({"cluster": sizes["cluster"], "rank": np.arange(1, len(sizes) + 1)})
    rk = rk[rk["rank"] <= top]
    cases = get_table(data, "cases", columns=("case_id", "date")).to_pandas()
    cols = [c for c in ("case_id", "date", "case_type", "quantity_g", "region_id") if c in cases]
    df = cl.merge(rk, on="cluster").merge(cases[cols], on="case_id")
    df = df.sort_values(["rank", "date", "case_id"], kind="mergesort").drop(columns="cluster_size")
    return pa.Table.from_pandas(df.reset_index(drop=True), preserve_index=False)
