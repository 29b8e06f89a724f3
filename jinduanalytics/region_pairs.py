"""Region pairs (环北部湾): which regions are tied together more than their volumes explain.

Evidence, each counted as ties between two regions:

* ``persons``: a resolved person (records linked across regions' systems) involved in cases
  of both regions (one tie per pair of regions the person's cases span); records outside any
  case (registers of users) do not tie regions;
* ``entities``: a phone / account / parcel sender / address / vehicle found in cases of both
  regions (hubs above the case cap are left out);
* ``clusters``: a case cluster (集群打零) with cases in both regions;
* ``trips``: consignments moved between the two regions (legs chained into trips, see
  :func:`jinduanalytics.routes.trips`), either direction.

Null model (per evidence type): chance ties between two regions in proportion to the product
of their volumes, ``E_ab = r * V_a V_b`` (a region's volume is its number of cases). The rate
``r`` is estimated from the *background* pairs: ``r = sum O / sum V_a V_b`` over the pairs not
found significant, iterated until the set is stable (``robust=True``; with ``robust=False`` over
all pairs, which spreads every observed tie by volume). Busy regions share more ties by chance; only the excess counts. Observed ``O_ab``
is scored by the Poisson mid-p upper tail ``p = P(X > O) + P(X = O) / 2`` (mid-p keeps a pair
with no ties near z = 0 instead of -inf), reported as ``z = Phi^-1(1 - p)``. Types combine by
Stouffer's sum ``z = sum z_t / sqrt(T)``.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pyarrow as pa
from scipy.stats import norm

from . import distributed, routes
from ._checks import check_choice
from .clusters._data import link_weights
from .errors import GraphInputError, ParameterError
from .graph.build import auto_max_cases
from .options import tabular
from .stats import poisson_z
from .tables import get_table

__all__ = ["region_pairs", "region_ties", "region_pair_evidence"]


def _pair_ties(groups: pd.DataFrame, key: str, region: str, kind: str) -> pd.DataFrame:
    """For each group (key), one tie per unordered pair of distinct regions it spans."""
    g = groups[[key, region]].dropna().drop_duplicates()
    g = g[g.groupby(key)[region].transform("size") >= 2]
    rows = []
    for _, regs in g.groupby(key, sort=False)[region]:
        for a, b in itertools.combinations(sorted(regs), 2):
            rows.append((a, b))
    df = pd.DataFrame(rows, columns=["region_a", "region_b"])
    return df.groupby(["region_a", "region_b"], as_index=False).size().rename(columns={"size": kind})


def _item_ties(part: pd.DataFrame, kind: str, max_cases) -> pd.DataFrame:
    """One partition's ties (an item's rows all in it): with ``max_cases`` (entities), only items held
    by 2..cap distinct cases count, as in-process."""
    distributed._maybe_die()
    if max_cases is not False:
        k = part.groupby("item")["case_id"].transform("nunique")
        part = part[(k >= 2) & (k <= max_cases)] if max_cases is not None else part[k >= 2]
    out = _pair_ties(part, "item", "region_id", kind)
    return out.astype({kind: np.int64})


def _dask_ties(data, persons, clusters, max_cases, client) -> tuple[list[pd.DataFrame], pd.Series]:
    """:func:`region_ties`' evidence counted on the cluster; and the cases per region."""
    cases = distributed.frame(data, "cases", ["case_id", "region_id"], client)
    vol = cases["region_id"].value_counts().compute()
    meta = {"region_a": object, "region_b": object}
    items = {}
    if persons is not None:
        cp = distributed.frame(data, "case_persons", ["case_id", "record_id"], client)
        pt = distributed.from_table(persons.select(["record_id", "person_id"]) if isinstance(persons, pa.Table)
                                    else persons[["record_id", "person_id"]], client)
        items["persons"] = (cp.merge(pt, on="record_id").merge(cases, on="case_id")
                            .rename(columns={"person_id": "item"})[["item", "case_id", "region_id"]], False)
    ce = distributed.frame(data, "case_entities", ["case_id", "kind", "value"], client)
    nulls = ce.isna().sum().compute()
    if nulls.any():
        col = nulls[nulls > 0].index[0]
        raise GraphInputError(f"case_entities: column '{col}' has {int(nulls[col])} rows that are null; "
                              "validate the table first (jinduanalytics.validate_table)")
    ent = ce.assign(item=ce["kind"] + "\x1f" + ce["value"])[["item", "case_id"]].drop_duplicates()
    ent = client.persist(ent.merge(cases, on="case_id", how="left").shuffle(on="item"))
    cap = max_cases
    if cap == "auto":  # from every entity's distinct cases, as in-process
        k = ent.groupby("item")["case_id"].nunique().compute().to_numpy()
        cap = auto_max_cases(k)
    items["entities"] = (ent, cap)
    if clusters is not None:
        ct = distributed.from_table(clusters.select(["case_id", "cluster"]), client)
        items["clusters"] = (ct.merge(cases, on="case_id").rename(columns={"cluster": "item"})
                             [["item", "case_id", "region_id"]], False)
    parts = []
    for kind, (frame, cap_k) in items.items():
        shuffled = frame if kind == "entities" else frame.shuffle(on="item")
        got = shuffled.map_partitions(_item_ties, kind, cap_k, meta={**meta, kind: np.int64}).compute()
        parts.append(got.groupby(["region_a", "region_b"], as_index=False)[kind].sum())
    return parts, vol


def _evidence(data, persons, clusters, max_cases) -> dict[str, pd.DataFrame]:
    """Per evidence type, the items that can tie regions: ``item``, ``case_id``, ``region_id`` (and
    ``detail``: the entity kind) — resolved persons, entities held by 2..cap cases, clusters."""
    out = {}
    cases = get_table(data, "cases", columns=("case_id", "region_id")).to_pandas()[["case_id", "region_id"]]
    if persons is not None:
        pt = persons.to_pandas() if isinstance(persons, pa.Table) else persons
        cp = get_table(data, "case_persons", columns=("case_id", "record_id")).to_pandas()[["case_id", "record_id"]]
        cp = cp.merge(pt[["record_id", "person_id"]], on="record_id").merge(cases, on="case_id")
        out["persons"] = cp.rename(columns={"person_id": "item"}).assign(detail="person")
    ce = get_table(data, "case_entities", columns=("case_id", "kind", "value"))
    # weight > 0: held by 2..cap cases (entities in one case tie nothing; hubs above the cap are left out)
    ced = link_weights(ce.select(["case_id", "kind", "value"]),
                       {"rarity": "none", "max_cases_used": max_cases, "kind_weights": None})
    ced = ced[ced["weight"] > 0]
    ced = ced.assign(item=ced["kind"] + "\x1f" + ced["value"], detail=ced["kind"])
    out["entities"] = ced.merge(cases, on="case_id")
    if clusters is not None:
        cl = clusters.select(["case_id", "cluster"]).to_pandas().merge(cases, on="case_id")
        out["clusters"] = cl.rename(columns={"cluster": "item"}).assign(detail="cluster")
    return out


@tabular
def region_pair_evidence(data, region_a: str, region_b: str, *, persons=None, clusters=None, max_cases="auto",
                         trips: pa.Table | None = None) -> pa.Table:
    """What ties two regions: the persons, entities, clusters and consignments behind a region pair's score.

    The items :func:`region_ties` counts for the pair, one row each, with the cases that hold the item
    in each region (a consignment has none: its route and date instead).

    Parameters
    ----------
    data : Dataset or mapping of tables
    region_a, region_b : str
        The pair (either order).
    persons, clusters, max_cases, trips
        As in :func:`region_pairs` (persons and clusters add their evidence types).

    Returns
    -------
    pyarrow.Table
        ``evidence`` (persons, entities, clusters, trips), ``item`` (person id, ``kind:value`` of an
        entity — personal values: mask them in reports —, cluster, or ``route date``), ``detail``
        (entity kind; trip modes), ``cases_a``, ``cases_b`` (case ids in ``region_a``, in ``region_b``),
        ``quantity_g`` (trips).
    """
    a, b = str(region_a), str(region_b)
    if a == b:
        raise ParameterError(f"region_pair_evidence: two different regions are needed; got {region_a!r} twice")
    rows = []
    for kind, frame in _evidence(data, persons, clusters, max_cases).items():
        f = frame[frame["region_id"].isin([a, b])][["item", "case_id", "region_id", "detail"]].drop_duplicates()
        both = f.groupby("item")["region_id"].transform("nunique") == 2
        for item, g in f[both].groupby("item", sort=True):
            rows.append((kind, str(item).replace("\x1f", ":"), str(g["detail"].iloc[0]),
                         sorted(g.loc[g["region_id"] == a, "case_id"].unique()),
                         sorted(g.loc[g["region_id"] == b, "case_id"].unique()), None))
    if "flows" in data:
        t = (trips if trips is not None else routes.trips(data)).to_pandas()
        t = t[((t["origin"] == a) & (t["destination"] == b)) | ((t["origin"] == b) & (t["destination"] == a))]
        for r in t.sort_values(["date", "route"], kind="stable").itertuples():
            rows.append(("trips", f"{r.route} {r.date}", str(r.modes), [], [], float(r.quantity_g)))
    return pa.table({"evidence": pa.array([r[0] for r in rows], pa.string()),
                     "item": pa.array([r[1] for r in rows], pa.string()),
                     "detail": pa.array([r[2] for r in rows], pa.string()),
                     "cases_a": pa.array([r[3] for r in rows], pa.list_(pa.string())),
                     "cases_b": pa.array([r[4] for r in rows], pa.list_(pa.string())),
                     "quantity_g": pa.array([r[5] for r in rows], pa.float64())})


def region_ties(data, *, persons=None, clusters=None, max_cases="auto", trips: pa.Table | None = None) -> pd.DataFrame:
    """Observed ties per unordered region pair and evidence type (wide: one column per type);
    the parameters are :func:`region_pairs`'.

    Parameters
    ----------
    data : Dataset or mapping of tables
    persons, clusters, max_cases, trips
        As in :func:`region_pairs`.
    """
    parts = [_pair_ties(frame, "item", "region_id", kind)
             for kind, frame in _evidence(data, persons, clusters, max_cases).items()]
    if trips is None and "flows" in data:
        trips = routes.trips(data)
    return _combine(parts, trips)


def _combine(parts: list[pd.DataFrame], trips: pa.Table | None) -> pd.DataFrame:
    """The evidence types' tie counts (and the trips') in one wide frame."""
    if trips is not None:
        t = trips.to_pandas()
        t = t[t["origin"] != t["destination"]]
        lo = np.minimum(t["origin"], t["destination"])
        hi = np.maximum(t["origin"], t["destination"])
        parts.append(pd.DataFrame({"region_a": lo, "region_b": hi}).groupby(["region_a", "region_b"], as_index=False)
                     .size().rename(columns={"size": "trips"}))
    out = None
    for p in parts:
        out = p if out is None else out.merge(p, on=["region_a", "region_b"], how="outer")
    return out.fillna(0)


@tabular
def region_pairs(data, *, persons=None, clusters=None, regions=None, z_threshold: float = 3.0,
                 two_way_min_share: float = 0.1, max_cases="auto", robust: bool = True,
                 max_rounds: int = 20, trips: pa.Table | None = None, engine: str = "local",
                 client=None) -> pa.Table:
    """Score every pair of case regions against chance; flag two-way (双向) flows.

    Parameters
    ----------
    data : Dataset, mapping of tables, or a dataset folder (with ``engine="dask"``)
        ``person_records``, ``cases``, ``case_entities``; ``flows`` for trips.
    persons : table, optional
        ``record_id`` -> ``person_id`` (e.g. from :func:`jinduanalytics.linkage.resolve_persons`).
    clusters : table, optional
        From :func:`jinduanalytics.clusters.cluster_cases`.
    regions : list of str, optional
        Regions to pair (default: every region with cases).
    z_threshold : float
        ``significant`` = combined z at or above it.
    two_way_min_share : float
        ``two_way`` = trips both ways, the smaller direction at least this share of the larger.
    max_cases : int, "auto" or None
        Entities held by more cases than this link nothing (as in clustering).
    robust : bool
        Estimate the chance tie rate from the background pairs only: pairs found significant
        are set aside and the rate re-estimated, until the set is stable (at most
        ``max_rounds``). Without it the rate comes from all pairs, and where most pairs carry
        real ties (the Beibu preset plants links between most cross-province pairs) the null
        absorbs the signal it should reveal.
    max_rounds : int
        Rounds of the robust rate estimate.
    trips : pyarrow.Table, optional
        :func:`jinduanalytics.routes.trips` of ``data``, when already computed.
    engine : {"local", "dask"}
        ``"dask"``: the ties are counted on a Dask cluster — each evidence type's items joined to
        their cases' regions and shuffled by item, the pairs of regions an item spans counted per
        partition and added up (the hub cap ``"auto"`` from the gathered entity counts); trips
        (from the flows) and the scoring, a few hundred region pairs, run here. The same table.
    client : distributed.Client, optional
        With ``engine="dask"``: the cluster (default: a local one for the call).

    Returns
    -------
    pyarrow.Table
        ``rank``, ``region_a``, ``region_b``, per evidence type ``<type>`` (observed),
        ``<type>_expected``, ``<type>_z``; ``z`` (combined), ``p`` (of the combined z),
        ``significant``, ``trips_ab``, ``trips_ba``, ``two_way``; best first.
    """
    check_choice("engine", engine, distributed.ENGINES)
    if engine == "dask":
        with distributed.engine_client(client) as cl:
            parts, vol = _dask_ties(data, persons, clusters, max_cases, cl)
        if trips is None:
            flows = distributed.folder_table(data, "flows") if distributed.is_folder(data) else (
                data["flows"] if "flows" in data else None)
            trips = routes.trips(flows) if flows is not None else None
        ties = _combine(parts, trips)
    else:
        if trips is None and "flows" in data:
            trips = routes.trips(data)
        ties = region_ties(data, persons=persons, clusters=clusters, max_cases=max_cases, trips=trips)
        vol = get_table(data, "cases", columns=("case_id", "region_id")).to_pandas()["region_id"].value_counts()
    regs = sorted(vol.index) if regions is None else sorted(regions)
    grid = pd.DataFrame(list(itertools.combinations(regs, 2)), columns=["region_a", "region_b"])
    df = grid.merge(ties, on=["region_a", "region_b"], how="left").fillna(0)
    types = [c for c in ("persons", "entities", "clusters", "trips") if c in ties.columns]
    vol = vol.reindex(regs).fillna(0).astype(float)
    prod = df["region_a"].map(vol).to_numpy() * df["region_b"].map(vol).to_numpy()
    background = np.ones(len(df), dtype=bool)
    for _ in range(max_rounds if robust else 1):
        zs = []
        for t in types:
            # chance tie rate per unit of volume product, from the background pairs only
            rate = float(df.loc[background, t].sum()) / max(float(prod[background].sum()), 1e-12)
            exp = rate * prod
            df[f"{t}_expected"] = exp
            df[f"{t}_z"], _ = poisson_z(df[t].to_numpy(float), exp)
            zs.append(df[f"{t}_z"].to_numpy())
        z = np.sum(zs, axis=0) / np.sqrt(len(zs)) if zs else np.zeros(len(df))
        new_background = z < z_threshold
        if not new_background.any() or (new_background == background).all():
            break
        background = new_background
    df["z"] = z
    df["p"] = norm.sf(df["z"])
    df["significant"] = df["z"] >= z_threshold
    if trips is not None:
        t = trips.to_pandas()
        od = t.groupby(["origin", "destination"]).size()
        df["trips_ab"] = [int(od.get((a, b), 0)) for a, b in zip(df["region_a"], df["region_b"])]
        df["trips_ba"] = [int(od.get((b, a), 0)) for a, b in zip(df["region_a"], df["region_b"])]
    else:
        df["trips_ab"] = df["trips_ba"] = 0
    lo = np.minimum(df["trips_ab"], df["trips_ba"])
    hi = np.maximum(df["trips_ab"], df["trips_ba"])
    df["two_way"] = (lo >= 1) & (lo >= two_way_min_share * hi)
    df = df.sort_values(["z", "region_a", "region_b"], ascending=[False, True, True], kind="mergesort")
    df.insert(0, "rank", np.arange(1, len(df) + 1))
    for t in types:
        df[t] = df[t].astype(np.int64)
    return pa.Table.from_pandas(df.reset_index(drop=True), preserve_index=False)
