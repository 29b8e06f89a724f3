"""Time-respecting reachability (issue 25) on the contacts and flows of a dataset, against the
code a user would write without it.

    python benchmarks/bench_temporal.py            # beibu contacts (182k) and flow legs, 20 seed sets
    python benchmarks/bench_temporal.py --quick    # county (CI smoke run)

Edges: a contact is usable on its first and on its last date (two dated edges, both ways); a flow
leg on its date. Each run answers "what can be reached from these seeds along dated edges that do
not go backwards, waiting at most 30 days" for 20 random seed sets of 10 items (one call with the
20 sets: the edges are prepared once). The anchor builds
a networkx MultiDiGraph once (not timed) and runs a label-setting search (heap on arrival date,
successors filtered by date and waiting limit): the usual way to write it. Both must reach the
same items (checked)... except that it does not: with a waiting limit a later arrival can leave when
the earliest cannot, so the earliest-arrival search misses items (``missed_by_label_setting``). The
timed anchor is therefore the exact one-pass sweep (edges in date order, each node's latest arrival)
in pure Python over the same edge list; networkx has no temporal-path routine. ratio = tool / sweep.
"""

from __future__ import annotations

import argparse
import heapq
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import _harness as H  # noqa: E402

GAP = 30


def edges_of(ds):
    import datetime as dt

    import pyarrow as pa

    c = ds.contacts
    src = c.column("phone_a").to_pylist() * 2
    dst = c.column("phone_b").to_pylist() * 2
    days = c.column("first_date").to_pylist() + c.column("last_date").to_pylist()
    f = ds.flows
    src += f.column("origin").to_pylist()
    dst += f.column("destination").to_pylist()
    days += f.column("date").to_pylist()
    return pa.table({"source": src, "target": dst, "date": pa.array(days, pa.date32())}), dt


def seed_sets(table, k=20, size=10):
    import numpy as np

    nodes = sorted(set(table.column("source").to_pylist()))
    rng = np.random.default_rng(7)
    return [list(rng.choice(nodes, size, replace=False)) for _ in range(k)]


def run_jindu(args):
    from jinduanalytics.temporal import time_respecting_paths

    table, seeds = args
    res = time_respecting_paths(table, {str(i): s for i, s in enumerate(seeds)}, max_gap_days=GAP,
                                directed=False).to_pandas()
    by = res.groupby("seed_set")["node"].agg(set)
    return [by.get(str(i), set()) for i in range(len(seeds))]


def setup_nx(table, seeds):
    import networkx as nx

    g = nx.MultiDiGraph()
    for a, b, d in zip(table.column("source").to_pylist(), table.column("target").to_pylist(),
                       table.column("date").to_pylist()):
        t = d.toordinal()
        g.add_edge(a, b, t=t)
        g.add_edge(b, a, t=t)
    return g, seeds


def run_nx(args):
    g, seeds = args
    out = []
    for s in seeds:
        # label-setting: earliest arrival per node; an edge is usable if its date is not before the
        # arrival and (away from a seed) within GAP days of it
        arrival = {}
        heap = [(-10**9, n) for n in s]
        seeds_set = set(s)
        best = {n: -10**9 for n in s}
        while heap:
            t, u = heapq.heappop(heap)
            if best.get(u, 10**18) < t:
                continue
            for _, v, data in g.out_edges(u, data=True):
                tt = data["t"]
                if tt < t or (u not in seeds_set and tt - t > GAP) or v in seeds_set:
                    continue
                if tt < best.get(v, 10**18):
                    best[v] = tt
                    arrival[v] = tt
                    heapq.heappush(heap, (tt, v))
        out.append(set(arrival))
    return out


def run_sweep(args):
    """The exact sweep in pure Python: edges in date order; a node can be left within GAP days of its
    latest arrival (edges of one date chain within the date)."""
    edges, seeds = args
    out = []
    for s in seeds:
        seeds_set = set(s)
        latest, reached = {}, set()
        i = 0
        while i < len(edges):
            j = i
            while j < len(edges) and edges[j][2] == edges[i][2]:
                j += 1
            changed = True
            while changed:
                changed = False
                for u, v, t in edges[i:j]:
                    if u in seeds_set or (u in latest and t - latest[u] <= GAP):
                        if v in seeds_set:
                            continue
                        if v not in reached:
                            reached.add(v)
                            changed = True
                        if latest.get(v, -10**9) < t:
                            latest[v] = t
                            changed = True
            i = j
        out.append(reached)
    return out


def setup_sweep(table, seeds):
    a, b = table.column("source").to_pylist(), table.column("target").to_pylist()
    t = [d.toordinal() for d in table.column("date").to_pylist()]
    edges = sorted(list(zip(a, b, t)) + list(zip(b, a, t)), key=lambda e: e[2])
    return edges, seeds


def main(argv=None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args(argv)
    from jinduanalytics.synthetic import generate

    ds = generate("county" if args.quick else "beibu", seed=7)
    table, _ = edges_of(ds)
    seeds = seed_sets(table, k=5 if args.quick else 20)
    name = f"{'county' if args.quick else 'beibu'} ({table.num_rows:,d} dated edges)"
    run_jindu((table, seeds[:1]))  # compile before timing (the cache keeps it)
    rows = [H.measure("jindu.time_respecting_paths", name, lambda: (table, seeds), run_jindu, repeats=3,
                      score=lambda r: {"reached_mean": sum(map(len, r)) / len(r)})]
    rows.append(H.measure("python sweep (exact)", name, lambda: setup_sweep(table, seeds), run_sweep, repeats=3,
                          warmup=0, score=lambda r: {"reached_mean": sum(map(len, r)) / len(r)}))
    rows.append(H.measure("networkx label-setting", name, lambda: setup_nx(table, seeds), run_nx, repeats=3,
                          warmup=0, score=lambda r: {"reached_mean": sum(map(len, r)) / len(r)}))
    exact = run_sweep(setup_sweep(table, seeds))
    ours = run_jindu((table, seeds))
    naive = run_nx(setup_nx(table, seeds))
    assert ours == exact, "jindu and the exact sweep reach different items"
    rows[0]["same_reached_as_sweep"] = True
    rows[2]["missed_by_label_setting"] = sum(len(a - b) for a, b in zip(exact, naive))
    H.write("temporal", rows, reference="python sweep (exact)", notes=[
        "20 seed sets of 10 items each run; max wait 30 days; contacts usable on their first and last date",
        "networkx label-setting: earliest-arrival search on a MultiDiGraph built once (build not timed); it misses "
        "items reachable only by a later arrival (missed_by_label_setting), so it is shown, not used as the anchor"],
        quick=args.quick)


if __name__ == "__main__":
    main()
