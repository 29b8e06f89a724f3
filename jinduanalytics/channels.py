"""The channels beyond the street: the 寄递 parcels, new substances and precursor chains.

* :func:`parcel_evidence`: the parcels a case ties to drugs (its waybill seized, or its sender or
  receiver named in a case), with the cases behind each.
* :func:`parcel_channels`: which courier outlets, senders and receivers carry such parcels beyond
  their volume — a significance score per endpoint against a volume null model.
* :func:`substance_table`: cases and grams per region, period and drug (or drug category), each
  drug's share and its first appearance in the region (emergence of new substances; the share of
  non-scheduled substances).
* :func:`precursor_links`: the purchases of precursor chemicals (易制毒化学品) behind each
  production case, through shared evidence, directly or along a chain of purchases.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from . import distributed, routes
from ._checks import check_choice, check_int, check_nonnegative, check_positive
from .clusters._data import case_links
from .errors import ParameterError
from .graph import entity_weights
from .graph.build import auto_max_cases
from .options import tabular
from .periods import period_start
from .stats import bh_qvalues, poisson_z
from .tables import get_table
from .vocabulary import vocabulary_of

__all__ = ["parcel_evidence", "parcel_channels", "ENDPOINTS", "substance_table", "precursor_links",
           "PRECURSOR_CATEGORY"]

#: The parcel columns :func:`parcel_channels` scores, and the case-entity kind that names each
#: (``None``: an outlet is never evidence by itself).
ENDPOINTS = {"origin_outlet": None, "sender": "parcel_sender", "receiver": "parcel_receiver"}
#: The drug category of precursor chemicals.
PRECURSOR_CATEGORY = "易制毒化学品"
_EVIDENCE = {"waybill": "waybill", "parcel_sender": "sender", "parcel_receiver": "receiver"}


def _s(t: pa.Table, col: str) -> pa.Array:
    return t.column(col).combine_chunks().cast(pa.string())


def _ties(data) -> tuple[pa.Table, dict[str, np.ndarray], pa.Table]:
    """The parcels table, per evidence column a mask of the parcels it ties (aligned to the table),
    and the (kind, value, case_id) rows of the case entities that name a parcel."""
    parcels = get_table(data, "parcels", columns=("waybill", "origin_outlet", "origin_region", "destination_region",
                                                  "sender", "receiver", "date"))
    ce = get_table(data, "case_entities", columns=("case_id", "kind", "value"))
    ce = ce.filter(pc.is_in(_s(ce, "kind"), value_set=pa.array(list(_EVIDENCE), pa.string())))
    masks = {}
    for kind, column in _EVIDENCE.items():
        values = _s(ce.filter(pc.equal(_s(ce, "kind"), kind)), "value")
        masks[column] = pc.fill_null(pc.is_in(_s(parcels, column), value_set=values), False).to_numpy(zero_copy_only=False)
    return parcels, masks, ce


@tabular
def parcel_evidence(data) -> pa.Table:
    """The parcels that cases tie to drugs, and why.

    A parcel is tied when a case holds its waybill (``case_entities`` kind ``waybill``), its
    sender (kind ``parcel_sender``) or its receiver (kind ``parcel_receiver``).

    Parameters
    ----------
    data : Dataset or mapping of tables
        ``parcels`` and ``case_entities``.

    Returns
    -------
    pyarrow.Table
        One row per tied parcel: the parcel's columns, ``by_waybill``, ``by_sender``,
        ``by_receiver`` (bool), ``n_cases`` and ``case_ids`` (list), sorted by waybill.
    """
    parcels, masks, ce = _ties(data)
    rows = np.flatnonzero(np.logical_or.reduce(list(masks.values())))
    tied = parcels.take(pa.array(rows, pa.int64()))
    # every (parcel, case) pair: the parcel's value in each evidence column joined to the cases naming it
    pairs = []
    for kind, column in _EVIDENCE.items():
        named = ce.filter(pc.equal(_s(ce, "kind"), kind)).select(["value", "case_id"])
        t = pa.table({"row": pa.array(np.arange(len(rows)), pa.int64()), "value": _s(tied, column)})
        pairs.append(t.join(named, "value", join_type="inner").select(["row", "case_id"]))
    pairs = pa.concat_tables(pairs).group_by(["row", "case_id"], use_threads=False).aggregate([])
    pairs = pairs.sort_by([("row", "ascending"), ("case_id", "ascending")])
    lists = pairs.group_by("row", use_threads=False).aggregate([("case_id", "list")]).sort_by("row")
    out = tied
    for column, mask in masks.items():
        out = out.append_column(f"by_{column}", pa.array(mask[rows]))
    case_ids = lists.column("case_id_list")
    out = out.append_column("n_cases", pc.list_value_length(case_ids).cast(pa.int64()))
    out = out.append_column("case_ids", case_ids)
    return out.sort_by("waybill")


@tabular
def parcel_channels(data, *, endpoints: tuple[str, ...] = tuple(ENDPOINTS), alpha: float = 0.05,
                    min_parcels: int = 1, robust: bool = True) -> pa.Table:
    """Courier outlets, senders and receivers that carry drug-tied parcels beyond their volume.

    For each endpoint (an outlet, a sender, a receiver) with ``n`` parcels, of which ``k`` are tied
    to drugs (:func:`parcel_evidence`), the null model is ``k ~ Poisson(r n)``: every parcel has the
    same chance ``r`` of being tied, so a busy outlet is expected to carry more tied parcels and only
    the excess counts. ``r`` is estimated from the endpoints not found significant, iterated until
    the set is stable (``robust=True``; a few bad outlets would otherwise raise ``r`` for everyone),
    or from all parcels (``robust=False``). ``k`` is scored by the Poisson mid-p upper tail, and
    Benjamini-Hochberg q-values over the endpoints of a kind keep the expected share of false
    discoveries among the flagged at ``alpha``.

    A sender's or receiver's own listing in a case would tie every one of its parcels: it is left
    out of its own count (a parcel of a listed sender counts when its waybill or its receiver ties
    it) and shown as ``named_in_cases``.

    Parameters
    ----------
    data : Dataset or mapping of tables
        ``parcels`` and ``case_entities``.
    endpoints : tuple of {"origin_outlet", "sender", "receiver"}
    alpha : float
        False discovery rate of the ``flagged`` column.
    min_parcels : int
        Endpoints with fewer parcels are left out of the table (they still count in ``r``).
    robust : bool

    Returns
    -------
    pyarrow.Table
        ``endpoint`` (the column), ``value``, ``region`` (an outlet's region; a sender's most
        frequent origin, a receiver's most frequent destination; ties broken by region id),
        ``parcels``, ``tied`` (drug-tied parcels), ``expected``, ``excess``, ``z``, ``p_value``,
        ``q_value``, ``flagged``, ``named_in_cases``, ``rank`` (1 = most significant within the
        endpoint kind), sorted by endpoint and rank.
    """
    for e in endpoints:
        check_choice("endpoints", e, tuple(ENDPOINTS))
    check_positive(alpha=alpha)
    check_int("min_parcels", min_parcels, minimum=1)
    parcels, masks, ce = _ties(data)
    region_of = {"origin_outlet": "origin_region", "sender": "origin_region", "receiver": "destination_region"}
    parts = []
    for endpoint in endpoints:
        tied = np.logical_or.reduce([m for column, m in masks.items() if column != endpoint])
        t = pa.table({"value": _s(parcels, endpoint), "tied": pa.array(tied.astype(np.int64)),
                      "region": _s(parcels, region_of[endpoint])}).filter(pc.is_valid(_s(parcels, endpoint)))
        agg = t.group_by("value", use_threads=False).aggregate([("tied", "count"), ("tied", "sum")]).sort_by("value")
        # each endpoint's most frequent region (ties: the smaller id), in the same value order as agg
        by_region = t.group_by(["value", "region"], use_threads=False).aggregate([("tied", "count")])
        by_region = by_region.sort_by([("value", "ascending"), ("tied_count", "descending"), ("region", "ascending")])
        values = by_region.column("value").combine_chunks()
        first = np.ones(len(values), dtype=bool)
        if len(values) > 1:
            first[1:] = pc.not_equal(values.slice(1), values.slice(0, len(values) - 1)).to_numpy(zero_copy_only=False)
        df = pd.DataFrame({"value": agg.column("value").to_numpy(zero_copy_only=False),
                           "parcels": agg.column("tied_count").to_numpy(), "tied": agg.column("tied_sum").to_numpy(),
                           "region": by_region.column("region").filter(pa.array(first)).to_numpy(zero_copy_only=False)})
        n, k = df["parcels"].to_numpy(np.float64), df["tied"].to_numpy(np.float64)
        z, pv, expected = _volume_null(n, k, robust, alpha)
        df = df.assign(expected=expected, excess=k - expected, z=z, p_value=pv, q_value=bh_qvalues(pv))
        df["flagged"] = (df["q_value"] < alpha) & (df["excess"] > 0)
        kind = ENDPOINTS[endpoint]
        if kind is None:
            df["named_in_cases"] = False
        else:
            named = ce.filter(pc.equal(_s(ce, "kind"), kind)).column("value")
            df["named_in_cases"] = pc.is_in(pa.array(df["value"], pa.string()), value_set=named.combine_chunks()
                                            ).to_numpy(zero_copy_only=False)
        df = df[df["parcels"] >= min_parcels]  # (still in value order)
        df = df.iloc[np.lexsort((np.arange(len(df)), -df["excess"].to_numpy(), df["p_value"].to_numpy()))]
        df["rank"] = np.arange(1, len(df) + 1)
        df.insert(0, "endpoint", endpoint)
        parts.append(df)
    out = pd.concat(parts, ignore_index=True)
    cols = ["endpoint", "value", "region", "parcels", "tied", "expected", "excess", "z", "p_value", "q_value",
            "flagged", "named_in_cases", "rank"]
    out = out[cols].astype({"parcels": np.int64, "tied": np.int64, "rank": np.int64, "flagged": bool,
                            "named_in_cases": bool})
    return pa.Table.from_pandas(out, preserve_index=False)


def _volume_null(n: np.ndarray, k: np.ndarray, robust: bool, alpha: float):
    """Poisson scores of k against r * n, r from the not-significant endpoints (robust) or all."""
    background = np.ones(n.size, dtype=bool)
    for _ in range(20):
        rate = k[background].sum() / max(n[background].sum(), 1.0)
        expected = rate * n
        z, pv = poisson_z(k, expected)
        if not robust:
            break
        significant = (bh_qvalues(pv) < alpha) & (k > expected)
        new = ~significant
        if not new.any() or np.array_equal(new, background):
            break
        background = new
    return z, pv, expected


def _substance_rows(cases: pd.DataFrame, period: str, categories: dict, per_region: bool) -> pd.DataFrame:
    """Per case: its region, period, drug, category and grams."""
    df = pd.DataFrame({"region_id": cases["region_id"].to_numpy(dtype=object),
                       "period": period_start(pa.array(cases["date"], pa.date32()), period).to_pandas(),
                       "drug": cases["drug"].to_numpy(dtype=object),
                       "quantity_g": cases["quantity_g"].to_numpy(dtype=np.float64)})
    df["category"] = df["drug"].map(categories).fillna("其他")
    if not per_region:
        df["region_id"] = ""
    return df


@tabular
def substance_table(data, *, period: str = "month", by: str = "drug", per_region: bool = True,
                    vocabulary=None, engine: str = "local", client=None) -> pa.Table:
    """Cases and grams per region, period and drug (or drug category).

    Parameters
    ----------
    data : Dataset or mapping of tables
        ``cases``.
    period : {"month", "quarter", "year"}
    by : {"drug", "category"}
        Count each drug, or each category of the vocabulary (合成毒品, 新精神活性物质,
        非列管成瘾物质, 易制毒化学品 ...).
    per_region : bool, default True
        False: the whole dataset as one region (``region_id`` null).
    vocabulary : Vocabulary, path or mapping, optional
        Default: the dataset's.
    engine : {"local", "dask"}
        ``"dask"``: the cases (a dataset folder's partitions, read by the workers, or a table here) are
        shuffled by region, period and drug and counted per partition, each group summed in the
        table's row order — the same table.
    client : distributed.Client, optional
        With ``engine="dask"``: the cluster (default: a local one for the call).

    Returns
    -------
    pyarrow.Table
        ``region_id``, ``period`` (first day), ``drug`` or nothing, ``category``, ``cases``,
        ``quantity_g``, ``share`` (of the region's cases in the period), ``first_seen`` (the first
        period this drug or category has a case in the region: its emergence there), sorted by
        region, period and count.

    Examples
    --------
    >>> from jinduanalytics.synthetic import generate
    >>> t = substance_table(generate("county"), by="category", period="year")
    >>> t.column_names[:4]
    ['region_id', 'period', 'category', 'cases']
    """
    check_choice("by", by, ("drug", "category"))
    check_choice("engine", engine, distributed.ENGINES)
    folder = distributed.is_folder(data)
    if folder and engine != "dask":
        raise ParameterError("substance_table: a folder is read by the workers with engine='dask'; otherwise pass "
                             "read_dataset(folder)")
    vocab = distributed.folder_vocabulary(data, vocabulary) if folder else vocabulary_of(data, vocabulary)
    categories = dict((d, c) for d, c, _ in vocab.drugs)
    keys = ["region_id", "period"] + (["drug", "category"] if by == "drug" else ["category"])
    aggs = {"cases": ("drug", "size"), "quantity_g": ("quantity_g", "sum")}
    columns = ["region_id", "date", "drug", "quantity_g"]
    if engine == "dask":
        with distributed.engine_client(client) as cl:
            out = distributed.grouped(data, "cases", columns,
                                      lambda rows: _substance_rows(rows, period, categories, per_region), keys, aggs, cl)
    else:
        cases = get_table(data, "cases", columns=tuple(columns)).select(columns).to_pandas()
        out = _substance_rows(cases, period, categories, per_region).groupby(keys, sort=True, dropna=False) \
            .agg(**aggs).reset_index()
    out["share"] = out["cases"] / out.groupby(["region_id", "period"])["cases"].transform("sum")
    item = "drug" if by == "drug" else "category"
    first = out.groupby(["region_id", item])["period"].transform("min")
    out["first_seen"] = out["period"] == first
    out = out.sort_values(["region_id", "period", "cases", item], ascending=[True, True, False, True], kind="stable")
    cols = keys + ["cases", "quantity_g", "share", "first_seen"]
    out = out[cols].reset_index(drop=True)
    if not per_region:
        out["region_id"] = None
    out = out.astype({"cases": np.int64, "region_id": object})
    return pa.Table.from_pandas(out, preserve_index=False).cast(pa.schema(
        [pa.field("region_id", pa.string()), pa.field("period", pa.date32())] +
        [pa.field(c, pa.string()) for c in keys[2:]] +
        [pa.field("cases", pa.int64()), pa.field("quantity_g", pa.float64()), pa.field("share", pa.float64()),
         pa.field("first_seen", pa.bool_())]))


@tabular
def precursor_links(data, *, window_days: int = 365, max_hops: int = 3, hop_discount: float = 0.5,
                    max_cases: int | str | None = "auto", transport_weight: float = 0.5,
                    links: pa.Table | None = None, trips: pa.Table | None = None, vocabulary=None) -> pa.Table:
    """The precursor purchases behind each production case.

    A *production case* is a case of type 制造 whose drug is not a precursor; a *purchase* is a
    case whose drug is a precursor chemical (category 易制毒化学品) that the vocabulary says can
    make the production's drug (``makes``; a precursor with no ``makes`` fits any), dated at most
    ``window_days`` before the production case (or up to 30 days after it: raids and purchases
    are recorded late).

    Evidence is the 集群打零 evidence (:func:`~jinduanalytics.clusters.case_links`: entities, the
    parcels behind waybills, the persons) with its rarity weights (:func:`~jinduanalytics.graph.entity_weights`,
    Newman's ``1/(k-1)``, hubs above the ``max_cases`` cap dropped — a licensed chemical vendor's
    account named in every purchase links nothing). Two cases are tied by the sum of the weights of
    what they share. A purchase reaches a production case directly or along a chain of other
    candidate purchases (front companies buy in several places; the chain shares a buyer, a phone,
    a vehicle): a path's score is its weakest tie times ``hop_discount`` per extra hop, and the
    pair's score the best path of at most ``max_hops`` ties.

    Transport (跨省运输核查): a consignment (the legs of ``flows`` chained into trips,
    :func:`~jinduanalytics.routes.trips`) that leaves the purchase's region within 3 days of its date
    with its quantity (within 5%) ties the purchase to the production cases of the consignment's final
    destination, each by ``transport_weight / n`` (``n`` such production cases there), when the pairing is
    unambiguous both ways: the only consignment of about that weight leaving the region within 30 days
    either side of the purchase, and the only purchase of about its weight there (a common weight
    matches street consignments by chance; two purchases of one weight cannot be told apart).

    Parameters
    ----------
    data : Dataset or mapping of tables
        ``cases``, ``case_entities`` (and what :func:`~jinduanalytics.clusters.case_links` reads).
    window_days : int
    max_hops : int
        1 = direct ties only.
    hop_discount : float
        In (0, 1].
    max_cases : int, "auto" or None
        Entity cap, as in :func:`~jinduanalytics.clusters.cluster_cases`.
    transport_weight : float
        Weight of a transport tie to the only candidate production case of a region (0: none).
    links : pyarrow.Table, optional
        :func:`~jinduanalytics.clusters.case_links` of ``data``, when already computed.
    trips : pyarrow.Table, optional
        :func:`~jinduanalytics.routes.trips` of ``data``, when already computed.
    vocabulary : Vocabulary, path or mapping, optional

    Returns
    -------
    pyarrow.Table
        One row per (production case, purchase) with a path: ``production_case``,
        ``purchase_case``, ``precursor``, ``product``, ``days_before``, ``score``, ``hops``,
        ``via`` (the purchases the path passes, list), ``evidence`` (the kinds of the purchase's own tie on the path),
        ``rank`` (1 = this purchase's best production case), sorted by production case and score.
    """
    check_int("window_days", window_days, minimum=0)
    check_int("max_hops", max_hops, minimum=1)
    check_positive(hop_discount=hop_discount)
    check_nonnegative(transport_weight=transport_weight)
    if hop_discount > 1:
        raise ParameterError(f"hop_discount must be in (0, 1]; got {hop_discount!r}.")
    vocab = vocabulary_of(data, vocabulary)
    cases = get_table(data, "cases", columns=("case_id", "region_id", "date", "case_type", "drug", "quantity_g")).to_pandas()
    category = {d: c for d, c, _ in vocab.drugs}
    makes = {d: set(m) for d, _, m in vocab.drugs}
    cases["category"] = cases["drug"].map(category)
    prod = cases[(cases["case_type"] == "制造") & (cases["category"] != PRECURSOR_CATEGORY)]
    purch = cases[cases["category"] == PRECURSOR_CATEGORY]
    empty = _precursor_empty()
    if prod.empty or purch.empty:
        return empty
    links = case_links(data) if links is None else links
    ew = entity_weights(links, max_cases=None)
    if max_cases is not None:
        cap = auto_max_cases(ew.column("n_cases").to_numpy()) if max_cases == "auto" else max_cases
        ew = ew.filter(pc.less_equal(ew.column("n_cases"), cap))
    ew = ew.filter(pc.greater(ew.column("weight"), 0)).to_pandas()
    ids = set(prod["case_id"]) | set(purch["case_id"])
    lk = links.filter(pc.is_in(links.column("case_id"), value_set=pa.array(sorted(ids), pa.string()))).to_pandas()
    lk = lk.merge(ew[["kind", "value", "weight"]], on=["kind", "value"])
    pairs = lk.merge(lk, on=["kind", "value", "weight"], suffixes=("_a", "_b"))
    pairs = pairs[pairs["case_id_a"] != pairs["case_id_b"]]
    tie = pairs.groupby(["case_id_a", "case_id_b"]).agg(w=("weight", "sum"), kinds=("kind", lambda s: sorted(set(s))))
    weights = tie["w"].to_dict()
    kinds_of = tie["kinds"].to_dict()
    date = dict(zip(cases["case_id"], pd.to_datetime(cases["date"])))
    drug = dict(zip(cases["case_id"], cases["drug"]))
    purch_ids = set(purch["case_id"])

    def fits(purchase, pdate, pdrug) -> bool:
        if makes[drug[purchase]] and pdrug not in makes[drug[purchase]]:
            return False
        return -30 <= (pdate - date[purchase]).days <= window_days

    if transport_weight > 0 and trips is None and get_table(data, "flows", required=False) is not None:
        trips = routes.trips(data)
    if transport_weight > 0 and trips is not None:
        for (a, b), w in _transport_ties(purch, prod, trips.to_pandas(), fits, transport_weight).items():
            weights[(a, b)] = weights.get((a, b), 0.0) + w
            kinds_of[(a, b)] = sorted(set(kinds_of.get((a, b), [])) | {"transport"})
    neighbours: dict[str, list[tuple[str, float]]] = {}
    for (a, b), w in weights.items():
        neighbours.setdefault(a, []).append((b, float(w)))
    rows = []
    for pid, pdate, pdrug in zip(prod["case_id"], pd.to_datetime(prod["date"]), prod["drug"]):
        def ok(c, pdate=pdate, pdrug=pdrug):
            return c in purch_ids and fits(c, pdate, pdrug)
        for target, (score, path) in _widest_paths(pid, neighbours, ok, max_hops, hop_discount).items():
            rows.append((pid, target, drug[target], pdrug, (pdate - date[target]).days, score, len(path),
                         list(reversed(path[1:-1])), kinds_of[(path[0], path[1])]))
    if not rows:
        return empty
    out = pd.DataFrame(rows, columns=["production_case", "purchase_case", "precursor", "product", "days_before",
                                      "score", "hops", "via", "evidence"])
    out["hops"] = out["hops"] - 1
    out = out.sort_values(["purchase_case", "score", "production_case"], ascending=[True, False, True], kind="stable")
    out["rank"] = out.groupby("purchase_case").cumcount() + 1
    out = out.sort_values(["production_case", "score", "purchase_case"], ascending=[True, False, True], kind="stable")
    return pa.Table.from_pandas(out.reset_index(drop=True), schema=empty.schema, preserve_index=False)


_DISTINCT_DAYS = 30  # a matched consignment must be the only one of its weight (5%) within this many days


def _transport_ties(purch: pd.DataFrame, prod: pd.DataFrame, flows: pd.DataFrame, fits, weight: float) -> dict:
    """(purchase, production) and (production, purchase) -> weight, for purchases whose consignment
    (same origin region, date within 3 days, quantity within 5%) went to the production's region."""
    if flows.empty:
        return {}
    # candidate (purchase, trip) pairs: same origin region, dates within 3 days (a window join per
    # region on sorted dates, never the region's full cross product), quantities within 5%
    f = flows.assign(day=pd.to_datetime(flows["date"]).to_numpy("datetime64[D]").astype(np.int64))
    pu = purch.assign(day=pd.to_datetime(purch["date"]).to_numpy("datetime64[D]").astype(np.int64))
    parts = []
    for region, fr in f.groupby("origin", sort=False):
        pr = pu[pu["region_id"] == region]
        if pr.empty:
            continue
        fr = fr.sort_values("day", kind="stable")
        days = fr["day"].to_numpy()
        lo = np.searchsorted(days, pr["day"].to_numpy() - _DISTINCT_DAYS, side="left")
        hi = np.searchsorted(days, pr["day"].to_numpy() + _DISTINCT_DAYS, side="right")
        count = hi - lo
        if not count.sum():
            continue
        p_idx = np.repeat(np.arange(len(pr)), count)
        f_idx = np.concatenate([np.arange(a, b) for a, b in zip(lo, hi)])
        parts.append(pd.DataFrame({"case_id": pr["case_id"].to_numpy()[p_idx], "trip": fr.index.to_numpy()[f_idx],
                                   "quantity_g": pr["quantity_g"].to_numpy()[p_idx],
                                   "quantity_g_flow": fr["quantity_g"].to_numpy()[f_idx],
                                   "days": np.abs(fr["day"].to_numpy()[f_idx] - pr["day"].to_numpy()[p_idx]),
                                   "destination": fr["destination"].to_numpy()[f_idx]}))
    if not parts:
        return {}
    m = pd.concat(parts, ignore_index=True)
    rel = (m["quantity_g_flow"] - m["quantity_g"]).abs() / m["quantity_g"]
    m = m[rel <= 0.05]
    # a weight is evidence only where it is distinctive both ways: the purchase's only consignment of
    # about its weight leaving the region within a month, and that consignment's only purchase
    # (street consignments of common weights, or two purchases of one weight, match by chance)
    unique = (m.groupby("case_id")["trip"].transform("size") == 1) & (m.groupby("trip")["case_id"].transform("size") == 1)
    m = m[unique & (m["days"] <= 3)]
    ties = {}
    by_region: dict[str, list] = {}
    for c, r, d, dr in zip(prod["case_id"], prod["region_id"], pd.to_datetime(prod["date"]), prod["drug"]):
        by_region.setdefault(r, []).append((c, d, dr))
    for purchase, dest in m[["case_id", "destination"]].itertuples(index=False):
        cand = [c for c, d, dr in by_region.get(dest, ()) if fits(purchase, d, dr)]
        for c in cand:
            ties[(purchase, c)] = ties[(c, purchase)] = weight / len(cand)
    return ties


def _precursor_empty() -> pa.Table:
    return pa.schema([("production_case", pa.string()), ("purchase_case", pa.string()), ("precursor", pa.string()),
                      ("product", pa.string()), ("days_before", pa.int64()), ("score", pa.float64()),
                      ("hops", pa.int64()), ("via", pa.list_(pa.string())), ("evidence", pa.list_(pa.string())),
                      ("rank", pa.int64())]).empty_table()


def _widest_paths(source: str, neighbours: dict, allowed, max_hops: int, discount: float) -> dict:
    """Best discounted bottleneck path from ``source`` to each allowed node through allowed nodes,
    of at most ``max_hops`` edges: ``score = min(tie weights) * discount ** (edges - 1)``, exact by
    dynamic programming over the number of edges. Returns target -> (score, path target..source)."""
    layer = {source: (np.inf, None)}  # node -> (bottleneck with h edges, predecessor)
    layers = [layer]
    for _ in range(max_hops):
        nxt: dict[str, tuple[float, str]] = {}
        for u, (b, _) in layer.items():
            for v, w in neighbours.get(u, ()):
                if v == source or not allowed(v):
                    continue
                cand = min(b, w)
                if cand > nxt.get(v, (-1.0, None))[0] or (cand == nxt[v][0] and u < nxt[v][1]):
                    nxt[v] = (cand, u)
        if not nxt:
            break
        layers.append(nxt)
        layer = nxt
    best: dict[str, tuple[float, list[str]]] = {}
    for h in range(1, len(layers)):
        for v, (b, _) in layers[h].items():
            score = b * discount ** (h - 1)
            if v not in best or score > best[v][0]:
                path, node = [v], v
                for k in range(h, 0, -1):
                    node = layers[k][node][1]
                    path.append(node)
                best[v] = (score, path)
    return best
