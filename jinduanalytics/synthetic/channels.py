"""The channels the street networks do not use: online sellers, precursor diversion, the 寄递 parcels.

Added to a generated dataset when :class:`~.generator.SyntheticConfig` asks for them
(``online_networks``, ``precursor_chains``, ``courier_outlets``; all 0 by default, and then nothing
here runs and the street tables are exactly as before). The model:

* **Online networks** (网上贩毒) sell new and non-scheduled substances (依托咪酯 e-cigarette oil, 笑气,
  合成大麻素, 右美沙芬 ...): 1-2 sellers in one city reachable only through online identifiers
  (wechat, qq, alipay, device_id, ip) and the parcels they post; their buyers live all over the rim.
  A buyer's case holds the seller's online identifiers, the waybill of a parcel received and the
  buyer's own receiving identity (``parcel_receiver``), each found with its own probability; a
  caught seller's case holds the seller's identifiers and courier outlet. Noise: VPN exit IPs shared
  by unrelated cases, buyers who also bought from another network.
* **Precursor chains** (易制毒化学品 diversion): front companies buy a precursor under licence in
  several regions (cases 非法买卖/走私制毒物品, before the production) and have it delivered, by road
  or courier, to a production site whose case (制造) is found later; the site feeds the wholesalers
  of a street network (their phone is in the production case). Purchases leave filings (the
  purchase and transport records of 易制毒化学品) and carry some of: the front company's account
  (80%), the transport vehicle (60%), the declared delivery address (60%; the site or a transit
  warehouse), a contact phone (55%), the chain's buyer (60%), a waybill addressed to the chain's
  receiving identity; the production case holds the raided site's address (95%), a vehicle, a phone. Noise: every purchase
  names the licensed chemical vendor's account, shared by all chains; unrelated diversions and
  production cases with no purchases found.
* **Parcels** (寄递): courier outlets in every city with heavy-tailed legitimate volume; the online
  sellers post through one outlet each, planted among the ordinary (not the busy) outlets; the
  chains' waybills; a few background users post from any outlet in proportion to its volume. All of
  it hidden among ``legit_parcels_per_drug_parcel`` legitimate parcels per drug parcel.

Truth: ``case_network`` and ``networks`` rows for the new networks (``channel`` online or precursor),
``precursor_chains`` (each purchase case and its production case), ``parcel_outlets`` (planted and
busy outlets) and ``drug_parcels`` (waybill -> network).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..vocabulary import default_vocabulary
from . import identity as idt
from .shipping import legs

#: Substances sold online, with their share of the online networks.
ONLINE_DRUGS = {"依托咪酯": 0.35, "合成大麻素": 0.2, "笑气": 0.15, "右美沙芬": 0.1, "氟胺酮": 0.1,
                "γ-羟丁酸": 0.05, "曲马多": 0.05}
#: Drugs made at production sites, with their share of the chains.
PRODUCTS = {"冰毒": 0.6, "氯胺酮": 0.3, "摇头丸": 0.1}
COURIERS = ("顺丰", "中通", "圆通", "韵达", "申通", "邮政EMS", "极兔")
_N_VPN = 6  # shared VPN exit addresses
VPN_SHARE = 0.08  # online buyer cases that hold a VPN exit address
#: Online buyer cases that also hold another network's seller id: one such tie per ~8 networks,
#: the rate of the street networks' recycled burners (3% of ~4 sellers per network).
CROSS_BUYER_SHARE = 0.01
_LEGIT, _NO_NETWORK = -1, -2  # parcels.net of a legitimate parcel, of a drug parcel of no network


class _Rows:
    """Columns appended piece by piece (numpy arrays), concatenated once."""

    def __init__(self, *names):
        self.parts = {n: [] for n in names}

    def add(self, **cols):
        n = {np.asarray(v).shape[0] for v in cols.values() if np.ndim(v)}
        size = n.pop() if n else 1
        for name in self.parts:
            v = cols[name]
            self.parts[name].append(np.asarray(v, dtype=object) if np.ndim(v) else np.full(size, v, dtype=object))

    def column(self, name):
        p = self.parts[name]
        return np.concatenate(p) if p else np.empty(0, dtype=object)


class _Channels:
    def __init__(self, cfg, tables, truth, cities, city_p, province_of, t0, span):
        self.cfg, self.tables, self.truth = cfg, tables, truth
        self.rng = np.random.default_rng([cfg.seed, 24])  # its own stream: the street tables are untouched
        self.cities, self.city_p, self.province_of, self.t0, self.span = cities, city_p, province_of, t0, span
        self.cases = _Rows("net", "kind", "region", "day", "type", "drug", "qty")
        self.persons = _Rows("person", "case")  # case = index into self.cases rows, role below
        self.roles: list[np.ndarray] = []
        self.person_info = _Rows("net", "role", "region")
        self.ents = _Rows("case", "kind", "value")
        self.parcels = _Rows("waybill", "outlet", "dest", "sender", "receiver", "day", "weight", "net")
        self.flows = _Rows("origin", "destination", "mode", "day", "qty")
        self.chains = _Rows("chain", "production", "purchase", "precursor", "product", "fed_network")
        self.net_rows: list[dict] = []
        self.n_street = truth["networks"].num_rows
        self._serial = 0
        self.buyer_cases, self.online_wechat = [], []  # online buyer cases (with their network), sellers' wechat ids
        self.events, self.breaks = [], []  # planted lifecycle events and trend breaks
        self.vendor_account = self.ids("9992", 1, 12)[0]  # the licensed chemical vendor every purchase names

    # ------------------------------------------------------------------ helpers
    def ids(self, prefix: str, n: int, digits: int = 10) -> np.ndarray:
        nums = idt._distinct_ints(self.rng, 10**digits, n)
        return np.char.add(prefix, np.char.zfill(nums.astype(f"U{digits}"), digits)).astype(object)

    def new_persons(self, n: int, net: int, role: str, region) -> np.ndarray:
        start = self._serial
        self._serial += n
        self.person_info.add(net=np.full(n, net, dtype=object), role=np.full(n, role, dtype=object),
                             region=np.broadcast_to(np.asarray(region, dtype=object), (n,)).copy())
        return np.arange(start, start + n)

    def new_cases(self, net, kind, region, day, ctype, drug, qty) -> np.ndarray:
        start = sum(p.shape[0] for p in self.cases.parts["net"])
        self.cases.add(net=net, kind=kind, region=region, day=day, type=ctype, drug=drug, qty=qty)
        return np.arange(start, start + np.asarray(day).shape[0])

    def involve(self, case: np.ndarray, person: np.ndarray, role: str):
        self.persons.add(person=person, case=case)
        self.roles.append(np.full(np.asarray(case).shape[0], role, dtype=object))

    def found(self, case: np.ndarray, values: np.ndarray, kind: str, p: float):
        keep = self.rng.random(case.shape[0]) < p * (1.0 - self.cfg.entity_missing)
        self.ents.add(case=case[keep], kind=np.full(int(keep.sum()), kind, dtype=object), value=values[keep])

    def city(self, n: int) -> np.ndarray:
        return self.cities[self.rng.choice(len(self.cities), n, p=self.city_p)]

    # ------------------------------------------------------------------ parts
    def outlets(self):
        rng, n = self.rng, max(self.cfg.courier_outlets, len(self.cities))
        self.outlet_id = np.char.add("OUT", np.char.zfill(np.arange(n).astype("U5"), 5)).astype(object)
        self.outlet_region = np.concatenate([self.cities, self.city(n - len(self.cities))])
        self.outlet_courier = np.asarray(COURIERS, dtype=object)[rng.integers(0, len(COURIERS), n)]
        self.outlet_volume = rng.lognormal(0.0, 1.2, n)
        self.busy = self.outlet_volume >= np.quantile(self.outlet_volume, 0.95)
        self.planted = np.zeros(n, dtype=bool)

    def pick_planted_outlet(self, city) -> int:
        """An ordinary outlet of the city for a seller: one already used by another seller (40%) or a
        new one below the 80th volume percentile."""
        here = np.flatnonzero(self.outlet_region == city)
        used = here[self.planted[here]]
        if used.size and self.rng.random() < 0.4:
            return int(used[self.rng.integers(0, used.size)])
        quiet = here[(self.outlet_volume[here] <= np.quantile(self.outlet_volume, 0.8)) & ~self.planted[here]]
        pool = quiet if quiet.size else here
        o = int(pool[self.rng.integers(0, pool.size)])
        self.planted[o] = True
        return o

    def post(self, outlet, dest, sender, receiver, day, weight, net) -> np.ndarray:
        n = np.asarray(day).shape[0]
        wb = self.ids("WB", n, 12)
        self.parcels.add(waybill=wb, outlet=outlet, dest=dest, sender=sender, receiver=receiver, day=day,
                         weight=weight, net=net)
        return wb

    def online(self, j: int):
        rng = self.rng
        net = self.n_street + j
        names = list(ONLINE_DRUGS)
        drug = names[rng.choice(len(names), p=np.array(list(ONLINE_DRUGS.values())))]
        lo = int(rng.integers(int(self.span * 0.4), max(self.span - 200, int(self.span * 0.4) + 1)))
        hi = min(lo + int(rng.integers(150, 600)), self.span)
        home = self.city(1)[0]
        n_sell = 1 + int(rng.random() < 0.3)
        sellers = self.new_persons(n_sell, net, "seller", home)
        s_ids = {k: self.ids(p, n_sell) for k, p in (("wechat", "wxid_"), ("qq", "QQ"), ("alipay", "2088"),
                                                     ("device_id", "DEV"), ("parcel_sender", "OS"))}
        s_ids["ip"] = np.array([f"10.{rng.integers(0, 256)}.{rng.integers(0, 256)}.{rng.integers(1, 255)}"
                                for _ in range(n_sell)], dtype=object)
        outlet = np.array([self.pick_planted_outlet(home) for _ in range(n_sell)])
        n_buy = 4 + int(rng.poisson(8))
        buyers = self.new_persons(n_buy, net, "buyer", self.city(n_buy))
        buyer_city = self.person_info.column("region")[buyers]
        seller_of = rng.integers(0, n_sell, n_buy)
        receiver = self.ids("RV", n_buy)
        # parcels: 1 + Poisson(1.5) per buyer, mostly through the seller's outlet
        k = 1 + rng.poisson(1.5, n_buy)
        b = np.repeat(np.arange(n_buy), k)
        own = rng.random(b.size) < 0.85
        here = np.flatnonzero(self.outlet_region == home)
        out = np.where(own, outlet[seller_of[b]], here[rng.integers(0, here.size, b.size)])
        day = rng.integers(lo, hi + 1, b.size)
        wb = self.post(self.outlet_id[out], buyer_city[b], s_ids["parcel_sender"][seller_of[b]], receiver[b], day,
                       np.round(rng.lognormal(4.0, 0.7, b.size), 1), np.full(b.size, net))
        away = buyer_city[b] != home
        air = np.array([(self.province_of[home] == "海南") != (self.province_of[c] == "海南") for c in buyer_city[b]])
        mode = np.where(air & (rng.random(b.size) < 0.5), "air", "courier")
        self.flows.add(origin=np.full(int(away.sum()), home, dtype=object), destination=buyer_city[b][away],
                       mode=mode[away], day=day[away], qty=np.round(rng.lognormal(4.0, 0.7, int(away.sum())), 1))
        # buyer cases: 1 (80%) or 2, after their first parcel
        n_c = (rng.random(n_buy) < 0.8).astype(int) + (rng.random(n_buy) < 0.2).astype(int)
        cb = np.repeat(np.arange(n_buy), n_c)
        first_day = np.full(n_buy, hi)
        np.minimum.at(first_day, b, day)
        cday = np.minimum(first_day[cb] + rng.integers(0, 120, cb.size), self.span)
        cases = self.new_cases(np.full(cb.size, net), np.full(cb.size, "online_buyer", dtype=object), buyer_city[cb],
                               cday, np.where(rng.random(cb.size) < 0.6, "吸食", "持有"), np.full(cb.size, drug),
                               np.round(rng.lognormal(0.5, 0.8, cb.size), 2))
        self.involve(cases, buyers[cb], "user")
        s = seller_of[cb]
        self.found(cases, s_ids["wechat"][s], "wechat", 0.6)
        self.found(cases, s_ids["qq"][s], "qq", 0.25)
        self.found(cases, s_ids["alipay"][s], "alipay", 0.45)
        self.found(cases, s_ids["parcel_sender"][s], "parcel_sender", 0.3)
        self.found(cases, receiver[cb], "parcel_receiver", 0.4)
        first_parcel = np.searchsorted(b, cb)  # the buyer's first parcel
        self.found(cases, wb[first_parcel], "waybill", 0.5)
        self.buyer_cases.append((cases, net))
        # caught sellers
        caught = np.flatnonzero(rng.random(n_sell) < 0.5)
        if caught.size:
            sc = self.new_cases(np.full(caught.size, net), np.full(caught.size, "online_seller", dtype=object),
                                np.full(caught.size, home, dtype=object), rng.integers(lo, hi + 1, caught.size),
                                np.full(caught.size, "贩卖"), np.full(caught.size, drug),
                                np.round(rng.lognormal(5.0, 0.8, caught.size), 2))
            self.involve(sc, sellers[caught], "seller")
            for kind, p in (("wechat", 0.8), ("qq", 0.5), ("alipay", 0.7), ("device_id", 0.6), ("ip", 0.5),
                            ("parcel_sender", 0.6)):
                self.found(sc, s_ids[kind][caught], kind, p)
            self.found(sc, self.outlet_id[outlet[caught]], "courier_outlet", 0.6)
        self.net_rows.append(dict(network=net, home_region=home, drug=drug, lo=lo, hi=hi, channel="online",
                                  supplier=int(sellers[0])))
        self.online_wechat.append(s_ids["wechat"])

    def chain(self, c: int, vocab):
        rng = self.rng
        net = self.n_street + self.cfg.online_networks + c
        names = list(PRODUCTS)
        product = names[rng.choice(len(names), p=np.array(list(PRODUCTS.values())))]
        precursors = [d for d, _, makes in vocab.drugs if product in makes]
        precursor = precursors[rng.integers(0, len(precursors))]
        site_city = self.city(1)[0]
        prod_day = int(rng.integers(int(self.span * 0.25), self.span + 1))
        producers = self.new_persons(1 + int(rng.random() < 0.5), net, "producer", site_city)
        buyer = self.new_persons(1, net, "precursor_buyer", site_city)
        site, warehouse = self.ids("ADDRP", 2)
        vehicle, phone = self.ids("SYNP", 1)[0], idt.phones(rng, 1)[0]
        fronts = self.ids("9991", 1 + int(rng.random() < 0.5), 12)
        receiver = self.ids("RV", 1)[0]
        # the production case, with the phone of the street network it supplies
        pc_ = self.new_cases([net], ["production"], [site_city], [prod_day], ["制造"], [product],
                             [round(float(rng.lognormal(8.0, 0.8)), 2)])
        self.involve(np.repeat(pc_, producers.size), producers, "producer")
        self.found(pc_, np.array([site], dtype=object), "address", 0.95)  # the raided site itself
        self.found(pc_, np.array([vehicle], dtype=object), "vehicle", 0.5)
        self.found(pc_, np.array([phone], dtype=object), "phone", 0.7)
        self.found(pc_, np.array([receiver], dtype=object), "parcel_receiver", 0.4)
        fed = self.fed_phone(site_city)
        if fed is not None:
            self.ents.add(case=pc_, kind=["phone"], value=[fed[1]])
        # purchases before it, half of them in another province
        n_p = 2 + int(rng.poisson(2))
        other = np.array([ct for ct in self.cities if self.province_of[ct] != self.province_of[site_city]], dtype=object)
        region = np.where(rng.random(n_p) < 0.5, other[rng.integers(0, other.size, n_p)], self.city(n_p))
        day = np.maximum(prod_day - rng.integers(7, 365, n_p), 0)
        qty = np.round(rng.lognormal(9.5, 0.8, n_p), 1)
        pur = self.new_cases(np.full(n_p, net), np.full(n_p, "precursor_purchase", dtype=object), region, day,
                             np.where(rng.random(n_p) < 0.8, "非法买卖制毒物品", "走私制毒物品"), np.full(n_p, precursor), qty)
        self._buyer_rows(pur, buyer)
        # licensed purchases leave records (易制毒化学品 purchase and transport filings): the buying
        # company's account, the transport vehicle, the declared delivery address, a contact phone
        self.found(pur, np.full(n_p, phone, dtype=object), "phone", 0.55)
        self.found(pur, np.full(n_p, vehicle, dtype=object), "vehicle", 0.6)
        self.found(pur, fronts[rng.integers(0, fronts.size, n_p)], "account", 0.8)
        self.found(pur, np.where(rng.random(n_p) < 0.4, site, warehouse), "address", 0.6)
        self.found(pur, np.full(n_p, self.vendor_account, dtype=object), "account", 1.0)
        by_post = rng.random(n_p) < 0.4
        if by_post.any():
            here = [np.flatnonzero(self.outlet_region == r) for r in region[by_post]]
            out = np.array([h[rng.integers(0, h.size)] for h in here])
            wb = self.post(self.outlet_id[out], np.full(out.size, site_city, dtype=object), self.ids("OS", out.size),
                           np.full(out.size, receiver, dtype=object), day[by_post], qty[by_post], np.full(out.size, net))
            self.found(pur[by_post], wb, "waybill", 0.7)
        moved = region != site_city
        # the consignment as transport records have it: shipped 0-2 days after the purchase, weighed again
        ship_day = np.minimum(day[moved] + rng.integers(0, 3, int(moved.sum())), self.span)
        ship_qty = np.round(qty[moved] * (1 + rng.normal(0, 0.01, int(moved.sum()))), 1)
        for src, post, d, q in zip(region[moved], by_post[moved], ship_day, ship_qty):
            for a, b, mode in ([(src, site_city, "courier")] if post else legs(src, site_city, self.province_of)):
                self.flows.add(origin=[a], destination=[b], mode=[mode or "road"], day=[d], qty=[q])
        self.chains.add(chain=np.full(n_p, c), production=np.full(n_p, pc_[0]), purchase=pur,
                        precursor=np.full(n_p, precursor), product=np.full(n_p, product),
                        fed_network=np.full(n_p, -1 if fed is None else fed[0]))
        self.net_rows.append(dict(network=net, home_region=site_city, drug=product, lo=int(day.min()), hi=prod_day,
                                  channel="precursor", supplier=int(producers[0])))

    def _buyer_rows(self, pur, buyer):
        with_buyer = pur[self.rng.random(pur.size) < 0.6]
        self.involve(with_buyer, np.repeat(buyer, with_buyer.size), "precursor_buyer")

    def fed_phone(self, city):
        """(network, phone) of a wholesale case's phone in the site's city, if any."""
        cn = self.truth["case_network"]
        ce = self.tables["case_entities"]
        cases = self.tables["cases"]
        wholesale = cn.filter(pc.equal(cn.column("kind"), "wholesale"))
        in_city = cases.filter(pc.equal(cases.column("region_id"), city)).column("case_id")
        wholesale = wholesale.filter(pc.is_in(wholesale.column("case_id"), value_set=in_city.combine_chunks()))
        if not wholesale.num_rows:
            return None
        i = int(self.rng.integers(0, wholesale.num_rows))
        case, net = wholesale.column("case_id")[i].as_py(), wholesale.column("network")[i].as_py()
        phones = ce.filter(pc.and_(pc.equal(ce.column("case_id"), case), pc.equal(ce.column("kind"), "phone")))
        if not phones.num_rows:
            return None
        return net, phones.column("value")[0].as_py()

    def decoys(self, n_purchases: int, n_production: int, vocab):
        rng = self.rng
        prec = [d for d, c, _ in vocab.drugs if c == "易制毒化学品"]
        day = rng.integers(0, self.span + 1, n_purchases)
        cases = self.new_cases(np.full(n_purchases, -1), np.full(n_purchases, "background", dtype=object),
                               self.city(n_purchases), day,
                               np.asarray(["非法买卖制毒物品", "走私制毒物品", "非法生产制毒物品"], dtype=object)[
                                   rng.choice(3, n_purchases, p=[0.6, 0.2, 0.2])],
                               np.asarray(prec, dtype=object)[rng.integers(0, len(prec), n_purchases)],
                               np.round(rng.lognormal(9.0, 1.0, n_purchases), 1))
        self.involve(cases, self.new_persons(n_purchases, -1, "unaffiliated", self.city(n_purchases)),
                     "precursor_buyer")
        self.found(cases, np.full(n_purchases, self.vendor_account, dtype=object), "account", 1.0)
        self.found(cases, self.ids("9991", n_purchases, 12), "account", 0.6)
        prod = self.new_cases(np.full(n_production, -1), np.full(n_production, "background", dtype=object),
                              self.city(n_production), rng.integers(0, self.span + 1, n_production),
                              np.full(n_production, "制造"), np.full(n_production, "冰毒"),
                              np.round(rng.lognormal(7.0, 1.0, n_production), 1))
        self.involve(prod, self.new_persons(n_production, -1, "unaffiliated", self.city(n_production)), "producer")
        self.found(prod, self.ids("ADDRP", n_production), "address", 0.85)

    def background_posts(self, n: int, vocab):
        """Users of any drug who had a parcel posted to them from any outlet (by volume): their case
        holds the waybill."""
        rng = self.rng
        out = rng.choice(self.outlet_id.size, n, p=self.outlet_volume / self.outlet_volume.sum())
        dest = self.city(n)
        day = rng.integers(0, self.span + 1, n)
        wb = self.post(self.outlet_id[out], dest, self.ids("OS", n), self.ids("RV", n), day,
                       np.round(rng.lognormal(4.0, 0.8, n), 1), np.full(n, _NO_NETWORK))
        # any drug of the vocabulary but the precursors (those travel as purchases); some from abroad (走私)
        drugs = np.asarray([d for d, c, _ in vocab.drugs if c != "易制毒化学品"], dtype=object)
        cases = self.new_cases(np.full(n, -1), np.full(n, "background", dtype=object), dest,
                               np.minimum(day + rng.integers(1, 60, n), self.span),
                               np.where(rng.random(n) < 0.8, "持有", "走私"),
                               drugs[rng.integers(0, drugs.size, n)], np.round(rng.lognormal(0.5, 0.8, n), 2))
        self.involve(cases, self.new_persons(n, -1, "unaffiliated", dest), "user")
        self.found(cases, wb, "waybill", 1.0)

    def legit_parcels(self, n: int):
        rng = self.rng
        n_senders = max(n // 8, 1)
        sender_outlet = rng.choice(self.outlet_id.size, n_senders, p=self.outlet_volume / self.outlet_volume.sum())
        # parcels by outlet volume, each from one of that outlet's senders (or a one-off sender)
        out = rng.choice(self.outlet_id.size, n, p=self.outlet_volume / self.outlet_volume.sum())
        senders = self.ids("LS", n_senders)
        order = np.argsort(sender_outlet, kind="stable")
        first = np.searchsorted(sender_outlet[order], np.arange(self.outlet_id.size))
        count = np.bincount(sender_outlet, minlength=self.outlet_id.size)
        has = count[out] > 0
        pick = first[out] + np.floor(rng.random(n) * np.maximum(count[out], 1)).astype(np.int64)
        sender = np.where(has, senders[order[np.minimum(pick, n_senders - 1)]], self.ids("LS1", n))
        self.post(self.outlet_id[out], self.city(n), sender, self.ids("RV", n), rng.integers(0, self.span + 1, n),
                  np.round(rng.lognormal(6.5, 1.0, n), 1), np.full(n, _LEGIT))

    def quarters(self) -> tuple[np.ndarray, np.ndarray]:
        """The calendar quarters the data span: their first days, and those as day offsets from t0."""
        t0 = np.datetime64(self.t0, "D")
        first = t0.astype("datetime64[M]")
        first = first - first.astype(int) % 3
        q_start = np.arange(first, (t0 + self.span).astype("datetime64[M]") + 1, 3).astype("datetime64[D]")
        return q_start, (q_start - t0).astype(np.int64)

    def lifecycles(self, count: int):
        """Street networks living through planted events, quarter by quarter (calendar quarters): born,
        growing, contracting, splitting, merging, and dismantled in an arrest (收网) quarter with a
        burst of cases, after which they are gone. Each quarter a network has about twice as many
        cases as identifiers, each case holding two of its identifiers and one of its persons. Truth: ``lifecycle_events`` (quarter, event, network)."""
        rng = self.rng
        q_start, q_day = self.quarters()
        nq = q_day.size
        next_net = [self.n_street + self.cfg.online_networks + self.cfg.precursor_chains]

        def new_network(q):
            net = next_net[0]
            next_net[0] += 1
            city = self.city(1)[0]
            pool = {"phone": list(self.ids("LP", int(rng.integers(4, 7)))), "account": list(self.ids("9993", 3, 12))}
            people = list(self.new_persons(3, net, "seller", city))
            self.net_rows.append(dict(network=net, home_region=city, drug="冰毒", lo=int(q_day[q]), hi=int(q_day[q]),
                                      channel="lifecycle", supplier=int(people[0])))
            return net, {"city": city, "pool": pool, "people": people}

        alive = {}
        for _ in range(count):
            net, st = new_network(0)
            alive[net] = st
            self.events.append((0, "birth", net))
        for q in range(nq):
            if q >= 1:
                ids = sorted(alive)
                rng.shuffle(ids)
                used = set()
                for net in ids:
                    if net in used:
                        continue
                    used.add(net)
                    st = alive[net]
                    size = len(st["pool"]["phone"]) + len(st["pool"]["account"])
                    kind = rng.choice(["continuation", "growth", "contraction", "split", "merge", "death"],
                                      p=[0.62, 0.08, 0.07, 0.07, 0.07, 0.09])
                    partner = next((x for x in ids if x not in used), None)
                    if (kind == "merge" and partner is None) or (kind in ("contraction", "split") and size < 8):
                        kind = "growth" if size < 8 else "continuation"
                    if kind == "death":  # the arrest quarter: every identifier seized, then nothing
                        self._lifecycle_cases(net, st, q_day[q], q_day[q + 1] - 1 if q + 1 < nq else self.span, burst=True)
                        del alive[net]
                        if q + 1 < nq:
                            self.events.append((q + 1, "death", net))
                        continue
                    if kind == "growth":
                        for k, v in st["pool"].items():
                            v += list(self.ids("LP" if k == "phone" else "9993", len(v), 10 if k == "phone" else 12))
                        st["people"] += list(self.new_persons(2, net, "seller", st["city"]))
                    elif kind == "contraction":
                        for k in st["pool"]:
                            st["pool"][k] = st["pool"][k][: max(len(st["pool"][k]) // 2, 1)]
                    elif kind == "split":
                        other_net = next_net[0]
                        next_net[0] += 1
                        other = {"city": st["city"], "people": st["people"][1:] or list(
                            self.new_persons(1, other_net, "seller", st["city"])),
                            "pool": {k: v[len(v) // 2:] for k, v in st["pool"].items()}}
                        st["pool"] = {k: v[: len(v) // 2] for k, v in st["pool"].items()}
                        st["people"] = st["people"][:1]
                        self.net_rows.append(dict(network=other_net, home_region=st["city"], drug="冰毒", lo=int(q_day[q]),
                                                  hi=int(q_day[q]), channel="lifecycle", supplier=-1))
                        alive[other_net] = other
                        self.events.append((q, "split", other_net))
                    elif kind == "merge":
                        used.add(partner)
                        for k in st["pool"]:
                            st["pool"][k] = st["pool"][k] + alive[partner]["pool"][k]
                        st["people"] += alive[partner]["people"]
                        del alive[partner]
                    self.events.append((q, kind, net))
                if rng.random() < 0.5:
                    net, st = new_network(q)
                    alive[net] = st
                    self.events.append((q, "birth", net))
            for net, st in alive.items():
                self._lifecycle_cases(net, st, q_day[q], q_day[q + 1] - 1 if q + 1 < nq else self.span)

    def _lifecycle_cases(self, net, st, lo, hi, burst=False):
        rng = self.rng
        lo, hi = max(int(lo), 0), min(int(hi), self.span)
        if hi < lo:
            return
        ents = [(k, v) for k, vals in st["pool"].items() for v in vals]
        n = len(ents) if burst else max(4, int(rng.poisson(2.0 * len(ents))))
        day = rng.integers(lo, hi + 1, n)
        cases = self.new_cases(np.full(n, net), np.full(n, "lifecycle", dtype=object), np.full(n, st["city"], dtype=object),
                               day, np.where(rng.random(n) < 0.7, "贩卖", "吸食"), np.full(n, "冰毒"),
                               np.round(rng.lognormal(1.5, 0.8, n), 2))
        people = np.asarray(st["people"])
        self.involve(cases, people[rng.integers(0, people.size, n)], "seller")
        for c in cases:
            picks = range(len(ents)) if burst else rng.choice(len(ents), min(2, len(ents)), replace=False)
            for j in picks:
                kind, value = ents[j]
                self.ents.add(case=[c], kind=[kind], value=[value])
        # the network's history: the lifecycle spans the quarters it has cases in
        for row in self.net_rows:
            if row["network"] == net:
                row["lo"], row["hi"] = min(row["lo"], lo), max(row["hi"], hi)

    def trend_breaks(self, count: int, cases: pa.Table):
        """Planted level shifts: in ``count`` regions, from a calendar quarter on, user cases (吸食/持有,
        one new person each) come at 1.5 times the region's case rate plus 15 a quarter (a 新增 surge);
        before it the region is as generated. Truth: ``trend_breaks`` (region_id, period)."""
        rng = self.rng
        region = cases.column("region_id").to_numpy(zero_copy_only=False).astype(object)
        q_start, q_day = self.quarters()
        nq = q_day.size
        chosen = rng.choice(self.cities, size=min(count, len(self.cities)), replace=False)
        for city in chosen:
            q = int(rng.integers(nq // 4, 3 * nq // 4))
            rate = np.sum(region == city) / max(nq, 1)
            for k in range(q, nq):
                lo, hi = int(q_day[k]), int(q_day[k + 1] - 1) if k + 1 < nq else self.span
                n = int(rng.poisson(0.5 * rate + 15))
                day = rng.integers(lo, max(hi, lo) + 1, n)
                new = self.new_cases(np.full(n, -1), np.full(n, "background", dtype=object), np.full(n, city, dtype=object),
                                     day, np.where(rng.random(n) < 0.7, "吸食", "持有"), np.full(n, "冰毒"),
                                     np.round(rng.lognormal(-0.7, 0.8, n), 2))
                self.involve(new, self.new_persons(n, -1, "unaffiliated", city), "user")
            self.breaks.append((city, q_start[q]))

    def relapses(self, count: int):
        """Users with a planted latent risk (high for a third): after each use case, another follows
        with probability 0.75 (high) or 0.35 (low), after an exponential wait of mean 90 (high) or 240
        (low) days — relapse risk that falls with time since the last case. Each user has one record
        in one city. Truth: ``person_relapse`` (record index here, mapped to record ids in _tables)."""
        rng = self.rng
        high = rng.random(count) < 1 / 3
        people = self.new_persons(count, -1, "user", self.city(count))
        region = self.person_info.column("region")[people]
        for i in range(count):
            p_again, wait = (0.75, 90.0) if high[i] else (0.35, 240.0)
            day = int(rng.integers(0, self.span))
            days = []
            while day <= self.span and len(days) < 40:
                days.append(day)
                if rng.random() >= p_again:
                    break
                day += 1 + int(rng.exponential(wait))
            c = self.new_cases(np.full(len(days), -1), np.full(len(days), "background", dtype=object),
                               np.full(len(days), region[i], dtype=object), np.array(days),
                               np.where(rng.random(len(days)) < 0.8, "吸食", "持有"), np.full(len(days), "冰毒"),
                               np.round(rng.lognormal(-0.7, 0.8, len(days)), 2))
            self.involve(c, np.full(len(days), people[i]), "user")
        self.relapse = (people, high)

    def noise(self):
        """VPN exit addresses in a few online cases; buyers who also bought from another network."""
        rng = self.rng
        vpn = np.array([f"172.16.{i}.1" for i in range(_N_VPN)], dtype=object)
        all_cases = np.concatenate([c for c, _ in self.buyer_cases]) if self.buyer_cases else np.empty(0, int)
        hit = all_cases[rng.random(all_cases.size) < VPN_SHARE]
        self.ents.add(case=hit, kind=np.full(hit.size, "ip", dtype=object), value=vpn[rng.integers(0, _N_VPN, hit.size)])
        if len(self.online_wechat) > 1:
            other = all_cases[rng.random(all_cases.size) < CROSS_BUYER_SHARE]
            nets = rng.integers(0, len(self.online_wechat), other.size)
            vals = np.array([self.online_wechat[k][0] for k in nets], dtype=object)
            self.ents.add(case=other, kind=np.full(other.size, "wechat", dtype=object), value=vals)
        self.noise_values = (np.full(_N_VPN, "ip", dtype=object), vpn)


def add_channels(cfg, tables: dict, truth: dict, *, cities, city_p, province_of, t0, span) -> tuple[dict, dict]:
    """The dataset's tables and truth with the online networks, precursor chains and parcels added."""
    ch = _Channels(cfg, tables, truth, cities, city_p, province_of, t0, span)
    vocab = default_vocabulary()
    ch.outlets()
    for j in range(cfg.online_networks):
        ch.online(j)
    for c in range(cfg.precursor_chains):
        ch.chain(c, vocab)
    if cfg.lifecycle_networks:
        ch.lifecycles(cfg.lifecycle_networks)
    if cfg.trend_breaks:
        ch.trend_breaks(cfg.trend_breaks, tables["cases"])
    if cfg.relapse_users:
        ch.relapses(cfg.relapse_users)
    if cfg.precursor_chains:
        ch.decoys(cfg.precursor_chains * 2, max(cfg.precursor_chains // 2, 1), vocab)
    n_drug = sum(p.shape[0] for p in ch.parcels.parts["waybill"])
    if cfg.courier_outlets:
        ch.background_posts(max(int(0.15 * n_drug), 1), vocab)
        n_drug = sum(p.shape[0] for p in ch.parcels.parts["waybill"])
        ch.legit_parcels(int(round(cfg.legit_parcels_per_drug_parcel * n_drug)))
    ch.noise()
    return _tables(ch, tables, truth)


def _tables(ch: _Channels, tables: dict, truth: dict) -> tuple[dict, dict]:
    rng, t0 = ch.rng, ch.t0
    tables, truth = dict(tables), dict(truth)
    # persons: one record each, in their region
    n_p = ch._serial
    p_region = ch.person_info.column("region")
    rec_base = tables["person_records"].num_rows
    record_id = np.char.add("R", np.char.zfill((rec_base + rng.permutation(n_p)).astype("U9"), 9)).astype(object)
    birth = (np.datetime64("1965-01-01") + rng.integers(0, 365 * 40, n_p)).astype("datetime64[D]")
    male = rng.random(n_p) < 0.8
    region_ids = tables["regions"].column("region_id").to_pylist()
    rcode = np.array([region_ids.index(r) + 100 for r in p_region])
    taken = set(tables["person_records"].column("phone").drop_null().to_pylist())
    phones = np.array([p if p not in taken else None for p in idt.phones(rng, n_p)], dtype=object)
    phones[rng.random(n_p) < 0.4] = None
    records = pa.table({
        "record_id": pa.array(record_id, pa.string()), "source_region": pa.array(p_region, pa.string()),
        "name": pa.array(idt.random_names(rng, n_p), pa.string()),
        "id_number": pa.array(np.where(rng.random(n_p) < 0.3, None, idt.id_numbers(rng, rcode, birth, male)), pa.string()),
        "birth_date": pa.array(birth.astype(object), pa.date32()),
        "sex": pa.array(np.where(male, "M", "F").astype(object), pa.string()),
        "phone": pa.array(phones, pa.string()),
        "home_region": pa.array(p_region, pa.string())})
    tables["person_records"] = pa.concat_tables([tables["person_records"], records])
    # cases: new ids, then every case id of the dataset renumbered in one random order (ids carry no truth)
    cases_old = tables["cases"]
    n_old, n_new = cases_old.num_rows, sum(p.shape[0] for p in ch.cases.parts["net"])
    new_local = np.char.add("N", np.arange(n_new).astype("U9")).astype(object)
    new_cases = pa.table({"case_id": pa.array(new_local, pa.string()),
                          "region_id": pa.array(ch.cases.column("region"), pa.string()),
                          "date": pa.array(t0 + ch.cases.column("day").astype(np.int64)),
                          "case_type": pa.array(ch.cases.column("type"), pa.string()),
                          "drug": pa.array(ch.cases.column("drug"), pa.string()),
                          "quantity_g": pa.array(ch.cases.column("qty").astype(float), pa.float64())})
    old_ids = cases_old.column("case_id").to_numpy(zero_copy_only=False).astype(object)
    all_ids = np.concatenate([old_ids, new_local])
    renamed = np.char.add("C", np.char.zfill(rng.permutation(n_old + n_new).astype("U9"), 9)).astype(object)
    lookup = pa.array(all_ids, pa.string())

    def rename(col) -> pa.Array:
        return pa.array(renamed[pc.index_in(col, value_set=lookup).to_numpy()], pa.string())

    cases = pa.concat_tables([cases_old, new_cases])
    tables["cases"] = cases.set_column(0, "case_id", rename(cases.column("case_id"))).sort_by("case_id")
    cp_new = pa.table({"case_id": pa.array(new_local[ch.persons.column("case").astype(np.int64)], pa.string()),
                       "record_id": pa.array(record_id[ch.persons.column("person").astype(np.int64)], pa.string()),
                       "role": pa.array(np.concatenate(ch.roles) if ch.roles else np.empty(0, object), pa.string())})
    cp = pa.concat_tables([tables["case_persons"], cp_new])
    cp = cp.set_column(0, "case_id", rename(cp.column("case_id")))
    cp = cp.group_by(["case_id", "record_id"], use_threads=False).aggregate([("role", "min")]) \
        .rename_columns(["case_id", "record_id", "role"])
    tables["case_persons"] = cp.sort_by([("case_id", "ascending"), ("record_id", "ascending")])
    ce_new = pa.table({"case_id": pa.array(new_local[ch.ents.column("case").astype(np.int64)], pa.string()),
                       "kind": pa.array(ch.ents.column("kind"), pa.string()),
                       "value": pa.array(ch.ents.column("value"), pa.string())})
    ce = pa.concat_tables([tables["case_entities"], ce_new])
    ce = ce.set_column(0, "case_id", rename(ce.column("case_id")))
    ce = ce.group_by(["case_id", "kind", "value"], use_threads=False).aggregate([])
    tables["case_entities"] = ce.sort_by([("case_id", "ascending"), ("kind", "ascending"), ("value", "ascending")])
    # flows and parcels
    fl = pa.table({"origin": pa.array(ch.flows.column("origin"), pa.string()),
                   "destination": pa.array(ch.flows.column("destination"), pa.string()),
                   "mode": pa.array(ch.flows.column("mode"), pa.string()),
                   "date": pa.array(t0 + ch.flows.column("day").astype(np.int64)),
                   "quantity_g": pa.array(ch.flows.column("qty").astype(float), pa.float64())})
    tables["flows"] = pa.concat_tables([tables["flows"], fl])
    outlet_index = pc.index_in(pa.array(ch.parcels.column("outlet"), pa.string()),
                               value_set=pa.array(ch.outlet_id, pa.string())).to_numpy()
    parcels = pa.table({
        "waybill": pa.array(ch.parcels.column("waybill"), pa.string()),
        "courier": pa.array(ch.outlet_courier[outlet_index], pa.string()),
        "origin_outlet": pa.array(ch.parcels.column("outlet"), pa.string()),
        "origin_region": pa.array(ch.outlet_region[outlet_index], pa.string()),
        "destination_region": pa.array(ch.parcels.column("dest"), pa.string()),
        "sender": pa.array(ch.parcels.column("sender"), pa.string()),
        "receiver": pa.array(ch.parcels.column("receiver"), pa.string()),
        "date": pa.array(t0 + ch.parcels.column("day").astype(np.int64)),
        "weight_g": pa.array(ch.parcels.column("weight").astype(float), pa.float64())})
    if ch.cfg.courier_outlets:
        tables["parcels"] = parcels.sort_by("waybill")
    # truth
    net = ch.cases.column("net").astype(np.int64)
    cn_new = pa.table({"case_id": pa.array(new_local, pa.string()), "network": pa.array(net),
                       "kind": pa.array(ch.cases.column("kind"), pa.string())})
    cn = pa.concat_tables([truth["case_network"], cn_new])
    truth["case_network"] = cn.set_column(0, "case_id", rename(cn.column("case_id"))).sort_by("case_id")
    networks = truth["networks"]
    networks = networks.append_column("channel", pa.array(["street"] * networks.num_rows, pa.string()))
    pid_base = truth["persons"].num_rows
    counts = np.bincount(net[net >= 0], minlength=ch.n_street + len(ch.net_rows))
    extra = pa.table({
        "network": pa.array([r["network"] for r in ch.net_rows], pa.int64()),
        "home_region": pa.array([r["home_region"] for r in ch.net_rows], pa.string()),
        "second_region": pa.nulls(len(ch.net_rows), pa.string()),
        "origin": pa.nulls(len(ch.net_rows), pa.string()),
        "cross_province": pa.array([False] * len(ch.net_rows)), "two_way": pa.array([False] * len(ch.net_rows)),
        "drug": pa.array([r["drug"] for r in ch.net_rows], pa.string()),
        "supplier": pa.array([f"P{pid_base + r['supplier']:09d}" if r["supplier"] >= 0 else None for r in ch.net_rows],
                             pa.string()),
        "start_date": pa.array(t0 + np.array([r["lo"] for r in ch.net_rows], dtype=np.int64)),
        "end_date": pa.array(t0 + np.array([r["hi"] for r in ch.net_rows], dtype=np.int64)),
        "n_cases": pa.array(counts[[r["network"] for r in ch.net_rows]].astype(np.int64)),
        "channel": pa.array([r["channel"] for r in ch.net_rows], pa.string())})
    truth["networks"] = pa.concat_tables([networks, extra.cast(networks.schema)])
    pid = np.char.add("P", np.char.zfill((pid_base + np.arange(n_p)).astype("U9"), 9)).astype(object)
    truth["persons"] = pa.concat_tables([truth["persons"], pa.table({
        "person_id": pa.array(pid, pa.string()),
        "network": pa.array(ch.person_info.column("net").astype(np.int64)),
        "role": pa.array(ch.person_info.column("role"), pa.string()),
        "upstream": pa.nulls(n_p, pa.string()),
        "home_region": pa.array(p_region, pa.string())}).cast(truth["persons"].schema)])
    truth["record_person"] = pa.concat_tables([truth["record_person"], pa.table({
        "record_id": pa.array(record_id, pa.string()), "person_id": pa.array(pid, pa.string()),
        "is_primary": pa.array(np.ones(n_p, dtype=bool))})])
    kinds, values = ch.noise_values
    noise = pa.table({"kind": pa.array(kinds, pa.string()), "value": pa.array(values, pa.string()),
                      "noise": pa.array(["vpn"] * kinds.size, pa.string())})
    truth["noise_entities"] = pa.concat_tables([truth["noise_entities"], noise])
    if ch.cfg.precursor_chains:
        truth["precursor_chains"] = pa.table({
            "chain": pa.array(ch.chains.column("chain").astype(np.int64)),
            "production_case": rename(pa.array(new_local[ch.chains.column("production").astype(np.int64)], pa.string())),
            "purchase_case": rename(pa.array(new_local[ch.chains.column("purchase").astype(np.int64)], pa.string())),
            "precursor": pa.array(ch.chains.column("precursor"), pa.string()),
            "product": pa.array(ch.chains.column("product"), pa.string()),
            "fed_network": pa.array(ch.chains.column("fed_network").astype(np.int64))})
    if ch.cfg.relapse_users:
        people, high = ch.relapse
        truth["person_relapse"] = pa.table({"record_id": pa.array(record_id[people], pa.string()),
                                            "latent_risk": pa.array(np.where(high, "high", "low"), pa.string())})
    if ch.cfg.trend_breaks:
        truth["trend_breaks"] = pa.table({"region_id": pa.array([b[0] for b in ch.breaks], pa.string()),
                                          "period": pa.array(np.array([b[1] for b in ch.breaks], dtype="datetime64[D]"),
                                                             pa.date32())}).sort_by("region_id")
    if ch.cfg.lifecycle_networks:
        q = ch.quarters()[0]
        truth["lifecycle_events"] = pa.table({
            "period": pa.array(np.array([q[e[0]] for e in ch.events], dtype="datetime64[D]"), pa.date32()),
            "event": pa.array([str(e[1]) for e in ch.events], pa.string()),
            "network": pa.array([int(e[2]) for e in ch.events], pa.int64())}).sort_by(
            [("period", "ascending"), ("network", "ascending")])
    if ch.cfg.courier_outlets:
        order = np.argsort(-ch.outlet_volume, kind="stable")
        rank = np.empty_like(order)
        rank[order] = np.arange(order.size)
        truth["parcel_outlets"] = pa.table({
            "origin_outlet": pa.array(ch.outlet_id, pa.string()), "region_id": pa.array(ch.outlet_region, pa.string()),
            "volume_rank": pa.array(rank.astype(np.int64)), "planted": pa.array(ch.planted),
            "busy": pa.array(ch.busy & ~ch.planted)})
        pn = ch.parcels.column("net").astype(np.int64)
        drug = pn != _LEGIT
        truth["drug_parcels"] = pa.table({"waybill": pa.array(ch.parcels.column("waybill")[drug], pa.string()),
                                          "network": pa.array(np.maximum(pn[drug], -1))})
    return tables, truth
