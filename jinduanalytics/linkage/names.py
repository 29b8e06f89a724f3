"""Name keys that survive homophone substitutions: pinyin with surname readings.

Default pinyin reads the common surnames 曾, 区, 覃, 单 ... with their everyday readings
(ceng, qu, tan, dan); as surnames they are zeng, ou, qin, shan. The first character of a
name is read with :data:`SURNAME_READINGS` when it is listed there.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd

#: pandas string dtype backed by Arrow: its .str methods run in Arrow compute kernels
STR = "string[pyarrow]"

__all__ = ["SURNAME_READINGS", "name_pinyin", "surname_pinyin", "given_pinyin", "pinyin_keys"]

#: Surname readings of polyphonic characters (first character of a name).
SURNAME_READINGS = {
    "曾": "zeng", "区": "ou", "覃": "qin", "单": "shan", "解": "xie", "仇": "qiu", "朴": "piao", "查": "zha",
    "盖": "ge", "乐": "yue", "尉": "yu", "缪": "miao", "翟": "zhai", "员": "yun", "召": "shao", "繁": "po",
    "万俟": "moqi", "长孙": "zhangsun", "尉迟": "yuchi", "冼": "xian", "秘": "bi", "折": "she", "种": "chong",
    "过": "guo", "华": "hua", "任": "ren", "宁": "ning", "相": "xiang", "沈": "shen", "蕃": "pi", "句": "gou",
    "隗": "wei", "祭": "zhai", "都": "du", "阚": "kan", "能": "nai", "那": "na", "牟": "mou",
}


@lru_cache(maxsize=65536)
def _char(ch: str) -> str:
    from pypinyin import Style, lazy_pinyin

    out = lazy_pinyin(ch, style=Style.NORMAL, errors="default")
    return out[0] if out else ch


def _split(name: str) -> tuple[str, str]:
    if len(name) >= 3 and name[:2] in SURNAME_READINGS:
        return name[:2], name[2:]
    return name[:1], name[1:]


def _surname(s: str) -> str:
    return SURNAME_READINGS.get(s) or "".join(_char(c) for c in s)


def _given(g: str) -> str:
    return " ".join(_char(c) for c in g)


def _apply(names: pd.Series, fn) -> pd.Series:
    s = names.astype(STR)
    uniq = pd.unique(s.dropna())
    table = {n: fn(n) for n in uniq}
    return s.map(table).astype(STR)


def pinyin_keys(names: pd.Series) -> pd.DataFrame:
    """Full, surname and given-name pinyin in one pass over the distinct names.

    Parameters
    ----------
    names : pandas.Series of str
    """
    s = names.astype(STR)
    uniq = pd.unique(s.dropna())
    parts = [_split(n) for n in uniq]
    sur = [_surname(a) for a, _ in parts]
    giv = [_given(b) for _, b in parts]
    full = [" ".join(p for p in (x, y) if p) for x, y in zip(sur, giv)]
    idx = pd.Index(uniq)
    pos = idx.get_indexer(s)
    out = {}
    for name, vals in (("full", full), ("surname", sur), ("given", giv)):
        arr = pd.array(vals + [None], dtype=STR)
        out[name] = pd.Series(arr.take(np.where(pos < 0, len(vals), pos)), index=names.index)
    return pd.DataFrame(out)


def name_pinyin(names: pd.Series) -> pd.Series:
    """Full-name pinyin without tones, surname reading first: 曾伟 -> ``zeng wei``.

    Parameters
    ----------
    names : pandas.Series of str
    """
    return _apply(names, lambda n: " ".join(p for p in (_surname(_split(n)[0]), _given(_split(n)[1])) if p))


def surname_pinyin(names: pd.Series) -> pd.Series:
    """Surname pinyin: 单 -> ``shan``.

    Parameters
    ----------
    names : pandas.Series of str
    """
    return _apply(names, lambda n: _surname(_split(n)[0]))


def given_pinyin(names: pd.Series) -> pd.Series:
    """Given-name pinyin: 曾伟华 -> ``wei hua``.

    Parameters
    ----------
    names : pandas.Series of str
    """
    return _apply(names, lambda n: _given(_split(n)[1]))
