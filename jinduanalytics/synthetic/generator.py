"""Seeded generator of Beibu Gulf rim datasets with planted truth.

The model (every number is a :class:`SyntheticConfig` field):

* **Supply networks** are hierarchies supplier -> wholesalers (1-3) -> retail sellers
  (零包, ``1 + Poisson(sellers_mean - 1)``) -> buyers/users (``Poisson(buyers_per_seller)``
  per seller), plus 0-2 couriers. A network lives in one rim city; a share
  ``cross_province_share`` also operates in a city of another province, and a share
  ``two_way_share`` of those moves goods both ways (双向). Goods enter from an outside
  origin (瑞丽, 东兴, 凭祥, 广州, 深圳).
* **Cases** over ``start``..``end``: user cases (one per buyer, sometimes two; grams),
  retail sale cases of sellers with some of their buyers, wholesale/transport cases of
  wholesalers with couriers (hundreds of grams), and the supplier's case when caught.
  ``background_share`` of all cases belong to no network.
* **Entities** found in a case point upstream: a user's seized handset holds the seller's
  burner phone, a retail case the wholesaler's phone and parcel-sender id, and so on; each
  is found with its own probability times ``1 - entity_missing``. Noise: hub entities
  (hotels, courier depots, payment merchants; ``hubs_per_region``) touched by a share
  ``hub_rate`` of all cases, and recycled burner phones shared between two networks
  (``recycled_burner_share`` of sellers).
* **Person records**: each region keeps its own record of the people in its cases (and
  of its registered users, ``registry_per_case`` per case). A person recorded in several
  regions gets identity noise in every record but the first: a homophone or look-alike
  character in the name, an ID number missing, masked or with one mistyped digit, the day
  and month of birth swapped, a changed or missing phone.
* **Contacts** run along the chain (buyer -> seller burner, seller -> wholesaler ...),
  **transactions** move money up the chain with layering through mule accounts, **flows**
  move goods origin -> home city (-> second city) by road/rail/post, crossing the
  琼州海峡 徐闻 -> 海口 by sea to reach Hainan; **checkpoints** sit in every city.

Truth tables: ``record_person``, ``persons`` (network, role, upstream person),
``case_network``, ``networks``, ``region_links`` (planted cross-region pairs) and
``noise_entities``.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .._checks import check_choice
from .._progress import stages
from ..errors import ParameterError
from ..io import Dataset, dataset_from_tables
from ..regions import BEIBU_CITIES, beibu_regions
from . import identity as idt
from .channels import add_channels
from .fugitives import add_fugitives
from .money import BUYER_ACCOUNT_SEEN, OWN_ACCOUNT_SEEN, money
from .shipping import legs as _legs
from .wastewater import _plant_samples

__all__ = ["SyntheticConfig", "PRESETS", "generate", "preset_config"]

# Rough population weights of the rim cities, in BEIBU_CITIES order.
_CITY_WEIGHT = np.array([2.5, 2.2, 1.4, 3.5, 1.0, 1.4, 0.6, 2.2, 1.1, 1.6, 0.9, 0.5, 0.8, 0.5])
_ORIGINS_BY_PROVINCE = {  # origin region, weight
    "广东": (("GD-GZ", 3), ("GD-SZ", 2), ("YN-RL", 1), ("GX-DX", 1)),
    "广西": (("GX-PX", 3), ("GX-DX", 3), ("YN-RL", 2), ("GD-GZ", 1)),
    "海南": (("GD-GZ", 3), ("GD-SZ", 2), ("GX-DX", 1)),
}
_DRUGS = np.array(["冰毒", "海洛因", "氯胺酮", "摇头丸"])
_DRUG_P = np.array([0.6, 0.2, 0.15, 0.05])
_ROLE_NAMES = np.array(["supplier", "wholesaler", "courier", "seller", "buyer", "user"])
SUPPLIER, WHOLESALER, COURIER, SELLER, BUYER, UNAFFILIATED = range(6)


@dataclass(frozen=True)
class SyntheticConfig:
    """Every parameter of the generator (see the module docstring for the model).

    Attributes
    ----------
    n_networks, seed, start, end
        How many planted supply networks; the seed; the dates cases fall between.
    sellers_mean, buyers_per_seller, cases_per_buyer, retail_cases_per_seller, wholesale_cases_per_wholesaler
        Network shape: sellers per network, buyers per seller, cases per person.
    supplier_caught, cross_province_share, two_way_share, background_share
        How often a network's supplier is caught, how many networks cross provinces or trade both
        ways, the share of background (unplanted) cases.
    entity_missing, hubs_per_region, hub_rate, recycled_burner_share
        Entities and noise: missing entities, hub entities per region and how often they appear,
        burner phones recycled across networks.
    registry_per_case, registry_multi_region, home_record, name_confusion
        Person records: records per case, multi-region registrations, a record in the home
        region, name confusions.
    id_missing, id_masked, id_mistyped, dob_swapped, dob_missing, phone_changed, phone_missing, noise_contacts_per_person
        Identity noise: missing, masked and mistyped ID numbers, swapped and missing birth dates,
        changed and missing phones; contacts outside the networks per person.
    online_networks, precursor_chains, courier_outlets, legit_parcels_per_drug_parcel
        The online, precursor and 寄递 channels (``synthetic/channels.py``): how many online networks and
        precursor diversion chains, how many courier outlets (0: no ``parcels`` table), and the
        legitimate parcels hiding each drug parcel.
    lifecycle_networks
        Networks living through planted births, growth, contraction, splits, merges and arrests
        (``synthetic/channels.py``; truth ``lifecycle_events``).
    trend_breaks
        Regions whose case counts shift up from a planted quarter on (truth ``trend_breaks``).
    relapse_users
        Users with a planted latent relapse risk (truth ``person_relapse``).
    wastewater_plants
        Wastewater plants sampled over the last three years (``synthetic/wastewater.py``; truth
        ``wastewater_use``, ``wastewater_surges``).
    money_background
        0: a few transfers up each chain. Above 0: the networks' money month by month (layering,
        structuring, scatter-gather, collection and cash-out, cycles; ``synthetic/money.py``) among
        this many ordinary transfers per drug transfer (truth ``money_accounts``,
        ``money_typologies``), and buyers' own accounts in their user cases.
    fugitives
        Planted fugitives (拔钉追逃; ``synthetic/fugitives.py``): network members who fled, with their
        hiding region and helpers (truth ``fugitives``, ``fugitive_contacts``).
    """

    n_networks: int = 25
    seed: int = 7
    start: _dt.date = _dt.date(2021, 1, 1)
    end: _dt.date = _dt.date(2025, 12, 31)
    # network shape
    sellers_mean: float = 4.0
    buyers_per_seller: float = 4.0
    cases_per_buyer: float = 1.2
    retail_cases_per_seller: float = 2.5
    wholesale_cases_per_wholesaler: float = 1.0
    supplier_caught: float = 0.6
    cross_province_share: float = 0.2
    two_way_share: float = 0.3
    background_share: float = 0.35
    # entities and noise
    entity_missing: float = 0.15
    hubs_per_region: int = 3
    hub_rate: float = 0.15
    recycled_burner_share: float = 0.03
    # person records and identity noise
    registry_per_case: float = 2.3
    registry_multi_region: float = 0.05
    home_record: float = 0.5
    name_confusion: float = 0.15
    id_missing: float = 0.25
    id_masked: float = 0.2
    id_mistyped: float = 0.03
    dob_swapped: float = 0.05
    dob_missing: float = 0.1
    phone_changed: float = 0.3
    phone_missing: float = 0.15
    noise_contacts_per_person: float = 0.3
    # channels beyond the street networks (see .channels): 0 adds nothing
    online_networks: int = 0
    precursor_chains: int = 0
    courier_outlets: int = 0
    legit_parcels_per_drug_parcel: float = 50.0
    lifecycle_networks: int = 0
    trend_breaks: int = 0
    wastewater_plants: int = 0
    relapse_users: int = 0
    money_background: float = 0.0
    fugitives: int = 0

    def replace(self, **changes) -> SyntheticConfig:
        names = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(changes) - names)
        if unknown:
            raise ParameterError(f"unknown generator parameters {unknown}; known: {', '.join(sorted(names))}")
        return dataclasses.replace(self, **changes)


#: Presets by scale tier (DESIGN.md section 4); cases are approximate.
PRESETS = {
    "county": dict(n_networks=20),  # ~1k cases, ~3.5k person records
    "city": dict(n_networks=200),  # ~10k cases
    # the city plus online networks, precursor chains and ~60k parcels (issue 24's channels)
    "channels": dict(n_networks=200, online_networks=40, precursor_chains=30, courier_outlets=300),
    # the city plus networks with planted lifecycles and regions with planted trend breaks (issue 25)
    "timeline": dict(n_networks=200, lifecycle_networks=30, trend_breaks=5),
    # the city plus 24 wastewater plants sampled over three years (issue 27)
    "monitoring": dict(n_networks=200, wastewater_plants=24, relapse_users=1500),
    # the city with its money: the networks' proceeds month by month among 10x ordinary transfers (issue 26)
    "money": dict(n_networks=200, money_background=10.0),
    # the city plus 150 planted fugitives, their hiding regions and helpers (issue 28)
    "fugitives": dict(n_networks=200, fugitives=150),
    "beibu": dict(n_networks=6200),  # ~300k cases, ~1M person records
    "national": dict(n_networks=200_000),  # ~10M cases (for a distributed engine)
}


#: Above this many networks :func:`generate` refuses (tens of GB); :func:`~.shards.generate_sharded` writes shards.
MAX_IN_MEMORY_NETWORKS = 50_000


def preset_config(preset: str = "county", **overrides) -> SyntheticConfig:
    """The :class:`SyntheticConfig` of a preset, with any field overridden.

    Parameters
    ----------
    preset : {"county", "city", "channels", "timeline", "monitoring", "money", "fugitives", "beibu", "national"}
    **overrides
        Any field of :class:`SyntheticConfig`.
    """
    check_choice("preset", preset, tuple(PRESETS))
    return SyntheticConfig().replace(**{**PRESETS[preset], **overrides})


# ----------------------------------------------------------------------------- helpers


def _pick_within(rng, group: np.ndarray, offset: np.ndarray, count: np.ndarray) -> np.ndarray:
    """For each item in ``group``, a random member index of that group (count must be > 0)."""
    return offset[group] + np.floor(rng.random(group.shape[0]) * count[group]).astype(np.int64)


def _positions(values: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Index of every value in ``keys`` (vectorised; every value must be a key)."""
    return pc.index_in(pa.array(values.astype(str)), value_set=pa.array(keys.astype(str))).to_numpy()


def _offsets(count: np.ndarray) -> np.ndarray:
    out = np.zeros(count.shape[0], dtype=np.int64)
    np.cumsum(count[:-1], out=out[1:])
    return out


def _dates_in(rng, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Uniform day offsets in [lo, hi] (int arrays)."""
    return lo + np.floor(rng.random(lo.shape[0]) * (hi - lo + 1)).astype(np.int64)


def _validate_config(cfg: SyntheticConfig) -> None:
    if not (cfg.money_background >= 0 and np.isfinite(cfg.money_background)):
        raise ParameterError(f"money_background must be a finite number >= 0; got {cfg.money_background!r}.")
    if cfg.n_networks < 1:
        raise ParameterError(f"n_networks must be >= 1; got {cfg.n_networks!r}.")
    if not cfg.start < cfg.end or cfg.end > _dt.date.today():
        raise ParameterError(f"start must be before end and end not in the future; got {cfg.start}..{cfg.end}.")
    for f in dataclasses.fields(cfg):
        v = getattr(cfg, f.name)
        if isinstance(v, float) and (not np.isfinite(v) or v < 0):
            raise ParameterError(f"{f.name} must be a finite number >= 0; got {v!r}.")
    for name in ("supplier_caught", "cross_province_share", "two_way_share", "entity_missing", "hub_rate",
                 "recycled_burner_share", "registry_multi_region", "home_record", "name_confusion", "id_missing",
                 "id_masked", "id_mistyped", "dob_swapped", "dob_missing", "phone_changed", "phone_missing"):
        v = getattr(cfg, name)
        if v > 1:
            raise ParameterError(f"{name} is a probability and must be <= 1; got {v!r}.")
    if cfg.id_missing + cfg.id_masked + cfg.id_mistyped > 1:
        raise ParameterError("id_missing + id_masked + id_mistyped must be <= 1")
    for name in ("online_networks", "precursor_chains", "courier_outlets", "lifecycle_networks", "trend_breaks",
                 "wastewater_plants", "relapse_users", "fugitives"):
        if not isinstance(getattr(cfg, name), (int, np.integer)) or getattr(cfg, name) < 0:
            raise ParameterError(f"{name} must be an integer >= 0; got {getattr(cfg, name)!r}.")
    if not 0 <= cfg.background_share < 1:
        raise ParameterError(f"background_share must be in [0, 1); got {cfg.background_share!r}.")


class _Collector:
    """Accumulates (case, value-array, kind) entity rows without per-row Python."""

    def __init__(self):
        self.case: list[np.ndarray] = []
        self.kind: list[np.ndarray] = []
        self.value: list[np.ndarray] = []

    def add(self, rng, case: np.ndarray, values: np.ndarray, kind: str, p: float, missing: float):
        keep = rng.random(case.shape[0]) < p * (1.0 - missing)
        self.case.append(case[keep])
        self.value.append(values[keep])
        self.kind.append(np.full(int(keep.sum()), kind, dtype=object))


# ----------------------------------------------------------------------------- generator


def generate(preset: str | SyntheticConfig = "county", *, seed: int | None = None, progress: bool = False,
             **overrides) -> Dataset:
    """Generate a synthetic dataset with planted truth.

    Parameters
    ----------
    preset : {"county", "city", "channels", "timeline", "monitoring", "money", "fugitives", "beibu", "national"} or SyntheticConfig
        Scale tier (see :data:`PRESETS`) or a full configuration.
    seed : int, optional
        Overrides the configuration's seed. Same seed and parameters give identical tables.
    progress : bool
        Print a progress bar over the generation stages.
    **overrides
        Any :class:`SyntheticConfig` field.

    Returns
    -------
    Dataset
        The nine canonical tables (validated) and ``truth`` tables.

    Examples
    --------
    >>> ds = generate("county", seed=1)
    >>> ds.cases.num_rows > 500, sorted(ds.truth)[:2]
    (True, ['case_network', 'networks'])
    """
    if isinstance(preset, SyntheticConfig):
        cfg = preset.replace(**overrides)
    else:
        cfg = preset_config(preset, **overrides)
    if seed is not None:
        cfg = cfg.replace(seed=seed)
    _validate_config(cfg)
    if cfg.n_networks > MAX_IN_MEMORY_NETWORKS:
        raise ParameterError(
            f"generate: {cfg.n_networks:,d} networks would not fit in one process's memory (~0.25 MB per network; "
            f"at most {MAX_IN_MEMORY_NETWORKS:,d} here); write it shard by shard: "
            "jindu generate --preset national --out DIR, or jinduanalytics.synthetic.generate_sharded")

    with stages(["networks", "cases", "entities", "records", "contacts", "flows", "validate"],
                enabled=progress, desc="generate") as step:
        return _generate(cfg, step)


def _generate(cfg: SyntheticConfig, step) -> Dataset:
    rng = np.random.default_rng(cfg.seed)
    regions = beibu_regions()
    region_ids = regions.column("region_id").to_numpy(zero_copy_only=False).astype(object)
    province_of = dict(zip(region_ids, regions.column("province").to_pylist()))
    cities = np.array(BEIBU_CITIES, dtype=object)
    city_p = _CITY_WEIGHT / _CITY_WEIGHT.sum()
    city_prov = np.array([province_of[c] for c in cities], dtype=object)
    t0 = np.datetime64(cfg.start, "D")
    span = int((np.datetime64(cfg.end, "D") - t0).astype(int))
    missing = cfg.entity_missing

    # ------------------------------------------------------------------ networks
    step("networks")
    N = cfg.n_networks
    home = rng.choice(len(cities), N, p=city_p)
    cross = rng.random(N) < cfg.cross_province_share
    second = home.copy()
    for i in np.flatnonzero(cross):  # a few percent of networks; choice among other provinces
        other = np.flatnonzero(city_prov != city_prov[home[i]])
        second[i] = rng.choice(other, p=city_p[other] / city_p[other].sum())
    two_way = cross & (rng.random(N) < cfg.two_way_share)
    origin = np.empty(N, dtype=object)
    for prov, opts in _ORIGINS_BY_PROVINCE.items():
        idx = np.flatnonzero(city_prov[home] == prov)
        names = np.array([o for o, _ in opts], dtype=object)
        w = np.array([w for _, w in opts], dtype=float)
        origin[idx] = names[rng.choice(len(names), idx.size, p=w / w.sum())]
    drug = _DRUGS[rng.choice(len(_DRUGS), N, p=_DRUG_P)]
    dur = rng.integers(180, 900, N)
    net_lo = rng.integers(0, max(span - 180, 1), N)
    net_hi = np.minimum(net_lo + dur, span)

    # persons of networks, by role
    n_sup = np.ones(N, dtype=np.int64)
    n_whole = 1 + rng.binomial(2, 0.4, N)
    n_cour = rng.binomial(2, 0.5, N)
    n_sell = 1 + rng.poisson(max(cfg.sellers_mean - 1, 0), N)
    n_buy = np.maximum(rng.poisson(n_sell * cfg.buyers_per_seller), 1)
    counts = [n_sup, n_whole, n_cour, n_sell, n_buy]
    role_net = [np.repeat(np.arange(N), c) for c in counts]
    role_start = np.cumsum([0] + [int(c.sum()) for c in counts])
    n_net_persons = int(role_start[-1])
    p_net = np.concatenate(role_net)
    p_role = np.concatenate([np.full(int(c.sum()), r) for r, c in enumerate(counts)])
    off = {r: _offsets(c) + role_start[r] for r, c in enumerate(counts)}  # global index of first member
    cnt = dict(enumerate(counts))

    def members(role: int) -> np.ndarray:
        return np.arange(role_start[role], role_start[role + 1])

    sup_of_net = off[SUPPLIER]
    # upstream: buyer -> seller, seller -> wholesaler, wholesaler/courier -> (wholesaler/supplier)
    upstream = np.full(n_net_persons, -1, dtype=np.int64)
    upstream[members(BUYER)] = _pick_within(rng, role_net[BUYER], off[SELLER], cnt[SELLER])
    upstream[members(SELLER)] = _pick_within(rng, role_net[SELLER], off[WHOLESALER], cnt[WHOLESALER])
    upstream[members(WHOLESALER)] = sup_of_net[role_net[WHOLESALER]]
    upstream[members(COURIER)] = _pick_within(rng, role_net[COURIER], off[WHOLESALER], cnt[WHOLESALER])
    # operating region: sellers of cross networks split between the two cities; buyers follow sellers
    p_region = cities[home[p_net]].copy()
    sell = members(SELLER)
    in_second = cross[p_net[sell]] & (rng.random(sell.size) < 0.5)
    p_region[sell[in_second]] = cities[second[p_net[sell[in_second]]]]
    cour = members(COURIER)
    c_second = cross[p_net[cour]] & (rng.random(cour.size) < 0.5)
    p_region[cour[c_second]] = cities[second[p_net[cour[c_second]]]]
    buy = members(BUYER)
    p_region[buy] = p_region[upstream[buy]]

    # ------------------------------------------------------------------ cases
    step("cases")
    case_parts = []  # (network, kind, region, lo, hi, primary person, type, qty)

    def add_cases(owner: np.ndarray, n_each: np.ndarray, kind: int, types, type_p, qty_mu, qty_sigma):
        own = np.repeat(owner, n_each)
        net = p_net[own]
        ctype = np.asarray(types, dtype=object)[rng.choice(len(types), own.size, p=type_p)]
        qty = np.round(rng.lognormal(qty_mu, qty_sigma, own.size), 2)
        case_parts.append((net, np.full(own.size, kind), p_region[own], own, ctype, qty))

    add_cases(buy, 1 + rng.poisson(max(cfg.cases_per_buyer - 1, 0), buy.size), BUYER,
              ["吸食", "持有"], [0.7, 0.3], -0.7, 0.8)
    add_cases(sell, rng.poisson(cfg.retail_cases_per_seller, sell.size), SELLER, ["贩卖"], [1.0], 1.8, 0.8)
    whole = members(WHOLESALER)
    add_cases(whole, rng.poisson(cfg.wholesale_cases_per_wholesaler, whole.size), WHOLESALER,
              ["运输", "贩卖"], [0.6, 0.4], 5.5, 0.9)
    sups = members(SUPPLIER)
    add_cases(sups, (rng.random(sups.size) < cfg.supplier_caught).astype(np.int64), SUPPLIER,
              ["贩卖", "制造"], [0.85, 0.15], 7.5, 0.8)
    n_net_cases = sum(p[0].size for p in case_parts)
    n_bg = int(round(n_net_cases * cfg.background_share / (1 - cfg.background_share)))
    bg_person = n_net_persons + np.arange(n_bg)  # one unaffiliated person per background case
    bg_region = cities[rng.choice(len(cities), n_bg, p=city_p)]
    case_net = np.concatenate([p[0] for p in case_parts] + [np.full(n_bg, -1)])
    case_kind = np.concatenate([p[1] for p in case_parts] + [np.full(n_bg, UNAFFILIATED)])
    case_region = np.concatenate([p[2] for p in case_parts] + [bg_region])
    case_owner = np.concatenate([p[3] for p in case_parts] + [bg_person])
    case_type = np.concatenate([p[4] for p in case_parts] +
                               [np.asarray(["吸食", "持有"], dtype=object)[rng.choice(2, n_bg, p=[0.7, 0.3])]])
    case_qty = np.concatenate([p[5] for p in case_parts] + [np.round(rng.lognormal(-0.7, 0.8, n_bg), 2)])
    n_cases = case_net.size
    lo = np.where(case_net >= 0, net_lo[np.maximum(case_net, 0)], 0)
    hi = np.where(case_net >= 0, net_hi[np.maximum(case_net, 0)], span)
    case_day = _dates_in(rng, lo, hi)
    case_drug = np.where(case_net >= 0, drug[np.maximum(case_net, 0)], _DRUGS[rng.choice(4, n_cases, p=_DRUG_P)])
    # courier cases of a wholesaler happen where the courier works
    # case -> persons
    cp_case = [np.arange(n_cases)]
    cp_person = [case_owner]
    cp_role = [np.where(case_kind == BUYER, "user", _ROLE_NAMES[np.minimum(case_kind, 4)]).astype(object)]
    cp_role[0][case_kind == UNAFFILIATED] = "user"
    # retail cases: 0-2 buyers of the same seller... drawn among the network's buyers
    retail = np.flatnonzero(case_kind == SELLER)
    nb = rng.integers(0, 3, retail.size)
    rc = np.repeat(retail, nb)
    cp_case.append(rc)
    cp_person.append(_pick_within(rng, case_net[rc], off[BUYER], cnt[BUYER]))
    cp_role.append(np.full(rc.size, "buyer", dtype=object))
    # wholesale cases: with a courier of the network when it has one
    wc = np.flatnonzero(case_kind == WHOLESALER)
    has_c = (cnt[COURIER][case_net[wc]] > 0) & (rng.random(wc.size) < 0.6)
    wc = wc[has_c]
    cp_case.append(wc)
    cp_person.append(_pick_within(rng, case_net[wc], off[COURIER], cnt[COURIER]))
    cp_role.append(np.full(wc.size, "courier", dtype=object))
    # supplier cases: sometimes with a wholesaler
    sc = np.flatnonzero(case_kind == SUPPLIER)
    sc = sc[rng.random(sc.size) < 0.5]
    cp_case.append(sc)
    cp_person.append(_pick_within(rng, case_net[sc], off[WHOLESALER], cnt[WHOLESALER]))
    cp_role.append(np.full(sc.size, "wholesaler", dtype=object))
    cp_case = np.concatenate(cp_case)
    cp_person = np.concatenate(cp_person)
    cp_role = np.concatenate(cp_role)
    # one person appears once per case
    key = cp_case * (n_net_persons + n_bg + 1) + cp_person
    _, first = np.unique(key, return_index=True)
    first.sort()
    cp_case, cp_person, cp_role = cp_case[first], cp_person[first], cp_role[first]

    # ------------------------------------------------------------------ entities
    step("entities")
    n_persons_cases = n_net_persons + n_bg
    ph1 = idt.phones(rng, n_net_persons * 2 + n_persons_cases)  # burners x2 + personal phones
    burner1 = ph1[:n_net_persons]
    burner2 = ph1[n_net_persons:2 * n_net_persons]
    has_two = rng.random(n_net_persons) < 0.4
    personal_phone = ph1[2 * n_net_persons:]
    acct = idt.accounts(rng, n_net_persons)
    parcel = np.char.add("PS", np.char.zfill(np.arange(n_net_persons).astype("U9"), 9)).astype(object)
    address = np.char.add("ADDR", np.char.zfill(rng.permutation(n_net_persons).astype("U9"), 9)).astype(object)
    vehicle = np.char.add("SYNV", np.char.zfill(rng.permutation(n_net_persons).astype("U9"), 9)).astype(object)
    # recycled burners: a seller's second phone was another network's seller's phone
    rec_sel = sell[rng.random(sell.size) < cfg.recycled_burner_share]
    if rec_sel.size and sell.size > 1:
        donor = sell[rng.integers(0, sell.size, rec_sel.size)]
        ok = p_net[donor] != p_net[rec_sel]
        burner2[rec_sel[ok]] = burner1[donor[ok]]
        has_two[rec_sel[ok]] = True
        recycled_values = burner1[donor[ok]]
    else:
        recycled_values = np.empty(0, dtype=object)

    def burner(person: np.ndarray) -> np.ndarray:
        use2 = has_two[person] & (rng.random(person.size) < 0.5)
        return np.where(use2, burner2[person], burner1[person])

    ent = _Collector()
    ck = {k: np.flatnonzero(case_kind == k) for k in (BUYER, SELLER, WHOLESALER, SUPPLIER, UNAFFILIATED)}
    # user cases: the seller's burner on the seized handset, sometimes the seller's account
    c = ck[BUYER]
    seller = upstream[case_owner[c]]
    ent.add(rng, c, burner(seller), "phone", 0.85, missing)
    ent.add(rng, c, acct[seller], "account", 0.45, missing)
    # retail cases: seller's phone/account/address, wholesaler's phone and parcel sender
    c = ck[SELLER]
    s = case_owner[c]
    w = upstream[s]
    ent.add(rng, c, burner(s), "phone", 0.9, missing)
    ent.add(rng, c, acct[s], "account", 0.7, missing)
    ent.add(rng, c, address[s], "address", 0.4, missing)
    ent.add(rng, c, burner(w), "phone", 0.55, missing)
    ent.add(rng, c, parcel[w], "parcel_sender", 0.35, missing)
    # wholesale cases
    c = ck[WHOLESALER]
    w = case_owner[c]
    sp = upstream[w]
    ent.add(rng, c, burner(w), "phone", 0.8, missing)
    ent.add(rng, c, burner(sp), "phone", 0.6, missing)
    ent.add(rng, c, parcel[w], "parcel_sender", 0.5, missing)
    ent.add(rng, c, address[w], "address", 0.4, missing)
    ent.add(rng, c, acct[sp], "account", 0.4, missing)
    net_c = case_net[c]
    has_cour = cnt[COURIER][net_c] > 0
    cc = c[has_cour]
    ent.add(rng, cc, vehicle[_pick_within(rng, net_c[has_cour], off[COURIER], cnt[COURIER])], "vehicle", 0.5, missing)
    # supplier cases
    c = ck[SUPPLIER]
    sp = case_owner[c]
    ent.add(rng, c, burner(sp), "phone", 0.9, missing)
    ent.add(rng, c, acct[sp], "account", 0.7, missing)
    ent.add(rng, c, burner(_pick_within(rng, case_net[c], off[WHOLESALER], cnt[WHOLESALER])), "phone", 0.6, missing)
    # background cases: the user's own phone (links nothing)
    c = ck[UNAFFILIATED]
    ent.add(rng, c, personal_phone[case_owner[c]], "phone", 0.3, 0.0)
    # hubs: per city a hotel, a courier depot and a payment merchant (and more with hubs_per_region)
    n_h = cfg.hubs_per_region
    hub_kinds = np.array(["address", "parcel_sender", "account"], dtype=object)
    hub_city = np.repeat(np.arange(len(cities)), n_h)
    hub_kind = hub_kinds[np.arange(hub_city.size) % 3]
    hub_value = np.char.add("HUB", np.char.zfill(np.arange(hub_city.size).astype("U6"), 6)).astype(object)
    hub_value = np.where(hub_kind == "account", idt.accounts(rng, hub_city.size), hub_value)
    case_city = _positions(case_region, cities)
    hc = np.flatnonzero(rng.random(n_cases) < cfg.hub_rate)
    if n_h:
        rank = np.minimum(rng.zipf(1.5, hc.size) - 1, n_h - 1)
        hub = case_city[hc] * n_h + rank
        for kind in hub_kinds:
            sel = hub_kind[hub] == kind
            ent.add(rng, hc[sel], hub_value[hub[sel]], kind, 1.0, 0.0)
    ce_case = np.concatenate(ent.case)
    ce_kind = np.concatenate(ent.kind)
    ce_value = np.concatenate(ent.value)
    ce_tbl = pa.table({"c": ce_case, "k": pa.array(ce_kind, pa.string()), "v": pa.array(ce_value, pa.string())})
    ce_tbl = ce_tbl.group_by(["c", "k", "v"], use_threads=False).aggregate([])  # one row per (case, kind, value)
    ce_tbl = ce_tbl.sort_by([("c", "ascending"), ("k", "ascending"), ("v", "ascending")])

    # ------------------------------------------------------------------ persons and records
    step("records")
    n_reg = int(round(cfg.registry_per_case * n_cases))
    n_all = n_persons_cases + n_reg
    all_home = np.concatenate([p_region, bg_region, cities[rng.choice(len(cities), n_reg, p=city_p)]])
    role_all = np.concatenate([p_role, np.full(n_bg, UNAFFILIATED), np.full(n_reg, -1)])
    male_p = np.where(role_all == BUYER, 0.75, np.where(role_all < 0, 0.7, 0.88))
    sex_male = rng.random(n_all) < male_p
    birth = (np.datetime64("1960-01-01") + rng.integers(0, 365 * 45, n_all)).astype("datetime64[D]")
    names = idt.random_names(rng, n_all)
    rcode = _positions(all_home, region_ids) + 100
    true_id = idt.id_numbers(rng, rcode, birth, sex_male)
    own_phone = np.concatenate([personal_phone, idt.phones(rng, n_reg) if n_reg else np.empty(0, dtype=object)])
    if n_reg:  # registry phones must not collide with case persons' phones
        own_phone[n_persons_cases:] = np.char.add("1049", np.char.zfill(np.arange(n_reg).astype("U7"), 7))
    # records: one per (person, case region), one in the home region (some), registry extras
    rec_person = [cp_person, np.flatnonzero(rng.random(n_persons_cases) < cfg.home_record),
                  n_persons_cases + np.arange(n_reg)]
    rec_region = [case_region[cp_case], all_home[rec_person[1]], all_home[n_persons_cases:]]
    multi = n_persons_cases + np.flatnonzero(rng.random(n_reg) < cfg.registry_multi_region)
    rec_person.append(multi)
    rec_region.append(cities[rng.choice(len(cities), multi.size, p=city_p)])
    rp = np.concatenate(rec_person)
    rr = np.concatenate(rec_region)
    rr_code = _positions(rr, region_ids)
    key = rp * 1000 + rr_code
    _, first = np.unique(key, return_index=True)
    first.sort()  # first occurrence = the person's first record (cases come first)
    rp, rr = rp[first], rr[first]
    n_rec = rp.size
    order = rng.permutation(n_rec)  # record ids carry no truth
    rp, rr = rp[order], rr[order]
    _, first_of_person = np.unique(rp, return_index=True)
    is_dup = np.ones(n_rec, dtype=bool)
    is_dup[first_of_person] = False
    record_id = np.char.add("R", np.char.zfill(np.arange(n_rec).astype("U9"), 9)).astype(object)
    # identity noise
    r_name = names[rp].copy()
    dup_idx = np.flatnonzero(is_dup)
    r_name[dup_idx] = idt.confuse_names(rng, r_name[dup_idx], cfg.name_confusion)
    r_id = true_id[rp].copy()
    u = rng.random(n_rec)
    id_null = u < cfg.id_missing
    masked = (u >= cfg.id_missing) & (u < cfg.id_missing + cfg.id_masked)
    typo = is_dup & (u >= cfg.id_missing + cfg.id_masked) & (u < cfg.id_missing + cfg.id_masked + cfg.id_mistyped)
    if masked.any():
        r_id[masked] = idt.mask_ids(r_id[masked])
    if typo.any():
        r_id[typo] = idt.mistype_digit(rng, r_id[typo])
    r_birth = birth[rp].copy()
    day = (r_birth - r_birth.astype("datetime64[M]")).astype(int) + 1
    month = r_birth.astype("datetime64[M]").astype(int) % 12 + 1
    year = r_birth.astype("datetime64[Y]").astype(int) + 1970
    swap = is_dup & (rng.random(n_rec) < cfg.dob_swapped) & (day <= 12) & (day != month)
    if swap.any():
        r_birth[swap] = np.array([f"{y:04d}-{d:02d}-{m:02d}" for y, m, d in
                                  zip(year[swap], month[swap], day[swap])], dtype="datetime64[D]")
    dob_null = rng.random(n_rec) < cfg.dob_missing
    r_phone = own_phone[rp].copy()
    changed = is_dup & (rng.random(n_rec) < cfg.phone_changed)
    if changed.any():
        r_phone[changed] = np.char.add("1048", np.char.zfill(rng.permutation(10**7)[: changed.sum()].astype("U7"), 7))
    ph_null = rng.random(n_rec) < cfg.phone_missing
    sex_null = rng.random(n_rec) < 0.05
    # case_persons rows point at the record of that person in the case's region
    rec_key = pa.array(rp * 1000 + _positions(rr, region_ids))
    cp_key = pa.array(cp_person * 1000 + _positions(case_region[cp_case], region_ids))
    cp_rec = pc.index_in(cp_key, value_set=rec_key).to_numpy()

    # ------------------------------------------------------------------ contacts, transactions
    step("contacts")
    c_a, c_b = [], []
    for role, p in ((BUYER, 0.7), (SELLER, 0.9), (WHOLESALER, 0.9), (COURIER, 0.9)):
        m = members(role)
        m = m[rng.random(m.size) < p]
        c_a.append(personal_phone[m])
        c_b.append(burner1[upstream[m]])
    n_noise = int(cfg.noise_contacts_per_person * n_persons_cases)
    c_a.append(personal_phone[rng.integers(0, n_persons_cases, n_noise)])
    c_b.append(personal_phone[rng.integers(0, n_persons_cases, n_noise)])
    ca = pa.array(np.concatenate(c_a), pa.string())
    cb = pa.array(np.concatenate(c_b), pa.string())
    lo_p = pc.min_element_wise(ca, cb)
    hi_p = pc.max_element_wise(ca, cb)
    ct = pa.table({"phone_a": lo_p, "phone_b": hi_p}).filter(pc.not_equal(lo_p, hi_p))
    ct = ct.group_by(["phone_a", "phone_b"], use_threads=False).aggregate([]).sort_by(
        [("phone_a", "ascending"), ("phone_b", "ascending")])
    n_ct = ct.num_rows
    first_day = rng.integers(0, span - 30, n_ct)
    last_day = first_day + rng.integers(0, 30, n_ct)
    contacts = ct.append_column("count", pa.array(1 + rng.poisson(6, n_ct))) \
        .append_column("first_date", pa.array(t0 + first_day)).append_column("last_date", pa.array(t0 + last_day))
    # money up the chain, layered through mule accounts
    pacct = idt.accounts(rng, n_persons_cases + 1)  # buyers' own accounts
    t_src, t_dst, t_amt, t_day = [], [], [], []
    n_mules = max(50, n_net_persons // 10)
    mule = idt.accounts(rng, n_mules)
    for role, mu, layer in ((BUYER, 6.0, 0.0), (SELLER, 9.5, 0.5), (WHOLESALER, 11.5, 0.7), (COURIER, 7.0, 0.0)):
        m = members(role)
        k = 1 + rng.poisson(1.5, m.size)
        src_p = np.repeat(m, k)
        src = pacct[src_p] if role == BUYER else acct[src_p]
        dst = acct[upstream[src_p]]
        amt = np.round(rng.lognormal(mu, 0.6, src_p.size), 2)
        day_ = _dates_in(rng, net_lo[p_net[src_p]], net_hi[p_net[src_p]])
        via = rng.random(src_p.size) < layer
        mid = mule[rng.integers(0, n_mules, src_p.size)]
        t_src += [src[~via], src[via], mid[via]]
        t_dst += [dst[~via], mid[via], dst[via]]
        t_amt += [amt[~via], amt[via], np.round(amt[via] * 0.97, 2)]
        t_day += [day_[~via], day_[via], np.minimum(day_[via] + 1, span)]
    transactions = pa.table({"src_account": pa.array(np.concatenate(t_src), pa.string()),
                             "dst_account": pa.array(np.concatenate(t_dst), pa.string()),
                             "amount": pa.array(np.concatenate(t_amt), pa.float64()),
                             "date": pa.array(t0 + np.concatenate(t_day))})
    transactions = transactions.filter(pc.not_equal(transactions.column("src_account"),
                                                    transactions.column("dst_account")))

    # ------------------------------------------------------------------ flows and checkpoints
    step("flows")
    flows = _flows(rng, cfg, cities, home, second, cross, two_way, origin, drug, net_lo, net_hi, t0, province_of)
    checkpoints = _checkpoints(rng, regions)

    # ------------------------------------------------------------------ tables
    step("validate")
    case_order = rng.permutation(n_cases)  # case ids carry no truth
    case_id = np.empty(n_cases, dtype=object)
    case_id[case_order] = np.char.add("C", np.char.zfill(np.arange(n_cases).astype("U9"), 9))
    cases = pa.table({
        "case_id": pa.array(case_id, pa.string()), "region_id": pa.array(case_region, pa.string()),
        "date": pa.array(t0 + case_day), "case_type": pa.array(case_type, pa.string()),
        "drug": pa.array(case_drug, pa.string()), "quantity_g": pa.array(case_qty, pa.float64())}).take(
        pa.array(np.argsort(case_order)))
    case_persons = pa.table({"case_id": pa.array(case_id[cp_case], pa.string()),
                             "record_id": pa.array(record_id[cp_rec], pa.string()),
                             "role": pa.array(cp_role, pa.string())})
    case_persons = case_persons.sort_by([("case_id", "ascending"), ("record_id", "ascending")])
    case_entities = pa.table({"case_id": pa.array(case_id[ce_tbl.column("c").to_numpy()], pa.string()),
                              "kind": ce_tbl.column("k"), "value": ce_tbl.column("v")})
    case_entities = case_entities.sort_by([("case_id", "ascending"), ("kind", "ascending"), ("value", "ascending")])
    sex = np.where(sex_male[rp], "M", "F").astype(object)
    person_records = pa.table({
        "record_id": pa.array(record_id, pa.string()), "source_region": pa.array(rr, pa.string()),
        "name": pa.array(r_name, pa.string()),
        "id_number": pa.array(np.where(id_null, None, r_id), pa.string()),
        "birth_date": pa.array(np.where(dob_null, None, r_birth.astype(object)), pa.date32()),
        "sex": pa.array(np.where(sex_null, None, sex), pa.string()),
        "phone": pa.array(np.where(ph_null, None, r_phone), pa.string()),
        "home_region": pa.array(np.where(rng.random(n_rec) < 0.3, None, all_home[rp]), pa.string())})
    tables = {"regions": regions, "person_records": person_records, "cases": cases,
              "case_persons": case_persons, "case_entities": case_entities, "contacts": contacts,
              "transactions": transactions, "flows": flows, "checkpoints": checkpoints}
    truth = _truth(cfg, N, cities, home, second, cross, two_way, origin, drug, net_lo, net_hi, t0,
                   record_id, rp, case_id, case_net, case_kind, p_net, p_role, upstream, n_net_persons,
                   n_bg, n_reg, all_home, hub_kind, hub_value, recycled_values, sup_of_net, is_dup)
    if cfg.money_background:
        tables, truth = _add_money(cfg, tables, truth, acct=acct, buyer_acct=pacct[:n_net_persons], p_role=p_role,
                                   p_net=p_net, upstream=upstream, person_id=truth["persons"].column("person_id")
                                   .to_numpy(zero_copy_only=False)[:n_net_persons], net_lo=net_lo, net_hi=net_hi,
                                   span=span, t0=t0, case_id=case_id, case_kind=case_kind, case_owner=case_owner)
    if (cfg.online_networks or cfg.precursor_chains or cfg.courier_outlets or cfg.lifecycle_networks or cfg.trend_breaks
            or cfg.relapse_users):
        tables, truth = add_channels(cfg, tables, truth, cities=cities, city_p=city_p, province_of=province_of,
                                     t0=t0, span=span)
    if cfg.wastewater_plants:
        users = tables["cases"].filter(pc.is_in(tables["cases"].column("case_type"), pa.array(["吸食", "持有"])))
        counts = users.group_by("region_id").aggregate([("case_id", "count")]).to_pydict()
        ww, ww_truth = _plant_samples(np.random.default_rng([cfg.seed, 27]), cities, city_p, cfg.wastewater_plants,
                                         cfg.end, dict(zip(counts["region_id"], counts["case_id_count"])))
        tables["wastewater"] = ww
        truth.update(ww_truth)
    if cfg.fugitives:
        tables, truth = add_fugitives(np.random.default_rng([cfg.seed, 28]), cfg.fugitives, tables, truth,
                                      cities=cities, city_p=city_p, t0=t0, span=span)
    return dataset_from_tables(tables, truth=truth)


def _add_money(cfg, tables, truth, *, acct, buyer_acct, p_role, p_net, upstream, person_id, net_lo, net_hi, span, t0,
               case_id, case_kind, case_owner):
    """The money model of ``synthetic/money.py`` in place of the street transfers, and the buyers' and
    wholesalers' own accounts in their cases (own random stream: every other table as without it)."""
    rng = np.random.default_rng([cfg.seed, 26])
    transactions, money_truth = money(rng, background=cfg.money_background, acct=acct, buyer_acct=buyer_acct,
                                      p_role=p_role, p_net=p_net, upstream=upstream, person_id=person_id,
                                      net_lo=net_lo, net_hi=net_hi, span=span, t0=t0)
    user = np.flatnonzero(case_kind == BUYER)
    user = user[rng.random(user.size) < BUYER_ACCOUNT_SEEN]
    whole = np.flatnonzero(case_kind == WHOLESALER)
    whole = whole[rng.random(whole.size) < OWN_ACCOUNT_SEEN]
    seen = pa.table({"case_id": pa.array(np.concatenate([case_id[user], case_id[whole]]), pa.string()),
                     "kind": pa.array(["account"] * (user.size + whole.size), pa.string()),
                     "value": pa.array(np.concatenate([buyer_acct[case_owner[user]], acct[case_owner[whole]]]),
                                       pa.string())})
    ce = pa.concat_tables([tables["case_entities"], seen]).group_by(["case_id", "kind", "value"], use_threads=False) \
        .aggregate([]).sort_by([("case_id", "ascending"), ("kind", "ascending"), ("value", "ascending")])
    return {**tables, "transactions": transactions, "case_entities": ce}, {**truth, **money_truth}


def _flows(rng, cfg, cities, home, second, cross, two_way, origin, drug, net_lo, net_hi, t0, province_of):
    N = home.shape[0]
    routes = [(origin, cities[home], np.ones(N, dtype=bool), 3.0),
              (cities[home], cities[second], cross, 2.0),
              (cities[second], cities[home], two_way, 2.0)]
    o_l, d_l, m_l, q_l, day_l = [], [], [], [], []
    modes = np.array(["road", "rail", "post"], dtype=object)
    for src, dst, active, lam in routes:
        nets = np.flatnonzero(active)
        k = 1 + rng.poisson(lam, nets.size)
        ship_net = np.repeat(nets, k)
        s, d = src[ship_net], dst[ship_net]
        qty = np.round(rng.lognormal(6.0, 0.8, ship_net.size), 1)
        day = _dates_in(rng, net_lo[ship_net], net_hi[ship_net])
        land_mode = modes[rng.choice(3, ship_net.size, p=[0.7, 0.15, 0.15])]
        pairs = {}
        for i, (a, b) in enumerate(zip(s, d)):
            pairs.setdefault((a, b), []).append(i)
        for (a, b), idx in pairs.items():  # one loop per distinct route, not per shipment
            idx = np.asarray(idx)
            for la, lb, mode in _legs(a, b, province_of):
                o_l.append(np.full(idx.size, la, dtype=object))
                d_l.append(np.full(idx.size, lb, dtype=object))
                m_l.append(land_mode[idx] if mode == "" else np.full(idx.size, mode, dtype=object))
                q_l.append(qty[idx])
                day_l.append(day[idx])
    return pa.table({"origin": pa.array(np.concatenate(o_l), pa.string()),
                     "destination": pa.array(np.concatenate(d_l), pa.string()),
                     "mode": pa.array(np.concatenate(m_l), pa.string()),
                     "date": pa.array(t0 + np.concatenate(day_l)),
                     "quantity_g": pa.array(np.concatenate(q_l), pa.float64())})


_INLAND = {"GX-NN", "GX-YL", "GX-CZ", "YN-RL", "GX-PX"}


def _checkpoints(rng, regions: pa.Table) -> pa.Table:
    ids, reg, mode, lon, lat = [], [], [], [], []
    for r, level, x, y in zip(*(regions.column(c).to_pylist() for c in ("region_id", "level", "lon", "lat"))):
        if level == "province":
            continue
        modes = ["road", "road", "rail", "post"] + ([] if r in _INLAND else ["sea"])
        for m in modes:
            ids.append(f"K{len(ids):04d}")
            reg.append(r)
            mode.append(m)
            lon.append(round(x + rng.normal(0, 0.05), 4))
            lat.append(round(y + rng.normal(0, 0.05), 4))
    return pa.table({"checkpoint_id": ids, "region_id": reg, "mode": mode, "lon": lon, "lat": lat})


def _truth(cfg, N, cities, home, second, cross, two_way, origin, drug, net_lo, net_hi, t0, record_id, rp,
           case_id, case_net, case_kind, p_net, p_role, upstream, n_net_persons, n_bg, n_reg, all_home,
           hub_kind, hub_value, recycled_values, sup_of_net, is_dup) -> dict[str, pa.Table]:
    pid = np.char.add("P", np.char.zfill(np.arange(n_net_persons + n_bg + n_reg).astype("U9"), 9)).astype(object)
    kinds = np.array(["supplier", "wholesaler", "courier", "seller", "buyer", "unaffiliated", "registered"],
                     dtype=object)
    role = np.concatenate([p_role, np.full(n_bg, 5), np.full(n_reg, 6)])
    up = np.concatenate([upstream, np.full(n_bg + n_reg, -1)])
    net_counts = np.bincount(case_net[case_net >= 0], minlength=N)
    networks = pa.table({
        "network": pa.array(np.arange(N)), "home_region": pa.array(cities[home], pa.string()),
        "second_region": pa.array(np.where(cross, cities[second], None), pa.string()),
        "origin": pa.array(origin, pa.string()), "cross_province": pa.array(cross), "two_way": pa.array(two_way),
        "drug": pa.array(drug, pa.string()), "supplier": pa.array(pid[sup_of_net], pa.string()),
        "start_date": pa.array(t0 + net_lo), "end_date": pa.array(t0 + net_hi), "n_cases": pa.array(net_counts)})
    h, s2 = cities[home].astype(str), cities[second].astype(str)
    a, b = np.where(h < s2, h, s2), np.where(h < s2, s2, h)
    links = pa.table({"region_a": a[cross], "region_b": b[cross], "two_way": two_way[cross]})
    links = links.group_by(["region_a", "region_b"], use_threads=False).aggregate(
        [([], "count_all"), ("two_way", "sum")]).rename_columns(["region_a", "region_b", "n_networks", "n_two_way"])
    links = links.sort_by([("region_a", "ascending"), ("region_b", "ascending")])
    noise = pa.table({"kind": pa.array(np.concatenate([hub_kind, np.full(recycled_values.size, "phone", dtype=object)]),
                                       pa.string()),
                      "value": pa.array(np.concatenate([hub_value, recycled_values]), pa.string()),
                      "noise": pa.array(["hub"] * hub_kind.size + ["recycled_burner"] * recycled_values.size)})
    case_kind_names = np.array(["supplier", "wholesale", "courier", "retail", "user", "background"], dtype=object)
    return {
        "record_person": pa.table({"record_id": pa.array(record_id, pa.string()),
                                   "person_id": pa.array(pid[rp], pa.string()),
                                   "is_primary": pa.array(~is_dup)}),
        "persons": pa.table({"person_id": pa.array(pid, pa.string()),
                             "network": pa.array(np.concatenate([p_net, np.full(n_bg + n_reg, -1)])),
                             "role": pa.array(kinds[role], pa.string()),
                             "upstream": pa.array(np.where(up >= 0, pid[np.maximum(up, 0)], None), pa.string()),
                             "home_region": pa.array(all_home, pa.string())}),
        "case_network": pa.table({"case_id": pa.array(case_id, pa.string()), "network": pa.array(case_net),
                                  "kind": pa.array(case_kind_names[case_kind], pa.string())}).sort_by("case_id"),
        "networks": networks,
        "region_links": links,
        "noise_entities": noise,
    }
