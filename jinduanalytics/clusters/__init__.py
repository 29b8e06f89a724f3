"""集群打零: cluster small cases into the supply networks behind them, rank, trace, explain.

Pipeline: :func:`case_links` -> :func:`cluster_cases` -> :func:`cluster_summary`, with
:func:`evidence_chain`, :func:`cluster_evidence` and :func:`cluster_bridges` to explain a
cluster and :func:`trace_upstream` / :func:`trace_coverage` for 查吸必查贩.
"""

from ._data import PERSON_KINDS, case_links, mask_value
from .cluster import cluster_cases
from .evaluate import score_clusters, score_trace
from .explain import cluster_bridges, cluster_case_graph, cluster_evidence, cluster_network, evidence_chain
from .summary import SCORE_WEIGHTS, cluster_persons, cluster_summary, cluster_timeline
from .trace import UPSTREAM_ROLES, trace_coverage, trace_upstream

__all__ = ["PERSON_KINDS", "case_links", "mask_value", "cluster_cases", "cluster_summary", "SCORE_WEIGHTS", "cluster_persons", "cluster_timeline",
           "cluster_evidence", "evidence_chain", "cluster_bridges", "cluster_case_graph", "cluster_network", "UPSTREAM_ROLES",
           "trace_upstream", "trace_coverage", "score_clusters", "score_trace"]
