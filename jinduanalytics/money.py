"""毒资: follow the money from retail payments to the accounts that collect it.

The ``transactions`` table is a directed, dated, amount-weighted account graph. Everything here
reads it as such:

* :func:`account_summary` — the i2-style value views: per account the money in and out, the net,
  how many counterparties, and the cases that hold the account; ranked by value moved.
* :func:`trace_money` — time-respecting, amount-aware paths from seed accounts: a path may go on
  from a transfer into account ``v`` with a transfer out of ``v`` dated within ``max_delay_days``
  after it (dates never go backwards) that moves at least ``1 - tolerance`` of the amount that
  arrived (it can carry that money on). Money concentrating upwards passes (a remittance larger than
  the payments it gathers); money dispersing into small payments (shopping, rent) does not.
* :func:`collection_accounts` — per 集群打零 cluster, the accounts where the money traced from the
  cluster's case accounts concentrates (资金归集), each with the path behind it.
* :func:`money_typologies` — fan-in, fan-out, gather-scatter, scatter-gather, cycles, layering
  chains and structuring, each finding with the transfers behind it; :func:`naive_typologies`
  gives the degree/amount-threshold baseline they are compared with.
* :func:`cluster_money` — per cluster: money in and out of its accounts, the estimated proceeds and
  the accounts to freeze (查封冻结).

Bad input: a ``transactions`` table given as a plain table is validated first, so negative,
infinite or missing amounts, undated rows and transfers from an account to itself are refused with
the table, column and rows (:class:`~jinduanalytics.SchemaError`), never dropped.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components as strong_components

from ._checks import check_int, check_positive
from ._kernels.money import cycles as _cycles
from ._kernels.money import fan_windows as _fan_windows
from ._kernels.money import pass_through as _pass_through
from ._kernels.money import trace as _trace
from .community import connected_components
from .community._common import with_provenance
from .errors import ParameterError
from .graph import from_edges
from .io import Dataset
from .options import tabular
from .tables import get_table
from .validate import validate_table

__all__ = ["account_summary", "person_money", "trace_money", "collection_accounts", "money_typologies", "naive_typologies",
           "cluster_money", "money_network", "TYPOLOGIES", "REPORTING_THRESHOLD"]

#: The typologies :func:`money_typologies` looks for (the AMLSim names, plus layering and structuring).
TYPOLOGIES = ("fan_in", "fan_out", "gather_scatter", "scatter_gather", "cycle", "layering", "structuring")
#: Default reporting threshold (元) that structuring stays under: the large-cash-transaction report
#: threshold of 50,000 元; a parameter everywhere it is used.
REPORTING_THRESHOLD = 50_000.0


class _Money:
    """The transfers as arrays: account indices, days, amounts, the input row of each, and every
    account's out- and in-transfers grouped by account and sorted by day."""

    def __init__(self, data):
        t = _transactions(data)
        self.table = t
        src = t.column("src_account").combine_chunks().cast(pa.string())
        dst = t.column("dst_account").combine_chunks().cast(pa.string())
        self.accounts = pc.unique(pa.concat_arrays([src, dst])).sort()
        self.names = self.accounts.to_numpy(zero_copy_only=False)
        self.src = pc.index_in(src, value_set=self.accounts).to_numpy(zero_copy_only=False).astype(np.int64)
        self.dst = pc.index_in(dst, value_set=self.accounts).to_numpy(zero_copy_only=False).astype(np.int64)
        self.day = t.column("date").combine_chunks().cast(pa.int32()).to_numpy(zero_copy_only=False).astype(np.int64)
        self.amount = t.column("amount").combine_chunks().to_numpy(zero_copy_only=False).astype(np.float64)
        n = len(self.accounts)
        rows = np.arange(self.src.size, dtype=np.int64)
        self.out_tr = np.lexsort((rows, self.day, self.src)).astype(np.int64)
        self.out_ptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(self.src, minlength=n), out=self.out_ptr[1:])
        self.out_day = self.day[self.out_tr]
        self.in_tr = np.lexsort((rows, self.day, self.dst)).astype(np.int64)
        self.in_ptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(self.dst, minlength=n), out=self.in_ptr[1:])
        self.in_day = self.day[self.in_tr]

    def index(self, accounts) -> np.ndarray:
        """Indices of the given account strings that appear in the transfers (others dropped)."""
        return self.index_sets([accounts])[0]

    def index_sets(self, sets: list) -> list[np.ndarray]:
        """:meth:`index` of each list of accounts, with one lookup for all (a lookup hashes every account)."""
        flat = [a for accounts in sets for a in accounts]
        idx = pc.index_in(pa.array(flat, pa.string()), value_set=self.accounts).to_numpy(zero_copy_only=False)
        bounds = np.cumsum([0] + [len(accounts) for accounts in sets])
        out = []
        for i in range(len(sets)):
            part = idx[bounds[i]:bounds[i + 1]]
            part = part[~np.isnan(part)] if part.dtype.kind == "f" else part
            out.append(np.unique(part.astype(np.int64)))
        return out

    def digest(self) -> str:
        h = hashlib.blake2b(digest_size=16)
        for arr in (self.src, self.dst, self.day, self.amount):
            h.update(np.ascontiguousarray(arr).tobytes())
        return h.hexdigest()


def _transactions(data) -> pa.Table:
    t = get_table(data, "transactions", columns=("src_account", "dst_account", "amount", "date"))
    if not isinstance(data, Dataset):  # a plain table: refuse bad rows (they would be wrong answers), name them
        t = validate_table(t, "transactions").table
    return t


def _dates(days: np.ndarray) -> pa.Array:
    return pa.array(np.asarray(days, dtype=np.int32), pa.int32()).cast(pa.date32())


def _stamp(t: pa.Table, m: _Money, name: str, params: dict) -> pa.Table:
    return with_provenance(t, algorithm=f"money.{name}", seed=None, params=params, digest=m.digest())


@tabular
def account_summary(data, *, top: int | None = None) -> pa.Table:
    """Per account: money in and out, net, counterparties, the cases that hold it; ranked by value moved.

    Parameters
    ----------
    data : Dataset or mapping of tables
        ``transactions``; ``case_entities`` (kind ``account``) to tie accounts to cases.
    top : int, optional
        Only the ``top`` accounts by value moved.

    Returns
    -------
    pyarrow.Table
        ``rank`` (1 = most money moved, in + out), ``account``, ``n_in``, ``n_out``, ``amount_in``,
        ``amount_out``, ``net`` (in − out), ``senders``, ``receivers`` (distinct counterparties),
        ``first_date``, ``last_date``, ``n_cases`` (cases holding the account), ``cases`` (their ids).
    """
    m = _Money(data)
    n = len(m.accounts)
    amount_in = np.bincount(m.dst, weights=m.amount, minlength=n)
    amount_out = np.bincount(m.src, weights=m.amount, minlength=n)
    pairs = np.unique(m.src * n + m.dst)
    receivers = np.bincount(pairs // n, minlength=n)
    senders = np.bincount(pairs % n, minlength=n)
    first = np.full(n, np.iinfo(np.int64).max)
    last = np.full(n, np.iinfo(np.int64).min)
    for side in (m.src, m.dst):
        np.minimum.at(first, side, m.day)
        np.maximum.at(last, side, m.day)
    df = pd.DataFrame({"account": m.names.astype(object), "n_in": np.bincount(m.dst, minlength=n),
                       "n_out": np.bincount(m.src, minlength=n), "amount_in": amount_in.round(2),
                       "amount_out": amount_out.round(2), "net": (amount_in - amount_out).round(2),
                       "senders": senders, "receivers": receivers, "first": first, "last": last})
    cases = _account_cases(data)
    df = df.merge(cases, on="account", how="left")
    df["cases"] = df["cases"].apply(lambda c: c if isinstance(c, list) else [])
    df["n_cases"] = df["cases"].str.len().astype(np.int64)
    df = df.assign(moved=df.amount_in + df.amount_out).sort_values(["moved", "account"], ascending=[False, True],
                                                                     kind="stable")
    if top is not None:
        check_int("top", top, minimum=1)
        df = df.head(top)
    out = pa.table({"rank": pa.array(np.arange(1, len(df) + 1), pa.int64()),
                    "account": pa.array(df["account"], pa.string()),
                    **{c: pa.array(df[c].to_numpy()) for c in ("n_in", "n_out", "amount_in", "amount_out", "net",
                                                                "senders", "receivers")},
                    "first_date": _dates(df["first"].to_numpy()), "last_date": _dates(df["last"].to_numpy()),
                    "n_cases": pa.array(df["n_cases"].to_numpy(), pa.int64()),
                    "cases": pa.array(list(df["cases"]), pa.list_(pa.string()))})
    return _stamp(out, m, "account_summary", {"top": top})


@tabular
def person_money(data, *, persons: pa.Table | None = None, top: int | None = None) -> pa.Table:
    """Per person: the money in and out of the accounts tied to them; ranked by value moved.

    ``person_records`` hold no account: an account is tied to the persons of the cases that hold it
    (``case_entities`` of kind ``account``), in equal shares among a case's persons (a case with one
    person gives it the whole account). With ``persons`` (e.g. from
    :func:`jinduanalytics.linkage.resolve_persons`) the records of one person count as one.

    Parameters
    ----------
    data : Dataset or mapping of tables
        ``transactions``, ``case_entities``, ``case_persons``.
    persons : pyarrow.Table, optional
        ``record_id`` -> ``person_id``.
    top : int, optional
        Only the ``top`` persons by value moved.

    Returns
    -------
    pyarrow.Table
        ``rank``, ``person`` (``person_id``, or ``record_id`` without ``persons``), ``n_accounts``,
        ``amount_in``, ``amount_out``, ``net`` (the person's shares), ``accounts``.
    """
    summary = account_summary(data)
    m_in = dict(zip(summary.column("account").to_pylist(), summary.column("amount_in").to_pylist()))
    m_out = dict(zip(summary.column("account").to_pylist(), summary.column("amount_out").to_pylist()))
    ce = get_table(data, "case_entities", columns=("case_id", "kind", "value"))
    acc = ce.filter(pc.equal(ce.column("kind"), "account")).select(["case_id", "value"]).to_pandas()
    acc = acc[acc["value"].isin(m_in.keys())].rename(columns={"value": "account"})
    cp = get_table(data, "case_persons", columns=("case_id", "record_id")).select(["case_id", "record_id"]).to_pandas()
    if persons is not None:
        pm = persons.select(["record_id", "person_id"]).to_pandas()
        cp = cp.merge(pm, on="record_id", how="left")
        cp["person"] = cp["person_id"].fillna(cp["record_id"])
    else:
        cp["person"] = cp["record_id"]
    cp = cp.drop_duplicates(["case_id", "person"])
    cp["share"] = 1.0 / cp.groupby("case_id")["person"].transform("size")
    tie = acc.merge(cp[["case_id", "person", "share"]], on="case_id")
    # an account held by several cases: each case's tie counts once per (person, account), the largest share
    tie = tie.groupby(["person", "account"], sort=True)["share"].max().reset_index()
    tie["in"] = tie["account"].map(m_in) * tie["share"]
    tie["out"] = tie["account"].map(m_out) * tie["share"]
    g = tie.groupby("person", sort=True).agg(n_accounts=("account", "size"), amount_in=("in", "sum"),
                                            amount_out=("out", "sum"), accounts=("account", list)).reset_index()
    g["net"] = g["amount_in"] - g["amount_out"]
    g = g.assign(moved=g["amount_in"] + g["amount_out"]).sort_values(["moved", "person"], ascending=[False, True],
                                                                     kind="stable")
    if top is not None:
        check_int("top", top, minimum=1)
        g = g.head(top)
    out = pa.table({"rank": pa.array(np.arange(1, len(g) + 1), pa.int64()), "person": pa.array(g["person"], pa.string()),
                    "n_accounts": pa.array(g["n_accounts"].to_numpy(), pa.int64()),
                    **{c: pa.array(g[c].round(2).to_numpy(), pa.float64()) for c in ("amount_in", "amount_out", "net")},
                    "accounts": pa.array(list(g["accounts"]), pa.list_(pa.string()))})
    return _stamp_like(out, summary, "person_money", {"top": top, "persons": persons is not None})


def _stamp_like(t: pa.Table, source: pa.Table, name: str, params: dict) -> pa.Table:
    digest = (source.schema.metadata or {}).get(b"jindu.input_digest", b"").decode()
    return with_provenance(t, algorithm=f"money.{name}", seed=None, params=params, digest=digest)


def _case_accounts(data) -> pd.DataFrame:
    """(case_id, account) for every account a case holds."""
    ce = get_table(data, "case_entities", required=False, columns=("case_id", "kind", "value"))
    if ce is None:
        return pd.DataFrame({"case_id": pd.Series(dtype=object), "account": pd.Series(dtype=object)})
    acc = ce.filter(pc.equal(ce.column("kind"), "account")).select(["case_id", "value"]).to_pandas()
    return acc.rename(columns={"value": "account"})


def _account_cases(data) -> pd.DataFrame:
    """Per account, the sorted ids of the cases holding it."""
    return _case_accounts(data).groupby("account")["case_id"].agg(lambda s: sorted(set(s))).rename("cases") \
        .reset_index()


def _trace_sets(m: _Money, sets: dict, max_delay_days: int, tolerance: float, max_hops: int):
    keys = list(sets)
    idx = m.index_sets([sets[k] for k in keys])
    ptr = np.zeros(len(keys) + 1, dtype=np.int64)
    np.cumsum([i.size for i in idx], out=ptr[1:])
    seeds = np.concatenate(idx) if idx else np.empty(0, np.int64)
    s, t, h, p = _trace(m.dst, m.day, m.amount, m.out_ptr, m.out_tr, m.out_day, ptr, seeds.astype(np.int64),
                        int(max_delay_days), 1.0 - float(tolerance), int(max_hops))
    return keys, s, t, h, p


def _check_trace(max_delay_days, tolerance, max_hops):
    check_int("max_delay_days", max_delay_days, minimum=0)
    check_int("max_hops", max_hops, minimum=1)
    if not 0 <= tolerance < 1:
        raise ParameterError(f"tolerance is a share in [0, 1); got {tolerance!r}")


def _reached(m: _Money, keys, s, t, h, p, top: int | None = None) -> pd.DataFrame:
    """Per seed set and account reached: the traced money into it and one path to its largest traced
    transfer; with ``top``, only the ``top`` likeliest collection accounts of each set (ranked as in
    :func:`collection_accounts`)."""
    df = pd.DataFrame({"set": s, "t": t, "hops": h, "account": m.dst[t], "amount": m.amount[t],
                       "day": m.day[t], "sender": m.src[t]})
    if df.empty:
        return df.assign(traced_in=[], n_transfers=[], senders=[], first=[], last=[], path=[], dispersal=[], key=[])
    g = df.groupby(["set", "account"], sort=True)
    out = g.agg(traced_in=("amount", "sum"), n_transfers=("t", "size"), senders=("sender", "nunique"),
                hops=("hops", "min"), first=("day", "min"), last=("day", "max")).reset_index()
    # an account fed (>= 90%) by one sender that split its traced money among several (this account
    # getting under 90% of it) is where the money disperses, not where it concentrates
    pair = df.groupby(["set", "sender", "account"], sort=True)["amount"].sum().rename("pair").reset_index()
    sent = df.groupby(["set", "sender"])["amount"].sum().rename("sent")
    pair = pair.join(sent, on=["set", "sender"])
    first = pair.sort_values(["pair", "sender"], ascending=[False, True], kind="stable").drop_duplicates(["set", "account"])
    out = out.merge(first[["set", "account", "pair", "sent"]], on=["set", "account"], how="left")
    out["dispersal"] = (out["pair"] >= 0.9 * out["traced_in"]) & (out["pair"] < 0.9 * out["sent"])
    out = out.drop(columns=["pair", "sent"])
    if top is not None:
        out = out.sort_values(["set", "dispersal", "traced_in", "account"], ascending=[True, True, False, True],
                              kind="stable")
        out = out[out.groupby("set").cumcount() < top]
    best = df.sort_values(["amount", "t"], ascending=[False, True], kind="stable").drop_duplicates(["set", "account"])
    best = best.merge(out[["set", "account"]], on=["set", "account"])
    # the transfer before each reached one, looked up by (set, transfer)
    code = s.astype(np.int64) * m.src.size + t
    order = np.argsort(code, kind="stable")
    code_sorted, prev_sorted = code[order], p[order]
    paths = {}
    for st, acc, tt in zip(best["set"].to_numpy(), best["account"].to_numpy(), best["t"].to_numpy()):
        chain = [int(m.dst[tt])]
        while tt >= 0:
            chain.append(int(m.src[tt]))
            tt = prev_sorted[np.searchsorted(code_sorted, st * m.src.size + tt)]
        paths[(st, acc)] = [str(m.names[x]) for x in chain[::-1]]
    out["path"] = [paths[(a, b)] for a, b in zip(out["set"], out["account"])]
    out["key"] = [keys[i] for i in out["set"]]
    return out


@tabular
def trace_money(data, sources, *, max_delay_days: int = 30, tolerance: float = 0.1, max_hops: int = 6) -> pa.Table:
    """Where money leaving ``sources`` goes: time-respecting, amount-aware paths over the transfers.

    A path starts with a transfer out of a source account. After a transfer of amount ``a`` into
    account ``v`` on day ``d``, it may go on with a transfer out of ``v`` dated in
    ``[d, d + max_delay_days]`` of at least ``(1 - tolerance) * a``: time never goes backwards, and a
    hop must be able to carry the money that arrived (pass-through hops keep it within the
    tolerance; money gathered upwards grows; money spent in small pieces is not followed). Breadth
    first: each transfer reached is counted once, with its fewest hops.

    Parameters
    ----------
    data : Dataset or mapping of tables
        ``transactions``.
    sources : iterable of str, or dict of name -> iterable of str
        Seed accounts (a dict runs one trace per seed set, keyed by ``seed_set``).
    max_delay_days : int
        Longest wait at an account between the money arriving and leaving (default 30: street
        proceeds are remitted monthly).
    tolerance : float
        Share of the arriving amount a hop may lose (fees, a cut kept).
    max_hops : int
        Longest path, in transfers.

    Returns
    -------
    pyarrow.Table
        One row per account reached (``seed_set`` first when ``sources`` is a dict): ``account``,
        ``traced_in`` (money on traced transfers into it), ``n_transfers``, ``senders`` (distinct
        senders of them), ``hops`` (fewest), ``first_date``, ``last_date``, ``path`` (the accounts
        of one path to its largest traced transfer, from a source), ranked by ``traced_in``.

    Examples
    --------
    >>> import datetime as dt, pyarrow as pa
    >>> day = dt.date(2024, 1, 1)
    >>> t = pa.table({"src_account": ["s", "a", "a", "b"], "dst_account": ["a", "b", "x", "c"],
    ...               "amount": [100.0, 98.0, 5.0, 300.0], "date": [day] * 4})
    >>> trace_money({"transactions": t}, ["s"]).column("account").to_pylist()   # a -> x carries 5 of 100: not followed
    ['c', 'a', 'b']
    """
    _check_trace(max_delay_days, tolerance, max_hops)
    m = _Money(data)
    sets = {k: list(v) for k, v in sources.items()} if isinstance(sources, dict) else {None: list(sources)}
    r = _reached(m, *_trace_sets(m, sets, max_delay_days, tolerance, max_hops))
    if isinstance(sources, dict):
        r = r.sort_values(["set", "traced_in", "account"], ascending=[True, False, True], kind="stable")
    else:
        r = r.sort_values(["traced_in", "account"], ascending=[False, True], kind="stable")
    cols = {}
    if isinstance(sources, dict):
        cols["seed_set"] = pa.array([str(k) for k in r["key"]], pa.string())
    cols.update({"account": pa.array(m.names[r["account"].to_numpy(dtype=np.int64)].astype(object), pa.string()),
                 "traced_in": pa.array(r["traced_in"].to_numpy(dtype=float).round(2), pa.float64()),
                 "n_transfers": pa.array(r["n_transfers"].to_numpy(dtype=np.int64), pa.int64()),
                 "senders": pa.array(r["senders"].to_numpy(dtype=np.int64), pa.int64()),
                 "hops": pa.array(r["hops"].to_numpy(dtype=np.int64), pa.int64()),
                 "first_date": _dates(r["first"].to_numpy(dtype=np.int64)),
                 "last_date": _dates(r["last"].to_numpy(dtype=np.int64)),
                 "path": pa.array(list(r["path"]), pa.list_(pa.string()))})
    return _stamp(pa.table(cols), m, "trace_money",
                  {"max_delay_days": max_delay_days, "tolerance": tolerance, "max_hops": max_hops})


def _cluster_accounts(data, clusters: pa.Table, min_cases: int) -> dict:
    cl = clusters.select(["case_id", "cluster"]).to_pandas()
    size = cl.groupby("cluster")["case_id"].transform("size")
    cl = cl[size >= min_cases]
    both = cl.merge(_case_accounts(data), on="case_id")
    return {int(k): sorted(set(v)) for k, v in both.groupby("cluster")["account"]}


@tabular
def collection_accounts(data, clusters: pa.Table, *, top: int = 5, min_cases: int = 3, max_delay_days: int = 30,
                        tolerance: float = 0.1, max_hops: int = 6) -> pa.Table:
    """Per cluster, the accounts where the money traced from its case accounts concentrates (资金归集).

    The seed accounts of a cluster are the accounts its cases hold (``case_entities`` of kind
    ``account``: sellers' collection codes, wholesalers' accounts, buyers' own accounts); their money
    is traced with :func:`trace_money`, and the accounts reached are ranked by the money traced into
    them. Money gathered up a chain grows at each level, so the account at the top of the chain —
    where the proceeds end before they are cashed out in pieces — ranks first. An account fed (90%+)
    by one account that split its traced money among several is where the money disperses (a
    cash-out), not where it concentrates: such accounts (``dispersal``) rank after the others.

    Parameters
    ----------
    data : Dataset or mapping of tables
        ``transactions``, ``case_entities``.
    clusters : pyarrow.Table
        From :func:`jinduanalytics.clusters.cluster_cases`.
    top : int
        Accounts per cluster.
    min_cases : int
        Clusters with fewer cases are left out.
    max_delay_days, tolerance, max_hops
        As in :func:`trace_money`.

    Returns
    -------
    pyarrow.Table
        ``cluster``, ``rank`` (1 = the likeliest collection account), ``account``, ``traced_in``,
        ``share`` (of the money traced into the cluster's rank-1 account), ``senders``, ``hops``,
        ``first_date``, ``last_date``, ``in_cases`` (the account is one of the cluster's case
        accounts), ``dispersal``, ``path``.
    """
    check_int("top", top, minimum=1)
    check_int("min_cases", min_cases, minimum=1)
    _check_trace(max_delay_days, tolerance, max_hops)
    m = _Money(data)
    sets = _cluster_accounts(data, clusters, min_cases)
    r = _reached(m, *_trace_sets(m, sets, max_delay_days, tolerance, max_hops), top=top)
    if r.empty:
        r = r.assign(cluster=[], rank=[], share=[], in_cases=[], dispersal=[])
    else:
        r["cluster"] = r["key"].astype(np.int64)
        r = r.sort_values(["cluster", "dispersal", "traced_in", "account"], ascending=[True, True, False, True],
                          kind="stable")
        r["rank"] = r.groupby("cluster").cumcount() + 1  # _reached kept the top of each cluster
        r["share"] = r["traced_in"] / r.groupby("cluster")["traced_in"].transform("first")
        names = m.names[r["account"].to_numpy(dtype=np.int64)].astype(object)
        r["name"] = names
        r["in_cases"] = [n in set(sets[c]) for n, c in zip(names, r["cluster"])]
    out = pa.table({
        "cluster": pa.array(r["cluster"].to_numpy(dtype=np.int64), pa.int64()),
        "rank": pa.array(r["rank"].to_numpy(dtype=np.int64), pa.int64()),
        "account": pa.array(list(r.get("name", [])), pa.string()),
        "traced_in": pa.array(r["traced_in"].to_numpy(dtype=float).round(2), pa.float64()),
        "share": pa.array(r["share"].to_numpy(dtype=float).round(4), pa.float64()),
        "senders": pa.array(r["senders"].to_numpy(dtype=np.int64), pa.int64()),
        "hops": pa.array(r["hops"].to_numpy(dtype=np.int64), pa.int64()),
        "first_date": _dates(r["first"].to_numpy(dtype=np.int64)),
        "last_date": _dates(r["last"].to_numpy(dtype=np.int64)),
        "in_cases": pa.array(list(r["in_cases"]), pa.bool_()),
        "dispersal": pa.array(list(r["dispersal"]), pa.bool_()),
        "path": pa.array(list(r["path"]), pa.list_(pa.string()))})
    return _stamp(out, m, "collection_accounts", {"top": top, "min_cases": min_cases, "max_delay_days": max_delay_days,
                                                  "tolerance": tolerance, "max_hops": max_hops})


@tabular
def cluster_money(data, clusters: pa.Table, *, collection: pa.Table | None = None, min_cases: int = 3,
                  freeze_share: float = 0.25) -> pa.Table:
    """Per cluster: the money in and out of its case accounts, the estimated proceeds, the accounts to freeze.

    Parameters
    ----------
    data : Dataset or mapping of tables
        ``transactions``, ``case_entities``.
    clusters : pyarrow.Table
        From :func:`jinduanalytics.clusters.cluster_cases`.
    collection : pyarrow.Table, optional
        :func:`collection_accounts` of the same clusters, when already computed.
    min_cases : int
        Clusters with fewer cases are left out.
    freeze_share : float
        Collection accounts holding at least this share of the top account's traced money are
        proposed for freezing, with the cluster's case accounts that received money.

    Returns
    -------
    pyarrow.Table
        ``cluster``, ``n_accounts`` (its case accounts in the transfers), ``inflow`` (into them from
        accounts outside the cluster: the proceeds as paid), ``outflow`` (out of them to outside
        accounts), ``internal`` (between them), ``collected`` (money traced into its top collection
        account), ``proceeds`` (estimated: the larger of inflow and collected), ``freeze`` (accounts
        to freeze, the collection accounts first).
    """
    if collection is None:
        collection = collection_accounts(data, clusters, min_cases=min_cases)
    m = _Money(data)
    sets = _cluster_accounts(data, clusters, min_cases)
    clusters_sorted = sorted(sets)
    held = pd.DataFrame([(c, a) for c, idx in zip(clusters_sorted, m.index_sets([sets[c] for c in clusters_sorted]))
                         for a in idx], columns=["cluster", "acc"])
    held = held.astype(np.int64)
    # the transfers touching a cluster's accounts, once per (transfer, cluster) and side
    t = pd.DataFrame({"src": m.src, "dst": m.dst, "amount": m.amount})
    t = t[t["src"].isin(held["acc"]) | t["dst"].isin(held["acc"])]
    key = set(zip(held["cluster"], held["acc"]))
    into = t.merge(held.rename(columns={"acc": "dst"}), on="dst")
    into["inside"] = np.array([(c, a) in key for c, a in zip(into["cluster"], into["src"])], dtype=bool)
    out_ = t.merge(held.rename(columns={"acc": "src"}), on="src")
    out_["inside"] = np.array([(c, a) in key for c, a in zip(out_["cluster"], out_["dst"])], dtype=bool)
    inflow = into[~into["inside"]].groupby("cluster")["amount"].sum()
    internal = into[into["inside"]].groupby("cluster")["amount"].sum()
    outflow = out_[~out_["inside"]].groupby("cluster")["amount"].sum()
    received = into.groupby(["cluster", "dst"]).size().reset_index()
    received_by = received.groupby("cluster")["dst"].agg(list)
    col = collection.to_pandas()
    collected = col.groupby("cluster")["traced_in"].max()
    freeze_col = col[(col["share"] >= freeze_share) & ~col["in_cases"]].sort_values(["cluster", "rank"]) \
        .groupby("cluster")["account"].agg(list)
    n_acc = held.groupby("cluster").size()
    rows = []
    for c in sorted(sets):
        freeze = list(freeze_col.get(c, []))
        freeze += [a for a in sorted(str(m.names[x]) for x in received_by.get(c, [])) if a not in freeze]
        i, o, n = float(inflow.get(c, 0.0)), float(outflow.get(c, 0.0)), float(internal.get(c, 0.0))
        k = float(collected.get(c, 0.0))
        rows.append((c, int(n_acc.get(c, 0)), round(i, 2), round(o, 2), round(n, 2), round(k, 2), round(max(i, k), 2),
                     freeze))
    df = pd.DataFrame(rows, columns=["cluster", "n_accounts", "inflow", "outflow", "internal", "collected", "proceeds",
                                     "freeze"])
    out = pa.table({c: pa.array(df[c].to_numpy()) for c in df.columns if c != "freeze"} |
                   {"freeze": pa.array(list(df["freeze"]), pa.list_(pa.string()))})
    if not len(df):
        out = pa.table({"cluster": pa.array([], pa.int64()), "n_accounts": pa.array([], pa.int64()),
                        **{c: pa.array([], pa.float64()) for c in ("inflow", "outflow", "internal", "collected",
                                                                    "proceeds")},
                        "freeze": pa.array([], pa.list_(pa.string()))})
    return _stamp(out, m, "cluster_money", {"min_cases": min_cases, "freeze_share": freeze_share})


@tabular
def money_network(data, clusters: pa.Table, cluster: int, *, top: int = 40, max_delay_days: int = 30,
                  tolerance: float = 0.1, max_hops: int = 6, mask=None) -> tuple[pa.Table, pa.Table]:
    """The money of one cluster as a network to draw: its case accounts, the accounts its money
    reaches (traced as in :func:`trace_money`) and the transfers between them.

    Parameters
    ----------
    data : Dataset or mapping of tables
        ``transactions``, ``case_entities``.
    clusters : pyarrow.Table
        From :func:`jinduanalytics.clusters.cluster_cases`.
    cluster : int
    top : int
        The ``top`` account pairs by traced money (and their accounts).
    max_delay_days, tolerance, max_hops
        As in :func:`trace_money`.
    mask : callable, optional
        ``mask(kind, value) -> str`` for the ``label`` column (e.g.
        :func:`jinduanalytics.clusters.mask_value`); default the account itself.

    Returns
    -------
    (nodes, edges) : tuple of pyarrow.Table
        nodes: ``node_id`` (account), ``label``, ``kind`` (``case account``, ``collection``, ``cash-out``,
        ``passed through``), ``level`` (fewest transfers from a case account; 0 for those), ``volume``
        (traced money into it, or out of it for a case account); edges: ``source``, ``target``,
        ``amount`` (traced money), ``n`` (transfers).
    """
    check_int("top", top, minimum=1)
    _check_trace(max_delay_days, tolerance, max_hops)
    m = _Money(data)
    sets = _cluster_accounts(data, clusters, 1)
    if int(cluster) not in sets:
        raise ParameterError(f"cluster {cluster}: none of its cases holds an account that appears in the transfers")
    keys, s_, t, h, p = _trace_sets(m, {int(cluster): sets[int(cluster)]}, max_delay_days, tolerance, max_hops)
    r = _reached(m, keys, s_, t, h, p)
    e = pd.DataFrame({"source": m.src[t], "target": m.dst[t], "amount": m.amount[t]})
    e = e.groupby(["source", "target"], sort=True).agg(amount=("amount", "sum"), n=("amount", "size")).reset_index()
    level = dict(zip(r["account"], r["hops"])) if len(r) else {}
    volume = dict(zip(r["account"], r["traced_in"])) if len(r) else {}
    disp = dict(zip(r["account"], r["dispersal"])) if len(r) else {}
    seeds = set(m.index(sets[int(cluster)]).tolist())
    # the money that matters: pairs into accounts holding 1%+ of the most traced into one account
    floor = 0.01 * max(volume.values(), default=0.0)
    e = e[e["target"].map(lambda a: volume.get(a, 0.0) >= floor)]
    e = e.sort_values(["amount", "source", "target"], ascending=[False, True, True], kind="stable").head(top)
    ids = sorted(set(e["source"]) | set(e["target"]))
    sent = e.groupby("source")["amount"].sum()
    best = max((a for a in ids if a not in seeds and not disp.get(a, False)), key=lambda a: volume.get(a, 0.0),
               default=None)
    fed_by = e.sort_values("amount", ascending=False, kind="stable").drop_duplicates("target") \
        .set_index("target")["source"]
    kinds = ["case account" if a in seeds else "collection" if a == best else
             "cash-out" if disp.get(a) and fed_by.get(a) == best else "passed through" for a in ids]
    names = [str(m.names[a]) for a in ids]
    nodes = pa.table({"node_id": pa.array(names, pa.string()),
                      "label": pa.array([mask("account", n) if mask else n for n in names], pa.string()),
                      "kind": pa.array(kinds, pa.string()),
                      "level": pa.array([0 if a in seeds else int(level.get(a, 1)) for a in ids], pa.int64()),
                      "volume": pa.array([float(round(sent.get(a, 0.0) if a in seeds else volume.get(a, 0.0), 2))
                                          for a in ids], pa.float64())})
    edges = pa.table({"source": pa.array([str(m.names[a]) for a in e["source"]], pa.string()),
                      "target": pa.array([str(m.names[a]) for a in e["target"]], pa.string()),
                      "amount": pa.array(e["amount"].round(2).to_numpy(), pa.float64()),
                      "n": pa.array(e["n"].to_numpy(), pa.int64())})
    return nodes, edges


# ---------------------------------------------------------------------------------- typologies


def _finding_rows(m: _Money, typology: str, groups) -> list[tuple]:
    """(typology, instance, account, role, transfers) rows; ``groups`` yields (flag accounts, member accounts,
    transfer indices) per instance."""
    rows = []
    for i, (flag, members, transfers) in enumerate(groups):
        tr = np.unique(np.asarray(transfers, dtype=np.int64))
        for a in sorted(set(flag)):
            rows.append((typology, i, int(a), "flagged", tr))
        for a in sorted(set(members) - set(flag)):
            rows.append((typology, i, int(a), "member", tr))
    return rows


def _findings_table(m: _Money, rows: list[tuple], name: str, params: dict) -> pa.Table:
    if rows:
        typ, inst, acc, role, trs = zip(*rows)
    else:
        typ, inst, acc, role, trs = (), (), (), (), ()
    first = [int(m.day[t].min()) for t in trs]
    last = [int(m.day[t].max()) for t in trs]
    out = pa.table({"typology": pa.array(typ, pa.string()), "instance": pa.array(inst, pa.int64()),
                    "account": pa.array(m.names[np.asarray(acc, dtype=np.int64)].astype(object) if acc else [],
                                        pa.string()),
                    "role": pa.array(role, pa.string()),
                    "first_date": _dates(np.asarray(first, dtype=np.int64)),
                    "last_date": _dates(np.asarray(last, dtype=np.int64)),
                    "amount": pa.array([float(m.amount[t].sum().round(2)) for t in trs], pa.float64()),
                    "n_transfers": pa.array([int(t.size) for t in trs], pa.int64()),
                    "transfers": pa.array([t.tolist() for t in trs], pa.list_(pa.int64()))})
    return _stamp(out, m, name, params)


def _fan(m: _Money, direction: str, window_days: int, min_accounts: int, max_delay_days: int, pass_share: float,
         balanced: bool):
    """Windows of ``window_days`` in which an account receives from (``in``) or sends to (``out``)
    ``min_accounts``+ distinct counterparties; with ``balanced``, only when the money passes through:
    for fan-in, most of it leaves within ``max_delay_days`` after the window; for fan-out, most of it
    arrived in the ``window_days`` before, and the account does not keep most of what arrived."""
    if direction == "in":
        ptr, order, other, o_ptr, o_order = m.in_ptr, m.in_tr, m.src, m.out_ptr, m.out_tr
    else:
        ptr, order, other, o_ptr, o_order = m.out_ptr, m.out_tr, m.dst, m.in_ptr, m.in_tr
    o_day = m.day[o_order]
    o_cum = np.concatenate([[0.0], np.cumsum(m.amount[o_order])])
    # a fan-in gathers over window_days; a fan-out is a burst within max_delay_days, funded from the window before
    burst = window_days if direction == "in" or not balanced else max_delay_days
    acc, lo, hi = _fan_windows(ptr, order, other, m.day, m.amount, int(burst), int(min_accounts), o_ptr, o_day,
                               o_cum, int(max_delay_days), float(pass_share), direction == "in", bool(balanced),
                               len(m.accounts), int(window_days))
    groups = []
    for a, i0, i1 in zip(acc, lo, hi):
        tr = order[i0:i1 + 1]
        groups.append(([a], other[tr], tr))
    return groups


def _pairs(m: _Money, max_delay_days: int, lo_share: float):
    first, second = _pass_through(m.dst, m.day, m.amount, m.out_ptr, m.out_tr, m.out_day, int(max_delay_days),
                                  float(lo_share), 1.0)
    return first, second


@tabular
def money_typologies(data, *, typologies=TYPOLOGIES, window_days: int = 30, max_delay_days: int = 5,
                     min_accounts: int = 3, pass_share: float = 0.8, tolerance: float = 0.1, max_cycle: int = 6,
                     threshold: float = REPORTING_THRESHOLD, band: float = 0.1, structuring_days: int = 7) -> pa.Table:
    """Laundering typologies on the account graph, each finding with the transfers behind it.

    * ``fan_in`` (分散转入、集中转出): ``min_accounts``+ distinct senders into one account within
      ``window_days``, and at least ``pass_share`` of that money leaving it within ``max_delay_days``
      after (a shop also receives from many, but keeps the money).
    * ``fan_out`` (集中转入、分散转出): one account paying ``min_accounts``+ distinct receivers within
      ``window_days``, with money of at least ``pass_share`` of it arriving in the ``window_days``
      before, and most of that arrival leaving (a payroll is not funded by one inflow days before).
    * ``gather_scatter``: an account with a fan-in whose money leaves in a fan-out starting within
      ``max_delay_days`` of the fan-in's end.
    * ``scatter_gather``: one source paying ``min_accounts``+ intermediates which each forward at least
      ``1 - tolerance`` of what they received to one destination within ``max_delay_days``.
    * ``cycle``: 3 to ``max_cycle`` transfers back to the first account, each hop forwarding at least
      ``1 - tolerance`` of the amount before within ``max_delay_days``, all within ``window_days``.
    * ``layering``: a chain of two or more pass-through accounts, each forwarding at least
      ``1 - tolerance`` of what it received within ``max_delay_days``; the pass-through accounts are
      flagged.
    * ``structuring``: an account sending two or more transfers within ``structuring_days`` each just
      under ``threshold`` (within ``band`` of it) that together reach it.

    Parameters
    ----------
    data : Dataset or mapping of tables
        ``transactions``.
    typologies : sequence of str
        Which of :data:`TYPOLOGIES` to look for.
    window_days : int
    max_delay_days : int
    min_accounts : int
        Distinct counterparties of a fan or intermediates of a scatter-gather.
    pass_share : float
        Share of the money that must pass through a fan's account.
    tolerance : float
        Share a pass-through hop may lose.
    max_cycle : int
        Longest cycle, in transfers.
    threshold : float
        The reporting threshold structuring stays under.
    band : float
        A structured transfer lies in ``[(1 - band) * threshold, threshold)``.
    structuring_days : int

    Returns
    -------
    pyarrow.Table
        One row per account of each finding: ``typology``, ``instance`` (numbered per typology),
        ``account``, ``role`` (``flagged``: the account the typology is about — the hub of a fan,
        the pass-through accounts of a chain, the structuring sender, every account of a
        scatter-gather or cycle; ``member``: a counterparty), ``first_date``, ``last_date``,
        ``amount`` and ``n_transfers`` of the finding, ``transfers`` (their row numbers in the
        ``transactions`` table).
    """
    unknown = sorted(set(typologies) - set(TYPOLOGIES))
    if unknown:
        raise ParameterError(f"typologies: unknown {unknown}; choose among {', '.join(TYPOLOGIES)}")
    for name, v in (("window_days", window_days), ("max_delay_days", max_delay_days),
                    ("structuring_days", structuring_days)):
        check_int(name, v, minimum=0)
    check_int("min_accounts", min_accounts, minimum=2)
    check_int("max_cycle", max_cycle, minimum=3)
    check_positive(threshold=threshold)
    for name, v in (("pass_share", pass_share), ("tolerance", tolerance), ("band", band)):
        if not 0 <= v <= 1:
            raise ParameterError(f"{name} is a share in [0, 1]; got {v!r}")
    m = _Money(data)
    rows: list[tuple] = []
    fans = {}
    for d in ("in", "out"):
        if f"fan_{d}" in typologies or "gather_scatter" in typologies:
            fans[d] = _fan(m, d, window_days, min_accounts, max_delay_days, pass_share, True)
    for d in ("in", "out"):
        if f"fan_{d}" in typologies:
            rows += _finding_rows(m, f"fan_{d}", fans[d])
    if "gather_scatter" in typologies:
        rows += _finding_rows(m, "gather_scatter", _gather_scatter(m, fans["in"], fans["out"], max_delay_days))
    if {"scatter_gather", "cycle", "layering"} & set(typologies):
        first, second = _pairs(m, max_delay_days, 1.0 - tolerance)
        if "scatter_gather" in typologies:
            rows += _finding_rows(m, "scatter_gather", _scatter_gather(m, first, second, min_accounts, window_days))
        if "layering" in typologies:
            rows += _finding_rows(m, "layering", _layering(m, first, second))
        if "cycle" in typologies:
            rows += _finding_rows(m, "cycle", _cycle_groups(m, first, second, max_cycle, window_days))
    if "structuring" in typologies:
        rows += _finding_rows(m, "structuring", _structuring(m, threshold, band, structuring_days))
    params = {"typologies": list(typologies), "window_days": window_days, "max_delay_days": max_delay_days,
              "min_accounts": min_accounts, "pass_share": pass_share, "tolerance": tolerance, "max_cycle": max_cycle,
              "threshold": threshold, "band": band, "structuring_days": structuring_days}
    return _findings_table(m, rows, "money_typologies", params)


def _gather_scatter(m: _Money, fan_in, fan_out, max_delay_days: int):
    outs: dict[int, list] = {}
    for flag, members, tr in fan_out:
        outs.setdefault(flag[0], []).append((m.day[tr].min(), members, tr))
    for flag, members, tr in fan_in:
        end = m.day[tr].max()
        for start, o_members, o_tr in outs.get(flag[0], []):
            if end - max_delay_days <= start <= end + max_delay_days:
                yield flag, np.concatenate([members, o_members]), np.concatenate([tr, o_tr])
                break


def _scatter_gather(m: _Money, first, second, min_accounts: int, window_days: int):
    if first.size == 0:
        return
    df = pd.DataFrame({"s": m.src[first], "mid": m.dst[first], "d": m.dst[second], "t1": first, "t2": second,
                       "day": m.day[first]})
    df = df[(df["s"] != df["d"]) & (df["mid"] != df["d"])]
    for (s, d), g in df.groupby(["s", "d"], sort=True):
        if g["mid"].nunique() < min_accounts:
            continue
        g = g.sort_values("day", kind="stable")
        days = g["day"].to_numpy()
        mids = g["mid"].to_numpy()
        j = 0
        i = 0
        while i < len(g):  # windows of window_days with min_accounts+ distinct intermediates
            while days[i] - days[j] > window_days:
                j += 1
            if len(set(mids[j:i + 1])) >= min_accounts:
                k = i
                while k + 1 < len(g) and days[k + 1] - days[j] <= window_days:
                    k += 1
                part = g.iloc[j:k + 1]
                accounts = [s, d, *part["mid"]]
                yield accounts, accounts, np.concatenate([part["t1"], part["t2"]])
                i = k + 1
                j = i
                continue
            i += 1


def _layering(m: _Money, first, second):
    """Chains t1 -> t2 -> t3 of pass-through hops: the accounts between (dst of t1, dst of t2) pass the
    money on; chains sharing a transfer are one finding."""
    if first.size == 0:
        return
    pairs = pd.DataFrame({"a": first, "b": second})
    triples = pairs.merge(pairs.rename(columns={"a": "b", "b": "c"}), on="b")
    if triples.empty:
        return
    # transfers of one chain -> one finding: connected components over the chained transfers
    e = pd.concat([triples[["a", "b"]].rename(columns={"a": "source", "b": "target"}),
                   triples[["b", "c"]].rename(columns={"b": "source", "c": "target"})]).drop_duplicates()
    cc = connected_components(from_edges(pa.table({"source": e["source"].to_numpy(), "target": e["target"].to_numpy()}),
                                         weight=None)).to_pandas()
    comp = dict(zip(cc["node_id"], cc["community"]))
    triples["comp"] = triples["a"].map(comp)
    closed = m.src[triples["a"].to_numpy()] == m.dst[triples["c"].to_numpy()]
    cyclic = set(triples.loc[closed, "comp"])  # a chain back to its start is a cycle, reported as one
    for c, g in triples.groupby("comp", sort=True):
        if c in cyclic:
            continue
        tr = np.unique(np.concatenate([g["a"], g["b"], g["c"]]))
        mids = np.unique(np.concatenate([m.dst[g["a"].to_numpy()], m.dst[g["b"].to_numpy()]]))
        ends = np.unique(np.concatenate([m.src[g["a"].to_numpy()], m.dst[g["c"].to_numpy()]]))
        yield mids, np.concatenate([mids, ends]), tr


def _cycle_groups(m: _Money, first, second, max_cycle: int, window_days: int):
    if first.size == 0:
        return
    order = np.lexsort((second, first))
    first, second = first[order], second[order]
    ptr = np.zeros(m.src.size + 1, dtype=np.int64)
    np.cumsum(np.bincount(first, minlength=m.src.size), out=ptr[1:])
    cid, tr = _cycles(m.src, m.dst, m.day, ptr, second, int(max_cycle), int(window_days))
    seen = set()
    for c in np.unique(cid):
        t = tr[cid == c]
        key = tuple(sorted(t.tolist()))  # a same-day cycle is found from each of its transfers
        if key in seen:
            continue
        seen.add(key)
        accounts = m.src[t]
        yield accounts, accounts, t


def _structuring(m: _Money, threshold: float, band: float, days: int):
    inband = np.flatnonzero((m.amount >= (1 - band) * threshold) & (m.amount < threshold))
    if inband.size == 0:
        return
    df = pd.DataFrame({"t": inband, "s": m.src[inband], "day": m.day[inband], "amount": m.amount[inband]})
    for s, g in df.sort_values(["s", "day", "t"], kind="stable").groupby("s", sort=True):
        if len(g) < 2:
            continue
        dd, aa, tt = g["day"].to_numpy(), g["amount"].to_numpy(), g["t"].to_numpy()
        j, i = 0, 0
        while i < len(g):
            while dd[i] - dd[j] > days:
                j += 1
            if i > j and aa[j:i + 1].sum() >= threshold:
                k = i
                while k + 1 < len(g) and dd[k + 1] - dd[j] <= days:
                    k += 1
                yield [s], np.concatenate([[s], m.dst[tt[j:k + 1]]]), tt[j:k + 1]
                i = k + 1
                j = i
                continue
            i += 1


@tabular
def naive_typologies(data, *, window_days: int = 30, min_accounts: int = 3, pass_share: float = 0.8,
                     threshold: float = REPORTING_THRESHOLD, band: float = 0.1) -> pa.Table:
    """The baseline :func:`money_typologies` is judged against: degree and amount thresholds alone.

    ``fan_in`` / ``fan_out``: ``min_accounts``+ distinct senders / receivers within ``window_days``
    (no look at where the money goes); ``gather_scatter``: both; ``scatter_gather``: a source and a
    destination joined through ``min_accounts``+ intermediates (no dates, no amounts); ``cycle``:
    accounts on a directed cycle of 3+ accounts (no dates, no amounts); ``layering``: accounts that
    sent on at least ``pass_share`` of all they received (totals, no dates); ``structuring``: any
    transfer just under ``threshold``.

    Parameters
    ----------
    data : Dataset or mapping of tables
        ``transactions``.
    window_days, min_accounts, pass_share, threshold, band
        As in :func:`money_typologies`.

    Returns
    -------
    pyarrow.Table
        ``typology``, ``account`` (flagged accounts).
    """
    m = _Money(data)
    n = len(m.accounts)
    rows = []
    fan = {}
    for d in ("in", "out"):
        fan[d] = {g[0][0] for g in _fan(m, d, window_days, min_accounts, 0, 0.0, False)}
        rows += [(f"fan_{d}", a) for a in sorted(fan[d])]
    rows += [("gather_scatter", a) for a in sorted(fan["in"] & fan["out"])]
    edges = pd.DataFrame({"s": m.src, "d": m.dst}).drop_duplicates()
    two = edges.merge(edges.rename(columns={"s": "mid", "d": "end"}), left_on="d", right_on="mid")
    two = two[two["s"] != two["end"]]
    cnt = two.groupby(["s", "end"])["mid"].nunique()
    sg = cnt[cnt >= min_accounts].reset_index()
    sg_acc = set(sg["s"]) | set(sg["end"]) | set(two.merge(sg[["s", "end"]], on=["s", "end"])["mid"])
    rows += [("scatter_gather", int(a)) for a in sorted(sg_acc)]
    g = sp.csr_matrix((np.ones(len(edges)), (edges["s"].to_numpy(), edges["d"].to_numpy())), shape=(n, n))
    _, lab = strong_components(g, directed=True, connection="strong")
    size = np.bincount(lab)
    rows += [("cycle", int(a)) for a in np.flatnonzero(size[lab] >= 3)]
    amount_in = np.bincount(m.dst, weights=m.amount, minlength=n)
    amount_out = np.bincount(m.src, weights=m.amount, minlength=n)
    passing = (amount_in > 0) & (amount_out >= pass_share * amount_in) & (amount_out <= amount_in)
    rows += [("layering", int(a)) for a in np.flatnonzero(passing)]
    inband = (m.amount >= (1 - band) * threshold) & (m.amount < threshold)
    rows += [("structuring", int(a)) for a in np.unique(m.src[inband])]
    out = pa.table({"typology": pa.array([r[0] for r in rows], pa.string()),
                    "account": pa.array(m.names[np.asarray([r[1] for r in rows], dtype=np.int64)].astype(object)
                                        if rows else [], pa.string())})
    return _stamp(out, m, "naive_typologies", {"window_days": window_days, "min_accounts": min_accounts,
                                               "pass_share": pass_share, "threshold": threshold, "band": band})
