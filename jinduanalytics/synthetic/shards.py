"""Presets too big for one process's memory, written shard by shard (the ``national`` tier).

A sharded dataset is ``ceil(n_networks / shard_networks)`` independent generator runs of at most
``shard_networks`` networks each, every one with its own seed drawn from ``(seed, shard)``, written
as one partition ``shard=NNNNN`` of every table (:func:`jinduanalytics.io.write_dataset` with
``partition``); only one shard is in memory at a time. Identifiers are made unique across shards:
letter-prefixed ids (``C…``, ``R…``, ``P…``, ``ADDR…``, ``HUB…``…) get the shard number after their
letters (``C000000123`` -> ``C012000000123``), the generator's ``104…`` phone numbers get a shard-specific
second and third digit (``104xxxxxxxx`` -> ``1`` + ``10 + shard`` + ``xxxxxxxx``; at most 90 shards),
truth's ``network`` numbers are offset by ``shard * shard_networks``. Shards share no persons,
phones or accounts: a sharded preset plants no ties across shards (each shard is a rim of its own);
the regions table is written once.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .._progress import stages
from ..errors import ParameterError
from ..io import Dataset, write_dataset
from .generator import SyntheticConfig, generate, preset_config

__all__ = ["SHARD_NETWORKS", "generate_sharded"]

#: Networks per shard of a sharded preset (about 1.5 GB of tables in memory while one is built).
SHARD_NETWORKS = 5_000
_MAX_SHARDS = 90  # phone numbers carry the shard in two digits (10..99)
_SHARED = ("regions", "checkpoints")  # reference tables (regions and their checkpoint sites): written once


def shard_seed(seed: int, shard: int) -> int:
    """The generator seed of one shard (independent streams for every shard of a seed).

    Parameters
    ----------
    seed, shard : int
    """
    return int(np.random.SeedSequence([int(seed), int(shard)]).generate_state(1, dtype=np.uint32)[0])


def _unique_ids(table: pa.Table, shard: int, shard_networks: int, truth: bool) -> pa.Table:
    """Make a shard's identifiers unique across shards (see the module docstring)."""
    cols = []
    for name, col in zip(table.column_names, table.columns):
        if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
            col = pc.replace_substring_regex(col, r"^([A-Z]+)(\d+)$", rf"\1{shard:03d}\2")
            col = pc.replace_substring_regex(col, r"^104(\d{8})$", rf"1{10 + shard:02d}\1")
        elif truth and name in ("network", "fed_network") and pa.types.is_integer(col.type):
            col = pc.if_else(pc.greater_equal(col, 0), pc.add(col, shard * shard_networks), col)
        cols.append(col)
    return pa.table(cols, names=table.column_names)


def generate_sharded(preset: str | SyntheticConfig, out, *, seed: int | None = None,
                     shard_networks: int = SHARD_NETWORKS, progress: bool = False, **overrides) -> dict:
    """Generate a preset shard by shard into the dataset folder ``out`` (partitioned by ``shard``).

    Parameters
    ----------
    preset : str or SyntheticConfig
        A preset name (``"national"``) or a configuration.
    out : str or pathlib.Path
        The folder to write into (it must exist and be empty, e.g. a temporary folder that is then
        moved into place).
    seed : int, optional
        Default: the configuration's.
    shard_networks : int
        Networks per shard.
    progress : bool
    **overrides
        Any field of :class:`SyntheticConfig`.

    Returns
    -------
    dict
        ``shards``, ``n_networks``, ``shard_networks``, ``seed`` and per table its rows.
    """
    cfg = preset if isinstance(preset, SyntheticConfig) else preset_config(preset)
    cfg = cfg.replace(**overrides) if overrides else cfg
    seed = cfg.seed if seed is None else int(seed)
    if not isinstance(shard_networks, (int, np.integer)) or shard_networks < 1:
        raise ParameterError(f"shard_networks must be an integer >= 1; got {shard_networks!r}")
    n_shards = math.ceil(cfg.n_networks / shard_networks)
    if n_shards > _MAX_SHARDS:
        raise ParameterError(f"{cfg.n_networks} networks in shards of {shard_networks} make {n_shards} shards; "
                             f"at most {_MAX_SHARDS}: raise shard_networks")
    out = Path(out)
    rows: dict[str, int] = {}
    with stages([f"shard {i}" for i in range(n_shards)], enabled=progress, desc="generate shards") as step:
        for i in range(n_shards):
            step(f"shard {i}")
            n = min(shard_networks, cfg.n_networks - i * shard_networks)
            ds = generate(cfg.replace(n_networks=n, seed=shard_seed(seed, i)))
            part = Dataset(tables={k: _unique_ids(t, i, shard_networks, False) for k, t in ds.tables.items()
                                   if k not in _SHARED},
                           truth={k: _unique_ids(t, i, shard_networks, True) for k, t in ds.truth.items()})
            write_dataset(part, out, partition=f"shard={i:05d}")
            if i == 0:
                write_dataset({k: ds.tables[k] for k in _SHARED if k in ds.tables}, out)
            for k, t in ds.tables.items():
                if k not in _SHARED or i == 0:
                    rows[k] = rows.get(k, 0) + t.num_rows
            del ds, part
    info = {"shards": n_shards, "n_networks": cfg.n_networks, "shard_networks": shard_networks, "seed": seed,
            "rows": rows}
    (out / "shards.json").write_text(json.dumps(info, indent=2), encoding="utf-8")
    return info
