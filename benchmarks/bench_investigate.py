"""拔钉追逃 and the link chart's queries (issue 28): the fugitive locator against the baselines an analyst
would use by hand, and query times at the Beibu scale.

    python benchmarks/bench_investigate.py            # city x3 seeds, a noisier city, beibu (timing)
    python benchmarks/bench_investigate.py --quick    # a small city (CI smoke run)

Input: the generator's ``fugitives`` preset (planted fugitives, their hiding region and helpers: the
truth rests on our generator alone), persons resolved by :func:`jinduanalytics.linkage.resolve_persons`
(outside the timing), the investigation graph built once.

* ``jindu locate``: :func:`jinduanalytics.investigate.locate` for every fugitive; quality = the hiding
  region in its top 3 regions, a true contact (helper or family) in its top 5 contacts.
* ``baseline: home region``: the region on the person's records most often (``home_region``, then
  ``source_region``) — where an analyst looks first; top 3 = the regions of their records and cases
  by count.
* ``baseline: most frequent contact``: the persons whose phones called the fugitive's phones most
  (all time), top 5; their regions in that order as the region guess.
* ``networkx pagerank``: :func:`networkx.pagerank` personalised on the same walk graph (same weights and
  successor-phone links, damping ``1 - restart``) per fugitive, on the city only (building the networkx graph of the Beibu
  graph takes minutes); ``same_top5`` is the share of its top-5 contacts equal to ours.
* Query times on beibu: ``expand`` (2 hops, up to 500 items) and ``locate`` per query.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import _harness as H  # noqa: E402


def prepare(preset: str = "fugitives", **overrides):
    from jinduanalytics.investigate import investigation_graph
    from jinduanalytics.linkage import resolve_persons
    from jinduanalytics.synthetic import generate

    ds = generate(preset, **overrides)
    _, persons = resolve_persons(ds.person_records)
    nodes, edges = investigation_graph(ds, persons=persons)
    return ds, persons, nodes, edges


class Truth:
    """The planted fugitives as node ids of the resolved graph."""

    def __init__(self, ds, persons):
        rp = ds.truth["record_person"].to_pandas()
        res = dict(zip(persons["record_id"].to_pylist(), persons["person_id"].to_pylist()))
        rp["node"] = "person:" + rp["record_id"].map(res).fillna(rp["record_id"])
        self.nodes_of = rp.groupby("person_id")["node"].agg(set).to_dict()
        prim = rp[rp["is_primary"]].set_index("person_id")["node"]
        f = ds.truth["fugitives"].to_pandas()
        self.wanted = [prim[p] for p in f["person_id"]]
        self.hiding = dict(zip(self.wanted, f["hiding_region"]))
        fc = ds.truth["fugitive_contacts"].to_pandas()
        self.contacts = defaultdict(set)
        for fug, c in zip(fc["fugitive"], fc["person_id"]):
            self.contacts[prim[fug]] |= self.nodes_of[c]

    def score(self, regions: dict, contacts: dict) -> dict:
        n = len(self.wanted)
        return {"region_top3": round(sum(self.hiding[w] in regions.get(w, [])[:3] for w in self.wanted) / n, 4),
                "contact_top5": round(sum(bool(self.contacts[w] & set(contacts.get(w, [])[:5])) for w in self.wanted)
                                      / n, 4),
                "fugitives": n}


def ranked(plan) -> tuple[dict, dict]:
    p = plan.to_pandas()
    regions = {w: g.sort_values("rank")["node_id"].str.slice(7).tolist()
               for w, g in p[p["kind"] == "region"].groupby("wanted")}
    contacts = {w: g.sort_values("rank")["node_id"].tolist() for w, g in p[p["kind"] == "contact"].groupby("wanted")}
    return regions, contacts


def baseline_home(ds, persons, wanted) -> tuple[dict, dict]:
    """The regions of the person's records (home_region first, then source_region) and cases, by count."""
    pr = ds.person_records.to_pandas()
    res = dict(zip(persons["record_id"].to_pylist(), persons["person_id"].to_pylist()))
    pr["node"] = "person:" + pr["record_id"].map(res).fillna(pr["record_id"])
    cp = ds.case_persons.to_pandas().merge(ds.cases.select(["case_id", "region_id"]).to_pandas(), on="case_id")
    cp["node"] = "person:" + cp["record_id"].map(res).fillna(cp["record_id"])
    want = set(wanted)
    home, src, cases = (Counter() for _ in range(3))
    by = defaultdict(lambda: (Counter(), Counter(), Counter()))
    for node, h, s in zip(pr["node"], pr["home_region"], pr["source_region"]):
        if node in want:
            if h:
                by[node][0][h] += 1
            by[node][1][s] += 1
    for node, r in zip(cp["node"], cp["region_id"]):
        if node in want:
            by[node][2][r] += 1
    regions = {}
    for w in wanted:
        home, src, cases = by[w]
        order = [r for r, _ in home.most_common()] + [r for r, _ in (src + cases).most_common()]
        regions[w] = list(dict.fromkeys(order))
    return regions, {}


def baseline_contact(ds, persons, wanted) -> tuple[dict, dict]:
    """The persons whose phones called the wanted person's phones most, and their regions in that order."""
    pr = ds.person_records.to_pandas()
    res = dict(zip(persons["record_id"].to_pylist(), persons["person_id"].to_pylist()))
    pr["node"] = "person:" + pr["record_id"].map(res).fillna(pr["record_id"])
    phones_of = pr.dropna(subset=["phone"]).groupby("node")["phone"].agg(set).to_dict()
    owners = pr.dropna(subset=["phone"]).groupby("phone")["node"].agg(set).to_dict()
    region_of = pr.groupby("node")["source_region"].agg(lambda s: s.value_counts().index[0]).to_dict()
    ct = ds.contacts.to_pandas()
    calls = defaultdict(Counter)
    for a, b, n in zip(ct["phone_a"], ct["phone_b"], ct["count"]):
        calls[a][b] += n
        calls[b][a] += n
    regions, contacts = {}, {}
    for w in wanted:
        tally = Counter()
        for ph in phones_of.get(w, ()):
            for other, n in calls[ph].items():
                for person in owners.get(other, ()):
                    if person != w:
                        tally[person] += n
        top = [p for p, _ in sorted(tally.items(), key=lambda kv: (-kv[1], kv[0]))]
        contacts[w] = top[:5]
        regions[w] = list(dict.fromkeys(region_of[p] for p in top))[:3]
    return regions, contacts


def run_nx_pagerank(args):
    """Personalised PageRank by networkx on the same walk graph, per wanted person: top-5 contacts."""
    import networkx as nx
    import pyarrow.compute as pc

    from jinduanalytics.investigate import _Index, _Walk, _walk_weights

    nodes, edges, wanted, restart = args
    ix = _Index(nodes, edges, None, None, None)
    day = (np.datetime64(pc.max(ix.edges["last_date"]).as_py(), "D") - np.datetime64("1970-01-01")).astype(int)
    w = _walk_weights(ix, day, 180.0)
    g = nx.Graph()
    names = ix.ids.to_pylist()
    g.add_nodes_from(range(len(names)))
    row = {n: i for i, n in enumerate(names)}
    for a, b, x in zip(ix.a[w > 0], ix.b[w > 0], w[w > 0]):
        g.add_edge(int(a), int(b), weight=g[a][b]["weight"] + x if g.has_edge(a, b) else x)
    model = _Walk(ix, day, 180.0)
    person = set(np.flatnonzero(pc.equal(ix.nodes["type"], "person").to_numpy(zero_copy_only=False)).tolist())
    out = {}
    for s in wanted:
        extra = [(row[s], q) for q, _ in model.successors(row[s])]  # the same derived links, for this person only
        g.add_edges_from(extra, weight=1.0)
        pr = nx.pagerank(g, alpha=1 - restart, personalization={row[s]: 1.0}, weight="weight", tol=1e-10)
        g.remove_edges_from(extra)
        top = sorted((v for v in pr if v in person and v != row[s]), key=lambda v: (-pr[v], v))[:5]
        out[s] = [names[v] for v in top]
    return out


def bench_quality(name: str, ds, persons, nodes, edges, with_nx: bool) -> list[dict]:
    from jinduanalytics.investigate import locate

    truth = Truth(ds, persons)
    wanted = truth.wanted
    print(name, f"{len(wanted)} fugitives", flush=True)
    ours = ranked(locate(nodes, edges, wanted))
    rows = [
        H.measure("jindu locate", name, lambda: (nodes, edges, wanted), lambda a: locate(*a), repeats=3,
                  score=lambda plan: {**truth.score(*ranked(plan)),
                                      "per_query_s": None}),
        H.measure("baseline: home region", name, lambda: (ds, persons, wanted), lambda a: baseline_home(*a), repeats=1,
                  warmup=0, score=lambda r: truth.score(*r)),
        H.measure("baseline: most frequent contact", name, lambda: (ds, persons, wanted),
                  lambda a: baseline_contact(*a), repeats=1, warmup=0, score=lambda r: truth.score(*r)),
    ]
    if with_nx:
        some = wanted[:30]
        rows.append(H.measure(
            "networkx pagerank", name, lambda: (nodes, edges, some, 0.15), run_nx_pagerank, repeats=1, warmup=0,
            score=lambda top: {"same_top5": round(float(np.mean([len(set(top[w]) & set(ours[1].get(w, [])[:5])) / 5
                                                                 for w in some])), 3), "queries": len(some)}))
    for r in rows:
        if r.get("tool") == "jindu locate" and "median_s" in r:
            r["per_query_s"] = round(r["median_s"] / len(wanted), 4)
    return rows


def bench_queries(name: str, nodes, edges, wanted) -> list[dict]:
    """Per-query times at scale: expand (2 hops, <= 500 items) from 20 persons, locate one by one."""
    from jinduanalytics import investigate as inv
    from jinduanalytics.investigate import expand, locate

    some = wanted[:20]

    def run_expand(a):
        for s in a:
            expand(nodes, edges, s, hops=2, max_nodes=500)

    def run_locate(a):
        for s in a:
            locate(nodes, edges, s)

    def run_first(a):  # a new graph: the walk model is built by the first query
        inv._CACHE.clear()
        locate(nodes, edges, a[0])

    rows = [H.measure("jindu expand (per query)", name, lambda: some, run_expand, repeats=3),
            H.measure("jindu locate one by one (per query)", name, lambda: some, run_locate, repeats=3),
            H.measure("jindu locate, first query on a graph", name, lambda: some, run_first, repeats=3)]
    for r in rows:
        if "median_s" in r:
            r["per_query_s"] = round(r["median_s"] / (1 if "first" in r["tool"] else len(some)), 4)
    return rows


def main(argv=None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--beibu-only", action="store_true", help="only the beibu rows (timing), written to investigate-beibu")
    args = ap.parse_args(argv)
    rows = []
    if args.beibu_only:
        ds, persons, nodes, edges = prepare("beibu", fugitives=300, seed=7)
        name = f"beibu + 300 fugitives ({nodes.num_rows:,d} nodes, {edges.num_rows:,d} links)"
        rows += bench_queries(name, nodes, edges, Truth(ds, persons).wanted)
        H.write("investigate-beibu", rows, notes=["per_query_s: median seconds of the run / queries in it"])
        return
    if args.quick:
        ds, persons, nodes, edges = prepare(n_networks=60, fugitives=30, seed=3)
        rows += bench_quality("city/3 fugitives seed 3", ds, persons, nodes, edges, with_nx=True)
        rows += bench_queries("city/3 fugitives seed 3", nodes, edges, Truth(ds, persons).wanted)
    else:
        for seed in (7, 8, 9):
            ds, persons, nodes, edges = prepare(seed=seed)
            rows += bench_quality(f"fugitives seed {seed}", ds, persons, nodes, edges, with_nx=seed == 7)
        noisy = dict(seed=11, phone_changed=0.5, phone_missing=0.3, name_confusion=0.35, id_missing=0.4)
        ds, persons, nodes, edges = prepare(**noisy)
        rows += bench_quality("fugitives seed 11, noisier identities", ds, persons, nodes, edges, with_nx=False)
        ds, persons, nodes, edges = prepare("beibu", fugitives=300, seed=7)
        name = f"beibu + 300 fugitives ({nodes.num_rows:,d} nodes, {edges.num_rows:,d} links)"
        rows += bench_quality(name, ds, persons, nodes, edges, with_nx=False)
        rows += bench_queries(name, nodes, edges, Truth(ds, persons).wanted)
    H.write("investigate", rows, reference="baseline: home region", notes=[
        "persons resolved and the investigation graph built once, outside the timing",
        "region_top3: the planted hiding region among the top 3 regions; contact_top5: a planted helper or family "
        "member among the top 5 contacts; truth from our own generator (synthetic/fugitives.py) alone",
        "per_query_s: median seconds of the run / queries in it",
        "same_top5: share of networkx's personalised PageRank top-5 contacts equal to locate's (push to 1e-6)"],
        quick=args.quick)


if __name__ == "__main__":
    main()
