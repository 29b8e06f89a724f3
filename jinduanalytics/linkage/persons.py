"""Resolve person records across regions' systems into persons (the 环北部湾 preset)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .._checks import check_choice, check_int
from ..distributed import ENGINES
from ..errors import SchemaError
from ..identifiers import MAX_COMPARE_CHARS, canonical_id_number, canonical_phone, comparable_name
from ..options import tabular
from . import _dask
from .comparisons import ChineseName, DateComparison, ExactMatch, IdNumber
from .link import arrow_to_pandas, cluster_links, link_records
from .names import pinyin_keys

#: pandas string dtype backed by Arrow: its .str methods run in Arrow compute kernels
STR = "string[pyarrow]"

__all__ = ["PERSON_BLOCKING", "person_comparisons", "resolve_persons", "score_links", "link_calibration"]

#: Blocking rules over the derived keys (see :func:`_keys`): ID-number fragments that survive
#: masking, the phone, and birth date (day/month order ignored) with a name key that survives
#: homophones (full pinyin), a look-alike in the given name (surname pinyin) or in the surname
#: (given-name pinyin).
PERSON_BLOCKING = [
    ("_id_head", "_id_tail"),
    ("phone",),
    ("_dob_any", "_py_full"),
    ("_dob_any", "_py_surname"),
    ("_dob_any", "_py_given"),
    ("_py_full", "_id_tail"),
    ("_py_full", "home_region"),
]


def person_comparisons() -> list:
    """The comparisons :func:`resolve_persons` uses."""
    comps = [ChineseName("name", tf=True, pinyin_column="_py_full"), IdNumber("id_number"), DateComparison("_birth", name="birth_date"),
             ExactMatch("phone"), ExactMatch("sex"), ExactMatch("home_region")]
    # the derived blocking keys each comparison is constrained by (left out of that rule's EM session)
    comps[0].blocked_by = ("_py_full", "_py_surname", "_py_given")
    comps[1].blocked_by = ("_id_head", "_id_tail")
    comps[2].blocked_by = ("_dob_any",)
    comps[5].blocked_by = ("_id_head",)  # the ID's first 6 digits are the household-registration address
    return comps


def _id_birth(idn: pd.Series, full: np.ndarray) -> np.ndarray:
    """Birth dates (datetime64[D], NaT when unknown) from ID characters 7-14 (GB 11643)."""
    part = pa.array(idn.str.slice(6, 14).where(full), pa.string())
    ok = pc.fill_null(pc.match_substring_regex(part, r"^[0-9]{8}$"), False)
    ymd = pc.cast(pc.if_else(ok, part, pa.scalar("0")), pa.int64()).to_numpy(zero_copy_only=False)
    return _ymd_to_date(ymd, ok.to_numpy(zero_copy_only=False))


def _ymd_to_date(ymd: np.ndarray, ok: np.ndarray) -> np.ndarray:
    y, m, d = ymd // 10000, (ymd // 100) % 100, ymd % 100
    ok = ok & (y >= 1900) & (m >= 1) & (m <= 12) & (d >= 1) & (d <= 31)
    months = (np.where(ok, y, 1970) - 1970) * 12 + np.where(ok, m, 1) - 1
    out = months.astype("datetime64[M]").astype("datetime64[D]") + (np.where(ok, d, 1) - 1).astype("timedelta64[D]")
    # a day past the month's end (e.g. 0231) is not a date
    ok &= out.astype("datetime64[M]") == months.astype("datetime64[M]")
    return np.where(ok, out, np.datetime64("NaT"))


def _keys(df: pd.DataFrame) -> pd.DataFrame:
    """The records as the comparisons see them (identifiers normalised as
    :mod:`jinduanalytics.identifiers` documents: names without inner spaces or separators and in
    simplified characters, 15-digit ID numbers in 18-digit form, phones as digits) plus the
    derived blocking keys."""
    out = df.reset_index(drop=True)  # (a copy) positional: the canonical columns are assigned by position
    for column, canonical in (("name", comparable_name), ("id_number", canonical_id_number),
                              ("phone", canonical_phone)):
        values = canonical(_strings(out[column])).to_pandas(types_mapper=pd.ArrowDtype)
        out[column] = pd.Series(values, index=out.index).astype(STR)
    idn = out["id_number"]
    full = (idn.str.len() == 18).fillna(False).to_numpy(dtype=bool)
    out["_id_head"] = idn.str.slice(0, 6).where(full)
    out["_id_tail"] = idn.str.slice(14, 18).where(full)
    # GB 11643: characters 7-14 are the birth date; use them when the record has no birth date
    birth = pd.to_datetime(out["birth_date"], errors="coerce").to_numpy(dtype="datetime64[D]")
    birth = np.where(np.isnat(birth), _id_birth(idn, full), birth)
    out["_birth"] = birth
    known = ~np.isnat(birth)
    ymd_days = np.where(known, birth, np.datetime64("1970-01-01"))
    y = ymd_days.astype("datetime64[Y]").astype(np.int64) + 1970
    mo = ymd_days.astype("datetime64[M]").astype(np.int64) % 12 + 1
    dd = (ymd_days - ymd_days.astype("datetime64[M]").astype("datetime64[D]")).astype(np.int64) + 1
    key = y * 10000 + np.minimum(mo, dd) * 100 + np.maximum(mo, dd)
    out["_dob_any"] = pd.array(np.where(known, key, 0), dtype="Int64")
    out.loc[~known, "_dob_any"] = pd.NA
    keys = pinyin_keys(out["name"])
    out["_py_full"], out["_py_surname"], out["_py_given"] = keys["full"], keys["surname"], keys["given"]
    return out


def _strings(col: pd.Series) -> pa.Array:
    """The column as Arrow strings, cut to the characters comparisons read (MAX_COMPARE_CHARS):
    normalising and reading pinyin of a 1 MB cell is what made linkage slow, not comparing it."""
    arr = pa.array(col.astype(STR), pa.string())
    return pc.utf8_slice_codeunits(arr, 0, MAX_COMPARE_CHARS) if len(arr) else arr


_NEED = ("record_id", "name", "id_number", "birth_date", "phone", "sex", "home_region")


def _checked_keys_columns(have) -> None:
    missing = [c for c in _NEED if c not in have]
    if missing:
        raise SchemaError(f"person_records: missing column(s) {', '.join(map(repr, missing))} that the person "
                          f"linkage compares; found: {', '.join(map(str, have))}")


def _checked_keys(df: pd.DataFrame) -> pd.DataFrame:
    """:func:`_keys` after checking the columns the linkage compares are there (each partition's, on Dask)."""
    _checked_keys_columns(list(df.columns))
    return _keys(df)


@tabular
def resolve_persons(person_records, *, threshold: float = 0.5, across: str | None = "source_region",
                    blocking=None, seed: int = 0, progress: bool = False, engine: str = "local", client=None,
                    **link_options) -> tuple[pa.Table, pa.Table]:
    """Link person records of the same person across regions' systems, and group them.

    Comparisons: name (exact / same pinyin with surname readings / one character differs,
    term-frequency adjusted), ID number (exact / masked match / one digit), birth date
    (exact / day-month swap / same month / within a year; taken from the ID number when the
    record has none), phone, sex, home region. Blocking:
    :data:`PERSON_BLOCKING`. Records of one ``across`` group (default: the same source
    region) are never linked to each other.

    Parameters
    ----------
    person_records : pyarrow.Table or pandas.DataFrame
        ``record_id``, ``name``, ``id_number``, ``birth_date``, ``phone``, ``sex``, ``home_region``
        (and the ``across`` column). With ``engine="dask"`` also a Dask DataFrame or the path of a
        Parquet file or partitioned folder, read by the workers.
    threshold : float, default 0.5
        Match probability at or above which a pair is a link.
    across : str or None, default "source_region"
        Records sharing this column's value are never linked (one system's own records).
    blocking : list of tuples of column names, optional
        Rules over the record columns and the derived keys (``_id_head``, ``_id_tail``, ``_dob_any``,
        ``_py_full``, ``_py_surname``, ``_py_given``); default :data:`PERSON_BLOCKING`. At a scale where
        a rule's blocks grow with the data, the pair budget (``max_pairs``) names it: pass the rules
        whose blocks do not.
    seed : int, default 0
        For the random pairs that estimate u.
    progress : bool, default False
    engine : {"local", "dask"}, default "local"
        ``"dask"``: blocking, comparison and scoring run over partitions on a Dask cluster, the
        model is fitted from their pattern counts — the same links, model and persons bit for bit
        (the module ``jinduanalytics.linkage._dask`` says how).
    client : distributed.Client, optional
        With ``engine="dask"``: the cluster (default: a local one for the call).
    **link_options
        Passed to :func:`link_records` (``max_block``, ``u_sample``, ``em_iterations``...; with
        ``engine="dask"`` also ``npartitions`` for an in-memory table).

    Returns
    -------
    (links, persons) : tuple of pyarrow.Table
        ``links`` from :func:`link_records` (explained per comparison); ``persons``:
        ``record_id``, ``person_id`` (``E<n>``), ``entity_size``.
    """
    check_choice("engine", engine, ENGINES)
    rules = PERSON_BLOCKING if blocking is None else blocking
    if engine == "dask":
        links, ids = _dask.link_records(person_records, comparisons=person_comparisons(), blocking=rules,
                                        id_column="record_id", group_column=across, threshold=threshold, seed=seed,
                                        client=client, prepare=_checked_keys, **link_options)
        ent = cluster_links(links, ids)
    else:
        have = person_records.column_names if isinstance(person_records, pa.Table) else list(person_records.columns)
        _checked_keys_columns(have)
        # sorted by record id here (in Arrow), so link_records, which works on sorted records, copies nothing
        df = (arrow_to_pandas(person_records.sort_by("record_id")) if isinstance(person_records, pa.Table)
              else person_records.sort_values("record_id", kind="stable").reset_index(drop=True))
        df = _keys(df)
        links = link_records(df, comparisons=person_comparisons(), blocking=rules, id_column="record_id",
                             group_column=across, threshold=threshold, seed=seed, progress=progress, **link_options)
        ent = cluster_links(links, df["record_id"])

    pid = pc.binary_join_element_wise(pa.scalar("E"), ent.column("entity").cast(pa.string()), "")
    persons = pa.table({"record_id": ent.column("record_id"), "person_id": pid,
                        "entity_size": ent.column("entity_size")})
    return links, persons


@tabular
def score_links(links: pa.Table, persons: pa.Table, truth: pa.Table, *, across=None) -> dict:
    """Pairwise and cluster precision / recall / F1 against ``truth`` (``record_id``, ``person_id``).

    True pairs are the pairs of records of one true person (restricted to pairs across
    ``across`` groups when given). Cluster scores use every pair of records placed in one entity.
    Pairs are counted as integer codes (no Python object per pair), so a national run's tens of
    millions of pairs score in a few gigabytes.

    Parameters
    ----------
    links : pyarrow.Table
        From :func:`resolve_persons`.
    persons : pyarrow.Table
        ``record_id``, ``person_id`` (from :func:`resolve_persons`).
    truth : pyarrow.Table
        ``record_id``, ``person_id`` of the true persons (``truth["record_person"]``).
    across : pyarrow.Table or mapping, optional
        Each record's group — a table of ``record_id`` and one group column (e.g.
        ``person_records.select(["record_id", "source_region"])``), or a mapping record_id ->
        group: only pairs across groups count. A record without a group differs from every group.
    """
    if across is not None and not isinstance(across, pa.Table):
        across = pa.table({"record_id": pa.array(list(across.keys()), truth.schema.field("record_id").type),
                           "group": pa.array([None if g is None else str(g) for g in across.values()], pa.string())})
    columns = [truth.column("record_id"), persons.column("record_id"), links.column("id_l"),
               links.column("id_r")] + ([across.column("record_id")] if across is not None else [])
    rid = truth.schema.field("record_id").type
    universe = pc.unique(pa.chunked_array([c.cast(rid) for c in columns], rid)).drop_null().cast(rid)
    n = len(universe)

    def code(col) -> np.ndarray:
        """Each value's position in ``universe`` (-1 for null)."""
        col = col.cast(universe.type)
        return pc.fill_null(pc.index_in(col, value_set=universe).cast(pa.int64()), -1).to_numpy()

    group = None
    if across is not None:
        group = np.full(n, -1, dtype=np.int64)
        g = pc.dictionary_encode(across.column(1)).combine_chunks().indices
        g = pc.fill_null(g.cast(pa.int64()), -1).to_numpy()
        group[code(across.column("record_id"))] = g

    def keyed(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Distinct unordered pairs (a, b) as one int64 each."""
        lo, hi = np.minimum(a, b), np.maximum(a, b)
        return np.unique(lo * n + hi)

    def pairs_of(table: pa.Table) -> np.ndarray:
        """Pairs of distinct records sharing a person_id (and in different groups when ``across``)."""
        rec = code(table.column("record_id"))
        person = pc.dictionary_encode(table.column("person_id")).combine_chunks().indices
        person = pc.fill_null(person.cast(pa.int64()), -1).to_numpy()
        ok = (rec >= 0) & (person >= 0)
        rec, person = rec[ok], person[ok]
        order = np.lexsort((rec, person))
        rec, person = rec[order], person[order]
        starts = np.flatnonzero(np.r_[True, person[1:] != person[:-1]])
        sizes = np.diff(np.r_[starts, len(person)])
        out = [np.empty(0, np.int64)]
        for k in np.unique(sizes[sizes >= 2]):
            members = rec[starts[sizes == k][:, None] + np.arange(k)]
            i, j = np.triu_indices(k, 1)
            a, b = members[:, i].ravel(), members[:, j].ravel()
            keep = a != b
            if group is not None:
                ga, gb = group[a], group[b]
                keep &= (ga != gb) | (ga < 0) | (gb < 0)
            out.append(keyed(a[keep], b[keep]))
        return np.unique(np.concatenate(out))

    def prf(pred: np.ndarray, true: np.ndarray) -> dict:
        tp = len(np.intersect1d(pred, true, assume_unique=True))
        p = tp / len(pred) if len(pred) else 1.0
        r = tp / len(true) if len(true) else 1.0
        return {"precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0, "tp": tp,
                "fp": len(pred) - tp, "fn": len(true) - tp}

    true = pairs_of(truth.select(["record_id", "person_id"]))
    lk = links.filter(links.column("is_link"))
    a, b = code(lk.column("id_l")), code(lk.column("id_r"))
    ok = (a >= 0) & (b >= 0)
    pred = keyed(a[ok], b[ok])
    cl = pairs_of(persons.select(["record_id", "person_id"]))
    return {"pairwise": prf(pred, true), "cluster": prf(cl, true), "true_pairs": len(true)}


@tabular
def link_calibration(links: pa.Table, truth: pa.Table, *, bins: int = 10) -> pa.Table:
    """How often pairs scored at each match probability are true matches: the model's calibration.

    A calibrated model's pairs at probability ``p`` are matches ``p`` of the time, so the threshold
    means what it says and a recall lost at ``0.5`` is ambiguity in the records, not a fit gone
    wrong. Pass the links of a run with ``keep="all"`` (every candidate pair, not only the links).

    Parameters
    ----------
    links : pyarrow.Table
        ``id_l``, ``id_r``, ``match_probability`` (from :func:`resolve_persons` or :func:`link_records`).
    truth : pyarrow.Table
        ``record_id``, ``person_id`` of the true persons, one row per record. Pairs with a record
        outside it (or without a person) are left out.
    bins : int, default 10
        Equal-width probability bins over [0, 1]; the last one includes 1.

    Returns
    -------
    pyarrow.Table
        One row per non-empty bin: ``bin_low``, ``bin_high``, ``pairs``, ``mean_probability``,
        ``match_share`` (the share of true matches).
    """
    check_int("bins", bins, minimum=1)
    for name, table, cols in (("links", links, ("id_l", "id_r", "match_probability")),
                              ("truth", truth, ("record_id", "person_id"))):
        missing = [c for c in cols if c not in table.column_names]
        if missing:
            raise SchemaError(f"{name}: missing column(s) {', '.join(missing)}; found: {', '.join(table.column_names)}")
    rid = truth.column("record_id")
    counts = pc.value_counts(rid)
    dup = pc.filter(counts.field("values"), pc.greater(counts.field("counts"), 1))
    if len(dup):
        raise SchemaError(f"truth: column 'record_id' has {len(dup)} records with more than one row "
                          f"(e.g. {dup[:3].to_pylist()})")
    person = pc.fill_null(pc.dictionary_encode(truth.column("person_id")).combine_chunks().indices.cast(pa.int64()),
                          -1).to_numpy()
    person = np.r_[person, -1]  # position -1: a record outside the truth

    def person_of(col) -> np.ndarray:
        return person[pc.fill_null(pc.index_in(col.cast(rid.type), value_set=rid).cast(pa.int64()), -1).to_numpy()]

    pl, pr = person_of(links.column("id_l")), person_of(links.column("id_r"))
    prob = pc.fill_null(links.column("match_probability").cast(pa.float64()), np.nan).to_numpy()
    ok = (pl >= 0) & (pr >= 0) & ~np.isnan(prob)
    prob, match = prob[ok], (pl == pr)[ok]
    edges = np.linspace(0.0, 1.0, bins + 1)
    b = np.clip(np.searchsorted(edges, prob, side="right") - 1, 0, bins - 1)
    n = np.bincount(b, minlength=bins)
    keep = n > 0
    return pa.table({"bin_low": edges[:-1][keep], "bin_high": edges[1:][keep], "pairs": n[keep],
                     "mean_probability": np.bincount(b, weights=prob, minlength=bins)[keep] / n[keep],
                     "match_share": np.bincount(b, weights=match, minlength=bins)[keep] / n[keep]})
