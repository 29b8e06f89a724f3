"""Clusters tracked across periods: which network is new, which grew, split, merged or was broken.

:func:`track_communities` matches the communities of consecutive periods by the Jaccard overlap of
their members (Greene, Doyle & Cunningham 2010, "Tracking the evolution of communities in dynamic
social networks", ASONAM) and labels what happened to each: birth, continuation, growth,
contraction, merge, split, death. Every community gets a stable ``track`` id that it keeps while
it continues. :func:`track_clusters` does it for 集群打零: the cases of each period are clustered
(:func:`~jinduanalytics.clusters.cluster_cases` on that period's window) and a cluster's members are
the identifiers and persons its cases hold (what persists from one period to the next; the cases
themselves do not).
"""

from __future__ import annotations

import datetime as _dt

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ._checks import check_int, check_positive
from .clusters import case_links, cluster_cases
from .disruption import betweenness
from .errors import ParameterError, SchemaError
from .graph import entity_weights
from .graph.build import auto_max_cases
from .options import tabular
from .periods import period_start
from .tables import as_table, get_table

__all__ = ["track_communities", "track_clusters", "key_players_over_time", "EVENTS"]

#: The event labels, in the order of Greene et al.
EVENTS = ("birth", "death", "merge", "split", "growth", "contraction", "continuation")


@tabular
def track_communities(memberships, *, theta: float = 0.3, contain: float = 0.5, growth: float = 0.2,
                      min_change: int = 3) -> tuple[pa.Table, pa.Table]:
    """Match communities across consecutive periods and label their events.

    A community of period ``t`` matches one of the previous period when the Jaccard overlap of
    their members is at least ``theta`` (Greene et al.), or when at least ``contain`` of the smaller
    one's members are in the larger (a small network absorbed by a large one, or a small part
    splitting off, has a low Jaccard with it but is mostly inside it). Then, for each community of
    ``t``:

    * no match: **birth** (a new track);
    * matches two or more of ``t-1``: **merge** (it continues the track of the largest);
    * it is one of two or more matches of one community of ``t-1``: **split** (the largest part
      continues the track, the others start new ones);
    * else it continues its one match's track: **growth** when it has at least ``growth`` (relative
      to the previous size) and ``min_change`` members the track had in neither of its last two
      periods (a member missing from one period's data is no gain when it is back), **contraction**
      when it is smaller than the previous period by as much, else **continuation**.

    A community of ``t-1`` that matches nothing in ``t`` ends its track: **death** (dated ``t``).
    Periods are taken in sorted order; a period with no communities ends every track.

    Parameters
    ----------
    memberships : pyarrow.Table or pandas.DataFrame
        ``period`` (sortable: a date or a number), ``community`` and ``member``; one row per member
        of a community in a period.
    theta : float
        Jaccard threshold of a match (Greene et al. use 0.3).
    contain : float
        Share of the smaller community inside the larger that also makes a match (> 1: Jaccard only).
    growth : float
        Relative size change that counts as growth or contraction.
    min_change : int
        ... and the least number of members it must change by.

    Returns
    -------
    (events, communities) : tuple of pyarrow.Table
        ``events``: ``period``, ``event``, ``track``, ``community`` (of ``period``; null for a
        death), ``previous`` (list of the matched communities of the period before), ``size``,
        ``previous_size``, ``jaccard`` (best match), ``kept``, ``gained``, ``lost`` (members),
        one row per event, sorted by period and track. ``communities``: ``period``, ``community``,
        ``track``, ``size``.

    Examples
    --------
    >>> m = pa.table({"period": [1] * 3 + [2] * 7, "community": [0] * 3 + [5] * 7,
    ...               "member": list("abc") + list("abcdefg")})
    >>> track_communities(m)[0].column("event").to_pylist()
    ['birth', 'growth']
    """
    check_positive(theta=theta)
    if theta > 1:
        raise ParameterError(f"theta is a Jaccard threshold in (0, 1]; got {theta!r}")
    check_positive(growth=growth)
    m = as_table(memberships, "memberships")
    for col in ("period", "community", "member"):
        if col not in m.column_names:
            raise SchemaError(f"memberships: missing column '{col}'; found: {', '.join(m.column_names)}")
    df = m.select(["period", "community", "member"]).to_pandas().dropna().drop_duplicates()
    periods = sorted(df["period"].unique())
    sets = {p: {c: frozenset(g["member"]) for c, g in d.groupby("community", sort=True)}
            for p, d in df.groupby("period", sort=True)}
    events, rows = [], []
    track_of: dict = {}
    history: dict = {}  # track -> its members the period before last
    next_track = 0
    prev_p = None
    for p in periods:
        cur = sets.get(p, {})
        prev = sets.get(prev_p, {}) if prev_p is not None else {}
        jac = _jaccard_matches(prev, cur, theta, contain)  # (prev community, cur community) -> jaccard
        preds = {c: sorted([a for (a, b) in jac if b == c], key=lambda a: (-len(prev[a]), str(a))) for c in cur}
        succs = {a: sorted([b for (x, b) in jac if x == a], key=lambda b: (-len(cur[b]), str(b))) for a in prev}
        new_tracks = {}
        for c in sorted(cur, key=lambda c: (-len(cur[c]), str(c))):
            ps = preds[c]
            size = len(cur[c])
            if not ps:
                event, track, before, prev_size = "birth", None, set(), 0
            else:
                lead = ps[0]
                before = set().union(*(prev[a] for a in ps))
                prev_size = len(before)
                if len(ps) >= 2:
                    event = "merge"
                elif len(succs[lead]) >= 2:
                    event = "split"
                else:
                    # against the track's last two periods: a member missing from one period's data
                    # is neither a loss nor, when it is back, a gain
                    before_last = history.get(track_of[(prev_p, lead)], set())
                    bar = max(growth * len(prev[lead]), min_change)
                    if len(cur[c] - prev[lead] - before_last) >= bar:
                        event = "growth"
                    elif len(prev[lead]) - size >= bar:
                        event = "contraction"
                    else:
                        event = "continuation"
                # the largest successor of the lead keeps its track; other parts of a split start new ones
                track = track_of[(prev_p, lead)] if succs[lead][0] == c else None
            if track is None:
                track, next_track = next_track, next_track + 1
            new_tracks[c] = track
            best = max((jac[(a, c)] for a in ps), default=0.0)
            events.append((p, event, track, c, list(ps), size, prev_size, best, len(cur[c] & before),
                           len(cur[c] - before), len(before - cur[c])))
        for a in prev:
            if not succs[a]:
                events.append((p, "death", track_of[(prev_p, a)], None, [a], 0, len(prev[a]), 0.0, 0, 0, len(prev[a])))
        history = {track_of[(prev_p, a)]: prev[a] for a in prev} if prev_p is not None else {}
        for c, t in new_tracks.items():
            track_of[(p, c)] = t
            rows.append((p, c, t, len(cur[c])))
        prev_p = p
    ev = pd.DataFrame(events, columns=["period", "event", "track", "community", "previous", "size", "previous_size",
                                       "jaccard", "kept", "gained", "lost"])
    ev = ev.sort_values(["period", "track", "event"], kind="stable").reset_index(drop=True)
    period_type = m.schema.field("period").type
    community_type = m.schema.field("community").type
    out_ev = pa.table({
        "period": pa.array(ev["period"].tolist(), period_type), "event": pa.array(ev["event"], pa.string()),
        "track": pa.array(ev["track"].to_numpy(np.int64)),
        "community": pa.array([None if pd.isna(x) else x for x in ev["community"]], community_type),
        "previous": pa.array(ev["previous"].tolist(), pa.list_(community_type)),
        **{c: pa.array(ev[c].to_numpy(np.int64)) for c in ("size", "previous_size")},
        "jaccard": pa.array(ev["jaccard"].to_numpy(np.float64)),
        **{c: pa.array(ev[c].to_numpy(np.int64)) for c in ("kept", "gained", "lost")}})
    comm = pd.DataFrame(rows, columns=["period", "community", "track", "size"])
    out_c = pa.table({"period": pa.array(comm["period"].tolist(), period_type),
                      "community": pa.array(comm["community"].tolist(), community_type),
                      "track": pa.array(comm["track"].to_numpy(np.int64)), "size": pa.array(comm["size"].to_numpy(np.int64))})
    return out_ev, out_c


def _jaccard_matches(prev: dict, cur: dict, theta: float, contain: float) -> dict:
    """(a, b) -> Jaccard of every pair of communities of two periods that share a member and reach
    theta, or whose smaller one lies at least ``contain`` inside the larger."""
    owner: dict = {}
    for b, members in cur.items():
        for x in members:
            owner.setdefault(x, []).append(b)
    out = {}
    for a, members in prev.items():
        shared: dict = {}
        for x in members:
            for b in owner.get(x, ()):
                shared[b] = shared.get(b, 0) + 1
        for b, k in shared.items():
            j = k / (len(members) + len(cur[b]) - k)
            if j >= theta or k / min(len(members), len(cur[b])) >= contain:
                out[(a, b)] = j
    return out


@tabular
def track_clusters(data, *, period: str = "quarter", min_size: int = 3, theta: float = 0.3, contain: float = 0.5,
                   growth: float = 0.2,
                   seed: int = 7, links: pa.Table | None = None, **cluster_kwargs) -> tuple[pa.Table, pa.Table]:
    """集群打零 per period, the clusters matched across periods, and their events explained.

    The cases of each period (month, quarter or year of their date) are clustered on their own
    (:func:`~jinduanalytics.clusters.cluster_cases`, evidence weights of the whole dataset); clusters of
    at least ``min_size`` cases are tracked with :func:`track_communities`, a cluster's members being
    the identifiers and person records its cases hold (hub identifiers above the dataset's case cap
    left out: they persist everywhere and would tie unrelated clusters).

    Parameters
    ----------
    data : Dataset or mapping of tables
    period : {"month", "quarter", "year"}
    min_size : int
        Clusters with fewer cases are not tracked.
    theta, contain, growth : float
        See :func:`track_communities`.
    seed : int
    links : pyarrow.Table, optional
        :func:`~jinduanalytics.clusters.case_links` of ``data``, when already computed.
    **cluster_kwargs
        Passed to :func:`~jinduanalytics.clusters.cluster_cases` (density, n_runs, ...).

    Returns
    -------
    (events, clusters) : tuple of pyarrow.Table
        ``events`` as :func:`track_communities`, ``community`` being the period's cluster, plus
        ``cases`` (the cluster's cases that hold members of the clusters it continues: the cases that
        moved) and ``first_date``/``last_date`` of its cases. ``clusters``: ``period``, ``case_id``,
        ``cluster`` (of the period), ``track`` (null for untracked small clusters).
    """
    check_int("min_size", min_size, minimum=1)
    cases = get_table(data, "cases", columns=("case_id", "date"))
    links = case_links(data) if links is None else links
    ew = entity_weights(links)
    cap = auto_max_cases(ew.column("n_cases").to_numpy())
    members_of = links.join(ew.filter(pc.less_equal(ew.column("n_cases"), cap)).select(["kind", "value"]),
                            ["kind", "value"], join_type="inner")
    starts = period_start(cases.column("date"), period)
    per_case = pa.table({"case_id": cases.column("case_id"), "period": starts, "date": cases.column("date")})
    # every link and every member row tagged with its case's period once, then sliced per period
    # (filtering the dataset's links once per period had cost most of the time at the rim)
    by_period = [_by_period(t, per_case) for t in (links, members_of, cases.select(["case_id"]))]
    parts, membership = [], []
    for p in pc.unique(starts).sort().to_pylist():
        sub_links, sub_members, sub_cases = (_slice(t, days, p) for t, days in by_period)
        cl = cluster_cases({"cases": sub_cases}, seed=seed, links=sub_links.drop_columns(["period"]), max_cases=cap,
                           **cluster_kwargs)
        cl = cl.select(["case_id", "cluster", "cluster_size"]).append_column(
            "period", pa.array([p] * cl.num_rows, pa.date32()))
        parts.append(cl)
        big = cl.filter(pc.greater_equal(cl.column("cluster_size"), min_size)).select(["case_id", "cluster"])
        mm = big.join(sub_members.select(["case_id", "kind", "value"]), "case_id", join_type="inner")
        membership.append(pa.table({"period": pa.array([p] * mm.num_rows, pa.date32()), "community": mm.column("cluster"),
                                    "member": pc.binary_join_element_wise(mm.column("kind"), mm.column("value"), ":")}))
    clusters = pa.concat_tables(parts) if parts else pa.table(
        {"case_id": pa.array([], pa.string()), "cluster": pa.array([], pa.int64()),
         "cluster_size": pa.array([], pa.int64()), "period": pa.array([], pa.date32())})
    memberships = pa.concat_tables(membership) if membership else pa.table(
        {"period": pa.array([], pa.date32()), "community": pa.array([], pa.int64()), "member": pa.array([], pa.string())})
    events, comm = track_communities(memberships, theta=theta, contain=contain, growth=growth)
    # the cases behind each event: the cluster's cases that hold members of what it continues
    cdf = clusters.to_pandas().merge(comm.to_pandas(), left_on=["period", "cluster"], right_on=["period", "community"],
                                     how="left")
    dates = per_case.to_pandas().set_index("case_id")["date"]
    mem = memberships.to_pandas()
    mem_by = {k: set(g["member"]) for k, g in mem.groupby(["period", "community"])}
    tracked_ids = pa.array(cdf.loc[cdf["track"].notna(), "case_id"].unique(), pa.string())
    cm = members_of.filter(pc.is_in(members_of.column("case_id"), value_set=tracked_ids))
    cm = pa.table({"case_id": cm.column("case_id"),
                   "member": pc.binary_join_element_wise(cm.column("kind"), cm.column("value"), ":")})
    cm = cm.group_by("case_id", use_threads=False).aggregate([("member", "list")])
    case_mem = dict(zip(cm.column("case_id").to_pylist(), map(set, cm.column("member_list").to_pylist())))
    periods = sorted(mem["period"].unique()) if len(mem) else []
    before = {p: periods[i - 1] if i else None for i, p in enumerate(periods)}
    ev = events.to_pandas()
    tracked = cdf[cdf["track"].notna()]
    cases_of = {k: sorted(g) for k, g in tracked.groupby(["period", "cluster"])["case_id"]}
    moved, first, last = [], [], []
    for p, c, prev in zip(ev["period"], ev["community"], ev["previous"]):
        if pd.isna(c):
            moved.append([])
            first.append(None)
            last.append(None)
            continue
        own = cases_of[(p, int(c))]
        old = set().union(*(mem_by.get((before.get(p), a), set()) for a in prev)) if len(prev) else set()
        moved.append([x for x in own if case_mem.get(x, set()) & old])
        first.append(min(dates[x] for x in own))
        last.append(max(dates[x] for x in own))
    events = events.append_column("cases", pa.array(moved, pa.list_(pa.string())))
    events = events.append_column("first_date", pa.array(first, pa.date32()))
    events = events.append_column("last_date", pa.array(last, pa.date32()))
    out_c = pa.table({"period": pa.array(cdf["period"].tolist(), pa.date32()), "case_id": pa.array(cdf["case_id"], pa.string()),
                      "cluster": pa.array(cdf["cluster"].to_numpy(np.int64)),
                      "track": pa.array([None if pd.isna(t) else int(t) for t in cdf["track"]], pa.int64())})
    return events, out_c.sort_by([("period", "ascending"), ("case_id", "ascending")])


def _by_period(t: pa.Table, per_case: pa.Table) -> tuple[pa.Table, np.ndarray]:
    """``t`` (with a ``case_id``) with its case's period, sorted by period, and those periods as day
    numbers (for :func:`_slice`)."""
    idx = pc.index_in(t.column("case_id"), value_set=per_case.column("case_id").combine_chunks())
    t = t.append_column("period", per_case.column("period").combine_chunks().take(idx)).sort_by([("period", "ascending")])
    return t, t.column("period").combine_chunks().cast(pa.int32()).to_numpy(zero_copy_only=False)


def _slice(t: pa.Table, days: np.ndarray, p: _dt.date) -> pa.Table:
    """The rows of period ``p`` of a table sorted by period (``days``: its periods as day numbers)."""
    d = (p - _dt.date(1970, 1, 1)).days
    lo, hi = np.searchsorted(days, d, side="left"), np.searchsorted(days, d, side="right")
    return t.slice(lo, hi - lo)


@tabular
def key_players_over_time(edges, *, top: int | None = None) -> pa.Table:
    """Who matters in each period: degree, strength and betweenness per node and period.

    Parameters
    ----------
    edges : pyarrow.Table or pandas.DataFrame
        ``period``, ``source``, ``target``, optional ``weight`` (e.g. calls); treated as undirected
        within each period (a pair's weights in both directions add up).
    top : int, optional
        Keep the ``top`` nodes by degree per period.

    Returns
    -------
    pyarrow.Table
        ``period``, ``node``, ``degree`` (distinct contacts), ``strength`` (sum of weights),
        ``betweenness`` (normalised, unweighted; :func:`~jinduanalytics.disruption.betweenness`),
        ``rank`` (by degree, then betweenness, then node id; 1 = first), sorted by period and rank.
    """
    e = as_table(edges, "edges")
    for col in ("period", "source", "target"):
        if col not in e.column_names:
            raise SchemaError(f"edges: missing column '{col}'; found: {', '.join(e.column_names)}")
    df = e.to_pandas()
    df["weight"] = df["weight"].astype(float) if "weight" in df else 1.0
    df = df[df["source"].astype(str) != df["target"].astype(str)]
    a, b = df["source"].astype(str), df["target"].astype(str)
    df = df.assign(u=np.where(a < b, a, b), v=np.where(a < b, b, a))
    pairs = df.groupby(["period", "u", "v"], as_index=False, sort=True)["weight"].sum()
    out = []
    for p, g in pairs.groupby("period", sort=True):
        ends = pd.concat([g[["u", "weight"]].rename(columns={"u": "node"}), g[["v", "weight"]].rename(columns={"v": "node"})])
        stats = ends.groupby("node").agg(degree=("weight", "size"), strength=("weight", "sum"))
        bt = betweenness(pa.table({"source": g["u"].to_numpy(), "target": g["v"].to_numpy()})).to_pandas()
        stats["betweenness"] = bt.set_index("node_id")["betweenness"].reindex(stats.index).fillna(0.0)
        stats = stats.reset_index().sort_values(["degree", "betweenness", "node"], ascending=[False, False, True])
        stats["rank"] = np.arange(1, len(stats) + 1)
        stats.insert(0, "period", p)
        out.append(stats.head(top) if top else stats)
    res = pd.concat(out, ignore_index=True)
    return pa.table({"period": pa.array(res["period"].tolist(), e.schema.field("period").type),
                     "node": pa.array(res["node"], pa.string()), "degree": pa.array(res["degree"].to_numpy(np.int64)),
                     "strength": pa.array(res["strength"].to_numpy(np.float64)),
                     "betweenness": pa.array(res["betweenness"].to_numpy(np.float64)),
                     "rank": pa.array(res["rank"].to_numpy(np.int64))})
