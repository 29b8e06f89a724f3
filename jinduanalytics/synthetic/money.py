"""毒资: the networks' money, hidden among ordinary transfers (``money_background`` > 0).

The street generator writes a few transfers up each chain; with ``money_background`` set, this
builder replaces them with a month-by-month model of the proceeds and ``money_background``
legitimate transfers per drug transfer (own random stream: the other tables do not change):

* **Retail** (零包): every buyer pays the seller's account 2-8 times while the network is active
  (~300 元 each). A user case also holds the buyer's own account with probability
  ``BUYER_ACCOUNT_SEEN`` (the payment app on the seized phone), a wholesale case the wholesaler's
  own account with probability ``OWN_ACCOUNT_SEEN``.
* **Up the chain**, every month a seller is active: the seller remits ~60% of the month's takings to
  a wholesaler, or (30% of sellers) straight to the supplier's **collection account** (资金归集, a
  new account the supplier controls); a quarter of the sellers go through a **layering chain** of
  2-3 of the network's mule accounts, each forwarding 97-99.5% within 0-2 days. Wholesalers remit
  monthly to the collection account; a third of them are **structurers** who split every
  remittance into parts just under ``REPORTING_THRESHOLD`` within three days; a fifth send some
  months through a **scatter-gather** of 3-5 mules (split before a mid date, gathered after it).
* **Out of the collection account**: within 1-4 days of a month's last inflow, 85-98% of the month's
  inflow leaves to 2-5 cash-out accounts (集中转出; with the inflow from 3+ senders, a
  gather-scatter). A third of the networks also run one **cycle**: collection -> cash-out -> mule ->
  collection, each hop keeping 90-99% and moving on within days.
* **Background**: ordinary persons (and the network persons themselves) shopping at merchants
  (heavy-tailed popularity: busy merchants receive from thousands), salaries paid by employers on
  one day a month (a legitimate fan-out), rent, family transfers (some reciprocated), and a few
  large purchases, some just under the threshold.

Truth: ``money_accounts`` (account -> role, network, person) and ``money_typologies`` (typology,
instance, account, network, ``flagged``: the accounts a detector should flag for the instance — the
hub of a fan-in, fan-out or gather-scatter, the mules of a layering chain, the sender who structures,
every account of a scatter-gather or a cycle — and the others in it).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from . import identity as idt

#: Transfers at or above this amount (元) are reported; structurers stay under it.
REPORTING_THRESHOLD = 50_000.0
#: A user case holds the buyer's own payment account (from the seized phone) with this probability.
BUYER_ACCOUNT_SEEN = 0.5
#: A wholesale case holds the wholesaler's own account (the one sellers pay) with this probability.
OWN_ACCOUNT_SEEN = 0.5
_SUPPLIER, _WHOLESALER, _COURIER, _SELLER, _BUYER = range(5)


class _Transfers:
    """Transfers appended piece by piece, concatenated once."""

    def __init__(self):
        self.src, self.dst, self.amount, self.day = [], [], [], []

    def add(self, src, dst, amount, day):
        src, dst = np.asarray(src, dtype=object), np.asarray(dst, dtype=object)
        n = src.size
        self.src.append(src)
        self.dst.append(dst)
        self.amount.append(np.round(np.broadcast_to(np.asarray(amount, dtype=float), (n,)), 2))
        self.day.append(np.broadcast_to(np.asarray(day, dtype=np.int64), (n,)))

    def __len__(self):
        return int(sum(a.size for a in self.src))

    def table(self, t0) -> pa.Table:
        return pa.table({"src_account": pa.array(np.concatenate(self.src), pa.string()),
                         "dst_account": pa.array(np.concatenate(self.dst), pa.string()),
                         "amount": pa.array(np.concatenate(self.amount), pa.float64()),
                         "date": pa.array(t0 + np.concatenate(self.day))})


def money(rng, *, background: float, acct, buyer_acct, p_role, p_net, upstream, person_id, net_lo, net_hi, span,
          t0):
    """The transfers table and its truth (see the module docstring).

    ``acct``: each network person's account (the one cases hold); ``buyer_acct``: each buyer's own
    account (aligned with ``acct``; only buyers' entries are used); ``p_role``, ``p_net``,
    ``upstream``: each network person's role code, network and upstream person; ``net_lo``,
    ``net_hi``: each network's active days; ``t0``: day 0.
    """
    n_net = net_lo.size
    tr = _Transfers()
    roles, typ = [], []  # (account, role, network, person) / (typology, instance, account, network, flagged)
    inst = [0]

    def typology(name, accounts, net, members=()):
        """One planted instance: ``accounts`` are what a detector should flag, ``members`` the others in it."""
        for a in accounts:
            typ.append((name, inst[0], a, int(net), True))
        for a in members:
            typ.append((name, inst[0], a, int(net), False))
        inst[0] += 1

    coll = idt.accounts(rng, n_net)
    n_mule = 3 + rng.integers(0, 4, n_net)
    mules = idt.accounts(rng, int(n_mule.sum()))
    mule_off = np.concatenate([[0], np.cumsum(n_mule)])
    n_cash = 2 + rng.integers(0, 4, n_net)
    cash = idt.accounts(rng, int(n_cash.sum()))
    cash_off = np.concatenate([[0], np.cumsum(n_cash)])
    sup_of = np.full(n_net, -1, dtype=np.int64)
    sup = np.flatnonzero(p_role == _SUPPLIER)
    sup_of[p_net[sup]] = sup
    for n in range(n_net):
        roles.append((coll[n], "collection", n, person_id[sup_of[n]] if sup_of[n] >= 0 else None))
        roles += [(m, "mule", n, None) for m in mules[mule_off[n]:mule_off[n + 1]]]
        roles += [(c, "cashout", n, None) for c in cash[cash_off[n]:cash_off[n + 1]]]
    for i in np.flatnonzero(p_role != _BUYER):
        roles.append((acct[i], {_SUPPLIER: "supplier", _WHOLESALER: "wholesale", _COURIER: "courier",
                                _SELLER: "retail"}[int(p_role[i])], int(p_net[i]), person_id[i]))

    # retail payments: buyer -> seller
    buyers = np.flatnonzero(p_role == _BUYER)
    k = 2 + rng.integers(0, 7, buyers.size)
    b = np.repeat(buyers, k)
    net = p_net[b]
    day = net_lo[net] + np.floor(rng.random(b.size) * (net_hi[net] - net_lo[net] + 1)).astype(np.int64)
    amount = np.exp(rng.normal(5.7, 0.5, b.size))
    tr.add(buyer_acct[b], acct[upstream[b]], amount, day)
    for i in buyers:
        roles.append((buyer_acct[i], "buyer", int(p_net[i]), person_id[i]))
    # takings per seller and month
    seller_of = upstream[b]
    month = day // 30
    takings: dict[tuple[int, int], float] = {}
    for s, m, a in zip(seller_of.tolist(), month.tolist(), amount.tolist()):
        takings[(s, m)] = takings.get((s, m), 0.0) + a

    sellers = np.flatnonzero(p_role == _SELLER)
    to_coll = set(sellers[rng.random(sellers.size) < 0.3].tolist())
    layered = set(sellers[rng.random(sellers.size) < 0.25].tolist())
    wholes = np.flatnonzero(p_role == _WHOLESALER)
    structurer = set(wholes[rng.random(wholes.size) < 1 / 3].tolist())
    scatterer = set(wholes[rng.random(wholes.size) < 0.2].tolist())
    inflow: dict[tuple[int, int], list] = {}  # (network, month) -> [(day, amount, sender)] into the collection

    def via_chain(src, dst, a, d, n):
        """src -> 2-3 of the network's mules -> dst, each hop forwarding 97-99.5% within 0-2 days."""
        pool = mules[mule_off[n]:mule_off[n + 1]]
        hops = pool[rng.permutation(pool.size)[:min(pool.size, 2 + int(rng.integers(0, 2)))]]
        path = [src, *hops, dst]
        for i, (u, v) in enumerate(zip(path[:-1], path[1:])):
            if i:  # each mule forwards most of what it received, within days
                a *= rng.uniform(0.97, 0.995)
                d = min(d + int(rng.integers(0, 3)), span)
            tr.add([u], [v], a, d)
        typology("layering", hops, n)
        return a, d, hops[-1]  # what arrives at dst, when, from whom

    for (s, m), take in sorted(takings.items()):
        n = int(p_net[s])
        d = min(max(m * 30 + 28 + int(rng.integers(0, 3)), net_lo[n]), span)
        a = take * rng.uniform(0.5, 0.7)
        dst_coll = s in to_coll
        dst = coll[n] if dst_coll else acct[upstream[s]]
        sender = acct[s]
        if s in layered and rng.random() < 0.7:
            a, d, sender = via_chain(acct[s], dst, a, d, n)
        else:
            tr.add([acct[s]], [dst], a, d)
        if dst_coll:
            inflow.setdefault((n, d // 30), []).append((d, a, sender))

    # wholesalers -> collection, monthly while the network is active
    for w in wholes:
        n = int(p_net[w])
        for m in range(net_lo[n] // 30, net_hi[n] // 30 + 1):
            d = min(m * 30 + 20 + int(rng.integers(0, 8)), span)
            if w in structurer:
                total = np.exp(rng.normal(11.4, 0.4))  # ~90k: worth splitting
                parts = max(2, int(round(total / (0.95 * REPORTING_THRESHOLD))))
                amounts = rng.uniform(0.9, 0.998, parts) * REPORTING_THRESHOLD  # each just under the threshold
                days = np.minimum(d + rng.integers(0, 4, parts), span)
                tr.add([acct[w]] * parts, [coll[n]] * parts, amounts, days)
                typology("structuring", [acct[w]], n)
                for dd, aa in zip(days.tolist(), amounts.tolist()):
                    inflow.setdefault((n, dd // 30), []).append((dd, aa, acct[w]))
            elif w in scatterer and rng.random() < 0.5:
                total = np.exp(rng.normal(10.5, 0.5))
                pool = mules[mule_off[n]:mule_off[n + 1]]
                mid = pool[rng.permutation(pool.size)[:min(pool.size, 3 + int(rng.integers(0, 3)))]]
                share = rng.dirichlet(np.full(mid.size, 5.0)) * total
                d1 = np.minimum(d + rng.integers(0, 2, mid.size), span)
                tr.add([acct[w]] * mid.size, mid, share, d1)
                fwd = share * rng.uniform(0.97, 0.995, mid.size)
                d2 = np.minimum(d1 + 2 + rng.integers(0, 3, mid.size), span)
                tr.add(mid, [coll[n]] * mid.size, fwd, d2)
                typology("scatter_gather", [acct[w], *mid, coll[n]], n)
                for dd, aa, mm in zip(d2.tolist(), fwd.tolist(), mid.tolist()):
                    inflow.setdefault((n, dd // 30), []).append((dd, aa, mm))
            else:
                a = np.exp(rng.normal(10.5, 0.5))
                tr.add([acct[w]], [coll[n]], a, d)
                inflow.setdefault((n, d // 30), []).append((d, a, acct[w]))
    # out of the collection account: 集中转出 to the cash-out accounts
    cycled = set(np.flatnonzero(rng.random(n_net) < 1 / 3).tolist())
    for (n, _month), rows in sorted(inflow.items()):
        last = max(r[0] for r in rows)
        total = sum(r[1] for r in rows)
        senders = {r[2] for r in rows}
        pool = cash[cash_off[n]:cash_off[n + 1]]
        k = min(pool.size, 2 + int(rng.integers(0, 4)))
        out = pool[rng.permutation(pool.size)[:k]]
        share = rng.dirichlet(np.full(k, 4.0)) * total * rng.uniform(0.85, 0.98)
        days = np.minimum(last + 1 + rng.integers(0, 4, k), span)
        tr.add([coll[n]] * k, out, share, days)
        if len(senders) >= 3:
            typology("fan_in", [coll[n]], n, sorted(senders))
        if k >= 3:
            typology("fan_out", [coll[n]], n, out)
        if len(senders) >= 3 and k >= 3:
            typology("gather_scatter", [coll[n]], n)
        if n in cycled:
            cycled.discard(n)
            c1 = out[0]
            mm = mules[mule_off[n] + int(rng.integers(0, n_mule[n]))]
            a = float(share[0]) * rng.uniform(0.3, 0.6)
            d = int(days[0]) + 1
            path = [coll[n], c1, mm, coll[n]]
            for u, v in zip(path[:-1], path[1:]):
                tr.add([u], [v], a, d)
                a *= rng.uniform(0.9, 0.99)
                d = min(d + int(rng.integers(0, 3)), span)
            typology("cycle", [coll[n], c1, mm], n)
    n_drug = len(tr)

    # ------------------------------------------------------------------ background
    n_bg = int(round(background * n_drug))
    n_people = max(2000, int(n_bg / 40))
    people = np.concatenate([idt.accounts(rng, n_people), acct[p_role != _BUYER], buyer_acct[buyers]])
    n_merch = max(20, n_people // 50)
    merch = idt.accounts(rng, n_merch)
    pop = 1.0 / np.arange(1, n_merch + 1) ** 1.1
    n_emp = max(5, n_people // 200)
    emp = idt.accounts(rng, n_emp)
    for a in merch:
        roles.append((a, "merchant", -1, None))
    for a in emp:
        roles.append((a, "employer", -1, None))
    n_shop, n_family, n_big = int(0.6 * n_bg), int(0.2 * n_bg), max(1, int(0.005 * n_bg))
    # shopping
    src = people[rng.integers(0, people.size, n_shop)]
    dst = merch[rng.choice(n_merch, n_shop, p=pop / pop.sum())]
    tr.add(src, dst, np.exp(rng.normal(4.5, 1.0, n_shop)), rng.integers(0, span + 1, n_shop))
    # salaries: each employee paid on the employer's day every month
    n_months = span // 30 + 1
    n_sal = int(0.12 * n_bg)
    n_staff = max(1, n_sal // n_months)
    staff = rng.integers(0, people.size, n_staff)
    boss = rng.integers(0, n_emp, n_staff)
    pay = np.exp(rng.normal(8.7, 0.3, n_staff))
    payday = rng.integers(0, 28, n_emp)
    months = np.arange(n_months)
    s_rep = np.repeat(staff, n_months)
    b_rep = np.repeat(boss, n_months)
    d = np.tile(months * 30, n_staff) + payday[b_rep]
    keep = d <= span
    tr.add(emp[b_rep[keep]], people[s_rep[keep]], np.repeat(pay, n_months)[keep], d[keep])
    # rent: tenant -> landlord, monthly
    n_rent = int(0.08 * n_bg)
    n_ten = max(1, n_rent // n_months)
    ten = rng.integers(0, people.size, n_ten)
    lord = rng.integers(0, people.size, n_ten)
    ok = ten != lord
    ten, lord = ten[ok], lord[ok]
    rent = np.round(rng.uniform(1500, 4000, ten.size), -1)
    rday = rng.integers(0, 28, ten.size)
    t_rep, l_rep = np.repeat(ten, n_months), np.repeat(lord, n_months)
    d = np.tile(months * 30, ten.size) + np.repeat(rday, n_months)
    keep = d <= span
    tr.add(people[t_rep[keep]], people[l_rep[keep]], np.repeat(rent, n_months)[keep], d[keep])
    # family transfers, a quarter of them answered within weeks
    a_i = rng.integers(0, people.size, n_family)
    b_i = rng.integers(0, people.size, n_family)
    ok = a_i != b_i
    a_i, b_i = a_i[ok], b_i[ok]
    amt = np.exp(rng.normal(7.0, 1.0, a_i.size))
    day = rng.integers(0, span + 1, a_i.size)
    tr.add(people[a_i], people[b_i], amt, day)
    back = rng.random(a_i.size) < 0.25
    tr.add(people[b_i[back]], people[a_i[back]], np.exp(rng.normal(7.0, 1.0, int(back.sum()))),
           np.minimum(day[back] + rng.integers(1, 30, int(back.sum())), span))
    # large purchases (cars, deposits), some just under the threshold
    big = np.exp(rng.normal(10.8, 0.6, n_big))
    under = rng.random(n_big) < 0.3
    big[under] = rng.uniform(0.9, 0.999, int(under.sum())) * REPORTING_THRESHOLD
    tr.add(people[rng.integers(0, people.size, n_big)], merch[rng.integers(0, n_merch, n_big)], big,
           rng.integers(0, span + 1, n_big))

    transactions = tr.table(t0)
    # a legitimate transfer drawn between one account and itself is dropped (the schema refuses them)
    keep = np.asarray(transactions.column("src_account").to_pylist(), dtype=object) != \
        np.asarray(transactions.column("dst_account").to_pylist(), dtype=object)
    transactions = transactions.filter(pa.array(keep))
    order = np.lexsort((np.arange(transactions.num_rows), transactions.column("date").to_numpy()))
    transactions = transactions.take(pa.array(order))
    seen: set = set()
    role_rows = [r for r in roles if not (r[0] in seen or seen.add(r[0]))]
    truth = {
        "money_accounts": pa.table({"account": pa.array([r[0] for r in role_rows], pa.string()),
                                    "role": pa.array([r[1] for r in role_rows], pa.string()),
                                    "network": pa.array([r[2] for r in role_rows], pa.int64()),
                                    "person_id": pa.array([r[3] for r in role_rows], pa.string())}),
        "money_typologies": pa.table({"typology": pa.array([t[0] for t in typ], pa.string()),
                                      "instance": pa.array([t[1] for t in typ], pa.int64()),
                                      "account": pa.array([t[2] for t in typ], pa.string()),
                                      "network": pa.array([t[3] for t in typ], pa.int64()),
                                      "flagged": pa.array([t[4] for t in typ], pa.bool_())}),
    }
    return transactions, truth
