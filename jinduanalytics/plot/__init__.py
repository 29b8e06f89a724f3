"""Plotting helpers: result tables in, matplotlib Figures out; nothing is computed here.

Chinese labels render with an installed CJK font when there is one, else with the Noto Sans
SC subset shipped in ``jinduanalytics/data/fonts`` (SIL OFL). Figures are built without
pyplot, so they are safe in scripts; in Jupyter they display as the cell's value.
"""

from ._chart import LinkChart, link_chart
from ._style import cjk_font
from .figures import (
                      beibu_map,
                      case_timeline,
                      cluster_network,
                      cluster_ranking,
                      disruption_curve,
                      indicator_lines,
                      lifecycle_plot,
                      linkage_waterfall,
                      money_flow,
                      parcel_channel_plot,
                      region_heatmap,
                      risk_levels,
                      substance_trend,
                      wastewater_series,
)

__all__ = ["cluster_network", "region_heatmap", "beibu_map", "cluster_ranking", "case_timeline",
           "linkage_waterfall", "disruption_curve", "substance_trend", "parcel_channel_plot", "indicator_lines",
           "lifecycle_plot", "wastewater_series", "risk_levels", "money_flow", "link_chart", "LinkChart", "cjk_font"]
