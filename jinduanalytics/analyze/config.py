"""The parameters of one analysis run, in one place: defaults, a TOML file, the manifest.

``jindu analyze --print-config`` prints :data:`DEFAULTS` as TOML; ``--config FILE`` reads a TOML
file (any subset of the keys) or an earlier run's ``manifest.json`` (its ``config``), so a run
can be repeated exactly from its output folder. The resolved configuration is written into every
manifest.
"""

from __future__ import annotations

import copy
import json
import tomllib
from pathlib import Path

from ..errors import ParameterError

__all__ = ["DEFAULTS", "resolve_config", "load_config", "config_toml"]

#: Every parameter ``jindu analyze`` uses, by section.
DEFAULTS: dict = {
    "seed": 7,
    # the campaign period analysed: dated rows outside it are not evidence ("" = open side)
    "window": {"from": "", "to": ""},
    "clusters": {"density": 2e-4, "n_runs": 5, "rarity": "newman", "max_cases": "auto"},
    "trace": {"top": 5, "contact_weight": 1.0, "cluster_weight": 0.1, "money_weight": 1.0},
    # max_pairs: the blocking's pair budget (linkage.link.MAX_PAIRS); over it the report says why linkage did not run
    "linkage": {"threshold": 0.5, "across": "source_region", "max_pairs": 100_000_000},
    "region_pairs": {"z_threshold": 3.0, "two_way_min_share": 0.1, "robust": True},
    "checkpoints": {"k": 5, "kind": "leg", "detour": 0.25},
    "channels": {"period": "month", "alpha": 0.05, "window_days": 365, "max_hops": 3},
    # track_clusters clusters every period again; 2 consensus runs per period (the main clustering has 5)
    "trends": {"period": "quarter", "alpha": 0.01, "track_clusters": True, "n_runs": 2},
    # region levels per quarter, like the trends (their indicators are then computed once)
    "monitoring": {"period": "quarter", "loq_rule": "loq_sqrt2", "biomarker": "methamphetamine"},
    # 毒资: tracing (a hop within max_delay_days carrying >= 1 - tolerance of what arrived) and typologies
    "money": {"max_delay_days": 30, "tolerance": 0.1, "typologies": True, "pass_through_days": 5},
}


def resolve_config(overrides: dict | None = None, *, source: str = "config") -> dict:
    """:data:`DEFAULTS` with ``overrides`` laid over them, section by section.

    Parameters
    ----------
    overrides : dict, optional
        Any subset of the keys of :data:`DEFAULTS`.
    source : str
        Where the overrides come from, for error messages.

    Returns
    -------
    dict

    Raises
    ------
    ParameterError
        An unknown section or key, or a value of the wrong type (naming it and the known ones).
    """
    cfg = copy.deepcopy(DEFAULTS)
    for key, value in (overrides or {}).items():
        if key not in DEFAULTS:
            raise ParameterError(f"{source}: unknown setting {key!r}; known: {', '.join(DEFAULTS)}")
        if isinstance(DEFAULTS[key], dict):
            if not isinstance(value, dict):
                raise ParameterError(f"{source}: [{key}] must be a table of settings; got {value!r}")
            for sub, v in value.items():
                if sub not in DEFAULTS[key]:
                    raise ParameterError(f"{source}: unknown setting {key}.{sub}; known in [{key}]: "
                                         f"{', '.join(DEFAULTS[key])}")
                cfg[key][sub] = _typed(f"{key}.{sub}", v, DEFAULTS[key][sub], source)
        else:
            cfg[key] = _typed(key, value, DEFAULTS[key], source)
    return cfg


def _typed(name: str, value, default, source: str):
    ok = (isinstance(value, bool) if isinstance(default, bool) else
          isinstance(value, (int, float)) and not isinstance(value, bool) if isinstance(default, float) else
          isinstance(value, int) and not isinstance(value, bool) if isinstance(default, int) else
          isinstance(value, (str, int)) if name == "clusters.max_cases" else isinstance(value, str))
    if not ok:
        raise ParameterError(f"{source}: {name} = {value!r} has the wrong type; expected a "
                             f"{type(default).__name__} like {default!r}")
    return float(value) if isinstance(default, float) else value


def load_config(path) -> dict:
    """The resolved configuration from a TOML file, or from an earlier run's ``manifest.json``.

    Parameters
    ----------
    path : str or pathlib.Path

    Returns
    -------
    dict
    """
    path = Path(path)
    if not path.is_file():
        raise ParameterError(f"config file not found: {path}")
    try:
        if path.suffix == ".json":
            raw = json.loads(path.read_text(encoding="utf-8"))
            if "config" not in raw:
                raise ParameterError(f"{path}: no 'config' in this JSON file (pass a TOML file or a manifest.json)")
            raw = raw["config"]
        else:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ParameterError(f"{path}: not valid TOML/JSON ({exc})") from None
    return resolve_config(raw, source=str(path))


def config_toml(cfg: dict) -> str:
    """A configuration as TOML text (what ``--print-config`` prints).

    Parameters
    ----------
    cfg : dict

    Returns
    -------
    str
    """
    def value(v):
        return json.dumps(v) if not isinstance(v, bool) else ("true" if v else "false")

    lines = ["# jindu analyze configuration; every key is optional (defaults shown)"]
    lines += [f"{k} = {value(v)}" for k, v in cfg.items() if not isinstance(v, dict)]
    for section, values in cfg.items():
        if isinstance(values, dict):
            lines += ["", f"[{section}]"] + [f"{k} = {value(v)}" for k, v in values.items()]
    return "\n".join(lines) + "\n"
