"""Record linkage on Dask: the in-process model and links, computed over partitions.

:func:`jinduanalytics.linkage.resolve_persons` with ``engine="dask"`` runs here. Every stage that
touches pairs or records is a Dask task over partitions; only arrays of one number per record
(the sorted ids, the group codes) and the model's pattern counts come back to this process.

1. **Order.** The ids (and the group column) come here, one column each, and are sorted here as
   Arrow strings (the checks: missing, duplicate ids; the group codes, numbered as in-process: by
   first appearance in id order). The records are range-partitioned by id into buckets of equal
   size and numbered within their bucket: a record's position is the one the in-process run gives it.
2. **u.** The random pairs are drawn here from the same generator as in-process (a function of the
   record count and the seed); the records at those positions are fetched and compared here.
3. **Blocking** is a shuffle by each rule's key: a block's records meet in one partition, ordered
   by position, and the in-process kernel forms its pairs (``max_block`` skips the same blocks).
   The rules' pairs are unioned by a shuffle on the first record (the mask says which rules formed
   a pair).
4. **Comparison**: each pair is joined to its two records (two shuffle joins) and the comparison
   kernels run per partition on the pair's records — a comparison level depends on the two records
   alone (:meth:`~jinduanalytics.linkage.Comparison.prepare` must be per record; the built-in ones
   are). The term-frequency u of an exact name is the value's count among all records (a
   distributed ``value_counts``) over their number, the in-process arithmetic.
5. **EM** on the distinct (rule mask, agreement pattern) rows counted per partition and added up
   here: the same counts in the same order, so the same floats.
6. **Score** per partition with the fitted model; the links come back and are put in the
   in-process order (by the first record's position, then the second's).

So the links, their weights and the model are the in-process ones bit for bit (tested on the
``city`` preset and a LocalCluster of separate processes, also with a worker killed).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .. import distributed as engine
from .._checks import check_int
from .._kernels import pairs_block as _pb
from ..errors import ParameterError, SchemaError
from ..io import _partition_files
from .link import (
    MAX_PAIRS,
    _block_key,
    _fit,
    _frequencies,
    _level_matrix,
    _links_table,
    _no_links,
    _random_pairs,
    arrow_to_pandas,
    check_pair_budget,
    model_dict,
    pattern_counts,
    rule_pairs,
    score_pairs,
)

_PAIRS_META = pd.DataFrame({"a": np.zeros(0, np.int64), "b": np.zeros(0, np.int64), "m": np.zeros(0, np.int64)})


def _as_ddf(records, client, npartitions: int | None):
    """The records as a Dask DataFrame: as given, read from Parquet (a file or a partitioned folder)
    by the workers, or an in-memory table split into partitions."""
    import dask
    import dask.dataframe as dd

    if isinstance(records, dd.DataFrame):
        return records
    if isinstance(records, (str, os.PathLike)):
        path = Path(records)
        files = [str(f) for f in _partition_files(path)] if path.is_dir() else [str(path)]
        if not files or not Path(files[0]).exists():
            raise ParameterError(f"{path}: no Parquet file or partitioned folder there")
        return dd.read_parquet(files)
    if isinstance(records, pa.Table):
        df = arrow_to_pandas(records)
    elif isinstance(records, pd.DataFrame):
        df = records.reset_index(drop=True)
    else:
        raise ParameterError(f"records must be a pyarrow Table, a pandas or Dask DataFrame or a Parquet path; "
                             f"got {type(records).__name__}")
    n = engine.n_partitions(client, len(df), npartitions)
    with dask.config.set({"dataframe.convert-string": False}):  # dates stay dates, as in-process
        return dd.from_pandas(df, npartitions=n, sort=False)


def _read_columns(comparisons) -> list[str]:
    """The columns the comparisons' ``prepare`` reads (its columns and a ready pinyin column)."""
    out: list[str] = []
    for comp in comparisons:
        for col in (*comp.columns, getattr(comp, "pinyin_column", None)):
            if col and col not in out:
                out.append(col)
    return out


def _bucketed(part: pd.DataFrame, id_column: str, cuts: np.ndarray) -> pd.DataFrame:
    """Step 1: every record's id range (``cuts``: the sorted ids that start buckets 1, 2, ...)."""
    engine._maybe_die()
    ids = part[id_column].to_numpy(dtype=object)
    return part.assign(_bucket=np.searchsorted(cuts, ids, side="right").astype(np.int64))


def _positioned(part: pd.DataFrame, id_column: str, starts: np.ndarray, group_column: str | None,
                groups) -> pd.DataFrame:
    """Step 1: every record's position — its bucket's start + its rank by id in the bucket (a bucket's
    records all arrive in one partition) — and group code."""
    engine._maybe_die()
    part = part.sort_values(["_bucket", id_column], kind="stable").reset_index(drop=True)
    bucket = part["_bucket"].to_numpy()
    first = np.r_[0, np.flatnonzero(bucket[1:] != bucket[:-1]) + 1] if len(part) else np.zeros(0, np.int64)
    rank = np.arange(len(part), dtype=np.int64) - np.repeat(first, np.diff(np.r_[first, len(part)]))
    pos = starts[bucket] + rank
    g = pd.Index(groups).get_indexer(part[group_column]).astype(np.int64) if group_column else pos
    return part.drop(columns=["_bucket"]).assign(_pos=pos, _g=g)


def _rows_at(part: pd.DataFrame, need: np.ndarray) -> pd.DataFrame:
    """The records at the positions in ``need`` (sorted)."""
    return part[np.isin(part["_pos"].to_numpy(), need, assume_unique=True)]


def _block_part(part: pd.DataFrame, rule: tuple, bit: int, max_block: int) -> pd.DataFrame:
    """Step 3: the pairs of a partition's blocks (a block's records all arrive in one partition), and
    two rows of counts for the report: ``m = -1``: ``a`` pairs, ``b`` skipped blocks; ``m = -2``:
    ``a`` skipped records (a pair's ``m`` is its rule's bit, > 0)."""
    engine._maybe_die()
    part = part.reset_index(drop=True)
    pairs, skipped_blocks, skipped_records = _PAIRS_META, 0, 0
    if not part.empty:
        key = _block_key(part, rule, {})
        pos = part["_pos"].to_numpy()
        ok = np.flatnonzero(key >= 0)
        order = ok[np.lexsort((pos[ok], key[ok]))]  # by key, then position: the in-process order of a block
        ia, ib, skipped_blocks, skipped_records = _pb.block_pairs(order, key[order], part["_g"].to_numpy(),
                                                                  max_block)
        pa_, pb_ = pos[ia], pos[ib]  # the kernel orders a pair by row; the model by position
        pairs = pd.DataFrame({"a": np.minimum(pa_, pb_), "b": np.maximum(pa_, pb_),
                              "m": np.full(ia.size, np.int64(1) << bit)})
    counts = pd.DataFrame({"a": [len(pairs), skipped_records], "b": [skipped_blocks, 0], "m": [-1, -2]},
                          dtype=np.int64)
    return pd.concat([pairs, counts], ignore_index=True)


def _count_part(part: pd.DataFrame, rule: tuple, max_block: int) -> pd.DataFrame:
    """Step 3, before any pair: the pairs a partition's blocks will form and its largest block kept."""
    engine._maybe_die()
    if part.empty:
        return pd.DataFrame({"pairs": [0], "largest": [0]}, dtype=np.int64)
    pairs, largest = rule_pairs(_block_key(part.reset_index(drop=True), rule, {}), part["_g"].to_numpy(), max_block)
    return pd.DataFrame({"pairs": [pairs], "largest": [largest]}, dtype=np.int64)


def _union_part(part: pd.DataFrame, n: int) -> pd.DataFrame:
    """Step 3: a pair formed by several rules once, with the rules' bits or-ed."""
    engine._maybe_die()
    if part.empty:
        return _PAIRS_META
    key = part["a"].to_numpy() * n + part["b"].to_numpy()
    order = np.argsort(key, kind="stable")
    key, m = key[order], part["m"].to_numpy()[order]
    start = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    return pd.DataFrame({"a": key[start] // n, "b": key[start] % n, "m": np.bitwise_or.reduceat(m, start)})


def _compare_part(part: pd.DataFrame, comparisons, read: list[str], tf: list[int]) -> pd.DataFrame:
    """Step 4: the comparison levels of a partition's pairs, from the pairs' two records."""
    engine._maybe_die()
    k = len(part)
    out = pd.DataFrame({"a": part["a"].to_numpy(np.int64), "b": part["b"].to_numpy(np.int64),
                        "m": part["m"].to_numpy(np.int64)})
    if k:
        left = part[[f"{c}__l" for c in read]].set_axis(read, axis=1)
        right = part[[f"{c}__r" for c in read]].set_axis(read, axis=1)
        both = pd.concat([left, right], ignore_index=True)
        preps = [comp.prepare(both) for comp in comparisons]
        idx = np.arange(k, dtype=np.int64)
        L = _level_matrix(comparisons, preps, idx, idx + k)
    else:
        L = np.zeros((0, len(comparisons)), np.int8)
    for c in range(len(comparisons)):
        out[f"_l{c}"] = L[:, c]
    for c in tf:
        out[f"_tf{c}"] = part[f"_tf{c}__l"].to_numpy(dtype=np.float64, na_value=np.nan)
    return out


def _pattern_part(part: pd.DataFrame, n_comparisons: int) -> pd.DataFrame:
    """Step 5: a partition's (rule mask, agreement pattern) rows and their counts."""
    L = part[[f"_l{c}" for c in range(n_comparisons)]].to_numpy(np.int8).reshape(len(part), n_comparisons)
    masks, pats, counts = pattern_counts(L, part["m"].to_numpy(np.int64))
    out = pd.DataFrame({"m": masks, "count": counts})
    for c in range(n_comparisons):
        out[f"_l{c}"] = pats[:, c]
    return out


def _score_part(part: pd.DataFrame, model: tuple, comparisons, tf_totals: dict, threshold: float,
                keep: str) -> pd.DataFrame:
    """Step 6: match weights and probabilities; the links (or every pair)."""
    engine._maybe_die()
    m, u, lam = model
    C = len(comparisons)
    L = part[[f"_l{c}" for c in range(C)]].to_numpy(np.int8).reshape(len(part), C)
    tf_left = {c: part[f"_tf{c}"].to_numpy(np.float64) / max(total, 1.0) for c, total in tf_totals.items()}
    weight, prob, cols = score_pairs(L, m, u, lam, comparisons, tf_left)
    is_link = prob >= threshold
    sel = is_link if keep == "links" else np.ones(len(part), dtype=bool)
    out = pd.DataFrame({"a": part["a"].to_numpy()[sel], "b": part["b"].to_numpy()[sel], "match_weight": weight[sel],
                        "match_probability": prob[sel], "is_link": is_link[sel]})
    for name, v in cols.items():
        out[name] = v[sel]
    return out


def link_records(records, *, comparisons, blocking, id_column: str = "record_id", group_column: str | None = None,
                 threshold: float = 0.5, keep: str = "links", max_block: int = 2000,
                 max_pairs: int | None = MAX_PAIRS, u_sample: int = 2_000_000,
                 em_iterations: int = 200, seed=0, client=None, npartitions: int | None = None,
                 prepare=None) -> tuple[pa.Table, np.ndarray]:
    """:func:`jinduanalytics.linkage.link_records` (one table, no ``right``) on a Dask cluster.

    ``records`` may also be a Dask DataFrame or a Parquet path; ``prepare`` maps each partition
    before anything else (per record; the id and group columns are read as given, before it). Returns the links table (the in-process one) and every
    record id in id order.
    """
    engine._need_dask()
    import dask.dataframe as dd
    from distributed import wait

    check_int("max_block", max_block, minimum=2)
    if max_pairs is not None:
        check_int("max_pairs", max_pairs, minimum=1)
    rules = [(r,) if isinstance(r, str) else tuple(r) for r in blocking]
    if len(rules) > 62:
        raise ParameterError(f"at most 62 blocking rules; got {len(rules)}")
    C = len(comparisons)
    with engine.engine_client(client) as cl:
        raw = _as_ddf(records, cl, npartitions)
        ddf = raw.map_partitions(prepare, meta=prepare(raw._meta)) if prepare is not None else raw
        columns = list(ddf.columns)
        if id_column not in columns or id_column not in raw.columns:
            raise SchemaError(f"records: missing id column '{id_column}'; found: {', '.join(map(str, columns))}")
        raw = raw.assign(**{id_column: raw[id_column].astype(pd.StringDtype("pyarrow"))})
        ddf = ddf.assign(**{id_column: ddf[id_column].astype(pd.StringDtype("pyarrow"))})
        if group_column is not None and group_column not in columns:
            raise SchemaError(f"records: missing group column '{group_column}'")
        for comp in comparisons:
            comp.check(ddf._meta)
        for rule in rules:
            missing = [c for c in rule if c not in columns]
            if missing:
                raise SchemaError(f"blocking rule {rule}: the records have no column(s) "
                                  f"{', '.join(map(repr, missing))}")

        # 1. order: the ids (and groups) come here — two columns, read as such — and are sorted here; the
        # records are range-partitioned by id (buckets of equal size) and numbered within their bucket
        head = engine.gather(cl, raw[[id_column] + ([group_column] if group_column else [])])
        ids = pa.array(head[id_column].array)
        ids = (ids.combine_chunks() if isinstance(ids, pa.ChunkedArray) else ids).cast(pa.string())
        if ids.null_count:
            raise SchemaError(f"records: column '{id_column}' has {ids.null_count} missing ids")
        order = pc.sort_indices(ids)  # byte order = code-point order, as in-process
        idv = ids.take(order)  # Arrow strings: no Python object per record here
        dup = int(pc.sum(pc.equal(idv.slice(1), idv.slice(0, len(idv) - 1))).as_py() or 0) if len(idv) > 1 else 0
        if dup:
            raise SchemaError(f"records: column '{id_column}' has {dup} duplicate ids")
        n = len(idv)
        groups = None
        if group_column is not None:
            codes, groups = pd.factorize(head[group_column].iloc[order.to_numpy()], use_na_sentinel=True)
            if (codes < 0).any():
                raise SchemaError(f"records: column '{group_column}' has {int((codes < 0).sum())} missing values")
            codes = codes.astype(np.int64)
        del head, ids, order
        if n < 2:
            return _no_links(comparisons, threshold, n), idv
        if group_column is None:
            codes = np.arange(n, dtype=np.int64)
        n_buckets = max(1, min(ddf.npartitions, n))
        starts = (np.arange(n_buckets, dtype=np.int64) * n) // n_buckets
        cuts = np.asarray(idv.take(pa.array(starts[1:])).to_pylist(), dtype=object)
        meta = ddf._meta.assign(_pos=np.zeros(0, np.int64), _g=np.zeros(0, np.int64))
        recs = ddf.map_partitions(_bucketed, id_column, cuts, meta=ddf._meta.assign(_bucket=np.zeros(0, np.int64)))
        recs = recs.shuffle(on="_bucket", npartitions=n_buckets).map_partitions(
            _positioned, id_column, starts, group_column, groups, meta=meta)
        recs = cl.persist(recs)
        got_n, got_sum = (int(x) for x in cl.compute([recs["_pos"].count(), recs["_pos"].sum()], sync=True))
        if got_n != n or got_sum != n * (n - 1) // 2:
            raise RuntimeError("linkage on dask: the records' positions do not cover the sorted ids")

        # 2. u from random pairs, compared here
        rng = np.random.default_rng(seed)
        ua, ub = _random_pairs(n, codes, u_sample, rng)
        need = np.unique(np.r_[ua, ub])
        sample = engine.gather(cl, recs.map_partitions(_rows_at, cl.scatter(need, broadcast=True), meta=meta))
        sample = sample.sort_values("_pos").reset_index(drop=True)
        if not np.array_equal(sample["_pos"].to_numpy(), need):
            raise RuntimeError("linkage on dask: the u sample's records did not all come back")
        preps = [comp.prepare(sample) for comp in comparisons]
        n_levels = [comp.n_levels for comp in comparisons]
        u = _frequencies(_level_matrix(comparisons, preps, np.searchsorted(need, ua), np.searchsorted(need, ub)),
                         n_levels)
        del sample, preps

        # 3. blocking: a shuffle per rule (the pairs counted from the block sizes first: refused over
        # max_pairs before any is formed), then the union
        by_rule = [recs[list(rule) + ["_pos", "_g"]].dropna(subset=list(rule)).shuffle(on=list(rule))
                   for rule in rules]
        if max_pairs is not None:
            cmeta = pd.DataFrame({"pairs": np.zeros(0, np.int64), "largest": np.zeros(0, np.int64)})
            sized = cl.compute([f.map_partitions(_count_part, rule, max_block, meta=cmeta)
                                for f, rule in zip(by_rule, rules)], sync=True)
            check_pair_budget([("+".join(rule), int(c["pairs"].sum()), int(c["largest"].max() if len(c) else 0))
                               for rule, c in zip(rules, sized)], max_pairs)
        blocked = dd.concat([f.map_partitions(_block_part, rule, bit, max_block, meta=_PAIRS_META).assign(rule=bit)
                             for bit, (f, rule) in enumerate(zip(by_rule, rules))])
        blocked = cl.persist(blocked)
        counts_rows = blocked[blocked["m"] < 0].compute()
        report = []
        for bit, rule in enumerate(rules):
            r = counts_rows[counts_rows["rule"] == bit]
            report.append({"rule": "+".join(rule), "pairs": int(r.loc[r["m"] == -1, "a"].sum()),
                           "skipped_blocks": int(r.loc[r["m"] == -1, "b"].sum()),
                           "skipped_records": int(r.loc[r["m"] == -2, "a"].sum())})
        union = blocked[blocked["m"] > 0][["a", "b", "m"]].shuffle(on="a").map_partitions(_union_part, n,
                                                                                          meta=_PAIRS_META)
        union = cl.persist(union)
        wait(union)
        del blocked

        # 4. compare: each pair joined to its two records
        read = _read_columns(comparisons)
        tf = [c for c, comp in enumerate(comparisons) if comp.tf]
        side = recs[["_pos"] + read]
        tf_totals = {}
        for c in tf:  # the left record's value count rides along (a join on the value)
            col = comparisons[c].columns[0]
            value_counts = recs[col].value_counts(dropna=True).rename(f"_tf{c}").reset_index()
            tf_totals[c] = float(recs[col].count().compute())  # the value counts add up to it
            side = side.merge(value_counts, on=col, how="left")
        right = side.rename(columns={c: f"{c}__r" for c in side.columns})
        left = side.rename(columns={c: f"{c}__l" for c in side.columns})
        joined = union.merge(right, left_on="b", right_on="_pos__r").merge(left, left_on="a", right_on="_pos__l")
        cmeta = pd.DataFrame({"a": np.zeros(0, np.int64), "b": np.zeros(0, np.int64), "m": np.zeros(0, np.int64),
                              **{f"_l{c}": np.zeros(0, np.int8) for c in range(C)},
                              **{f"_tf{c}": np.zeros(0, np.float64) for c in tf}})
        compared = cl.persist(joined.map_partitions(_compare_part, comparisons, read, tf, meta=cmeta))
        wait(compared)
        del union, recs

        # 5. EM on the pattern counts
        pmeta = pd.DataFrame({"m": np.zeros(0, np.int64), "count": np.zeros(0, np.int64),
                              **{f"_l{c}": np.zeros(0, np.int8) for c in range(C)}})
        rows = compared.map_partitions(_pattern_part, C, meta=pmeta).compute()
        masks, pats, counts = pattern_counts(rows[[f"_l{c}" for c in range(C)]].to_numpy(np.int8).reshape(-1, C),
                                             rows["m"].to_numpy(np.int64), rows["count"].to_numpy(np.int64))
        sizes = np.bincount(codes).astype(np.float64)
        n_pairs_total = (float(n) ** 2 - float((sizes ** 2).sum())) / 2.0
        m, lam, sessions = _fit(masks, pats, counts, rules, comparisons, u, n_levels, em_iterations, n_pairs_total)

        # 6. score
        smeta = pd.DataFrame({"a": np.zeros(0, np.int64), "b": np.zeros(0, np.int64),
                              "match_weight": np.zeros(0), "match_probability": np.zeros(0),
                              "is_link": np.zeros(0, bool)})
        for comp in comparisons:
            smeta[f"{comp.name}_level"] = np.zeros(0, np.int8)
            smeta[f"{comp.name}_weight"] = np.zeros(0)
        got = engine.gather(cl, compared.map_partitions(_score_part, (m, u, lam), comparisons, tf_totals, threshold, keep,
                                                  meta=smeta))
        del compared
    order = np.lexsort((got["b"].to_numpy(), got["a"].to_numpy()))
    got = got.iloc[order]
    cols = {f"{comp.name}_{what}": got[f"{comp.name}_{what}"].to_numpy()
            for comp in comparisons for what in ("level", "weight")}
    is_link = got["is_link"].to_numpy(bool)
    table = _links_table(idv, got["a"].to_numpy(), got["b"].to_numpy(), got["match_weight"].to_numpy(),
                         got["match_probability"].to_numpy(), is_link, cols)
    model = model_dict(comparisons, m, u, lam, sessions, threshold=threshold, n_records=n,
                       n_candidates=int(counts.sum()), n_links=int(is_link.sum()), u_pairs=int(ua.size),
                       report=report)
    return table.replace_schema_metadata({b"jindu.linkage_model": json.dumps(model).encode()}), idv
