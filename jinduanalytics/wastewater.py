"""毒情监测: wastewater-based epidemiology — loads, consumption estimates and early warning.

The chain (EMCDDA, "Wastewater-based epidemiology and drugs"): the concentration of a drug residue
in a 24-hour composite sample of raw wastewater (ng/L) times the plant's daily flow is the daily
load; per 1,000 inhabitants served it is the population-normalised load (PNL, mg/day/1000 inh), the
quantity monitoring programmes publish; times a correction factor it estimates consumption.

* load (mg/day) = C (ng/L) x Q (m3/day) x 1e-3
* PNL (mg/day/1000 inh) = load x 1000 / population served
* consumption (mg/day/1000 inh) = PNL x CF, CF = 1 / excreted fraction when the parent drug itself
  is measured (methamphetamine, ketamine, codeine here)

:data:`CORRECTION_FACTORS` holds only factors read in their source (cited there); a biomarker
without one gets loads and PNL, and consumption when the caller passes its factor.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from ._checks import check_choice, check_int, check_nonnegative, check_positive
from .errors import ParameterError
from .options import tabular
from .tables import get_table

__all__ = ["CORRECTION_FACTORS", "LOQ_RULES", "wastewater_loads", "wastewater_alarms", "consumption"]

#: Correction factor (consumption / load of the measured residue) per biomarker, with its source.
#: methamphetamine: excreted unchanged f = 0.43, CF 2.33 (Baselt & Cravey 2011, as tabulated in the
#: Korean 15-WWTP study, Kim et al. 2015, Sci Total Environ 524-525:440-446); ketamine: f = 0.20,
#: CF 5.0, revised for wastewater (Du, Zheng, Thomas, Li & Thai 2020, Environ Int 138:105645);
#: codeine: f = 0.638 (Baker et al. 2014, as tabulated in the same Korean study).
CORRECTION_FACTORS = {"methamphetamine": 1 / 0.43, "ketamine": 5.0, "codeine": 1 / 0.638}
#: How a value below the limit of quantification enters the loads: LOQ/sqrt(2) (Verbovšek 2011 found
#: it the least biased substitution), LOQ/2, zero, or left out (null).
LOQ_RULES = ("loq_sqrt2", "loq_half", "zero", "drop")


def consumption(pnl, biomarker: str, factors: dict | None = None) -> np.ndarray:
    """Consumption estimates (mg/day/1000 inh) from population-normalised loads of one biomarker.

    Parameters
    ----------
    pnl : array of float
        mg/day/1000 inhabitants.
    biomarker : str
    factors : dict, optional
        Correction factors by biomarker, laid over :data:`CORRECTION_FACTORS`.

    Examples
    --------
    >>> round(float(consumption([5.18], "methamphetamine")[0]), 1)   # Korean study, plant B-1
    12.0
    """
    cf = {**CORRECTION_FACTORS, **(factors or {})}
    if biomarker not in cf:
        raise ParameterError(f"no correction factor for {biomarker!r}; pass factors={{{biomarker!r}: ...}} "
                             f"(known: {', '.join(sorted(cf))})")
    return np.asarray(pnl, dtype=np.float64) * cf[biomarker]


@tabular
def wastewater_loads(data, *, loq_rule: str = "loq_sqrt2", factors: dict | None = None,
                     uncertainty: dict | None = None) -> pa.Table:
    """Daily load, population-normalised load and consumption estimate of every sample, with intervals.

    Parameters
    ----------
    data : Dataset or mapping of tables
        ``wastewater``.
    loq_rule : {"loq_sqrt2", "loq_half", "zero", "drop"}
        The value a sample below the limit of quantification takes (:data:`LOQ_RULES`).
    factors : dict, optional
        Correction factors by biomarker over :data:`CORRECTION_FACTORS`.
    uncertainty : dict, optional
        Relative standard deviations of the inputs, as independent lognormal errors of mean 1:
        ``concentration`` (0.1), ``flow`` (0.1), ``population`` (0.1), ``factor`` (0.2). These defaults
        are assumptions in the range analytical and sampling studies report, not measured here; pass
        your laboratory's. Their product is lognormal, so the 95% interval is exact (no sampling).

    Returns
    -------
    pyarrow.Table
        The sample's ``plant_id``, ``region_id``, ``date``, ``biomarker``, ``substance``,
        ``below_loq``, then ``concentration_used`` (ng/L, after the LOQ rule), ``load_mg_day``,
        ``pnl`` (mg/day/1000 inh), ``consumption`` and ``consumption_low``/``consumption_high``
        (the 95% interval; null without a correction factor).
    """
    check_choice("loq_rule", loq_rule, LOQ_RULES)
    u = {"concentration": 0.1, "flow": 0.1, "population": 0.1, "factor": 0.2, **(uncertainty or {})}
    check_nonnegative(**{f"uncertainty[{k!r}]": v for k, v in u.items()})
    ww = get_table(data, "wastewater", columns=("plant_id", "region_id", "date", "biomarker", "substance",
                                                "concentration_ng_l", "below_loq", "loq_ng_l", "flow_m3_day",
                                                "population")).to_pandas()
    c = ww["concentration_ng_l"].astype(float)
    loq = ww["loq_ng_l"].astype(float)
    sub = {"loq_sqrt2": loq / np.sqrt(2), "loq_half": loq / 2, "zero": loq * 0, "drop": loq * np.nan}[loq_rule]
    c = np.where(ww["below_loq"].astype(bool), sub, c)
    q, p = ww["flow_m3_day"].to_numpy(float), ww["population"].to_numpy(float)
    load = c * q * 1e-3
    pnl = load * 1000 / p
    cf = {**CORRECTION_FACTORS, **(factors or {})}
    factor = ww["biomarker"].map(cf).to_numpy(float)
    est = pnl * factor
    # independent lognormal errors multiply into one lognormal: sigma^2 is the sum of theirs, each
    # error has mean 1 (so the median of the product is est * exp(-sigma^2 / 2))
    sigma = np.sqrt(sum(np.log1p(u[k] ** 2) for k in ("concentration", "flow", "population", "factor")))
    low = est * np.exp(-sigma ** 2 / 2 - 1.959964 * sigma)
    high = est * np.exp(-sigma ** 2 / 2 + 1.959964 * sigma)
    out = ww[["plant_id", "region_id", "date", "biomarker", "substance", "below_loq"]].copy()
    return pa.table({
        **{col: pa.array(out[col]) for col in ("plant_id", "region_id", "biomarker", "substance")},
        "date": pa.array(out["date"], pa.date32()), "below_loq": pa.array(out["below_loq"].astype(bool)),
        "concentration_used": pa.array(c, pa.float64(), from_pandas=True),
        "load_mg_day": pa.array(load, pa.float64(), from_pandas=True),
        "pnl": pa.array(pnl, pa.float64(), from_pandas=True),
        "consumption": pa.array(est, pa.float64(), from_pandas=True),
        "consumption_low": pa.array(low, pa.float64(), from_pandas=True),
        "consumption_high": pa.array(high, pa.float64(), from_pandas=True)})


@tabular
def wastewater_alarms(loads, *, k: float = 0.5, h: float = 8.0, baseline_weeks: int = 26,
                      min_baseline: int = 8, max_censored: float = 0.25) -> pa.Table:
    """Surges and level shifts per plant and biomarker: a CUSUM on weekly log loads against a robust
    baseline.

    Each sample's log PNL is adjusted for its day of the week (the series' median per weekday: a week
    sampled on more weekend days is not a higher week) and averaged per week (a missing day leaves a
    week with fewer samples, never a gap to fill). A week's mean is standardised against the median
    and the MAD of the daily values of the ``baseline_weeks`` weeks before it, divided by the square
    root of its number of samples (robust: an earlier surge moves the baseline little). An upper
    CUSUM ``S = max(0, S + z - k)`` raises an alarm when it exceeds ``h``; then it restarts and the
    baseline is learned again. For normal ``z``, ``k = 0.5, h = 8`` gives an in-control average run
    length of about 19,000 weeks (Siegmund's approximation); on the generator's series without a
    surge, where the weekly means have heavier tails, 0.012 false alarms per plant-year. A doubling
    (daily noise 25%, 4 samples a week) raises the alarm in its second week. Weeks whose baseline and
    own samples are more than ``max_censored`` below the LOQ are not scored: their values are
    substitutes (LOQ/sqrt 2), not measurements, and their spread says nothing about the noise.

    Parameters
    ----------
    loads : pyarrow.Table or pandas.DataFrame
        :func:`wastewater_loads` (``plant_id``, ``biomarker``, ``date``, ``pnl``).
    k, h : float
        CUSUM reference value and decision interval (in robust standard deviations).
    baseline_weeks, min_baseline : int
        Weeks the baseline is taken from, and the fewest it needs.
    max_censored : float
        Largest share of below-LOQ samples in the baseline and the week for the week to be scored.

    Returns
    -------
    pyarrow.Table
        One row per alarm: ``plant_id``, ``region_id``, ``biomarker``, ``week`` (Monday of the alarm
        week), ``onset`` (Monday of the first week the CUSUM rose from 0), ``baseline_pnl``,
        ``week_pnl`` (geometric means), ``ratio``, ``cusum``, ``samples`` (dates of the samples of the
        weeks from onset to alarm).
    """
    check_positive(h=h)
    check_int("baseline_weeks", baseline_weeks, minimum=3)
    check_int("min_baseline", min_baseline, minimum=2)
    df = pd.DataFrame(loads.to_pandas() if isinstance(loads, pa.Table) else loads)
    df = df[df["pnl"].notna() & (df["pnl"] > 0)].copy()
    if "below_loq" not in df.columns:
        df["below_loq"] = False
    df["date"] = pd.to_datetime(df["date"])
    df["week"] = df["date"] - pd.to_timedelta(df["date"].dt.weekday, unit="D")
    df["log"] = np.log(df["pnl"])
    rows = []
    for (plant, marker), g in df.groupby(["plant_id", "biomarker"], sort=True):
        region = g["region_id"].iloc[0]
        # day-of-week adjustment: a week sampled on more weekend days is not a higher week
        weekday = g["date"].dt.weekday
        g = g.assign(log=g["log"] - (g.groupby(weekday)["log"].transform("median") - g["log"].median()))
        weekly = g.groupby("week").agg(log=("log", "mean"), n=("log", "size"), dates=("date", lambda s: sorted(s.dt.date)))
        logs, counts, weeks, dates = weekly["log"].to_numpy(), weekly["n"].to_numpy(), weekly.index, weekly["dates"].to_list()
        groups = g.groupby("week")
        daily = [groups.get_group(w)["log"].to_numpy() for w in weeks]
        censored = [groups.get_group(w)["below_loq"].to_numpy(bool) for w in weeks]
        s, start, onset = 0.0, 0, None
        for i in range(len(logs)):
            lo = max(start, i - baseline_weeks)
            if i - lo < min_baseline:
                continue
            base = np.concatenate(daily[lo:i])
            if np.mean(np.concatenate(censored[lo:i + 1])) > max_censored:
                continue  # mostly below the LOQ: the values are substitutes, not measurements
            med = np.median(base)
            sd = max(1.4826 * np.median(np.abs(base - med)), 0.05)  # a floor: a flat baseline is not infinitely sure
            z = (logs[i] - med) * np.sqrt(counts[i]) / sd  # a week of n samples: its mean's spread is sd / sqrt(n)
            if s == 0 and z - k > 0:
                onset = i
            s = max(0.0, s + z - k)
            if s > h:
                rows.append((plant, region, marker, weeks[i].date(), weeks[onset].date(), float(np.exp(med)),
                             float(np.exp(logs[i])), float(np.exp(logs[i] - med)), float(s),
                             [d for ds in dates[onset:i + 1] for d in ds]))
                s, start = 0.0, i + 1  # restart: learn the baseline again after the alarm
    out = pd.DataFrame(rows, columns=["plant_id", "region_id", "biomarker", "week", "onset", "baseline_pnl", "week_pnl",
                                      "ratio", "cusum", "samples"])
    return pa.table({"plant_id": pa.array(out["plant_id"], pa.string()), "region_id": pa.array(out["region_id"], pa.string()),
                     "biomarker": pa.array(out["biomarker"], pa.string()), "week": pa.array(list(out["week"]), pa.date32()),
                     "onset": pa.array(list(out["onset"]), pa.date32()),
                     **{c: pa.array(out[c].to_numpy(np.float64)) for c in ("baseline_pnl", "week_pnl", "ratio", "cusum")},
                     "samples": pa.array(list(out["samples"]), pa.list_(pa.date32()))})
