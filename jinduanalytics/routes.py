"""Routes: flows of goods between regions (the start of the routes module)."""

from __future__ import annotations

import pyarrow as pa

from .clusters._data import get_table

__all__ = ["flow_legs", "trips"]


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


def trips(data) -> pa.Table:
    """Consignments reconstructed from legs: legs of one date and quantity that chain
    (one leg's destination is the next one's origin) form one trip.

    The canonical ``flows`` table records legs (a shipment to Hainan is three: road to 徐闻,
    sea to 海口, road on). Without a consignment id, a trip is the chain of legs sharing date
    and ``quantity_g``; a group that does not form one simple chain is left as separate
    one-leg trips (never guessed).

    Returns
    -------
    pyarrow.Table
        ``origin``, ``destination``, ``date``, ``quantity_g``, ``n_legs``, ``route``
        (regions joined by ``>``), ``modes`` (joined by ``>``).
    """
    import pandas as pd

    flows = data if isinstance(data, pa.Table) else get_table(
        data, "flows", columns=("origin", "destination", "mode", "date", "quantity_g"))
    f = flows.select(["origin", "destination", "mode", "date", "quantity_g"]).to_pandas()
    rows = []
    for (date, qty), g in f.groupby(["date", "quantity_g"], sort=True):
        if len(g) == 1:
            r = g.iloc[0]
            rows.append((r.origin, r.destination, date, qty, 1, f"{r.origin}>{r.destination}", r["mode"]))
            continue
        nxt = dict(zip(g["origin"], zip(g["destination"], g["mode"])))
        simple = g["origin"].is_unique and g["destination"].is_unique
        starts = set(g["origin"]) - set(g["destination"])
        if simple and len(starts) == 1:
            node = starts.pop()
            route, modes = [node], []
            while node in nxt and len(route) <= len(g):
                node, mode = nxt[node]
                route.append(node)
                modes.append(mode)
            if len(modes) == len(g):
                rows.append((route[0], route[-1], date, qty, len(g), ">".join(route), ">".join(modes)))
                continue
        for r in g.itertuples(index=False):
            rows.append((r.origin, r.destination, date, qty, 1, f"{r.origin}>{r.destination}", r.mode))
    df = pd.DataFrame(rows, columns=["origin", "destination", "date", "quantity_g", "n_legs", "route", "modes"])
    return pa.Table.from_pandas(df, preserve_index=False)
