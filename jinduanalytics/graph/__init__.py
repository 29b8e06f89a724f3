"""Graph type, builders and adapters."""

from .build import (
                    RARITY,
                    as_graph,
                    auto_max_cases,
                    case_entity_graph,
                    case_graph,
                    entity_weights,
                    from_edges,
                    from_networkx,
                    person_graph,
                    region_flow_graph,
)
from .convert import to_igraph, to_networkx, write_gexf, write_graphml
from .csr import CSRGraph

__all__ = [
    "CSRGraph", "as_graph", "from_edges", "case_entity_graph", "case_graph", "auto_max_cases", "entity_weights",
    "person_graph", "region_flow_graph", "RARITY", "to_networkx", "from_networkx", "to_igraph",
    "write_graphml", "write_gexf",
]
