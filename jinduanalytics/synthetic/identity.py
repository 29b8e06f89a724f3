"""Synthetic identities and the noise regions' systems add to them (vectorised).

Synthetic identifiers can never be real ones:

* ID numbers start with the address prefix ``99`` (no real province code is 99), keep the
  GB 11643-1999 layout (6-digit address, 8-digit birth date, 3-digit sequence, check digit)
  and a valid check digit, so checksum-based comparisons still work;
* phones start with ``104`` (no Chinese mobile number begins with 10);
* accounts start with ``9990`` and are 16 digits.
"""

from __future__ import annotations

import numpy as np

# Surnames with rough frequency weights; 曾, 区, 覃, 单, 冼, 莫 are common in the rim and
# have surname readings default pinyin gets wrong.
SURNAMES = ("陈 李 黄 张 梁 林 刘 吴 罗 杨 王 周 郑 何 谢 莫 覃 韦 蒙 农 曾 区 单 冼 邓 潘 冯 钟 蔡 符 吉 羊").split()
_SURNAME_W = np.array([9, 8, 8, 6, 5, 5, 5, 4, 4, 4, 4, 3, 3, 3, 3, 2, 3, 3, 2, 2, 2, 1, 1, 1, 2, 2, 2, 2, 2, 2, 1, 1],
                      dtype=float)
GIVEN = list("伟明华丽军强杰芳静刚勇敏平志红玲海涛斌燕婷辉健俊峰磊波超宇鹏浩欣文晓建国春秀英桂兰金成龙")

#: Homophone groups (same Mandarin reading, often confused when a name is taken down by
#: ear) and look-alike pairs (confused when copied from a document).
HOMOPHONES = [
    "伟玮炜韦", "明鸣铭", "华桦骅", "丽莉俐", "军君钧", "杰洁捷", "芳方舫", "静菁晶", "刚钢纲", "勇永咏",
    "敏闽", "平萍苹", "志智治", "红宏鸿", "玲龄铃", "海亥", "涛滔韬", "斌彬滨", "燕艳雁", "婷亭廷", "辉晖徽",
    "健建剑", "俊骏峻", "峰锋丰", "磊蕾", "波博", "超潮", "宇雨羽", "鹏朋", "浩昊皓", "欣新鑫", "文雯",
    "晓小筱", "国帼", "春椿", "秀绣", "英莺瑛", "桂贵", "兰岚蓝", "金锦", "成诚程", "龙隆",
    "张章", "王汪", "李黎", "林琳", "刘柳", "吴伍", "杨扬", "周舟", "郑正", "何贺", "谢解", "莫漠",
    "覃秦", "韦伟", "邓登", "潘攀", "冯逢", "钟忠", "蔡菜", "符扶", "陈晨",
]
LOOKALIKES = ["己已巳", "未末", "士土", "日曰", "戊戌", "候侯", "祖租", "浩洁", "冼洗", "区匹", "单茸"]

_CONFUSABLE: dict[str, list[str]] = {}
for group in HOMOPHONES + LOOKALIKES:
    for ch in group:
        _CONFUSABLE.setdefault(ch, [])
        _CONFUSABLE[ch] += [c for c in group if c != ch and c not in _CONFUSABLE[ch]]

_ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
_ID_CHECK = np.array(list("10X98765432"))


def random_names(rng: np.random.Generator, n: int) -> np.ndarray:
    """n Chinese names: a weighted surname and one or two given-name characters."""
    s = rng.choice(len(SURNAMES), size=n, p=_SURNAME_W / _SURNAME_W.sum())
    g1 = rng.integers(0, len(GIVEN), n)
    g2 = rng.integers(0, len(GIVEN), n)
    two = rng.random(n) < 0.7
    sur = np.asarray(SURNAMES, dtype=object)[s]
    giv = np.asarray(GIVEN, dtype=object)
    names = sur + giv[g1] + np.where(two, giv[g2], "")
    return names.astype(object)


def confuse_names(rng: np.random.Generator, names: np.ndarray, rate: float) -> np.ndarray:
    """Replace one confusable character (homophone or look-alike) in a share ``rate`` of names."""
    out = names.copy()
    pick = np.flatnonzero(rng.random(names.shape[0]) < rate)
    draws = rng.random((pick.size, 2))
    for j, i in enumerate(pick):  # only the noisy share, a few percent of rows
        name = out[i]
        positions = [k for k, ch in enumerate(name) if ch in _CONFUSABLE]
        if not positions:
            continue
        k = positions[int(draws[j, 0] * len(positions))]
        alts = _CONFUSABLE[name[k]]
        out[i] = name[:k] + alts[int(draws[j, 1] * len(alts))] + name[k + 1:]
    return out


def id_check_digit(first17: np.ndarray) -> np.ndarray:
    """Check digits for an (n, 17) int array of ID-number digits (GB 11643-1999)."""
    return _ID_CHECK[(first17 @ _ID_WEIGHTS) % 11]


def id_numbers(rng: np.random.Generator, region_code: np.ndarray, birth: np.ndarray, sex_male: np.ndarray) -> np.ndarray:
    """18-character synthetic ID numbers: ``99`` + 4-digit region code + YYYYMMDD + seq + check."""
    n = region_code.shape[0]
    digits = np.zeros((n, 17), dtype=np.int64)
    digits[:, 0] = 9
    digits[:, 1] = 9
    rc = region_code.astype(np.int64)
    for k in range(4):
        digits[:, 5 - k] = (rc // 10**k) % 10
    days = birth.astype("datetime64[D]")
    y = days.astype("datetime64[Y]").astype(int) + 1970
    m = days.astype("datetime64[M]").astype(int) % 12 + 1
    d = (days - days.astype("datetime64[M]")).astype(int) + 1
    ymd = y * 10000 + m * 100 + d
    for k in range(8):
        digits[:, 13 - k] = (ymd // 10**k) % 10
    seq = rng.integers(0, 500, n) * 2 + np.where(sex_male, 1, 0)  # odd = male
    for k in range(3):
        digits[:, 16 - k] = (seq // 10**k) % 10
    chars = digits.astype("U1")
    full = np.concatenate([chars, id_check_digit(digits)[:, None]], axis=1)
    return full.view("U18").ravel().astype(object)


def mistype_digit(rng: np.random.Generator, ids: np.ndarray) -> np.ndarray:
    """Change one of the 17 leading digits (the check digit then no longer matches)."""
    arr = ids.astype("U18").view("U1").reshape(-1, 18).copy()
    pos = rng.integers(6, 17, arr.shape[0])
    rows = np.arange(arr.shape[0])
    old = arr[rows, pos].astype(int)
    new = (old + rng.integers(1, 10, arr.shape[0])) % 10
    arr[rows, pos] = new.astype("U1")
    return arr.view("U18").ravel().astype(object)


def mask_ids(ids: np.ndarray) -> np.ndarray:
    """Mask the birth date as many systems print it: ``990102********123X``."""
    arr = ids.astype("U18").view("U1").reshape(-1, 18).copy()
    arr[:, 6:14] = "*"
    return arr.view("U18").ravel().astype(object)


def _distinct_ints(rng: np.random.Generator, high: int, n: int) -> np.ndarray:
    """n distinct integers in [0, high), in random order (vectorised)."""
    nums = np.unique(rng.integers(0, high, int(n * 1.05) + 16))
    while nums.shape[0] < n:
        nums = np.unique(np.concatenate([nums, rng.integers(0, high, n)]))
    return rng.permutation(nums)[:n]


def phones(rng: np.random.Generator, n: int) -> np.ndarray:
    """n distinct synthetic phone numbers, ``104`` + 8 digits."""
    nums = _distinct_ints(rng, 10**8, n)
    return np.char.add("104", np.char.zfill(nums.astype("U8"), 8)).astype(object)


def accounts(rng: np.random.Generator, n: int) -> np.ndarray:
    """n distinct synthetic account numbers, ``9990`` + 12 digits."""
    nums = _distinct_ints(rng, 10**12, n)
    return np.char.add("9990", np.char.zfill(nums.astype("U12"), 12)).astype(object)
