"""The channel analyses (issue 24) on planted truth, city and rim scale: time, peak memory, quality.

    python benchmarks/bench_channels.py            # channels preset seeds 7, 8 and a rim-scale channels dataset
    python benchmarks/bench_channels.py --quick    # a county-scale channels dataset (CI smoke run)

Quality on our own generator's planted truth (jinduanalytics.synthetic.channels): planted drug-parcel
outlets ranked (precision@k, k = number planted) and busy outlets flagged (should be 0);
precursor purchases whose best production case is their own (recall@1; the case evidence links computed
once and shared, as `jindu analyze` does); online networks' NMI/ARI
from cluster_cases (city scale only). No anchor tool exists for these scorings: times are absolute,
each the median of 3 runs on the same input.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import _harness as H  # noqa: E402

SCALES = {
    "county": dict(preset="county", online_networks=8, precursor_chains=6, courier_outlets=60),
    "channels": dict(preset="channels"),
    # the rim: 6,200 street networks plus 30x the city's channels
    "rim": dict(preset="beibu", online_networks=1200, precursor_chains=900, courier_outlets=9000),
}


def setup(name: str, seed: int):
    from jinduanalytics.synthetic import generate

    spec = dict(SCALES[name])
    return generate(spec.pop("preset"), seed=seed, **spec)


def outlet_quality(ds, ch) -> dict:
    truth = ds.truth["parcel_outlets"].to_pandas()
    planted = set(truth.loc[truth["planted"], "origin_outlet"])
    busy = set(truth.loc[truth["busy"], "origin_outlet"])
    o = ch.to_pandas()
    o = o[o["endpoint"] == "origin_outlet"].sort_values("rank")
    k = len(planted)
    return {"parcels": ds.parcels.num_rows, "planted_outlets": k,
            "precision_at_k": len(set(o["value"].head(k)) & planted) / k,
            "flagged": int(o["flagged"].sum()), "busy_flagged": int(o.loc[o["value"].isin(busy), "flagged"].sum())}


def precursor_quality(ds, pl) -> dict:
    truth = ds.truth["precursor_chains"].to_pandas()
    p = pl.to_pandas()
    top = p[p["rank"] == 1].set_index("purchase_case")["production_case"]
    return {"purchases": len(truth), "recall_at_1": float((truth["purchase_case"].map(top) == truth["production_case"]).mean()),
            "decoys_linked": len(set(top.index) - set(truth["purchase_case"]))}


def online_quality(ds, cl) -> dict:
    from jinduanalytics.metrics import ari, nmi

    cn = ds.truth["case_network"].to_pandas()
    nets = ds.truth["networks"].to_pandas()
    online = set(nets.loc[nets["channel"] == "online", "network"])
    df = cl.to_pandas().merge(cn, on="case_id")
    df = df[df["network"].isin(online)]
    return {"online_cases": len(df), "online_nmi": nmi(df["network"], df["cluster"]),
            "online_ari": ari(df["network"], df["cluster"])}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args(argv)
    specs = [("county", 7)] if args.quick else [("channels", 7), ("channels", 8), ("rim", 7)]
    repeats = 1 if args.quick else 3
    rows = []
    for name, seed in specs:
        label = f"{name} seed {seed}"
        dataset = setup(name, seed)  # generated once; each measurement's forked child inherits it

        def data(dataset=dataset):
            return dataset

        def parcel_run(ds):
            from jinduanalytics.channels import parcel_channels
            return ds, parcel_channels(ds)

        from jinduanalytics.clusters import case_links
        links = case_links(dataset)  # shared, as jindu analyze shares it

        def precursor_run(ds, links=links):
            from jinduanalytics.channels import precursor_links
            return ds, precursor_links(ds, links=links)

        def substance_run(ds):
            from jinduanalytics.channels import substance_table
            return {"rows": substance_table(ds).num_rows}

        rows.append(H.measure("jindu.parcel_channels", label, data, parcel_run, repeats=repeats, warmup=0,
                              score=lambda r: outlet_quality(*r)))
        rows.append(H.measure("jindu.precursor_links", label, data, precursor_run, repeats=repeats, warmup=0,
                              score=lambda r: precursor_quality(*r)))
        rows.append(H.measure("jindu.substance_table", label, data, substance_run, repeats=repeats, warmup=0))
        if name != "rim":  # clustering the rim is bench_clusters' job; here the online networks at city scale
            def cluster_run(ds, links=links):
                from jinduanalytics.clusters import cluster_cases
                return ds, cluster_cases(ds, seed=7, links=links)
            rows.append(H.measure("jindu.cluster_cases (online)", label, data, cluster_run, repeats=1, warmup=0,
                                  score=lambda r: online_quality(*r)))
    H.write("channels", rows, notes=[
        "quality rests on our own generator's planted truth; median_s excludes generating the dataset",
        "precision_at_k: planted drug-parcel outlets among the top k (k = planted); busy_flagged: busy outlets flagged",
        "recall_at_1: precursor purchases whose best production case is their own; decoys_linked: unrelated purchases linked"],
        quick=args.quick)


if __name__ == "__main__":
    main()
