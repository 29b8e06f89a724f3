"""Shared plumbing of the 集群打零 functions: pulling tables out of a dataset, evidence links."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..community import provenance
from ..errors import ParameterError, SchemaError
from ..graph import entity_weights
from ..options import tabular

#: Link kinds derived from the persons of a case (see :func:`case_links`).
from ..schema import PERSON_KINDS  # noqa: E402 - re-exported here for the clusters modules
from ..tables import get_table


def _str(t: pa.Table, col: str) -> pa.Array:
    return t.column(col).combine_chunks().cast(pa.string())


@tabular
def case_links(data, *, person_kinds: tuple[str, ...] = PERSON_KINDS, parcel_endpoints: bool = True,
               money: bool = True) -> pa.Table:
    """Every piece of evidence that ties a case to something another case may share.

    The ``case_entities`` rows (phones, accounts, addresses, vehicles, online identifiers,
    waybills, parcel senders and receivers ...), plus, when the dataset has a ``parcels`` table,
    the two ends of every parcel whose waybill a case holds (``parcel_sender`` and
    ``parcel_receiver`` rows: a buyer's seized waybill ties the case to the seller who posted it
    and to the other parcels of either party), plus, from the persons of each case
    (``case_persons`` joined to ``person_records``):

    * ``person``: the person record itself — the same record in two cases of one region's
      system is the same suspect;
    * ``id_number``: the record's full ID number (masked numbers, with ``*``, are left out)
      — ties records of one person across regions' systems;
    * ``person_phone``: the record's own phone.

    Parameters
    ----------
    data : Dataset or mapping of tables
        Needs ``case_entities``; ``case_persons`` and ``person_records`` for person kinds.
    person_kinds : tuple of str
        Which of :data:`PERSON_KINDS` to add; ``()`` gives the entities alone.
    parcel_endpoints : bool, default True
        Add the sender and receiver of the parcels behind seized waybills (when ``parcels`` exists).
    money : bool, default True
        Add ``transfer`` rows (when ``transactions`` exists): a transfer between an account of one
        case and an account of another ties both cases to the pair of accounts (value
        ``"<account>|<account>"``, the two in sorted order), weighted by rarity like any entity.

    Returns
    -------
    pyarrow.Table
        ``case_id``, ``kind``, ``value``: one row per distinct (case, kind, value), sorted.
    """
    unknown = sorted(set(person_kinds) - set(PERSON_KINDS))
    if unknown:
        raise ParameterError(f"person_kinds: unknown {unknown}; choose among {', '.join(PERSON_KINDS)}")
    ce = get_table(data, "case_entities", columns=("case_id", "kind", "value"))
    parts = [pa.table({"case_id": _str(ce, "case_id"), "kind": _str(ce, "kind"), "value": _str(ce, "value")})]
    parcels = get_table(data, "parcels", required=False, columns=("waybill", "sender", "receiver"))
    if parcel_endpoints and parcels is not None:
        parts += _parcel_endpoints(parts[0], parcels)
    transactions = get_table(data, "transactions", required=False, columns=("src_account", "dst_account"))
    if money and transactions is not None:
        parts += _transfer_links(parts[0], transactions)
    if person_kinds:
        cp = get_table(data, "case_persons", columns=("case_id", "record_id"))
        case, rec = _str(cp, "case_id"), _str(cp, "record_id")
        if "person" in person_kinds:
            parts.append(pa.table({"case_id": case, "kind": pa.array(["person"] * len(case), pa.string()),
                                   "value": rec}))
        wanted = [k for k in ("id_number", "person_phone") if k in person_kinds]
        if wanted:
            pr = get_table(data, "person_records", columns=("record_id", "id_number", "phone"))
            idx = pc.index_in(rec, value_set=_str(pr, "record_id"))
            for kind, col in (("id_number", "id_number"), ("person_phone", "phone")):
                if kind not in wanted:
                    continue
                val = _str(pr, col).take(idx)
                keep = pc.is_valid(val)
                if kind == "id_number":
                    keep = pc.and_(keep, pc.invert(pc.fill_null(pc.match_substring(val, "*"), True)))
                keep = pc.fill_null(keep, False)
                parts.append(pa.table({"case_id": case.filter(keep),
                                       "kind": pa.array([kind] * int(pc.sum(keep).as_py() or 0), pa.string()),
                                       "value": val.filter(keep)}))
    out = pa.concat_tables(parts)
    out = out.group_by(["case_id", "kind", "value"], use_threads=False).aggregate([])
    return out.sort_by([("case_id", "ascending"), ("kind", "ascending"), ("value", "ascending")])


def _transfer_links(entities: pa.Table, transactions: pa.Table) -> list[pa.Table]:
    """(case, transfer, "a|b") for each transfer between an account a case holds and an account another case holds."""
    acc = entities.filter(pc.equal(entities.column("kind"), "account"))
    held = pc.unique(acc.column("value"))
    t = transactions.select(["src_account", "dst_account"])
    t = t.filter(pc.and_(pc.is_in(t.column("src_account"), value_set=held),
                         pc.is_in(t.column("dst_account"), value_set=held)))
    if t.num_rows == 0:
        return []
    a = pc.min_element_wise(t.column("src_account"), t.column("dst_account"))
    b = pc.max_element_wise(t.column("src_account"), t.column("dst_account"))
    pairs = pa.table({"a": a, "b": b}).group_by(["a", "b"], use_threads=False).aggregate([])
    pair = pc.binary_join_element_wise(pairs.column("a"), pairs.column("b"), "|")
    out = []
    for end in ("a", "b"):
        holders = pa.table({"value": pairs.column(end), "pair": pair}).join(
            acc.select(["case_id", "value"]), "value", join_type="inner", use_threads=False)
        out.append(pa.table({"case_id": holders.column("case_id"),
                             "kind": pa.array(["transfer"] * holders.num_rows, pa.string()),
                             "value": holders.column("pair")}))
    return out


def _parcel_endpoints(entities: pa.Table, parcels: pa.Table) -> list[pa.Table]:
    """(case, parcel_sender, sender) and (case, parcel_receiver, receiver) for each waybill a case holds."""
    wb = entities.filter(pc.equal(entities.column("kind"), "waybill"))
    idx = pc.index_in(wb.column("value"), value_set=_str(parcels, "waybill"))
    found = pc.is_valid(idx)
    case, idx = wb.column("case_id").filter(found), idx.filter(found)
    out = []
    for kind, col in (("parcel_sender", "sender"), ("parcel_receiver", "receiver")):
        value = _str(parcels, col).take(idx)
        keep = pc.is_valid(value)
        n = int(pc.sum(keep).as_py() or 0)
        out.append(pa.table({"case_id": case.filter(keep), "kind": pa.array([kind] * n, pa.string()),
                             "value": value.filter(keep)}))
    return out


def evidence_links(data, person_kinds: tuple[str, ...], links: pa.Table | None = None) -> pa.Table:
    """:func:`case_links` with ``person_kinds``, or the rows of a precomputed ``links`` table
    (of :func:`case_links` with every person kind) that those kinds keep: an analysis run
    computes the links once and hands them to every function that reads them."""
    if links is None:
        return case_links(data, person_kinds=person_kinds)
    drop = [k for k in PERSON_KINDS if k not in person_kinds]
    if not drop:
        return links
    return links.filter(pc.invert(pc.is_in(links.column("kind"), value_set=pa.array(drop, pa.string()))))


def cluster_params(clusters: pa.Table) -> dict:
    """The projection parameters a ``cluster_cases`` table was made with."""
    try:
        prov = provenance(clusters)
    except ParameterError:
        raise ParameterError("clusters: pass the table returned by cluster_cases (it carries the parameters "
                             "needed to rebuild its evidence weights)") from None
    if prov["algorithm"] != "cluster_cases":
        raise ParameterError(f"clusters: expected a cluster_cases table, got a '{prov['algorithm']}' result")
    return prov["params"]


def clusters_frame(clusters: pa.Table) -> pd.DataFrame:
    for col in ("case_id", "cluster", "cluster_size"):
        if col not in clusters.column_names:
            raise SchemaError(f"clusters: missing column '{col}' (pass the table returned by cluster_cases)")
    return clusters.select([c for c in clusters.column_names]).to_pandas()


def link_weights(links: pa.Table, params: dict, cases=None) -> pd.DataFrame:
    """Links joined to their entity weight (see graph.case_graph): case_id, kind, value, n_cases, weight.
    With ``cases``, only the links of those cases (their weights still count every case)."""
    ew = entity_weights(links, rarity=params["rarity"], max_cases=params["max_cases_used"],
                        kind_weights=params.get("kind_weights"))
    if cases is not None:  # cut both sides before pandas: one cluster's links, not the dataset's
        links = links.filter(pc.is_in(links.column("case_id"), value_set=pa.array(sorted(cases), pa.string())))
        keys = pc.binary_join_element_wise(links.column("kind"), links.column("value"), "\x1f")
        ew = ew.filter(pc.is_in(pc.binary_join_element_wise(ew.column("kind"), ew.column("value"), "\x1f"),
                                value_set=pc.unique(keys)))
    df = links.to_pandas()
    ewd = ew.to_pandas()
    return df.merge(ewd, on=["kind", "value"], how="left", validate="many_to_one")


def mask_value(kind: str, value: str) -> str:
    """A report-safe rendering of an entity: its kind and the last 4 characters.

    Parameters
    ----------
    kind : str
    value : str
    """
    v = str(value)
    return f"{kind} …{v[-4:]}" if len(v) > 4 else f"{kind} …"


def as_date_array(col) -> np.ndarray:
    return np.asarray(pd.to_datetime(col).to_numpy(), dtype="datetime64[D]")
