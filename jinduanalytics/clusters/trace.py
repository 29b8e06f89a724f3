"""查吸必查贩、查贩必查吸: trace each user case to its candidate sellers, each seller to a supplier."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .._checks import check_int, check_nonnegative
from ..options import tabular
from ..tables import get_table
from ..temporal import time_respecting_paths
from ._data import as_date_array, cluster_params, clusters_frame, evidence_links, link_weights

__all__ = ["UPSTREAM_ROLES", "trace_upstream", "trace_coverage"]

#: Who supplies whom: the roles a person of each role is traced up to.
UPSTREAM_ROLES = {
    "user": ("seller",),
    "buyer": ("seller",),
    "seller": ("wholesaler", "supplier"),
    "courier": ("wholesaler", "supplier"),
    "wholesaler": ("supplier",),
}
_ROLE_RANK = {"supplier": 0, "wholesaler": 1, "seller": 2, "courier": 3, "buyer": 4, "user": 5}


def _codes(values, categories: np.ndarray) -> np.ndarray:
    """int64 codes of string ids in ``categories`` (sorted, so codes sort as the ids do); -1 when absent.
    The trace joins on these instead of Python strings: hashing strings was most of its time and
    the object columns most of its memory at the Beibu scale."""
    return pd.Categorical(values, categories=categories).codes.astype(np.int64)


def _entity_pairs(data, clusters, rarity: str, max_cases, links: pa.Table | None = None,
                  case_ids: np.ndarray | None = None) -> pd.DataFrame:
    """(case, other case, entity, weight) for every entity two cases share, hubs removed; case ids
    as codes in ``case_ids`` when given."""
    params = {"rarity": rarity, "max_cases_used": max_cases, "kind_weights": None}
    if clusters is not None:
        p = cluster_params(clusters)
        params = {"rarity": p["rarity"], "max_cases_used": p["max_cases_used"], "kind_weights": p.get("kind_weights")}
    lw = link_weights(evidence_links(data, (), links), params)
    lw = lw[(lw["weight"] > 0) & (lw["kind"] != "transfer")]  # money counts as score_money, with its dates
    lw = lw.assign(entity=pd.factorize(lw["kind"] + "\x1f" + lw["value"])[0])[["case_id", "entity", "kind", "weight"]]
    if case_ids is not None:
        lw["case_id"] = _codes(lw["case_id"], case_ids)
    pairs = lw.merge(lw[["case_id", "entity"]].rename(columns={"case_id": "other"}), on="entity")
    return pairs[pairs["case_id"] != pairs["other"]]


@tabular
def trace_upstream(
    data,
    clusters: pa.Table | None = None,
    *,
    top: int = 5,
    contact_weight: float = 1.0,
    cluster_weight: float = 0.1,
    rarity: str = "newman",
    max_cases: int | str | None = "auto",
    links: pa.Table | None = None,
    contact_hops: int = 1,
    max_gap_days: int = 30,
    money_weight: float = 1.0,
) -> pa.Table:
    """Candidate upstream persons for every downstream person of every case, ranked.

    A user or buyer is traced to sellers; a seller or courier to wholesalers and suppliers;
    a wholesaler to suppliers (:data:`UPSTREAM_ROLES`). A candidate is a person record with
    an upstream role in some case, and it scores from three kinds of evidence:

    * ``score_entities``: entities the traced case shares with a case of the candidate
      (the seller's burner on the user's seized handset, a parcel sender, an account), each
      counted once with its rarity weight (as in :func:`jinduanalytics.graph.case_graph`);
    * ``score_contacts``: contacts between the traced person's phone and a phone found in a
      case of the candidate, ``contact_weight`` each, shared among the candidates that phone
      reaches;
    * ``score_money``: transfers from an account the traced case holds (the buyer's own payment
      account on a seized phone, a seller's collection code) to an account found in a case of the
      candidate, dated on or before the traced case, ``money_weight`` per receiving account,
      shared among the candidates that account reaches;
    * ``score_cluster``: membership of the same case cluster (``clusters`` from
      :func:`cluster_cases`), ``cluster_weight * n / (n + 1)`` for a candidate appearing
      in ``n`` cases of the cluster — a weak prior that ranks below any direct evidence.

    Time order: no evidence dated after the traced case is used (a contact counts only if
    its ``first_date`` is on or before the case date; shared entities are dated by the
    traced case's own seizure). ``last_evidence_date`` is the latest dated evidence used.

    With ``contact_hops`` above 1 the contact evidence also runs through relays: the traced
    person's phone reaches a candidate's phone by a time-respecting chain of contacts (each
    dated by its ``first_date``, dates never going backwards, at most ``max_gap_days`` between
    consecutive contacts, :func:`jinduanalytics.temporal.time_respecting_paths`), arriving by the case
    date, its earliest chain at most ``contact_hops`` contacts long; a chain of ``h`` contacts weighs
    ``contact_weight / h``.

    Parameters
    ----------
    data : Dataset or mapping of tables
        ``cases``, ``case_persons``, ``case_entities``; ``person_records`` and ``contacts``
        for contact evidence.
    clusters : pyarrow.Table, optional
        From :func:`cluster_cases`: its evidence weighting is reused, and cluster membership
        becomes the weak ``score_cluster`` prior.
    top : int, default 5
        Candidates kept per traced (case, person).
    contact_weight, cluster_weight : float
        Weights of the contact and cluster evidence (entities weigh their rarity weight).
    rarity, max_cases
        Evidence weighting when no ``clusters`` are given (see :func:`jinduanalytics.graph.case_graph`).
    links : pyarrow.Table, optional
        :func:`case_links` of ``data`` (every person kind), when already computed.
    contact_hops : int, default 1
        Longest chain of contacts counted (1: direct contacts only).
    max_gap_days : int, default 30
        Longest wait between consecutive contacts of a chain.
    money_weight : float, default 1.0
        Weight of the money evidence (0: none; needs ``transactions``).

    Returns
    -------
    pyarrow.Table
        ``case_id``, ``case_date``, ``record_id``, ``role``, ``candidate``,
        ``candidate_role``, ``rank`` (1 = best), ``score``, ``score_entities``,
        ``score_contacts``, ``score_cluster``, ``n_entities``, ``n_contacts``,
        ``last_evidence_date``, ``score_money``, ``n_money`` (receiving accounts); at most ``top``
        rows per traced (case, person).
    """
    check_int("top", top, minimum=1)
    check_int("contact_hops", contact_hops, minimum=1)
    check_int("max_gap_days", max_gap_days, minimum=0)
    check_nonnegative(contact_weight=contact_weight, cluster_weight=cluster_weight, money_weight=money_weight)
    cases = get_table(data, "cases", columns=("case_id", "date")).to_pandas()[["case_id", "date"]]
    cases["date"] = as_date_array(cases["date"])
    cp = get_table(data, "case_persons", columns=("case_id", "record_id", "role")).to_pandas()
    cp = cp[["case_id", "record_id", "role"]]
    # ids as sorted int codes for every join below; strings again at the end
    case_ids = np.unique(cases["case_id"].to_numpy(dtype=object))
    rec_ids = np.unique(cp["record_id"].to_numpy(dtype=object))
    cases["case_id"] = _codes(cases["case_id"], case_ids)
    cp["case_id"] = _codes(cp["case_id"], case_ids)
    cp["record_id"] = _codes(cp["record_id"], rec_ids)
    subjects = cp[cp["role"].isin(list(UPSTREAM_ROLES))].merge(cases, on="case_id")
    up = cp[cp["role"].isin(["seller", "wholesaler", "supplier"])]
    # a record's role as a candidate: its highest upstream role anywhere
    cand_role = (up.assign(r=up["role"].map(_ROLE_RANK)).sort_values(["record_id", "r"], kind="mergesort")
                 .drop_duplicates("record_id").set_index("record_id")["role"])
    allowed = pd.DataFrame([(d, u) for d, ups in UPSTREAM_ROLES.items() for u in ups], columns=["role", "candidate_role"])

    def attach(ev: pd.DataFrame) -> pd.DataFrame:
        """ev has case_id, other, ...: -> (subject, candidate) rows with allowed roles."""
        ev = ev.merge(up[["case_id", "record_id"]].rename(columns={"case_id": "other", "record_id": "candidate"}),
                      on="other")
        ev = ev.merge(subjects, on="case_id")
        ev["candidate_role"] = ev["candidate"].map(cand_role)
        ev = ev.merge(allowed, on=["role", "candidate_role"])
        return ev[ev["candidate"] != ev["record_id"]]

    key = ["case_id", "record_id", "candidate"]
    scores = []
    # entities shared with a candidate's case: each entity counted once per (subject, candidate)
    pairs = _entity_pairs(data, clusters, rarity, max_cases, links, case_ids)
    ent = attach(pairs).drop_duplicates(key + ["entity"])
    scores.append(ent.groupby(key).agg(score_entities=("weight", "sum"), n_entities=("entity", "size")))
    # contacts: the subject's phone called a phone found in a candidate's case, before the case
    pr = get_table(data, "person_records", required=False)
    ct = get_table(data, "contacts", required=False)
    if pr is not None and ct is not None and contact_weight > 0 and {"phone", "record_id"} <= set(pr.column_names):
        ph = pr.select(["record_id", "phone"]).to_pandas().dropna()
        ph["record_id"] = _codes(ph["record_id"], rec_ids)
        ph = ph[ph["record_id"] >= 0]  # records in no case trace nothing
        c = ct.select(["phone_a", "phone_b", "first_date"]).to_pandas()
        c["first_date"] = as_date_array(c["first_date"])
        both = pd.concat([c.rename(columns={"phone_a": "phone", "phone_b": "peer"}),
                          c.rename(columns={"phone_b": "phone", "phone_a": "peer"})], ignore_index=True)
        ce = get_table(data, "case_entities", columns=("case_id", "kind", "value")).to_pandas()
        ce = ce[ce["kind"] == "phone"].rename(columns={"case_id": "other", "value": "peer"})[["other", "peer"]]
        ce["other"] = _codes(ce["other"], case_ids)
        both["hops"] = 1
        if contact_hops > 1:  # relayed contacts: time-respecting chains from each traced phone
            phones = subjects.merge(ph, on="record_id")["phone"].unique()
            edges = c.rename(columns={"phone_a": "source", "phone_b": "target", "first_date": "date"})
            edges["date"] = pd.to_datetime(edges["date"]).dt.date
            chains = time_respecting_paths(edges, {p: [p] for p in phones}, max_gap_days=max_gap_days,
                                           directed=False).to_pandas()
            chains = chains[(chains["hops"] >= 2) & (chains["hops"] <= contact_hops)]
            relayed = pd.DataFrame({"phone": chains["seed_set"], "peer": chains["node"], "hops": chains["hops"],
                                    "first_date": as_date_array(chains["date"])})
            both = pd.concat([both, relayed], ignore_index=True)
        sub = subjects.merge(ph, on="record_id").merge(both, on="phone")
        sub = sub[sub["first_date"] <= sub["date"]]  # time order
        ev = sub.merge(ce, on="peer")[["case_id", "record_id", "peer", "first_date", "other", "hops"]]
        ev = ev.sort_values("hops", kind="mergesort")  # the shortest chain to a peer counts
        ev = ev.merge(up[["case_id", "record_id"]].rename(columns={"case_id": "other", "record_id": "candidate"}),
                      on="other")
        ev = ev.merge(subjects[["case_id", "record_id", "role"]], on=["case_id", "record_id"])
        ev["candidate_role"] = ev["candidate"].map(cand_role)
        ev = ev.merge(allowed, on=["role", "candidate_role"])
        ev = ev[ev["candidate"] != ev["record_id"]].drop_duplicates(key + ["peer"])
        reach = ev.groupby(["case_id", "record_id", "peer"])["candidate"].transform("size")
        ev["w"] = contact_weight / reach / ev["hops"]
        scores.append(ev.groupby(key).agg(score_contacts=("w", "sum"), n_contacts=("peer", "size"),
                                          last_evidence_date=("first_date", "max")))
    tx = get_table(data, "transactions", required=False)
    if tx is not None and money_weight > 0:
        scores.append(_money_evidence(data, tx, subjects, up, cand_role, allowed, case_ids, money_weight, key))
    if clusters is not None and cluster_weight > 0:
        cl = clusters_frame(clusters)[["case_id", "cluster", "cluster_size"]]
        cl = cl[cl["cluster_size"] >= 2].assign(case_id=lambda d: _codes(d["case_id"], case_ids))
        upc = up.merge(cl, on="case_id").groupby(["cluster", "record_id"]).size().rename("n").reset_index()
        upc = upc.rename(columns={"record_id": "candidate"})
        ev = subjects.merge(cl[["case_id", "cluster"]], on="case_id").merge(upc, on="cluster")
        ev["candidate_role"] = ev["candidate"].map(cand_role)
        ev = ev.merge(allowed, on=["role", "candidate_role"])
        ev = ev[ev["candidate"] != ev["record_id"]]
        ev["score_cluster"] = cluster_weight * ev["n"] / (ev["n"] + 1.0)
        scores.append(ev.set_index(key)[["score_cluster"]])
    out = pd.concat(scores, axis=1).reset_index() if scores else pd.DataFrame(columns=key)
    for col in ("score_entities", "score_contacts", "score_cluster", "score_money"):
        if col not in out:
            out[col] = 0.0
        out[col] = out[col].astype(float).fillna(0.0)
    for col in ("n_entities", "n_contacts", "n_money"):
        if col not in out:
            out[col] = 0
        out[col] = out[col].astype(float).fillna(0).astype(np.int64)
    if "last_evidence_date" not in out:
        out["last_evidence_date"] = pd.Series(pd.NaT, index=out.index, dtype="datetime64[s]")
    out["score"] = out["score_entities"] + out["score_contacts"] + out["score_cluster"] + out["score_money"]
    out = out.merge(subjects[["case_id", "record_id", "role", "date"]].rename(columns={"date": "case_date"}),
                    on=["case_id", "record_id"])
    out["candidate_role"] = out["candidate"].map(cand_role)
    out = out.sort_values(["case_id", "record_id", "score", "candidate"], ascending=[True, True, False, True],
                          kind="mergesort")
    out["rank"] = out.groupby(["case_id", "record_id"]).cumcount() + 1
    out = out[out["rank"] <= top]
    cols = ["case_id", "case_date", "record_id", "role", "candidate", "candidate_role", "rank", "score",
            "score_entities", "score_contacts", "score_cluster", "n_entities", "n_contacts", "last_evidence_date",
            "score_money", "n_money"]
    out = out[cols].reset_index(drop=True)
    out["case_id"] = case_ids[out["case_id"].to_numpy()] if len(out) else out["case_id"].astype(object)
    out["record_id"] = rec_ids[out["record_id"].to_numpy()] if len(out) else out["record_id"].astype(object)
    out["candidate"] = rec_ids[out["candidate"].to_numpy()] if len(out) else out["candidate"].astype(object)
    schema = pa.schema([("case_id", pa.string()), ("case_date", pa.date32()), ("record_id", pa.string()),
                        ("role", pa.string()), ("candidate", pa.string()), ("candidate_role", pa.string()),
                        ("rank", pa.int64()), ("score", pa.float64()), ("score_entities", pa.float64()),
                        ("score_contacts", pa.float64()), ("score_cluster", pa.float64()),
                        ("n_entities", pa.int64()), ("n_contacts", pa.int64()), ("last_evidence_date", pa.date32()),
                        ("score_money", pa.float64()), ("n_money", pa.int64())])
    out["case_date"] = pd.to_datetime(out["case_date"]).dt.date
    out["last_evidence_date"] = pd.to_datetime(out["last_evidence_date"]).dt.date
    return pa.Table.from_pandas(out, schema=schema, preserve_index=False)


def _money_evidence(data, tx, subjects, up, cand_role, allowed, case_ids, weight, key) -> pd.DataFrame:
    """(subject, candidate) -> score_money, n_money: transfers from the traced case's accounts to accounts
    held by the candidate's cases, dated on or before the traced case."""
    ce = get_table(data, "case_entities", columns=("case_id", "kind", "value")).to_pandas()
    acc = ce[ce["kind"] == "account"][["case_id", "value"]].copy()
    acc["case_id"] = _codes(acc["case_id"], case_ids)
    mine = acc[acc["case_id"].isin(subjects["case_id"].unique())]
    t = tx.select(["src_account", "dst_account", "date"])
    t = t.filter(pc.is_in(t.column("src_account"), value_set=pa.array(mine["value"].unique(), pa.string())))
    t = t.filter(pc.is_in(t.column("dst_account"), value_set=pa.array(acc["value"].unique(), pa.string())))
    if t.num_rows == 0:
        return pd.DataFrame(columns=key + ["score_money", "n_money"]).set_index(key)
    t = t.group_by(["src_account", "dst_account"], use_threads=False).aggregate([("date", "min")]).to_pandas()
    t["date_min"] = as_date_array(t["date_min"])
    ev = mine.rename(columns={"value": "src_account"}).merge(t, on="src_account")
    ev = ev.merge(subjects[["case_id", "record_id", "role", "date"]], on="case_id")
    ev = ev[ev["date_min"] <= ev["date"]]  # time order: the money moved by the traced case's date
    ev = ev.merge(acc.rename(columns={"case_id": "other", "value": "dst_account"}), on="dst_account")
    ev = ev.merge(up[["case_id", "record_id"]].rename(columns={"case_id": "other", "record_id": "candidate"}),
                  on="other")
    ev["candidate_role"] = ev["candidate"].map(cand_role)
    ev = ev.merge(allowed, on=["role", "candidate_role"])
    ev = ev[ev["candidate"] != ev["record_id"]].drop_duplicates(key + ["dst_account"])
    reach = ev.groupby(["case_id", "record_id", "dst_account"])["candidate"].transform("size")
    ev["w"] = weight / reach
    return ev.groupby(key).agg(score_money=("w", "sum"), n_money=("dst_account", "size"))


@tabular
def trace_coverage(data, trace: pa.Table, *, roles: tuple[str, ...] = ("user", "buyer")) -> pa.Table:
    """Per region and month: how many user cases were traced to a seller.

    A case counts as ``traced`` when one of its persons with a role in ``roles`` has a
    candidate backed by direct evidence (entities or contacts), and ``traced_any`` when it
    has any candidate (the cluster prior included).

    Parameters
    ----------
    data : Dataset or mapping of tables
    trace : pyarrow.Table
        From :func:`trace_upstream`.
    roles : tuple of str, default ("user", "buyer")
        The traced persons' roles that count.

    Returns
    -------
    pyarrow.Table
        ``region_id``, ``month`` (``YYYY-MM``), ``cases``, ``traced``, ``traced_any``,
        ``share`` (traced / cases), sorted by region and month.
    """
    cases = get_table(data, "cases", columns=("case_id", "region_id", "date")).to_pandas()
    cp = get_table(data, "case_persons", columns=("case_id", "role")).to_pandas()
    ids = cp.loc[cp["role"].isin(list(roles)), "case_id"].unique()
    c = cases[cases["case_id"].isin(ids)][["case_id", "region_id", "date"]].copy()
    c["month"] = pd.to_datetime(c["date"]).dt.strftime("%Y-%m")
    t = trace.to_pandas()
    t = t[t["role"].isin(list(roles))]
    direct = set(t.loc[(t["score_entities"] > 0) | (t["score_contacts"] > 0), "case_id"])
    c["traced"] = c["case_id"].isin(direct)
    c["traced_any"] = c["case_id"].isin(set(t["case_id"]))
    out = c.groupby(["region_id", "month"], sort=True).agg(
        cases=("case_id", "size"), traced=("traced", "sum"), traced_any=("traced_any", "sum")).reset_index()
    out["share"] = out["traced"] / out["cases"]
    return pa.Table.from_pandas(out.astype({"traced": np.int64, "traced_any": np.int64}), preserve_index=False)
