"""Issue 25: date windows, time-respecting paths, cluster tracking, indicators and change points."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given
from hypothesis import strategies as st

import jinduanalytics as ja
from jinduanalytics.clusters import cluster_cases
from jinduanalytics.errors import ParameterError
from jinduanalytics.temporal import time_respecting_paths, window

# ----------------------------------------------------------------------------- windows


def test_gh25_window_covering_everything_changes_nothing(city):
    w = window(city, "1990-01-01", dt.date.today().isoformat())
    for name in city:
        assert w[name].equals(city[name]), name
    a, b = cluster_cases(city, seed=7), cluster_cases(w, seed=7)
    assert a.select(["case_id", "cluster", "stability"]).equals(b.select(["case_id", "cluster", "stability"]))
    assert ja.provenance(b)["window"] == ["1990-01-01", dt.date.today().isoformat()]
    assert ja.provenance(a)["window"] is None


def test_gh25_window_keeps_only_rows_of_the_period(city):
    w = window(city, "2023-01-01", "2023-06-30")
    d = w.cases.column("date").to_pylist()
    assert d and min(d) >= dt.date(2023, 1, 1) and max(d) <= dt.date(2023, 6, 30)
    kept = set(w.cases.column("case_id").to_pylist())
    assert set(w.case_entities.column("case_id").to_pylist()) <= kept
    assert set(w.case_persons.column("case_id").to_pylist()) <= kept
    c = w.contacts
    assert pc.all(pc.less_equal(c.column("first_date"), pa.scalar(dt.date(2023, 6, 30)))).as_py()
    assert pc.all(pc.greater_equal(c.column("last_date"), pa.scalar(dt.date(2023, 1, 1)))).as_py()
    for name in ("transactions", "flows"):
        dates = w[name].column("date").to_pylist()
        assert all(dt.date(2023, 1, 1) <= x <= dt.date(2023, 6, 30) for x in dates), name
    assert w.person_records.equals(city.person_records)
    # windows of windows intersect; a bad window is refused
    assert window(w, "2023-03-01", None).window == ("2023-03-01", "2023-06-30")
    with pytest.raises(ParameterError, match="after end"):
        window(city, "2024-01-01", "2023-01-01")
    with pytest.raises(ParameterError, match="must be a date"):
        window(city, "2024-13-01")


def test_gh25_analyze_window_in_manifest_and_provenance(tmp_path):
    from jinduanalytics.cli import main
    from jinduanalytics.synthetic import generate

    ja.write_dataset(generate("county", seed=7), tmp_path / "ds")
    assert main(["analyze", str(tmp_path / "ds"), "--out", str(tmp_path / "out"), "--from", "2023-01-01",
                 "--to", "2023-12-31", "--quiet"]) == 0
    m = json.loads((tmp_path / "out" / "manifest.json").read_text(encoding="utf-8"))
    assert m["window"] == ["2023-01-01", "2023-12-31"] and m["config"]["window"]["from"] == "2023-01-01"
    assert m["analysed_rows"]["cases"] < m["input_rows"]["cases"]
    import pyarrow.parquet as pq

    meta = pq.read_table(tmp_path / "out" / "case_clusters.parquet").schema.metadata
    assert json.loads(meta[b"jindu.window"]) == ["2023-01-01", "2023-12-31"]
    assert main(["analyze", str(tmp_path / "ds"), "--out", str(tmp_path / "bad"), "--from", "2023-02-30"]) == 2


# ----------------------------------------------------------------------------- time-respecting paths


def _brute(edges, seeds, start, gap, directed=True):
    """Earliest arrival by enumerating every walk of edges in date order (small graphs only)."""
    es = list(edges)
    if not directed:
        es += [(b, a, t) for a, b, t in es]
    best = {}
    seen = set()

    def walk(node, arrived, at_seed, depth):
        if (node, arrived, at_seed) in seen:  # the same state explores the same walks
            return
        seen.add((node, arrived, at_seed))
        for a, b, t in es:
            if a != node or (start is not None and t < start) or t < arrived:
                continue
            if not at_seed and gap is not None and t - arrived > gap:
                continue
            if b in seeds:
                continue
            if t < best.get(b, (np.inf,))[0]:
                best[b] = (t,)
            if depth < len(es):
                walk(b, t, False, depth + 1)

    for s in seeds:
        walk(s, -10**9, True, 0)
    return {k: v[0] for k, v in best.items()}


@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 5), st.integers(0, 8)), max_size=9),
       st.sampled_from([None, 0, 1, 3]), st.sampled_from([None, 2]), st.booleans())
def test_gh25_time_respecting_paths_match_brute_force(raw, gap, start, directed):
    edges = [(f"n{a}", f"n{b}", t) for a, b, t in raw if a != b]
    base = dt.date(2024, 1, 1)
    table = pa.table({"source": [a for a, _, _ in edges], "target": [b for _, b, _ in edges],
                      "date": pa.array([base + dt.timedelta(days=t) for _, _, t in edges], pa.date32())})
    got = time_respecting_paths(table, ["n0"], max_gap_days=gap, directed=directed,
                                start=None if start is None else base + dt.timedelta(days=start)).to_pylist()
    want = _brute(edges, {"n0"}, start, gap, directed)
    assert {r["node"]: (r["date"] - base).days for r in got} == want
    usable = edges + ([(b, a, t) for a, b, t in edges] if not directed else [])
    for r in got:  # the path shown is itself time-respecting and arrives at that date
        p = r["path"]
        assert p[0] == "n0" and p[-1] == r["node"] and len(p) == r["hops"] + 1
        times = []
        for u, v in zip(p, p[1:]):
            ok = [t for a, b, t in usable if a == u and b == v and (not times or t >= times[-1])]
            assert ok
            times.append(min(ok) if v != p[-1] else (r["date"] - base).days)
        assert times == sorted(times)


def test_gh25_several_seed_sets_in_one_call_equal_separate_calls():
    rng = np.random.default_rng(3)
    n = 200
    e = pa.table({"source": [f"p{i}" for i in rng.integers(0, 60, n)], "target": [f"p{i}" for i in rng.integers(0, 60, n)],
                  "date": pa.array([dt.date(2024, 1, 1) + dt.timedelta(days=int(d)) for d in rng.integers(0, 200, n)])})
    sets = {"a": ["p1", "p2"], "b": ["p7"], "c": ["p30", "p31", "p32"]}
    together = time_respecting_paths(e, sets, max_gap_days=20).to_pandas()
    for k, s in sets.items():
        alone = time_respecting_paths(e, s, max_gap_days=20).to_pandas()
        mine = together[together["seed_set"] == k].drop(columns="seed_set").reset_index(drop=True)
        assert mine[["node", "date", "hops"]].equals(alone[["node", "date", "hops"]])


def test_gh25_latest_departure_is_the_mirror_of_earliest_arrival():
    e = pa.table({"source": ["a", "b", "c", "b"], "target": ["b", "c", "d", "d"],
                  "date": pa.array([dt.date(2024, 1, d) for d in (1, 3, 9, 2)], pa.date32())})
    rev = {r["node"]: r["date"].day for r in time_respecting_paths(e, ["d"], reverse=True).to_pylist()}
    assert rev == {"c": 9, "b": 3, "a": 1}  # b can leave as late as the 3rd (via c), a only on the 1st
    # waiting at most a day: b -> c on the 3rd would wait 6 days at c, so b's latest is b -> d on the 2nd
    gap1 = {r["node"]: r["date"].day for r in time_respecting_paths(e, ["d"], reverse=True, max_gap_days=1).to_pylist()}
    assert gap1 == {"c": 9, "b": 2, "a": 1}


# ----------------------------------------------------------------------------- tracking: CAVIAR

from pathlib import Path  # noqa: E402

from jinduanalytics.lifecycle import key_players_over_time, track_communities  # noqa: E402

CAVIAR = Path(__file__).resolve().parents[2] / "shared" / "reference-networks" / "caviar" / "phases"


def caviar_edges() -> pa.Table:
    """The 11 wiretap phases as (period, source, target, weight): N-prefixed ids as in the literature."""
    import pandas as pd

    rows = []
    for k in range(1, 12):
        m = pd.read_csv(CAVIAR / f"phase{k}.csv", index_col=0)
        ids = [f"N{int(str(x).strip(chr(34)))}" for x in m.index]
        cols = [f"N{int(str(x).strip(chr(34)))}" for x in m.columns]
        for i, a in enumerate(ids):
            for j, b in enumerate(cols):
                if m.iat[i, j] > 0 and a != b:
                    rows.append((k, a, b, float(m.iat[i, j])))
    return pa.table({"period": [r[0] for r in rows], "source": [r[1] for r in rows], "target": [r[2] for r in rows],
                     "weight": [r[3] for r in rows]})


@pytest.mark.skipif(not CAVIAR.is_dir(), reason="reference networks not beside the repo")
def test_gh25_caviar_key_players_across_the_phases_match_the_published_facts():
    kp = key_players_over_time(caviar_edges()).to_pandas()
    top = kp[kp["rank"] == 1].set_index("period")["node"]
    # N1 dominates phases 1-8 (and 10); N3 leads phase 9; N12 has the highest degree in phase 11
    assert all(top[k] == "N1" for k in range(1, 9)) and top[10] == "N1"
    assert top[9] == "N3" and top[11] == "N12"
    deg = kp.pivot_table(index="period", columns="node", values="degree", fill_value=0)
    assert deg.loc[11, "N12"] == 12 and deg.loc[1, "N1"] == 12 and deg.loc[3, "N1"] == 27  # README table
    # N3 and N12 rise later: neither is among the top 2 in phases 1-2, both are in later phases
    top2 = kp[kp["rank"] <= 2].groupby("period")["node"].agg(set)
    assert not ({"N3", "N12"} & (top2[1] | top2[2]))
    assert any("N12" in top2[k] for k in range(5, 12)) and any("N3" in top2[k] for k in range(3, 12))


@pytest.mark.skipif(not CAVIAR.is_dir(), reason="reference networks not beside the repo")
def test_gh25_caviar_communities_tracked_across_phases():
    e = caviar_edges()
    mem = []
    for k in range(1, 12):
        ph = e.filter(pc.equal(e.column("period"), k))
        com = ja.leiden(ph.select(["source", "target", "weight"]), seed=7).to_pandas()
        mem += [(k, int(c), n) for n, c in zip(com["node_id"], com["community"])]
    m = pa.table({"period": [a for a, _, _ in mem], "community": [b for _, b, _ in mem], "member": [c for _, _, c in mem]})
    events, comm = track_communities(m)
    ev = events.to_pandas()
    track = m.to_pandas().merge(comm.to_pandas(), on=["period", "community"])
    n12 = track[track["member"] == "N12"].set_index("period")["track"]
    n1 = track[track["member"] == "N1"].set_index("period")["track"]
    # the community around N12 in the last phase has been followed for at least three phases; it
    # started (born, or split off) after the first phases, apart from N1's community of those phases
    last = n12[11]
    assert (n12 == last).sum() >= 3
    start = comm.to_pandas().query("track == @last")["period"].min()
    first_event = ev[(ev["track"] == last) & (ev["period"] == start)]["event"].iloc[0]
    assert start >= 4 and first_event in ("birth", "split")
    assert last not in set(n1[n1.index <= 8])
    assert set(ev["event"]) <= {"birth", "death", "merge", "split", "growth", "contraction", "continuation"}
    # every track is born once, and every event but a birth continues a track seen the period before
    assert (ev[ev["event"] == "birth"].groupby("track").size() == 1).all()


# ----------------------------------------------------------------------------- tracking: planted lifecycles

def _planted_lifecycles(seed: int, periods: int = 12):
    """Communities living through planted events; each period's members seen with probability 0.9."""
    rng = np.random.default_rng(seed)
    next_member = [0]

    def fresh(n):
        out = [f"m{next_member[0] + i}" for i in range(n)]
        next_member[0] += n
        return out

    alive = {i: fresh(int(rng.integers(12, 30))) for i in range(8)}
    next_id = 8
    truth, rows = [(0, "birth", c) for c in alive], []
    for p in range(periods):
        if p > 0:
            new = {}
            ids = list(alive)
            rng.shuffle(ids)
            used = set()
            for c in ids:
                if c in used:
                    continue
                members = alive[c]
                kind = rng.choice(["continuation", "growth", "contraction", "split", "merge", "death"],
                                  p=[0.45, 0.12, 0.12, 0.1, 0.1, 0.11])
                partner = next((x for x in ids if x not in used and x != c), None)
                if kind == "merge" and partner is None:
                    kind = "continuation"
                if kind == "split" and len(members) < 16:
                    kind = "growth"
                used.add(c)
                if kind == "death":
                    truth.append((p, "death", c))
                    continue
                if kind == "continuation":
                    keep = [m for m in members if rng.random() > 0.05] + fresh(int(rng.integers(0, 2)))
                    new[c] = keep
                elif kind == "growth":
                    new[c] = members + fresh(len(members))
                elif kind == "contraction":
                    new[c] = members[: len(members) // 2]
                elif kind == "split":
                    half = len(members) // 2
                    new[c], new[next_id] = members[:half + 2], members[half + 2:]
                    truth.append((p, "split", next_id))
                    next_id += 1
                elif kind == "merge":
                    used.add(partner)
                    new[c] = members + alive[partner]
                truth.append((p, kind, c))
            for _ in range(int(rng.integers(0, 2))):
                new[next_id] = fresh(int(rng.integers(12, 30)))
                truth.append((p, "birth", next_id))
                next_id += 1
            alive = new
        for c, members in alive.items():
            rows += [(p, c, m) for m in members if rng.random() < 0.9]
    m = pa.table({"period": [r[0] for r in rows], "community": [r[1] for r in rows], "member": [r[2] for r in rows]})
    return m, truth


def test_gh25_tracking_finds_planted_events_with_their_periods():
    found = {e: [0, 0, 0] for e in ("birth", "death", "merge", "split", "growth", "contraction", "continuation")}
    for seed in range(6):
        m, truth = _planted_lifecycles(seed)
        ev = track_communities(m)[0].to_pandas()
        detected = set()
        for p, e, c, prev in zip(ev["period"], ev["event"], ev["community"], ev["previous"]):
            detected.add((int(p), e, int(prev[0]) if e == "death" else int(c)))
        planted = {(p, e, c) for p, e, c in truth}
        for e in found:
            d = {x for x in detected if x[1] == e}
            t = {x for x in planted if x[1] == e}
            found[e][0] += len(d & t)
            found[e][1] += len(d)
            found[e][2] += len(t)
    for e, (hit, det, pl) in found.items():
        precision, recall = hit / max(det, 1), hit / max(pl, 1)
        print(f"{e}: precision {precision:.2f} recall {recall:.2f} ({pl} planted)")
        assert pl >= 5 and precision >= 0.8 and recall >= 0.8, e


# ----------------------------------------------------------------------------- indicators and change points

import pandas as pd  # noqa: E402

from jinduanalytics.trends import change_points, indicators  # noqa: E402


def test_gh25_indicators_match_a_direct_count(city):
    ind = indicators(city, period="year", clusters=cluster_cases(city, seed=7)).to_pandas()
    cases = city.cases.to_pandas()
    cases["year"] = pd.to_datetime(cases["date"]).dt.year
    got = ind[ind["indicator"] == "cases"].assign(year=lambda d: pd.to_datetime(d["period"]).dt.year)
    want = cases.groupby(["region_id", "year"]).size()
    assert got.set_index(["region_id", "year"])["value"].sort_index().equals(want.sort_index().rename("value"))
    # new persons over all periods and regions = distinct persons with a case
    cp = city.case_persons.to_pandas()
    assert ind.loc[ind["indicator"] == "new_persons", "value"].sum() == cp["record_id"].nunique()
    # year over year: value / value a year before - 1
    s = got.set_index(["region_id", "year"])
    r = s.index[5]
    before = s["value"].get((r[0], r[1] - 1))
    if before:
        assert s.loc[r, "yoy_change"] == pytest.approx(s.loc[r, "value"] / before - 1)
    assert {"repeat_persons", "outflow_persons", "clusters_active", "clusters_new"} <= set(ind["indicator"])


def _series(rng, n_series, break_at=None, n=40, low=20, high=32):
    periods = pd.date_range("2015-01-01", periods=n, freq="QS").date
    rows = []
    for s in range(n_series):
        lam = np.full(n, low) if break_at is None else np.where(np.arange(n) < break_at, low, high)
        rows += [(f"R{s}", "cases", p, int(v)) for p, v in zip(periods, rng.poisson(lam))]
    return pd.DataFrame(rows, columns=["region_id", "indicator", "period", "value"]), periods


def test_gh25_planted_breaks_found_within_one_period_and_few_false_alarms():
    rng = np.random.default_rng(11)
    df, periods = _series(rng, 40, break_at=20)
    cps = change_points(df).to_pandas()
    near = cps[(pd.to_datetime(cps["period"]) - pd.Timestamp(periods[20])).abs() <= pd.Timedelta(days=92)]
    assert near["region_id"].nunique() / 40 >= 0.8
    assert (near["after"] > near["before"]).all()
    null, _ = _series(rng, 40)  # 40 region-decades of quarterly counts with no break
    assert len(change_points(null)) <= 4  # at most one false alarm per ten region-decades here


def test_gh25_change_point_statistic_matches_a_direct_likelihood_ratio():
    from jinduanalytics.trends import _llr

    x = np.array([3.0, 5, 4, 9, 11, 10, 12])

    def loglik(seg):
        m = seg.mean()
        return float(np.sum(seg * np.log(m)) - seg.size * m) if m > 0 else 0.0

    want = [loglik(x[:k]) + loglik(x[k:]) - loglik(x) for k in range(1, x.size)]
    got = _llr(x[None, :], 1)[0]
    assert np.allclose(got, want)


# ----------------------------------------------------------------------------- planted in the generator

from jinduanalytics.lifecycle import track_clusters  # noqa: E402
from jinduanalytics.synthetic import generate  # noqa: E402


def _detected_lifecycle_events(ds):
    """track_clusters' events, each cluster named by the planted network most of its cases belong to."""
    ev, cl = track_clusters(ds, period="quarter")
    ev, cl = ev.to_pandas(), cl.to_pandas()
    c = cl.merge(ds.truth["case_network"].to_pandas(), on="case_id")
    major = c.groupby(["period", "cluster"])["network"].agg(lambda s: s.value_counts().index[0]).to_dict()
    periods = sorted(cl["period"].unique())
    out = set()
    for p, e, com, prev in zip(ev["period"], ev["event"], ev["community"], ev["previous"]):
        key = (periods[periods.index(p) - 1], int(prev[0])) if e == "death" else (p, int(com))
        out.add((p, e, int(major.get(key, -1))))
    return out


def test_gh25_planted_network_lifecycles_found_with_their_quarters():
    score = {e: [0, 0, 0] for e in ("birth", "death", "merge", "split", "growth", "contraction", "continuation")}
    for seed in (7, 8, 9):
        ds = generate("county", seed=seed, lifecycle_networks=16)
        t = ds.truth["lifecycle_events"].to_pandas()
        planted = {(p, e, int(n)) for p, e, n in zip(t["period"], t["event"], t["network"])}
        nets = set(t["network"])
        found = {x for x in _detected_lifecycle_events(ds) if x[2] in nets}
        for e in score:
            d, p = {x for x in found if x[1] == e}, {x for x in planted if x[1] == e}
            score[e][0] += len(d & p)
            score[e][1] += len(d)
            score[e][2] += len(p)
    for e, (hit, det, pl) in score.items():
        print(f"{e}: precision {hit / max(det, 1):.2f} recall {hit / max(pl, 1):.2f} ({pl} planted)")
        assert pl >= 5 and hit / det >= 0.8 and hit / pl >= 0.8, e


def test_gh25_planted_trend_breaks_found_within_one_quarter():
    found = total = 0
    for seed in (7, 8, 9):
        ds = generate("timeline", seed=seed)
        breaks = ds.truth["trend_breaks"].to_pandas()
        ind = indicators(ds, period="quarter")
        cps = change_points(ind.filter(pc.is_in(ind.column("indicator"), pa.array(["cases:吸食", "new_persons"])))).to_pandas()
        for region, period in zip(breaks["region_id"], breaks["period"]):
            gap = (pd.to_datetime(cps["period"]) - pd.Timestamp(period)).abs()
            found += bool(((cps["region_id"] == region) & (gap <= pd.Timedelta(days=92))).any())
            total += 1
    print(f"planted trend breaks found within one quarter: {found} of {total}")
    assert found / total >= 0.8


# ----------------------------------------------------------------------------- upstream tracing through relays

from jinduanalytics.clusters import trace_upstream  # noqa: E402


def _relay_tables(first_relay_contact: dt.date, second_relay_contact: dt.date) -> dict:
    """A user (phone U) whose case is on 2024-03-01; a seller whose case holds phone S; U called R and
    R called S on the given dates."""
    d = dt.date
    return {
        "cases": pa.table({"case_id": ["c_user", "c_sell"], "region_id": ["GD-ZJ"] * 2,
                           "date": [d(2024, 3, 1), d(2024, 2, 1)], "case_type": ["吸食", "贩卖"],
                           "drug": ["冰毒"] * 2, "quantity_g": [0.5, 10.0]}),
        "case_persons": pa.table({"case_id": ["c_user", "c_sell"], "record_id": ["r_user", "r_sell"],
                                  "role": ["user", "seller"]}),
        "case_entities": pa.table({"case_id": ["c_sell"], "kind": ["phone"], "value": ["S"]}),
        "person_records": pa.table({"record_id": ["r_user", "r_sell"], "phone": ["U", "X"]}),
        "contacts": pa.table({"phone_a": ["U", "R"], "phone_b": ["R", "S"], "count": [3, 3],
                              "first_date": [first_relay_contact, second_relay_contact],
                              "last_date": [first_relay_contact, second_relay_contact]}),
    }


def test_gh25_trace_follows_time_respecting_relays():
    d = dt.date
    good = _relay_tables(d(2024, 1, 10), d(2024, 1, 20))  # U -> R, then R -> S: a chain, before the case
    assert trace_upstream(good).num_rows == 0  # direct contacts only (the default): nothing
    t = trace_upstream(good, contact_hops=2).to_pylist()
    assert len(t) == 1 and t[0]["candidate"] == "r_sell" and t[0]["score_contacts"] == pytest.approx(0.5)
    backwards = _relay_tables(d(2024, 1, 20), d(2024, 1, 10))  # R -> S happened before U -> R
    assert trace_upstream(backwards, contact_hops=2).num_rows == 0
    slow = _relay_tables(d(2024, 1, 1), d(2024, 2, 15))  # 45 days apart: over the 30-day gap
    assert trace_upstream(slow, contact_hops=2).num_rows == 0
    assert trace_upstream(slow, contact_hops=2, max_gap_days=60).num_rows == 1
    late = _relay_tables(d(2024, 1, 10), d(2024, 3, 5))  # the relay reached S after the case
    assert trace_upstream(late, contact_hops=2, max_gap_days=90).num_rows == 0
