"""Probabilistic record linkage (Fellegi-Sunter) with blocking, EM and explained links.

Pipeline of :func:`link_records`:

1. **Blocking**: each rule is a tuple of columns; records with equal values on all of them
   (none missing) become candidate pairs. The union over rules is compared. Pairs inside one
   ``group`` (e.g. the same source region, or the same input file) are never formed.
2. **Comparisons** map each pair to an agreement level per comparison (numba kernels).
3. **u-probabilities** from a random sample of pairs (almost all non-matches): how often
   each level occurs by chance.
4. **m-probabilities and the prior** by EM over the *distinct agreement patterns* of the
   candidate pairs (counts, not pairs), u held fixed; conditional independence as in
   Fellegi-Sunter.
5. **Match weight** = log2 prior odds + sum over comparisons of log2(m/u) of the pair's
   level (a missing value adds 0); with ``tf=True`` the exact level of a comparison uses
   the value's own frequency as u, so agreeing on a rare name counts more than on 王伟.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow as pa

from .._checks import check_int
from .._kernels import pairs_block as _pb
from .._progress import stages
from ..community import connected_components
from ..errors import PairBudgetError, ParameterError, SchemaError
from ..graph import from_edges
from ..options import tabular
from .comparisons import Comparison, factorize

__all__ = ["link_records", "linkage_model", "explain_link", "cluster_links"]

_EPS = 1e-9
#: Most candidate pairs the blocking rules may form by default (summed over the rules): ~5 GB of pair
#: keys and levels in one process. Checked from the block sizes before any pair is formed.
MAX_PAIRS = 100_000_000


def arrow_to_pandas(table: pa.Table) -> pd.DataFrame:
    """Arrow -> pandas keeping strings in Arrow (no Python objects per cell)."""
    return table.to_pandas(types_mapper={pa.string(): pd.StringDtype("pyarrow"),
                                         pa.large_string(): pd.StringDtype("pyarrow")}.get)


def _records(records, name: str) -> pd.DataFrame:
    if isinstance(records, pa.Table):
        return arrow_to_pandas(records)
    if isinstance(records, pd.DataFrame):
        return records.reset_index(drop=True)
    raise ParameterError(f"{name} must be a pyarrow Table or pandas DataFrame; got {type(records).__name__}")


def _block_key(df: pd.DataFrame, cols: tuple[str, ...], cache: dict) -> np.ndarray:
    """int64 key per record for a rule (-1 when any column is missing)."""
    key = np.zeros(len(df), dtype=np.int64)
    bad = np.zeros(len(df), dtype=bool)
    span = 1
    for c in cols:
        if c not in cache:
            cache[c] = factorize(df[c])
        codes = cache[c]
        bad |= codes < 0
        radix = int(codes.max()) + 2 if len(codes) else 1
        if span * radix >= 2**62:  # re-densify before the mixed-radix key could overflow
            key, _ = pd.factorize(key)
            key = key.astype(np.int64)
            span = int(key.max()) + 1 if len(key) else 1
        key = key * radix + (codes + 1)
        span *= radix
    key[bad] = -1
    return key


def rule_pairs(key: np.ndarray, group: np.ndarray, max_block: int) -> tuple[int, int]:
    """The pairs a rule's blocks will form — records of one group never paired, blocks of more than
    ``max_block`` records skipped, as the block kernel does — and its largest block kept; counted from
    the block and group sizes, no pair formed."""
    order, key_sorted = _block_order(key)
    return _pb.block_pair_count(order, key_sorted, group, max_block)


def _block_order(key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The records with a key, sorted by it (stably), and their keys in that order."""
    ok = np.flatnonzero(key >= 0)
    order = ok[np.argsort(key[ok], kind="stable")]
    return order, key[order]


def check_pair_budget(per_rule: list[tuple[str, int, int]], max_pairs: int | None, table: str = "records") -> None:
    """Refuse a blocking whose rules would form more than ``max_pairs`` pairs in all (before their
    union), naming each rule's count, before any pair is formed."""
    total = sum(p for _, p, _ in per_rule)
    if max_pairs is None or total <= max_pairs:
        return
    worst = sorted(per_rule, key=lambda r: -r[1])
    lines = "; ".join(f"{rule}: {p:,d} pairs (largest block {b:,d} records)" for rule, p, b in worst)
    raise PairBudgetError(f"{table}: the blocking rules would form {total:,d} candidate pairs, more than "
                         f"max_pairs={max_pairs:,d} — {lines}. A rule whose blocks grow with the number of "
                         "records forms pairs quadratically: add a column to it, drop it, lower max_block, or "
                         "raise max_pairs if the memory and time are there")


def candidate_pairs(df: pd.DataFrame, blocking, group: np.ndarray, max_block: int,
                    max_pairs: int | None = None) -> tuple[np.ndarray, np.ndarray, list, list]:
    """Union of the rules' pairs (ia < ib), a report per rule, and each rule's pair keys (ia * n + ib);
    refused before any pair is formed when the rules would form more than ``max_pairs``."""
    n = len(df)
    rules = [(rule,) if isinstance(rule, str) else tuple(rule) for rule in blocking]
    cache: dict = {}
    block_keys = []
    for rule in rules:
        missing = [c for c in rule if c not in df.columns]
        if missing:
            raise SchemaError(f"blocking rule {rule}: the records have no column(s) {', '.join(map(repr, missing))}")
        block_keys.append(_block_key(df, rule, cache))
    sorted_keys = [_block_order(key) for key in block_keys]
    if max_pairs is not None:
        check_pair_budget([("+".join(rule), *_pb.block_pair_count(order, ks, group, max_block))
                           for rule, (order, ks) in zip(rules, sorted_keys)], max_pairs)
    keys = []
    report = []
    for rule, (order, ks) in zip(rules, sorted_keys):
        ia, ib, sb, sr = _pb.block_pairs(order, ks, group, max_block)
        keys.append(ia * n + ib)
        report.append({"rule": "+".join(rule), "pairs": int(ia.size), "skipped_blocks": int(sb),
                       "skipped_records": int(sr)})
    allk = np.concatenate(keys) if keys else np.empty(0, np.int64)
    allk.sort()  # sort + drop repeats (faster here than np.unique's hash path)
    allk = allk[np.r_[True, allk[1:] != allk[:-1]]] if allk.size else allk
    return allk // n, allk % n, report, keys


def _random_pairs(n: int, group: np.ndarray, size: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    ia = rng.integers(0, n, size)
    ib = rng.integers(0, n, size)
    ok = (ia != ib) & (group[ia] != group[ib])
    return ia[ok], ib[ok]


def _level_matrix(comps, preps, ia, ib) -> np.ndarray:
    out = np.empty((ia.shape[0], len(comps)), dtype=np.int8)
    for c, (comp, prep) in enumerate(zip(comps, preps)):
        out[:, c] = comp.levels(prep, ia, ib)
    return out


def _frequencies(levels: np.ndarray, n_levels: list[int]) -> list[np.ndarray]:
    out = []
    for c, k in enumerate(n_levels):
        col = levels[:, c]
        col = col[col >= 0]
        counts = np.bincount(col, minlength=k).astype(np.float64) + 1.0  # Laplace
        out.append(counts / counts.sum())
    return out


def _em(patterns: np.ndarray, counts: np.ndarray, u: list[np.ndarray], n_levels: list[int], *,
        max_iter: int, fix_u: bool, tol: float = 1e-7) -> tuple[list[np.ndarray], list[np.ndarray], float, int]:
    C = len(n_levels)
    m = []
    for k in n_levels:  # start: matches mostly agree exactly
        v = np.full(k, 0.1 / max(k - 1, 1))
        v[0] = 0.9
        m.append(v / v.sum())
    lam = 0.1
    w = counts.astype(np.float64)
    it = 0
    for it in range(1, max_iter + 1):  # noqa: B007 - the count is returned
        log_m = np.zeros(len(patterns))
        log_u = np.zeros(len(patterns))
        for c in range(C):
            lv = patterns[:, c]
            ok = lv >= 0
            log_m[ok] += np.log(m[c][lv[ok]])
            log_u[ok] += np.log(u[c][lv[ok]])
        a = np.log(lam) + log_m
        b = np.log1p(-lam) + log_u
        g = 1.0 / (1.0 + np.exp(np.clip(b - a, -700, 700)))
        gw = g * w
        new_lam = float(np.clip(gw.sum() / w.sum(), _EPS, 1 - _EPS))
        new_m, new_u = [], []
        for c, k in enumerate(n_levels):
            lv = patterns[:, c]
            ok = lv >= 0
            v = np.bincount(lv[ok], weights=gw[ok], minlength=k) + _EPS
            new_m.append(v / v.sum())
            if not fix_u:
                v = np.bincount(lv[ok], weights=(w - gw)[ok], minlength=k) + _EPS
                new_u.append(v / v.sum())
        if fix_u:
            new_u = u
        delta = max(abs(new_lam - lam), max(float(np.max(np.abs(x - y))) for x, y in zip(new_m + new_u, m + u)))
        m, u, lam = new_m, new_u, new_lam
        if delta < tol:
            break
    return m, u, lam, it


def _collapse(pats: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct rows of ``pats`` (agreement patterns, levels per comparison) with their summed counts,
    in lexicographic order (the first comparison's level most significant)."""
    if pats.shape[0] == 0:
        return np.empty((0, pats.shape[1]), np.int8), np.empty(0, np.int64)
    base = int(pats.max()) + 2
    code = np.zeros(pats.shape[0], dtype=np.int64)
    for c in range(pats.shape[1]):
        code = code * base + (pats[:, c].astype(np.int64) + 1)
    uniq, inverse = np.unique(code, return_inverse=True)
    summed = np.zeros(uniq.size, dtype=np.int64)
    np.add.at(summed, inverse, counts)
    out = np.empty((uniq.size, pats.shape[1]), dtype=np.int8)
    rem = uniq.copy()
    for c in range(pats.shape[1] - 1, -1, -1):
        out[:, c] = (rem % base) - 1
        rem //= base
    return out, summed


def pattern_counts(L: np.ndarray, masks: np.ndarray,
                   counts: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """What the model is fitted from: the distinct (rule mask, agreement pattern) rows of the
    candidate pairs and how many pairs have each — ``(masks, patterns, counts)``. Bit ``r`` of a
    pair's mask says blocking rule ``r`` formed it. Counts add up across chunks of pairs, so a
    distributed run counts them per partition and adds the partitions' rows up here (``counts``:
    how many pairs each row of ``L`` stands for; default one each)."""
    if L.shape[0] == 0:
        return np.empty(0, np.int64), np.empty((0, L.shape[1]), np.int8), np.empty(0, np.int64)
    base = int(L.max()) + 2
    span = base ** L.shape[1]
    top = int(masks.max()) + 1 if masks.size else 1
    if top * span < 2**62:  # the mask itself leads the code (a handful of rules: always)
        mask_values, mask_code = np.arange(top, dtype=np.int64), masks
    else:
        mask_values, mask_code = np.unique(masks, return_inverse=True)
    if mask_values.size * span >= 2**62:  # (never for realistic level counts) the slow generic way
        joint = np.column_stack([masks.astype(np.int64), L.astype(np.int64)])
        uniq, inverse = np.unique(joint, axis=0, return_inverse=True)
        summed = np.zeros(uniq.shape[0], np.int64)
        np.add.at(summed, inverse.reshape(-1), 1 if counts is None else counts)
        return uniq[:, 0].copy(), uniq[:, 1:].astype(np.int8), summed
    code = mask_code.astype(np.int64).reshape(-1)
    for c in range(L.shape[1]):
        code = code * base + (L[:, c].astype(np.int64) + 1)
    uniq, inverse = np.unique(code, return_inverse=True)
    summed = np.bincount(inverse, weights=counts, minlength=uniq.size).astype(np.int64) if counts is not None \
        else np.bincount(inverse, minlength=uniq.size).astype(np.int64)
    pats = np.empty((uniq.size, L.shape[1]), dtype=np.int8)
    rem = uniq.copy()
    for c in range(L.shape[1] - 1, -1, -1):
        pats[:, c] = (rem % base) - 1
        rem //= base
    return mask_values[rem], pats, summed


def rule_masks(n_pairs: int, keys: np.ndarray, rule_keys: list) -> np.ndarray:
    """Per candidate pair (sorted ``keys``), the bit mask of the blocking rules that formed it."""
    if len(rule_keys) > 62:
        raise ParameterError(f"at most 62 blocking rules; got {len(rule_keys)}")
    masks = np.zeros(n_pairs, dtype=np.int64)
    for r, rk in enumerate(rule_keys):
        masks[np.searchsorted(keys, rk)] |= np.int64(1) << r
    return masks


def _fit(masks, pats, counts, rules, comparisons, u, n_levels, em_iterations, n_pairs_total):
    """m per comparison by EM sessions, one per blocking rule; then the prior among candidates.

    The input is :func:`pattern_counts` of the candidate pairs. In the session of a rule, the
    comparisons that rule constrains (their columns, or the derived columns listed in
    ``Comparison.blocked_by``) are left out: among pairs that agree on the blocking key they are
    not distributed as by chance. The others are fitted with u fixed (random pairs). A
    comparison's m is the mean over the sessions that fitted it. Last, the prior: the share of
    matches among *all* possible pairs, by EM with m and u fixed in which pairs outside the
    candidates count as non-matches (blocking is assumed to find the matches). A prior over
    candidates only would be inflated by pairs the blocking made look alike (same birth date and
    surname), which is what the conditional-independence model cannot see.
    """
    C = len(comparisons)
    m_sum = [np.zeros(k) for k in n_levels]
    m_n = np.zeros(C)
    sessions = []
    n_candidates = int(counts.sum())
    for r, rule in enumerate(rules):
        free = [c for c, comp in enumerate(comparisons) if not (set(rule) & comp.constrained_by())]
        rows = (masks & (np.int64(1) << r)) != 0
        if not free or not rows.any():
            continue
        p_r, c_r = _collapse(pats[rows][:, free], counts[rows])
        m_r, _, lam_r, it = _em(p_r, c_r, [u[c] for c in free], [n_levels[c] for c in free],
                                max_iter=em_iterations, fix_u=True)
        for j, c in enumerate(free):
            m_sum[c] += m_r[j]
            m_n[c] += 1
        sessions.append({"rule": "+".join(rule), "pairs": int(counts[rows].sum()),
                         "fitted": [comparisons[c].name for c in free], "lambda": lam_r, "iterations": it})
    all_pats, all_counts = _collapse(pats, counts)
    unfitted = np.flatnonzero(m_n == 0)
    if unfitted.size:  # comparisons every rule constrains: fit them on all candidates, u free
        m_all, _, _, it = _em(all_pats, all_counts, u, n_levels, max_iter=em_iterations, fix_u=False)
        for c in unfitted:
            m_sum[c], m_n[c] = m_all[c], 1
        sessions.append({"rule": "(all candidates)", "pairs": n_candidates,
                         "fitted": [comparisons[c].name for c in unfitted], "iterations": it})
    m = [s_ / n_ for s_, n_ in zip(m_sum, m_n)]
    m = [v / v.sum() for v in m]
    # the prior over all pairs: EM over lambda alone, non-candidates being non-matches
    lam = min(0.5, max(n_candidates, 1) / max(n_pairs_total, 1))
    if len(all_pats):
        llr = np.zeros(len(all_pats))
        for c in range(C):
            lv = all_pats[:, c]
            ok = lv >= 0
            llr[ok] += np.log(m[c][lv[ok]]) - np.log(u[c][lv[ok]])
        w = all_counts.astype(np.float64)
        for _ in range(em_iterations):
            g = 1.0 / (1.0 + np.exp(np.clip(-(np.log(lam) - np.log1p(-lam) + llr), -700, 700)))
            new = float(np.clip((g * w).sum() / max(n_pairs_total, w.sum()), 1e-300, 1 - _EPS))
            if abs(new - lam) <= 1e-6 * lam:
                lam = new
                break
            lam = new
    return m, lam, sessions


def score_pairs(L: np.ndarray, m, u, lam: float, comparisons, tf_left: dict) -> tuple:
    """Match weight, probability and per-comparison ``<name>_level``/``<name>_weight`` columns of
    pairs with levels ``L``. ``tf_left[c]``: for a term-frequency comparison ``c``, the frequency
    of the left record's value among all records (NaN when missing) — the u of an exact agreement."""
    bf = [np.log2(mc / uc) for mc, uc in zip(m, u)]
    prior = float(np.log2(lam / (1 - lam)))
    cols: dict[str, np.ndarray] = {}
    weight = np.full(L.shape[0], prior)
    for c, comp in enumerate(comparisons):
        lv = L[:, c]
        wc = np.where(lv >= 0, bf[c][np.maximum(lv, 0)], 0.0)
        if comp.tf:
            freq = tf_left[c]
            exact = (lv == 0) & ~np.isnan(freq)
            wc[exact] = np.log2(m[c][0] / np.maximum(freq[exact], _EPS))
        cols[f"{comp.name}_level"] = lv
        cols[f"{comp.name}_weight"] = wc
        weight += wc
    prob = 1.0 / (1.0 + np.exp2(-np.clip(weight, -1000, 1000)))
    return weight, prob, cols


def _links_table(ids, ia, ib, weight, prob, is_link, cols: dict) -> pa.Table:
    """The links table; ``ids``: every record id by position (numpy or Arrow)."""
    pick = (lambda at: ids.take(pa.array(at, pa.int64()))) if isinstance(ids, pa.Array) else ids.__getitem__
    out = {"id_l": pick(ia), "id_r": pick(ib), "match_weight": weight, "match_probability": prob, "is_link": is_link}
    out.update(cols)
    return pa.table(out)


def model_dict(comparisons, m, u, lam, sessions, *, threshold, n_records, n_candidates, n_links, u_pairs,
               report) -> dict:
    """The fitted model as :func:`linkage_model` returns it."""
    return {
        "prior_weight": float(np.log2(lam / (1 - lam))), "lambda": lam,
        "em_iterations": sum(x["iterations"] for x in sessions), "threshold": threshold,
        "n_records": int(n_records), "n_candidate_pairs": int(n_candidates), "em_sessions": sessions,
        "n_links": int(n_links), "u_sample_pairs": int(u_pairs), "blocking": report,
        "comparisons": [{"name": comp.name, "labels": list(comp.labels), "m": m[c].tolist(), "u": u[c].tolist(),
                         "tf": comp.tf} for c, comp in enumerate(comparisons)],
    }


@tabular
def link_records(
    records,
    *,
    comparisons: list[Comparison],
    blocking,
    id_column: str = "record_id",
    group_column: str | None = None,
    right=None,
    threshold: float = 0.5,
    keep: str = "links",
    max_block: int = 2000,
    max_pairs: int | None = MAX_PAIRS,
    u_sample: int = 2_000_000,
    em_iterations: int = 200,
    seed: int = 0,
    progress: bool = False,
) -> pa.Table:
    """Score candidate record pairs and return the links, each explained comparison by comparison.

    Parameters
    ----------
    records : pyarrow.Table or pandas.DataFrame
        One row per record, with ``id_column`` and the compared columns.
    comparisons : list of Comparison
        E.g. ``[ChineseName("name"), IdNumber("id_number"), DateComparison("birth_date")]``.
    blocking : list of tuples of column names
        Candidate pairs agree on every column of at least one rule.
    id_column : str
        The records' unique key.
    group_column : str, optional
        Records of one group are never paired (e.g. ``source_region``: link across regions).
    right : table, optional
        Link ``records`` to ``right`` (two files) instead of deduplicating one table; pairs
        are always (left, right).
    threshold : float
        Match probability at or above which a pair is a link.
    keep : {"links", "all"}
        Return only links, or every scored candidate pair.
    max_block : int
        Blocks with more records are skipped (reported in the metadata) — loosen the rule.
    max_pairs : int or None
        Most candidate pairs the rules may form (summed over the rules, before their union); counted
        from the block sizes before any pair is formed, and a clear error beyond it naming each rule's
        count (:class:`~jinduanalytics.PairBudgetError`; None: no limit). Rules whose blocks grow
        with the data form pairs quadratically.
    u_sample : int
        Random record pairs drawn to estimate u (the chance agreement of each level).
    em_iterations : int
        Most EM iterations for m and the prior.
    seed : int, numpy.random.Generator or None
        For the u sample; the same seed gives the same links.
    progress : bool
        Show a progress bar.

    Returns
    -------
    pyarrow.Table
        ``id_l``, ``id_r``, ``match_weight`` (log2 odds), ``match_probability``, ``is_link``,
        and per comparison ``<name>_level`` (0 = strongest agreement, -1 missing) and
        ``<name>_weight`` (its log2 Bayes factor). The fitted model (prior, m, u per level,
        blocking counts) is in the metadata: see :func:`linkage_model`.
    """
    if keep not in ("links", "all"):
        raise ParameterError(f"keep must be 'links' or 'all'; got {keep!r}")
    if not 0 < threshold < 1:
        raise ParameterError(f"threshold is a match probability in (0, 1); got {threshold!r}")
    check_int("max_block", max_block, minimum=2)
    if max_pairs is not None:
        check_int("max_pairs", max_pairs, minimum=1)
    check_int("u_sample", u_sample, minimum=1000)
    if not comparisons:
        raise ParameterError("link_records needs at least one comparison")
    names = [c.name for c in comparisons]
    if len(set(names)) != len(names):
        raise ParameterError(f"comparison names must be distinct; got {names}")
    left = _records(records, "records")
    if id_column not in left.columns:
        raise SchemaError(f"records: missing id column '{id_column}'; found: {', '.join(map(str, left.columns))}")
    if right is not None:
        r = _records(right, "right")
        if id_column not in r.columns:
            raise SchemaError(f"right: missing id column '{id_column}'")
        df = pd.concat([left, r], ignore_index=True)
        group = np.r_[np.zeros(len(left), np.int64), np.ones(len(r), np.int64)]
    else:
        df = left
        if group_column is not None:
            if group_column not in df.columns:
                raise SchemaError(f"records: missing group column '{group_column}'")
            group = factorize(df[group_column])
            if (group < 0).any():
                rows = np.flatnonzero(group < 0)[:5].tolist()
                raise SchemaError(f"records: column '{group_column}' has {int((group < 0).sum())} missing values "
                                  f"(rows {rows}...)")
        else:
            group = np.arange(len(df), dtype=np.int64)
    ids = df[id_column].astype("string")
    if ids.isna().any():
        raise SchemaError(f"records: column '{id_column}' has {int(ids.isna().sum())} missing ids")
    if ids.duplicated().any():
        dup = np.flatnonzero(ids.duplicated().to_numpy())[:5].tolist()
        raise SchemaError(f"records: column '{id_column}' has {int(ids.duplicated().sum())} duplicate ids "
                          f"(rows {dup}...)")
    for comp in comparisons:
        comp.check(df)
    # Results must not depend on the input's row order: work on the records sorted by id (with a
    # right table, the left records first, each side sorted), so positions, the u sample and the
    # l/r orientation (id_l < id_r within a side) are functions of the set of records alone.
    id_values = ids.to_numpy(dtype=object)
    order = np.lexsort((id_values, group)) if right is not None else np.argsort(id_values, kind="stable")
    if not np.array_equal(order, np.arange(len(order))):  # (already sorted: no copy of the frame)
        df = df.iloc[order].reset_index(drop=True)
        ids = ids.iloc[order].reset_index(drop=True)
    group = group[order] if (right is not None or group_column is None) else factorize(df[group_column])
    if right is None and group_column is None:
        group = np.arange(len(df), dtype=np.int64)
    if len(df) < 2:
        return _no_links(comparisons, threshold, len(df))
    rng = np.random.default_rng(seed)
    with stages(["prepare", "blocking", "u sample", "compare", "EM", "score"], enabled=progress,
                desc="link_records") as step:
        step("prepare")
        preps = [c.prepare(df) for c in comparisons]
        step("blocking")
        ia, ib, report, rule_keys = candidate_pairs(df, blocking, group, max_block, max_pairs)
        rules = [(r,) if isinstance(r, str) else tuple(r) for r in blocking]
        step("u sample")
        ua, ub = _random_pairs(len(df), group, u_sample, rng)
        n_levels = [c.n_levels for c in comparisons]
        u = _frequencies(_level_matrix(comparisons, preps, ua, ub), n_levels)
        step("compare")
        L = _level_matrix(comparisons, preps, ia, ib)
        step("EM")
        sizes = np.bincount(group).astype(np.float64)
        n_pairs_total = (float(len(df)) ** 2 - float((sizes ** 2).sum())) / 2.0
        masks, pats, counts = pattern_counts(L, rule_masks(L.shape[0], ia * len(df) + ib, rule_keys))
        m, lam, sessions = _fit(masks, pats, counts, rules, comparisons, u, n_levels, em_iterations, n_pairs_total)
        step("score")
        tf_left = {}
        for c, comp in enumerate(comparisons):
            if comp.tf:
                vals = comp.tf_values(df)
                counts_tf = np.bincount(vals[vals >= 0]).astype(np.float64)
                tf_left[c] = np.where(vals[ia] >= 0, counts_tf[np.maximum(vals[ia], 0)], np.nan)
                tf_total = counts_tf.sum()
                tf_left[c] /= max(tf_total, 1.0)
        weight, prob, cols = score_pairs(L, m, u, lam, comparisons, tf_left)
    is_link = prob >= threshold
    sel = is_link if keep == "links" else np.ones(L.shape[0], dtype=bool)
    table = _links_table(ids.to_numpy(dtype=object), ia[sel], ib[sel], weight[sel], prob[sel], is_link[sel],
                         {k: v[sel] for k, v in cols.items()})
    model = model_dict(comparisons, m, u, lam, sessions, threshold=threshold, n_records=len(df),
                       n_candidates=L.shape[0], n_links=int(is_link.sum()), u_pairs=int(ua.size), report=report)
    return table.replace_schema_metadata({b"jindu.linkage_model": json.dumps(model).encode()})


def _no_links(comparisons, threshold: float, n_records: int) -> pa.Table:
    """The result for fewer than two records: no pair to compare, the columns all the same."""
    out: dict = {"id_l": pa.array([], pa.string()), "id_r": pa.array([], pa.string()),
                 "match_weight": pa.array([], pa.float64()), "match_probability": pa.array([], pa.float64()),
                 "is_link": pa.array([], pa.bool_())}
    for comp in comparisons:
        out[f"{comp.name}_level"] = pa.array([], pa.int8())
        out[f"{comp.name}_weight"] = pa.array([], pa.float64())
    model = {"prior_weight": None, "lambda": None, "em_iterations": 0, "threshold": threshold,
             "n_records": n_records, "n_candidate_pairs": 0, "em_sessions": [], "n_links": 0, "u_sample_pairs": 0,
             "blocking": [], "comparisons": [{"name": c.name, "labels": list(c.labels), "m": [], "u": [], "tf": c.tf}
                                             for c in comparisons]}
    return pa.table(out).replace_schema_metadata({b"jindu.linkage_model": json.dumps(model).encode()})


@tabular
def linkage_model(links: pa.Table) -> dict:
    """The fitted model of a :func:`link_records` result: prior, m and u per level, blocking counts.

    Parameters
    ----------
    links : pyarrow.Table
        A :func:`link_records` or :func:`jinduanalytics.linkage.resolve_persons` result.
    """
    meta = links.schema.metadata or {}
    if b"jindu.linkage_model" not in meta:
        raise ParameterError("this table carries no linkage model (pass the table returned by link_records)")
    return json.loads(meta[b"jindu.linkage_model"])


@tabular
def explain_link(links: pa.Table, row: int) -> pa.Table:
    """One link, comparison by comparison: ``comparison``, ``level`` (its label), ``weight``
    (log2 Bayes factor), the prior first; the weights add up to the pair's ``match_weight``.

    Parameters
    ----------
    links : pyarrow.Table
        A :func:`link_records` result.
    row : int
        The link's row.
    """
    model = linkage_model(links)
    if not 0 <= row < links.num_rows:
        raise ParameterError(f"row {row} is outside the table (0..{links.num_rows - 1})")
    rec = links.slice(row, 1).to_pylist()[0]
    comp, level, weight = ["prior"], [""], [model["prior_weight"]]
    for c in model["comparisons"]:
        lv = rec[f"{c['name']}_level"]
        comp.append(c["name"])
        level.append("missing" if lv < 0 else c["labels"][lv])
        weight.append(rec[f"{c['name']}_weight"])
    return pa.table({"comparison": comp, "level": level, "weight": pa.array(weight, pa.float64())})


@tabular
def cluster_links(links: pa.Table, ids, *, min_probability: float | None = None) -> pa.Table:
    """Group linked records into entities: connected components of the links.

    Parameters
    ----------
    links : pyarrow.Table
        From :func:`link_records` (``id_l``, ``id_r``, ``is_link``, ``match_probability``).
    ids : array-like
        Every record id (records without a link become an entity of their own).
    min_probability : float, optional
        Only links at or above this probability (default: the ``is_link`` column).

    Returns
    -------
    pyarrow.Table
        ``record_id``, ``entity`` (0 = the largest), ``entity_size``.
    """
    ids = ids.cast(pa.string()) if isinstance(ids, pa.Array) else \
        pa.array(pd.Series(ids).astype("string").to_numpy(dtype=object), pa.string())
    keep = (links.column("is_link").to_numpy(zero_copy_only=False) if min_probability is None
            else links.column("match_probability").to_numpy() >= min_probability)
    t = links.filter(pa.array(keep))
    edges = pa.table({"source": t.column("id_l").cast(pa.string()), "target": t.column("id_r").cast(pa.string())})
    g = from_edges(edges, weight=None, nodes=ids, what="links")
    cc = connected_components(g)
    comm = cc.column("community").to_numpy()
    size = np.bincount(comm)
    return pa.table({"record_id": cc.column("node_id"), "entity": cc.column("community"),
                     "entity_size": pa.array(size[comm], pa.int64())})
