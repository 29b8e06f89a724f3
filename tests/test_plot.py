"""Every plot function renders a non-trivial PNG from result tables on the committed sample."""

from __future__ import annotations

import warnings
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from jinduanalytics import clusters as jc
from jinduanalytics import plot
from jinduanalytics.channels import parcel_channels, substance_table
from jinduanalytics.errors import ParameterError, SchemaError
from jinduanalytics.io import read_dataset
from jinduanalytics.lifecycle import track_clusters
from jinduanalytics.money import collection_accounts, money_network
from jinduanalytics.risk import region_risk
from jinduanalytics.routes import flow_legs
from jinduanalytics.synthetic import generate
from jinduanalytics.trends import change_points, indicators
from jinduanalytics.wastewater import wastewater_alarms, wastewater_loads

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "synthetic" / "county"


@pytest.fixture(scope="module")
def results():
    ds = read_dataset(SAMPLE)
    cl = jc.cluster_cases(ds, seed=7)
    summary = jc.cluster_summary(ds, cl)
    return ds, cl, summary


def _figures(results):
    ds, cl, summary = results
    top = summary.column("cluster")[0].as_py()
    nodes, edges = jc.cluster_persons(ds, cl, top)
    case_nodes = pa.table({"node_id": cl["case_id"], "community": cl["cluster"]})
    pairs = pd.DataFrame({"region_a": ["GD-ZJ", "GD-ZJ", "GX-NN", "HI-HK"], "region_b": ["HI-HK", "GX-NN", "HI-HK", "HI-SY"],
                          "z": [5.2, 1.0, 3.4, 0.5], "significant": [True, False, True, False]})
    contrib = pd.DataFrame({"comparison": ["prior", "name", "id_number", "birth_date", "phone"],
                            "weight": [-12.3, 6.1, 9.8, 4.2, -1.5]})
    chan = generate("county", seed=7, online_networks=4, precursor_chains=2, courier_outlets=30)
    ind = indicators(ds, period="quarter").to_pandas()
    mon = generate("county", seed=7, wastewater_plants=14)
    loads = wastewater_loads(mon)
    money = generate("county", seed=7, money_background=10)
    money_cl = jc.cluster_cases(money, seed=7)
    money_top = collection_accounts(money, money_cl).column("cluster")[0].as_py()
    curves = pd.DataFrame({"strategy": ["degree"] * 4 + ["betweenness"] * 4, "removed": [0, .1, .2, .3] * 2,
                           "lcc": [1, .6, .3, .1, 1, .5, .2, .05]})
    return {
        "cluster_network": plot.cluster_network(nodes, edges, label="node_id"),
        "cluster_network_aggregated": plot.cluster_network(case_nodes, jc.cluster_case_graph(ds, cl).edges(),
                                                           group="community"),
        "region_heatmap": plot.region_heatmap(pairs),
        "beibu_map": plot.beibu_map(ds.regions, flow_legs(ds)),
        "cluster_ranking": plot.cluster_ranking(summary),
        "case_timeline": plot.case_timeline(jc.cluster_timeline(ds, cl, summary)),
        "linkage_waterfall": plot.linkage_waterfall(contrib, threshold=3.0),
        "disruption_curve": plot.disruption_curve(curves),
        "substance_trend": plot.substance_trend(substance_table(chan, by="category", per_region=False), share=True),
        "parcel_channel_plot": plot.parcel_channel_plot(parcel_channels(chan)),
        "indicator_lines": plot.indicator_lines(ind, change_points(ind), region=ind["region_id"].iloc[0]),
        "lifecycle_plot": plot.lifecycle_plot(track_clusters(ds, period="quarter")[0]),
        "wastewater_series": plot.wastewater_series(loads, wastewater_alarms(loads), plant="WWTP000"),
        "risk_levels": plot.risk_levels(region_risk(mon, period="year"), regions=mon.regions),
        "beibu_map_levels": plot.beibu_map(mon.regions, risk=region_risk(mon, period="year")),
        "money_flow": plot.money_flow(*money_network(money, money_cl, money_top, mask=jc.mask_value)),
    }


def test_every_plot_renders_a_non_trivial_png(results, tmp_path):
    import matplotlib.image as mpimg

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a missing CJK glyph is a warning: make it fail
        figs = _figures(results)
        assert set(figs) >= {f for f in plot.__all__ if f not in ("cjk_font", "link_chart", "LinkChart")}  # charts: HTML
        for name, fig in figs.items():
            path = tmp_path / f"{name}.png"
            fig.savefig(path)
            img = mpimg.imread(path)
            h, w = img.shape[:2]
            assert w >= 500 and h >= 300, (name, img.shape)
            gray = img[..., :3].mean(axis=2)
            assert (gray < 0.9).mean() > 0.01, f"{name} is nearly blank"
            assert len(np.unique(np.round(img[..., :3], 2).reshape(-1, 3), axis=0)) > 20, f"{name} has too few colours"


def test_shipped_font_covers_every_label_we_draw():
    from fontTools.ttLib import TTFont

    from jinduanalytics.plot import _style
    from jinduanalytics.regions import beibu_regions

    path = resources.files("jinduanalytics.data").joinpath(_style.SHIPPED_FONT)
    cmap = TTFont(str(path)).getBestCmap()
    text = "".join(beibu_regions().column("name").to_pylist()) + "".join(_style.ROLE_ZH.values()) \
        + "".join(_style.MODE_ZH.values()) + "琼州海峡北部湾集群排序案件时间线地区关联比对贡献打击效果网络图源头图外经度纬度"
    missing = sorted({c for c in text if ord(c) not in cmap})
    assert not missing, missing


def test_plots_reject_tables_without_their_columns(results):
    with pytest.raises(SchemaError, match="summary.*'score'"):
        plot.cluster_ranking(pd.DataFrame({"cluster": [1], "n_cases": [3]}))
    with pytest.raises(SchemaError, match="pairs"):
        plot.region_heatmap(pd.DataFrame({"region_a": ["GD-ZJ"]}))
    big = pd.DataFrame({"node_id": [str(i) for i in range(300)]})
    with pytest.raises(ParameterError, match="group="):
        plot.cluster_network(big, pd.DataFrame({"source": ["0"], "target": ["1"]}))
