"""Indicators per region and period, their year-over-year change, and where their level shifts.

* :func:`indicators`: cases (all and by type), new persons (first appearance), repeat persons,
  外流 persons by home region, active and new clusters — per region and month/quarter/year, in one
  long table with the year-over-year change.
* :func:`change_points`: level shifts in each series by binary segmentation with a Poisson
  likelihood-ratio statistic and a permutation test per split (false alarms held at ``alpha`` per
  series and split), each with the levels before and after.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from ._checks import check_int, check_positive
from .errors import SchemaError
from .options import tabular
from .periods import period_start
from .tables import as_table, get_table

__all__ = ["indicators", "change_points"]


@tabular
def indicators(data, *, period: str = "quarter", persons=None, clusters=None) -> pa.Table:
    """Counts per region and period, long format, with the year-over-year change.

    Indicators: ``cases``; ``cases:<case type>``; ``new_persons`` (persons whose first case in the
    data falls in the period, counted where that case is); ``repeat_persons`` (persons with a case in
    the period and one in an earlier period); ``outflow_persons`` (外流: persons with a case in the
    period outside their home region, counted under the home region); with ``clusters``,
    ``clusters_active`` (clusters of 3+ cases with a case in the region and period) and
    ``clusters_new`` (clusters whose first case falls in the period, where that case is).

    Parameters
    ----------
    data : Dataset or mapping of tables
        ``cases``; ``case_persons`` and ``person_records`` for the person indicators.
    period : {"month", "quarter", "year"}
    persons : pyarrow.Table, optional
        ``record_id`` -> ``person_id`` (:func:`~jinduanalytics.linkage.resolve_persons`' persons): a
        person recorded in several regions counts once; default: each record is a person.
    clusters : pyarrow.Table, optional
        :func:`~jinduanalytics.clusters.cluster_cases`.

    Returns
    -------
    pyarrow.Table
        ``region_id``, ``period``, ``indicator``, ``value``, ``yoy_change`` (value over the same
        period a year before, minus 1; null when that is missing or 0), sorted. Every region and
        period with a case has a row for every indicator (0 when nothing happened).
    """
    cases = get_table(data, "cases", columns=("case_id", "region_id", "date", "case_type")).to_pandas()
    # datetime64, not Python dates: group-bys on object columns fall back to Python (10 s at the rim)
    cases["period"] = pd.to_datetime(period_start(pa.array(cases["date"], pa.date32()), period).to_pandas())
    cases["date"] = pd.to_datetime(cases["date"])
    parts = [cases.groupby(["region_id", "period"]).size().rename("value").reset_index().assign(indicator="cases")]
    by_type = cases.groupby(["region_id", "period", "case_type"]).size().rename("value").reset_index()
    parts.append(by_type.assign(indicator="cases:" + by_type["case_type"]).drop(columns="case_type"))
    cp = get_table(data, "case_persons", required=False, columns=("case_id", "record_id"))
    if cp is not None:
        cp = cp.select(["case_id", "record_id"]).to_pandas().merge(cases[["case_id", "region_id", "period", "date"]],
                                                                   on="case_id")
        if persons is not None:
            pm = as_table(persons, "persons").select(["record_id", "person_id"]).to_pandas()
            cp = cp.merge(pm, on="record_id", how="left")
            cp["person"] = cp["person_id"].fillna(cp["record_id"])
        else:
            cp["person"] = cp["record_id"]
        first = cp.sort_values(["date", "case_id"]).drop_duplicates("person")
        parts.append(first.groupby(["region_id", "period"]).size().rename("value").reset_index()
                     .assign(indicator="new_persons"))
        first_period = cp.groupby("person")["period"].min()
        rep = cp[cp["period"] > cp["person"].map(first_period)].drop_duplicates(["region_id", "period", "person"])
        parts.append(rep.groupby(["region_id", "period"]).size().rename("value").reset_index()
                     .assign(indicator="repeat_persons"))
        pr = get_table(data, "person_records", required=False, columns=("record_id", "home_region"))
        if pr is not None:
            home = pr.select(["record_id", "home_region"]).to_pandas()
            out = cp.merge(home, on="record_id").dropna(subset=["home_region"])
            out = out[out["home_region"] != out["region_id"]].drop_duplicates(["home_region", "period", "person"])
            parts.append(out.groupby(["home_region", "period"]).size().rename("value").reset_index()
                         .rename(columns={"home_region": "region_id"}).assign(indicator="outflow_persons"))
    if clusters is not None:
        cl = as_table(clusters, "clusters").select(["case_id", "cluster", "cluster_size"]).to_pandas()
        cc = cases.merge(cl[cl["cluster_size"] >= 3], on="case_id")
        act = cc.drop_duplicates(["region_id", "period", "cluster"])
        parts.append(act.groupby(["region_id", "period"]).size().rename("value").reset_index()
                     .assign(indicator="clusters_active"))
        new = cc.sort_values(["date", "case_id"]).drop_duplicates("cluster")
        parts.append(new.groupby(["region_id", "period"]).size().rename("value").reset_index()
                     .assign(indicator="clusters_new"))
    long = pd.concat(parts, ignore_index=True)
    if cases.empty:  # no case, no period: an empty table of the same columns
        return pa.schema([("region_id", pa.string()), ("period", pa.date32()), ("indicator", pa.string()),
                          ("value", pa.int64()), ("yoy_change", pa.float64())]).empty_table()
    # every indicator on every (region, period) that has a case: 0 when nothing happened
    grid = cases[["region_id", "period"]].drop_duplicates()
    names = pd.DataFrame({"indicator": sorted(long["indicator"].unique())})
    full = grid.merge(names, how="cross").merge(long, on=["region_id", "period", "indicator"], how="outer")
    full["value"] = full["value"].fillna(0).astype(np.int64)
    full["period"] = pd.to_datetime(full["period"])
    prev = full.assign(period=full["period"] + pd.DateOffset(years=1)).rename(columns={"value": "before"})
    full = full.merge(prev, on=["region_id", "period", "indicator"], how="left")
    full["yoy_change"] = np.where(full["before"] > 0, full["value"] / full["before"] - 1, np.nan)
    full = full.sort_values(["region_id", "indicator", "period"]).reset_index(drop=True)
    return pa.table({"region_id": pa.array(full["region_id"], pa.string()),
                     "period": pa.array(full["period"].dt.date, pa.date32()),
                     "indicator": pa.array(full["indicator"], pa.string()),
                     "value": pa.array(full["value"].to_numpy(np.int64)),
                     "yoy_change": pa.array(full["yoy_change"].to_numpy(np.float64), from_pandas=True)})


def _llr(x: np.ndarray, min_segment: int) -> np.ndarray:
    """Poisson log-likelihood ratio of one level shift after each position, for rows of ``x``
    (shape (r, n)); -inf where a segment would be shorter than ``min_segment``."""
    r, n = x.shape
    c = np.cumsum(x, axis=1)
    total = c[:, -1:]
    k = np.arange(1, n)
    left, right = c[:, :-1], total - c[:, :-1]
    m1, m2, m = left / k, right / (n - k), total / n

    def xlogm(s, mean):
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(s > 0, s * np.log(np.where(mean > 0, mean, 1)), 0.0)

    out = xlogm(left, m1) + xlogm(right, m2) - xlogm(total, m)
    out[:, (k < min_segment) | (n - k < min_segment)] = -np.inf
    return out


@tabular
def change_points(series, *, alpha: float = 0.01, min_segment: int = 3, permutations: int = 999,
                  seed: int = 7) -> pa.Table:
    """Level shifts in count series: binary segmentation with a permutation-tested Poisson LLR.

    For a series of counts, the split maximising the Poisson log-likelihood ratio of two levels
    against one is kept when fewer than ``alpha`` of ``permutations`` random orderings of the same
    counts reach as high a maximum (a permutation test: no distribution is assumed, and the largest
    of many candidate splits is what is compared, so the false-alarm rate per test is ``alpha``);
    each side is then searched again the same way. Series values are counts per period (missing
    periods are read as 0 by :func:`indicators`).

    Parameters
    ----------
    series : pyarrow.Table or pandas.DataFrame
        ``region_id``, ``indicator``, ``period``, ``value`` (e.g. :func:`indicators`).
    alpha : float
        False-alarm rate of each test.
    min_segment : int
        Fewest periods on either side of a change.
    permutations : int
    seed : int

    Returns
    -------
    pyarrow.Table
        ``region_id``, ``indicator``, ``period`` (first period of the new level), ``before``,
        ``after`` (mean counts of the two segments around it), ``p_value``, sorted.
    """
    check_positive(alpha=alpha)
    check_int("min_segment", min_segment, minimum=1)
    check_int("permutations", permutations, minimum=19)
    df = as_table(series, "series").to_pandas()
    for col in ("region_id", "indicator", "period", "value"):
        if col not in df.columns:
            raise SchemaError(f"series: missing column '{col}'; found: {', '.join(df.columns)}")
    rng = np.random.default_rng(seed)
    rows = []
    for (region, name), g in df.sort_values("period").groupby(["region_id", "indicator"], sort=True):
        x = g["value"].to_numpy(np.float64)
        periods = g["period"].to_numpy()
        stack = [(0, x.size)]
        found = []
        while stack:
            a, b = stack.pop()
            seg = x[a:b]
            if seg.size < 2 * min_segment or seg.sum() == 0:
                continue
            stat = _llr(seg[None, :], min_segment)[0]
            k = int(np.argmax(stat))
            perm = seg[np.argsort(rng.random((permutations, seg.size)), axis=1)]  # one random order per row
            null = _llr(perm, min_segment).max(axis=1)
            p = (1 + np.sum(null >= stat[k] - 1e-12)) / (permutations + 1)
            if p < alpha:
                cut = a + k + 1
                found.append((cut, float(seg[: k + 1].mean()), float(seg[k + 1:].mean()), float(p)))
                stack += [(a, cut), (cut, b)]
        for cut, before, after, p in sorted(found):
            rows.append((region, name, periods[cut], before, after, p))
    out = pd.DataFrame(rows, columns=["region_id", "indicator", "period", "before", "after", "p_value"])
    return pa.table({"region_id": pa.array(out["region_id"], pa.string()),
                     "indicator": pa.array(out["indicator"], pa.string()),
                     "period": pa.array(list(out["period"]), pa.date32()),
                     "before": pa.array(out["before"].to_numpy(np.float64)),
                     "after": pa.array(out["after"].to_numpy(np.float64)),
                     "p_value": pa.array(out["p_value"].to_numpy(np.float64))})
