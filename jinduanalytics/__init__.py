"""jinduanalytics: graph analytics for counter-narcotics network-intelligence research.

Everything shipped with the package is synthetic. See the README for the data model and
the two commands that run the demo and the tests.
"""

from . import channels, clusters
from ._version import __version__
from ._warmup import warmup
from .community import (
                        connected_components,
                        consensus,
                        cpm_quality,
                        label_propagation,
                        leiden,
                        leiden_levels,
                        louvain,
                        louvain_levels,
                        modularity,
                        provenance,
)
from .errors import (
                        GraphInputError,
                        JinduError,
                        JinduWarning,
                        MissingDependencyError,
                        OutputError,
                        PairBudgetError,
                        ParameterError,
                        SchemaError,
)
from .graph import (
                        CSRGraph,
                        as_graph,
                        case_entity_graph,
                        case_graph,
                        entity_weights,
                        from_edges,
                        from_networkx,
                        person_graph,
                        region_flow_graph,
                        to_igraph,
                        to_networkx,
                        write_gexf,
                        write_graphml,
)
from .io import Dataset, dataset_from_tables, read_dataset, read_table, write_dataset
from .options import get_output, output_as, set_output
from .pseudonymise import pseudonymise, pseudonymise_values
from .schema import TABLES, table_spec
from .validate import ValidationResult, validate_dataset, validate_table
from .vocabulary import Vocabulary, default_vocabulary

__all__ = [
    "__version__", "warmup", "clusters", "channels", "Vocabulary", "default_vocabulary",
    "JinduError", "SchemaError", "GraphInputError", "ParameterError", "PairBudgetError", "MissingDependencyError",
    "OutputError", "JinduWarning",
    "CSRGraph", "as_graph", "from_edges", "case_entity_graph", "case_graph", "entity_weights",
    "person_graph", "region_flow_graph", "to_networkx", "from_networkx", "to_igraph", "write_graphml",
    "write_gexf",
    "Dataset", "read_dataset", "read_table", "write_dataset", "dataset_from_tables",
    "pseudonymise", "pseudonymise_values", "set_output", "get_output", "output_as",
    "TABLES", "table_spec",
    "validate_table", "validate_dataset", "ValidationResult",
    "leiden", "louvain", "leiden_levels", "louvain_levels", "label_propagation", "connected_components",
    "modularity", "cpm_quality", "consensus", "provenance",
]
