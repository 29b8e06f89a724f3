"""Wastewater samples with planted use, surges, missing samples and values below the LOQ.

Each plant serves part of a rim city (population lognormal around 500k, 0.25 m3 of wastewater a
person a day). Per region and biomarker a latent consumption (mg/day/1000 inhabitants) follows the
region's user cases per inhabitant served, within methamphetamine 20-200, ketamine 5-60, codeine
20-60 (the ranges the Chinese surveys report: Du et al. 2015; ESPR 2020), times a hidden-demand
factor (3 in a sixth of the regions: use their cases do not show; truth ``hidden_demand``). A
sample measures it back through the chain (consumption / correction factor -> PNL -> load ->
concentration) with day-to-day and analytical noise (lognormal, 25%),
weekends 20% higher, 3-5 sampled days a week, whole weeks missing (5%), and values under a LOQ of
5 ng/L reported as below it. A share of the series gets a planted surge: consumption x 2-3 from a
week for 4-12 weeks. Truth: ``wastewater_use`` (region, biomarker, latent consumption) and
``wastewater_surges`` (plant, biomarker, start, end, factor).
"""

from __future__ import annotations

import datetime as _dt

import numpy as np
import pyarrow as pa

from ..wastewater import CORRECTION_FACTORS

__all__ = ["BIOMARKERS", "LOQ"]

#: Biomarker -> (the vocabulary drug it indicates, lowest and highest planted consumption).
BIOMARKERS = {"methamphetamine": ("冰毒", 20.0, 200.0), "ketamine": ("氯胺酮", 5.0, 60.0), "codeine": ("其他", 20.0, 60.0)}
LOQ = 5.0


def _plant_samples(rng, cities, city_p, n_plants: int, end: _dt.date, user_cases: dict, years: int = 3,
                      surge_share: float = 0.25) -> tuple[pa.Table, dict[str, pa.Table]]:
    """(the wastewater table, its truth tables) for ``n_plants`` plants over the last ``years`` years.

    Parameters
    ----------
    rng : numpy.random.Generator
    cities, city_p : numpy arrays
        The rim cities and their weights (plants beyond one per city are placed by weight).
    n_plants : int
    end : datetime.date
        The last sampling day.
    user_cases : dict
        Region -> user cases (吸食/持有) in the data: latent use follows them per inhabitant served.
    years : int
    surge_share : float
        Share of plant-biomarker series with a planted surge.
    """
    plant_city = np.concatenate([cities, cities[rng.choice(len(cities), max(n_plants - len(cities), 0), p=city_p)]])
    plant_city = plant_city[:n_plants]
    plant_id = np.array([f"WWTP{i:03d}" for i in range(n_plants)], dtype=object)
    population = np.round(rng.lognormal(np.log(500_000), 0.5, n_plants)).astype(np.int64)
    flow = np.round(population * 0.25 * rng.lognormal(0, 0.1, n_plants), 0)
    # latent use follows the region's user cases per inhabitant served, times a hidden-demand factor:
    # in a few regions use is about three times what their cases show (隐性吸毒)
    served = {c: population[plant_city == c].sum() for c in cities}
    rate = np.array([user_cases.get(c, 0) / max(served[c], 1) for c in cities], dtype=float)
    rank = (rate.argsort().argsort() + 0.5) / len(cities)  # 0..1 by case rate
    hidden = np.exp(rng.normal(0, 0.15, len(cities)))
    hidden_regions = rng.choice(len(cities), max(len(cities) // 6, 1), replace=False)
    hidden[hidden_regions] = 3.0
    latent = rank * hidden / (3.0 * rank.max())  # 0..1 scale of use
    use = {(c, b): float(lo + (hi - lo) * min(latent[i], 1.0))
           for i, c in enumerate(cities) for b, (_, lo, hi) in BIOMARKERS.items()}
    last = np.datetime64(end, "D")
    start = last - 365 * years
    start = start - int((start.astype(np.int64) + 3) % 7)  # a Monday (1970-01-01 was a Thursday)
    weeks = int((last - start).astype(np.int64) // 7)
    rows = {k: [] for k in ("plant_id", "region_id", "date", "biomarker", "substance", "concentration_ng_l",
                            "below_loq", "loq_ng_l", "flow_m3_day", "population")}
    surges = []
    for i in range(n_plants):
        for marker, (drug, _, _) in BIOMARKERS.items():
            factor = np.ones(weeks)
            if rng.random() < surge_share:
                s = int(rng.integers(12, weeks - 12))
                length = int(rng.integers(4, 13))
                f = float(rng.uniform(2.0, 3.0))
                factor[s:s + length] = f
                surges.append((plant_id[i], marker, start + 7 * s, start + 7 * (s + length) - 1, f))
            cf = CORRECTION_FACTORS[marker]
            for w in range(weeks):
                if rng.random() < 0.05:
                    continue  # a week without samples
                days = np.sort(rng.choice(7, int(rng.integers(3, 6)), replace=False))
                for d in days:
                    weekend = 1.2 if d >= 5 else 1.0
                    consumption = use[(plant_city[i], marker)] * factor[w] * weekend * rng.lognormal(0, 0.25)
                    pnl = consumption / cf
                    load = pnl * population[i] / 1000
                    conc = load / (flow[i] * 1e-3)
                    below = conc < LOQ
                    rows["plant_id"].append(plant_id[i])
                    rows["region_id"].append(plant_city[i])
                    rows["date"].append(start + 7 * w + int(d))
                    rows["biomarker"].append(marker)
                    rows["substance"].append(drug)
                    rows["concentration_ng_l"].append(None if below else round(float(conc), 2))
                    rows["below_loq"].append(bool(below))
                    rows["loq_ng_l"].append(LOQ)
                    rows["flow_m3_day"].append(float(flow[i]))
                    rows["population"].append(int(population[i]))
    table = pa.table({**{k: pa.array(v) for k, v in rows.items() if k != "date"},
                      "date": pa.array(np.array(rows["date"], dtype="datetime64[D]"), pa.date32())})
    table = table.select(list(rows))
    truth = {
        "hidden_demand": pa.table({"region_id": pa.array(list(cities), pa.string()),
                                   "hidden_factor": pa.array(hidden, pa.float64()),
                                   "planted": pa.array(np.isin(np.arange(len(cities)), hidden_regions))}),
        "wastewater_use": pa.table({"region_id": pa.array([c for c, _ in use], pa.string()),
                                    "biomarker": pa.array([b for _, b in use], pa.string()),
                                    "consumption": pa.array(list(use.values()), pa.float64())}),
        "wastewater_surges": pa.table({"plant_id": pa.array([s[0] for s in surges], pa.string()),
                                       "biomarker": pa.array([s[1] for s in surges], pa.string()),
                                       "start": pa.array(np.array([s[2] for s in surges], dtype="datetime64[D]"), pa.date32()),
                                       "end": pa.array(np.array([s[3] for s in surges], dtype="datetime64[D]"), pa.date32()),
                                       "factor": pa.array([s[4] for s in surges], pa.float64())}),
    }
    return table, truth
