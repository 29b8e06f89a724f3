"""Beibu Gulf rim reference data: the regions table shipped with the package."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from importlib import resources

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from .tables import as_table, get_table
from .validate import validate_table

__all__ = ["beibu_regions", "regions_table", "haversine_km", "BEIBU_CITIES", "ORIGINS", "STRAIT_CROSSING"]

#: The rim cities where cases happen (Guangdong, Guangxi, Hainan).
BEIBU_CITIES = ("GD-ZJ", "GD-MM", "GD-YJ", "GX-NN", "GX-BH", "GX-QZ", "GX-FCG", "GX-YL", "GX-CZ",
                "HI-HK", "HI-DZ", "HI-DF", "HI-SY", "HI-QH")
#: Outside origins: the Yunnan border, the Pearl River Delta and the Vietnam crossings.
ORIGINS = ("YN-RL", "GD-GZ", "GD-SZ", "GX-DX", "GX-PX")
#: The 琼州海峡 crossing between the mainland and Hainan: 徐闻 -> 海口 by sea.
STRAIT_CROSSING = ("GD-XW", "HI-HK")


@lru_cache(maxsize=1)
def _regions() -> pa.Table:
    with resources.files("jinduanalytics.data").joinpath("regions.csv").open("rb") as f:
        raw = pacsv.read_csv(f, convert_options=pacsv.ConvertOptions(
            column_types={"region_id": pa.string(), "parent_id": pa.string()}, strings_can_be_null=True))
    return validate_table(raw, "regions").table


def beibu_regions() -> pa.Table:
    """The canonical ``regions`` table of the Beibu Gulf rim (real coordinates, WGS84).

    Provinces, the rim cities of Guangdong (湛江, 茂名, 阳江), Guangxi (南宁, 北海, 钦州,
    防城港, 玉林, 崇左) and Hainan (海口, 儋州, 东方, 三亚, 琼海), the 徐闻 county at the
    strait, and outside origins (瑞丽 on the Yunnan border, 广州/深圳 in the Pearl River
    Delta, the Vietnam crossings at 东兴 and 凭祥).
    """
    return _regions()


def regions_table(data=None) -> pa.Table:
    """A dataset's ``regions`` table, or the shipped Beibu Gulf one (:func:`beibu_regions`)
    when it has none: the one fallback every analysis that needs coordinates or names uses.

    Parameters
    ----------
    data : Dataset, mapping of tables, a regions table (Arrow or pandas), or None

    Returns
    -------
    pyarrow.Table
    """
    if data is None:
        return beibu_regions()
    if isinstance(data, Mapping):
        found = get_table(data, "regions", required=False)
        return found if found is not None else beibu_regions()
    return as_table(data, "regions")


def haversine_km(lon1, lat1, lon2, lat2):
    """Great-circle distance in km (scalars or arrays, degrees; Earth radius 6371 km).

    Parameters
    ----------
    lon1, lat1, lon2, lat2 : float or numpy array
        Degrees (WGS84).
    """
    p1, p2 = np.radians(lat1), np.radians(lat2)
    h = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(np.radians(np.subtract(lon2, lon1)) / 2) ** 2
    return 2 * 6371.0 * np.arcsin(np.sqrt(h))
