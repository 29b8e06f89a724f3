"""Community detection: Leiden, Louvain, label propagation, components, quality, stability."""

from ._common import provenance
from .consensus import consensus
from .multilevel import leiden, leiden_levels, louvain, louvain_levels
from .propagation import connected_components, label_propagation
from .quality import cpm_quality, modularity

__all__ = ["leiden", "louvain", "leiden_levels", "louvain_levels", "label_propagation", "connected_components",
           "modularity", "cpm_quality", "consensus", "provenance"]
