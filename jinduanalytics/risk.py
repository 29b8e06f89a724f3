"""Transparent grading of regions (重点整治 / 黄牌预警 / 关注 / 一般) and hidden demand.

* :func:`hidden_demand`: where wastewater shows more use than the region's user cases explain (隐性
  吸毒: use high, cases few) and the reverse, from a fit of cases against use across regions.
* :func:`region_risk`: a scorecard per region and period — every indicator scored by where the region
  stands among the rim's regions, weighted, summed, and read as a level; each grade comes with its
  points per indicator. :data:`WEIGHTS`, :data:`POINTS` and :data:`LEVELS` are the documented
  defaults; every one can be overridden per call.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from ._checks import check_choice
from .errors import ParameterError
from .options import tabular
from .periods import period_start
from .tables import get_table
from .trends import indicators
from .wastewater import wastewater_loads

__all__ = ["hidden_demand", "region_risk", "region_population", "person_risk", "WEIGHTS", "POINTS", "LEVELS",
           "PERSON_WEIGHTS", "PERSON_LEVELS"]

#: Indicator -> weight. Per-inhabitant indicators need a population (:func:`region_population`).
WEIGHTS = {"cases_per_10k": 1.0, "new_persons_per_10k": 1.0, "repeat_persons": 1.0, "outflow_persons": 1.0,
           "clusters_active": 1.0, "wastewater": 2.0}
#: Points an indicator earns by the region's place among the regions of the period: at or above the
#: median 1, the 75th percentile 2, the 90th percentile 3 (a region with no value earns 0).
POINTS = ((0.5, 1), (0.75, 2), (0.9, 3))
#: Level by the share of the maximum weighted points a region earned, highest first.
LEVELS = ((0.6, "重点整治"), (0.4, "黄牌预警"), (0.2, "关注"), (0.0, "一般"))


def region_population(data, population: dict | None = None) -> dict[str, float]:
    """Inhabitants per region: the mapping given, else the population served by the region's wastewater
    plants (the latest sample of each plant), else empty (per-inhabitant indicators are then left out).

    Parameters
    ----------
    data : Dataset or mapping of tables
    population : dict, optional
        Region id -> inhabitants.
    """
    if population is not None:
        return {str(k): float(v) for k, v in population.items()}
    ww = get_table(data, "wastewater", required=False, columns=("plant_id", "region_id", "date", "population"))
    if ww is None or not ww.num_rows:
        return {}
    df = ww.select(["plant_id", "region_id", "date", "population"]).to_pandas()
    latest = df.sort_values("date").drop_duplicates("plant_id", keep="last")
    return latest.groupby("region_id")["population"].sum().astype(float).to_dict()


def _loads_frame(data, loads) -> pd.DataFrame:
    """The wastewater loads as a DataFrame: those given, else computed from ``data``."""
    loads = wastewater_loads(data) if loads is None else loads
    return loads.to_pandas() if isinstance(loads, pa.Table) else loads


def _median_consumption(loads: pd.DataFrame, biomarker: str, by: list[str]) -> pd.Series:
    return loads[loads["biomarker"] == biomarker].groupby(by)["consumption"].median()


@tabular
def hidden_demand(data, *, biomarker: str = "methamphetamine", loads=None, population: dict | None = None,
                  threshold: float = 2.0) -> pa.Table:
    """Regions where wastewater shows more (or less) use than their user cases explain.

    Over the dates the samples cover, each region's median consumption estimate of ``biomarker`` and
    its user cases (吸食, 持有) per 100,000 inhabitants are compared on the log scale: a straight line
    fitted across regions by least absolute deviations (robust to the regions it should find) gives
    the cases a region's use would predict; the residual, in robust standard deviations (MAD), says
    how far off it is. ``hidden`` (z >= threshold): use high, cases few — 隐性吸毒 not reached by
    enforcement; ``enforcement`` (z <= -threshold): many cases for the use measured.

    Parameters
    ----------
    data : Dataset or mapping of tables
        ``cases`` and ``wastewater``.
    biomarker : str
    loads : pyarrow.Table, optional
        :func:`~jinduanalytics.wastewater.wastewater_loads` of ``data``, when already computed.
    population : dict, optional
        Region -> inhabitants (default: population served, :func:`region_population`).
    threshold : float

    Returns
    -------
    pyarrow.Table
        ``region_id``, ``consumption`` (median estimate, mg/day/1000), ``user_cases``, ``population``,
        ``cases_per_100k``, ``expected_per_100k``, ``z``, ``label`` ("hidden", "enforcement" or ""),
        sorted by z, highest first.
    """
    loads = _loads_frame(data, loads)
    use = _median_consumption(loads, biomarker, ["region_id"])
    if use.empty:
        raise ParameterError(f"no wastewater samples of {biomarker!r}")
    lo, hi = pd.to_datetime(loads["date"]).min(), pd.to_datetime(loads["date"]).max()
    cases = get_table(data, "cases", columns=("region_id", "date", "case_type")).to_pandas()
    when = pd.to_datetime(cases["date"])
    users = cases[cases["case_type"].isin(["吸食", "持有"]) & (when >= lo) & (when <= hi)]
    counts = users.groupby("region_id").size()
    pop = region_population(data, population)
    df = pd.DataFrame({"consumption": use})
    df["user_cases"] = counts.reindex(df.index).fillna(0).astype(np.int64)
    df["population"] = [pop.get(r, np.nan) for r in df.index]
    df["cases_per_100k"] = df["user_cases"] / df["population"] * 1e5
    x, y = np.log(df["consumption"].to_numpy()), np.log(df["cases_per_100k"].to_numpy() + 0.5)
    a, b = _lad_line(x, y)
    resid = (a + b * x) - y  # positive: fewer cases than the use predicts
    mad = 1.4826 * np.median(np.abs(resid - np.median(resid)))
    df["expected_per_100k"] = np.exp(a + b * x) - 0.5
    df["z"] = (resid - np.median(resid)) / max(mad, 1e-9)
    df["label"] = np.where(df["z"] >= threshold, "hidden", np.where(df["z"] <= -threshold, "enforcement", ""))
    df = df.reset_index().rename(columns={"index": "region_id"}).sort_values("z", ascending=False)
    return pa.Table.from_pandas(df.reset_index(drop=True), preserve_index=False)


def _lad_line(x: np.ndarray, y: np.ndarray, iterations: int = 50) -> tuple[float, float]:
    """Least-absolute-deviations line by iteratively reweighted least squares."""
    w = np.ones_like(x)
    a = b = 0.0
    for _ in range(iterations):
        X = np.column_stack([np.ones_like(x), x]) * w[:, None]
        a, b = np.linalg.lstsq(X, y * w, rcond=None)[0]
        w = 1 / np.sqrt(np.maximum(np.abs(y - a - b * x), 1e-6))
    return float(a), float(b)


@tabular
def region_risk(data, *, period: str = "year", weights: dict | None = None, points=POINTS, levels=LEVELS,
                loads=None, persons=None, clusters=None, population: dict | None = None,
                biomarker: str = "methamphetamine", indicators_table=None) -> pa.Table:
    """A scorecard per region and period: points per indicator, their weighted sum, a level.

    Indicators (:func:`~jinduanalytics.trends.indicators` and the wastewater): cases and new persons per
    10,000 inhabitants, repeat persons, 外流 persons (by home region), active clusters (with
    ``clusters``), and the median consumption estimate of ``biomarker`` (with a ``wastewater`` table).
    Each earns :data:`POINTS` by the region's place among the regions of the period, times its weight
    (:data:`WEIGHTS`, any of which ``weights`` overrides; weight 0 drops an indicator); the share of the
    maximum reachable points (over the indicators the period has values for: no wastewater points before
    sampling began) gives the level (:data:`LEVELS`).

    Parameters
    ----------
    data : Dataset or mapping of tables
    period : {"month", "quarter", "year"}
    weights : dict, optional
        Indicator -> weight, over :data:`WEIGHTS`.
    points : sequence of (quantile, points)
    levels : sequence of (share, level), highest first
    loads, persons, clusters : pyarrow.Table, optional
        Wastewater loads, resolved persons, case clusters when already computed.
    population : dict, optional
        Region -> inhabitants (default :func:`region_population`).
    biomarker : str
    indicators_table : pyarrow.Table, optional
        :func:`~jinduanalytics.trends.indicators` of ``data`` for the same ``period``, when already computed.

    Returns
    -------
    pyarrow.Table
        ``region_id``, ``period``, for each indicator used ``<name>`` (its value) and ``<name>_points``
        (weighted points), ``points`` (their sum), ``max_points``, ``share``, ``level``; sorted by
        period and points, highest first.
    """
    check_choice("period", period, ("month", "quarter", "year"))
    w = {**WEIGHTS, **(weights or {})}
    unknown = sorted(set(weights or {}) - set(WEIGHTS))
    if unknown:
        raise ParameterError(f"weights: unknown indicators {unknown}; known: {', '.join(WEIGHTS)}")
    ind = (indicators(data, period=period, persons=persons, clusters=clusters) if indicators_table is None
           else indicators_table)
    ind = ind.to_pandas() if isinstance(ind, pa.Table) else ind
    wide = ind.pivot_table(index=["region_id", "period"], columns="indicator", values="value", fill_value=0)
    wide.index = wide.index.set_levels(pd.to_datetime(wide.index.levels[1]), level=1)
    pop = region_population(data, population)
    table = pd.DataFrame(index=wide.index)
    regions = wide.index.get_level_values(0)
    per = np.array([pop.get(r, np.nan) for r in regions], dtype=float)
    if pop:
        table["cases_per_10k"] = wide.get("cases", 0) / per * 1e4
        table["new_persons_per_10k"] = wide.get("new_persons", 0) / per * 1e4
    for name in ("repeat_persons", "outflow_persons", "clusters_active"):
        if name in wide:
            table[name] = wide[name]
    if get_table(data, "wastewater", required=False) is not None:
        ld = _loads_frame(data, loads)
        ld = ld.assign(period=pd.to_datetime(period_start(pa.array(pd.to_datetime(ld["date"]).dt.date, pa.date32()),
                                                           period).to_pandas()))
        table["wastewater"] = _median_consumption(ld, biomarker, ["region_id", "period"]).reindex(table.index)
    used = [c for c in table.columns if w.get(c, 0) > 0]
    total = np.zeros(len(table))
    for name in used:
        ranks = table.groupby(level=1)[name].rank(pct=True, method="max")
        pts = np.zeros(len(table))
        for q, p in sorted(points):
            pts = np.where(ranks.to_numpy() >= q, p, pts)
        pts = np.where(table[name].isna().to_numpy(), 0, pts) * w[name]
        table[f"{name}_points"] = pts
        total += pts
    top = max(p for _, p in points)
    table["points"] = total
    # the maximum counts the indicators the period has values for (no wastewater before sampling began)
    have = pd.DataFrame({c: table[c].notna().groupby(level=1).transform("any") for c in used}, index=table.index)
    table["max_points"] = top * sum(have[c].astype(float) * w[c] for c in used) if used else 0.0
    table["share"] = table["points"] / table["max_points"].where(table["max_points"] > 0)
    lv = sorted(levels, key=lambda t: -t[0])
    table["level"] = [next((name for cut, name in lv if s >= cut), lv[-1][1]) for s in table["share"].fillna(0)]
    out = table.reset_index().sort_values(["period", "points", "region_id"], ascending=[True, False, True])
    out["period"] = out["period"].dt.date
    return pa.Table.from_pandas(out.reset_index(drop=True), preserve_index=False)


#: Person factors -> weight (:func:`person_risk`).
PERSON_WEIGHTS = {"prior_cases": 1.0, "recency": 2.0, "supply_role": 1.0, "repeat_use": 1.0, "active_cluster": 2.0,
                  "regions": 0.5, "lost_contact": 1.0}
#: Person level by the share of the maximum weighted points, highest first (极端 / 高 / 中 / 低).
PERSON_LEVELS = ((0.6, "极端"), (0.4, "高"), (0.2, "中"), (0.0, "低"))
_SUPPLY_ROLES = {"supplier": 3, "wholesaler": 3, "producer": 3, "seller": 2, "courier": 2, "precursor_buyer": 2}


@tabular
def person_risk(data, *, as_of, persons=None, clusters=None, weights: dict | None = None, levels=PERSON_LEVELS,
                active_days: int = 180) -> pa.Table:
    """A scorecard per person from what the data hold before ``as_of`` (分类分级管理).

    Factors, each 0-3 points (times its weight, :data:`PERSON_WEIGHTS`, overridable):

    * ``prior_cases``: cases before ``as_of`` (1, 2, 3 or more);
    * ``recency``: days from the last case to ``as_of`` (within 90: 3, 365: 2, 730: 1);
    * ``supply_role``: the highest role held (supplier / wholesaler / producer 3, seller / courier /
      precursor buyer 2; users and buyers 0);
    * ``repeat_use``: use cases (吸食) — 2 or more: 3, 1: 1;
    * ``active_cluster``: one of the person's cases lies in a case cluster (3+ cases) with a case in the
      ``active_days`` before ``as_of`` — the supply around them is still running (3);
    * ``regions``: cases in 2 or more regions (3);
    * ``lost_contact`` (脱管): the person's phone was in the contact records but not in the
      ``active_days`` before ``as_of`` (3) — the nearest the data come to a person slipping out of
      supervision; no points without a phone or contacts.

    Deliberately left out: sex, age and birth date, name, ethnicity, home region and any other trait of
    the person rather than their conduct; they would grade people by who they are, and the data's
    geography would turn a home region into a proxy for it.

    Parameters
    ----------
    data : Dataset or mapping of tables
        ``cases``, ``case_persons``; ``person_records`` and ``contacts`` for ``lost_contact``.
    as_of : date or "YYYY-MM-DD"
        Only cases dated before it count.
    persons : pyarrow.Table, optional
        ``record_id`` -> ``person_id`` (resolved persons): a person's records count together.
    clusters : pyarrow.Table, optional
        :func:`~jinduanalytics.clusters.cluster_cases` (without it ``active_cluster`` scores 0).
    weights : dict, optional
    levels : sequence of (share, level), highest first
    active_days : int

    Returns
    -------
    pyarrow.Table
        ``person``, the factor values (``prior_cases``, ``last_case``, ``days_since``, ``top_role``,
        ``use_cases``, ``active_cluster``, ``n_regions``, ``last_contact``), ``<factor>_points``, ``points``,
        ``max_points``, ``share``, ``level``; sorted by points, highest first.
    """
    w = {**PERSON_WEIGHTS, **(weights or {})}
    unknown = sorted(set(weights or {}) - set(PERSON_WEIGHTS))
    if unknown:
        raise ParameterError(f"weights: unknown factors {unknown}; known: {', '.join(PERSON_WEIGHTS)}")
    cut = pd.Timestamp(str(as_of))
    cases = get_table(data, "cases", columns=("case_id", "region_id", "date", "case_type")).to_pandas()
    cases["date"] = pd.to_datetime(cases["date"])
    cases = cases[cases["date"] < cut]
    cp = get_table(data, "case_persons", columns=("case_id", "record_id", "role")).select(
        ["case_id", "record_id", "role"]).to_pandas().merge(cases, on="case_id")
    if persons is not None:
        pm = (persons.to_pandas() if isinstance(persons, pa.Table) else persons)[["record_id", "person_id"]]
        cp = cp.merge(pm, on="record_id", how="left")
        cp["person"] = cp["person_id"].fillna(cp["record_id"])
    else:
        cp["person"] = cp["record_id"]
    g = cp.groupby("person")
    df = pd.DataFrame({"prior_cases": g["case_id"].nunique(), "last_case": g["date"].max(),
                       "n_regions": g["region_id"].nunique()})
    df["days_since"] = (cut - df["last_case"]).dt.days
    role_rank = cp["role"].map(_SUPPLY_ROLES).fillna(0)
    top = cp.assign(rank=role_rank).sort_values("rank", ascending=False).drop_duplicates("person").set_index("person")
    df["top_role"] = top["role"].reindex(df.index)
    df["use_cases"] = cp[cp["case_type"] == "吸食"].groupby("person")["case_id"].nunique().reindex(df.index).fillna(0).astype(int)
    active = pd.Series(False, index=df.index)
    if clusters is not None:
        cl = (clusters.to_pandas() if isinstance(clusters, pa.Table) else clusters)[["case_id", "cluster", "cluster_size"]]
        cc = cases.merge(cl[cl["cluster_size"] >= 3], on="case_id")
        live = set(cc.loc[cc["date"] >= cut - pd.Timedelta(days=active_days), "cluster"])
        mine = cp.merge(cl, on="case_id")
        active = mine[mine["cluster"].isin(live)].groupby("person").size().reindex(df.index).fillna(0) > 0
    df["active_cluster"] = active.to_numpy()
    last_contact = pd.Series(pd.NaT, index=df.index, dtype="datetime64[ns]")
    pr = get_table(data, "person_records", required=False)
    ct = get_table(data, "contacts", required=False)
    if pr is not None and ct is not None and {"record_id", "phone"} <= set(pr.column_names):
        c = ct.select(["phone_a", "phone_b", "first_date", "last_date"]).to_pandas()
        c = c[pd.to_datetime(c["first_date"]) < cut]
        seen = pd.concat([c[["phone_a", "last_date"]].rename(columns={"phone_a": "phone"}),
                          c[["phone_b", "last_date"]].rename(columns={"phone_b": "phone"})])
        seen = pd.to_datetime(seen.groupby("phone")["last_date"].max()).clip(upper=cut)
        phones = pr.select(["record_id", "phone"]).to_pandas().dropna().merge(
            cp[["record_id", "person"]].drop_duplicates(), on="record_id")
        phones["seen"] = phones["phone"].map(seen)
        last_contact = phones.groupby("person")["seen"].max().reindex(df.index)
    df["last_contact"] = last_contact.dt.date
    pts = {
        "prior_cases": np.minimum(df["prior_cases"], 3),
        "recency": np.select([df["days_since"] <= 90, df["days_since"] <= 365, df["days_since"] <= 730], [3, 2, 1], 0),
        "supply_role": df["top_role"].map(_SUPPLY_ROLES).fillna(0),
        "repeat_use": np.select([df["use_cases"] >= 2, df["use_cases"] == 1], [3, 1], 0),
        "active_cluster": np.where(df["active_cluster"], 3, 0),
        "regions": np.where(df["n_regions"] >= 2, 3, 0),
        "lost_contact": np.where(last_contact.notna() & (cut - last_contact > pd.Timedelta(days=active_days)), 3, 0),
    }
    total = np.zeros(len(df))
    for name, p in pts.items():
        df[f"{name}_points"] = np.asarray(p, dtype=float) * w[name]
        total += df[f"{name}_points"].to_numpy()
    df["points"] = total
    df["max_points"] = 3 * sum(w.values())
    df["share"] = df["points"] / df["max_points"] if df["max_points"].iloc[0:1].sum() > 0 else 0.0
    lv = sorted(levels, key=lambda t: -t[0])
    df["level"] = [next((n for c, n in lv if s >= c), lv[-1][1]) for s in df["share"]]
    df = df.reset_index().rename(columns={"index": "person"}).sort_values(["points", "person"], ascending=[False, True])
    df["last_case"] = df["last_case"].dt.date
    return pa.Table.from_pandas(df.reset_index(drop=True), preserve_index=False)
