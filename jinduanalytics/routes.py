"""Routes: flows of goods between regions (the start of the routes module)."""

from __future__ import annotations

import pyarrow as pa

from .clusters._data import get_table

__all__ = ["flow_legs"]


def flow_legs(data) -> pa.Table:
    """One row per (origin, destination, mode) leg: ``n_flows`` and total ``quantity_g``.

    ``data`` is a Dataset / mapping with a ``flows`` table, or the ``flows`` table itself.
    Sorted by quantity, largest first.
    """
    flows = data if isinstance(data, pa.Table) else get_table(
        data, "flows", columns=("origin", "destination", "mode", "quantity_g"))
    legs = flows.group_by(["origin", "destination", "mode"], use_threads=False).aggregate(
        [("quantity_g", "count"), ("quantity_g", "sum")])
    legs = pa.table({"origin": legs["origin"], "destination": legs["destination"], "mode": legs["mode"],
                     "n_flows": legs["quantity_g_count"], "quantity_g": legs["quantity_g_sum"]})
    return legs.sort_by([("quantity_g", "descending"), ("origin", "ascending"), ("destination", "ascending"),
                         ("mode", "ascending")])
