"""Score 集群打零 results against the planted truth of a synthetic dataset."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from ..errors import ParameterError
from ..metrics import ari, nmi
from ..options import tabular
from .trace import UPSTREAM_ROLES

__all__ = ["score_clusters", "score_trace"]


def _truth(data, name: str) -> pd.DataFrame:
    truth = getattr(data, "truth", None) or {}
    if name not in truth:
        raise ParameterError(f"scoring needs the planted truth table '{name}' (synthetic datasets carry it in .truth)")
    return truth[name].to_pandas()


@tabular
def score_clusters(data, clusters: pa.Table, *, match_jaccard: float = 0.5) -> dict:
    """NMI and ARI of case clusters against planted networks, and the share of networks found.

    NMI/ARI are over the cases of planted networks (background cases belong to no network).
    A network is ``matched`` when some cluster overlaps it with Jaccard >= ``match_jaccard``
    (background cases in the cluster count against it).

    Parameters
    ----------
    data : Dataset or mapping of tables
    clusters : pyarrow.Table
        From :func:`cluster_cases`.
    match_jaccard : float, default 0.5
        A planted network counts as found when a cluster overlaps it at least this much.

    Returns
    -------
    dict
        ``nmi``, ``ari``, ``matched`` (share of networks), ``largest_cluster_share`` (of all
        cases), ``n_networks``, ``n_clusters`` (with 2+ cases).
    """
    truth = _truth(data, "case_network")[["case_id", "network"]]
    c = clusters.select(["case_id", "cluster", "cluster_size"]).to_pandas().merge(truth, on="case_id", how="left")
    c["network"] = c["network"].fillna(-1).astype(np.int64)
    m = c["network"].to_numpy() >= 0
    f, n = c["cluster"].to_numpy(), c["network"].to_numpy()
    ns = c.groupby("network").size()
    cs = c.groupby("cluster").size()
    x = c.groupby(["network", "cluster"]).size().rename("inter").reset_index()
    x = x[x["network"] >= 0]
    x["jaccard"] = x["inter"] / (x["network"].map(ns) + x["cluster"].map(cs) - x["inter"])
    best = x.groupby("network")["jaccard"].max()
    return {
        "nmi": nmi(f[m], n[m]),
        "ari": ari(f[m], n[m]),
        "matched": float((best >= match_jaccard).mean()) if len(best) else float("nan"),
        "largest_cluster_share": float(c["cluster_size"].max() / len(c)),
        "n_networks": int(len(best)),
        "n_clusters": int((cs >= 2).sum()),
    }


@tabular
def score_trace(data, trace: pa.Table, *, roles: tuple[str, ...] = ("seller",), k: int = 5) -> dict:
    """Hit rate of upstream tracing: is the true upstream person among the top ``k``?

    Over persons with a role in ``roles`` whose true upstream person (truth ``persons``)
    has a record in ``case_persons`` — a supplier who is in the data. A candidate record is
    a hit when it belongs to that person (truth ``record_person``).

    Parameters
    ----------
    data : Dataset
        Synthetic, with ``truth["persons"]``.
    trace : pyarrow.Table
        From :func:`trace_upstream`.
    roles : tuple of str, default ("seller",)
        Which true upstream roles count.
    k : int, default 5

    Returns
    -------
    dict
        ``hit_at_1``, ``hit_at_k``, ``n`` (traced persons scored), ``time_order_violations``
        (trace rows using evidence dated after their case).
    """
    unknown = sorted(set(roles) - set(UPSTREAM_ROLES))
    if unknown:
        raise ParameterError(f"roles: {unknown} are not traced; traced roles are {', '.join(UPSTREAM_ROLES)}")
    r2p = _truth(data, "record_person").set_index("record_id")["person_id"]
    up = _truth(data, "persons").set_index("person_id")["upstream"]
    cp = data["case_persons"].select(["case_id", "record_id", "role"]).to_pandas()
    present = set(r2p.reindex(cp["record_id"]).dropna())
    subj = cp[cp["role"].isin(list(roles))].copy()
    subj["true_up"] = subj["record_id"].map(r2p).map(up)
    subj = subj[subj["true_up"].notna() & subj["true_up"].isin(present)]
    t = trace.to_pandas()
    t = t[t["rank"] <= k].merge(subj, on=["case_id", "record_id", "role"])
    hit = t[t["candidate"].map(r2p) == t["true_up"]]
    n = len(subj)
    keys = set(zip(hit["case_id"], hit["record_id"]))
    keys1 = set(zip(hit.loc[hit["rank"] == 1, "case_id"], hit.loc[hit["rank"] == 1, "record_id"]))
    tt = trace.to_pandas()
    late = pd.to_datetime(tt["last_evidence_date"]) > pd.to_datetime(tt["case_date"])
    return {"hit_at_1": len(keys1) / n if n else float("nan"), "hit_at_k": len(keys) / n if n else float("nan"),
            "n": n, "time_order_violations": int(late.sum())}
