"""拔钉追逃: planted fugitives, where they hide and who helps them (``fugitives`` > 0).

A fugitive is a supplier, wholesaler, courier or seller of a street network whose network ended at
least 120 days before the data end; they flee within 60 days of its end. Where to (``hiding_region``):
their home region with probability ``STAY_HOME`` (hiding with relatives), else another rim city drawn by
the cities' weights. Who helps them (truth ``fugitive_contacts``): 2-4 **helpers** living in the hiding
region (registered persons, sometimes a member of their own network who lives there) and, with
probability 0.6, one **family** member in the home region. What the data show (own random stream:
the other tables do not change):

* Before fleeing, the fugitive's phone called each helper now and then (probability 0.5 per helper,
  1-3 calls) and the family member often.
* After fleeing, they call from their old phone (probability ``OLD_PHONE``) or a new one. Each helper
  is called with probability 0.85 (4-40 calls over months, the last ones recent), the family member
  with probability 0.9 — the new phone's only link back to them when they leave no record.
* A new phone is registered in a **lodging record** (旅馆住宿登记) in the hiding region with
  probability 0.6, under a confused name and no or a masked ID number (an old phone: 0.3); the
  record is the fugitive's in truth ``record_person``.
* **The old circle**: 1-3 members of their network and 2-3 friends in the home region they called most
  (20-120 calls each) until they fled, and not after (not contacts to approach: the network is watched).
* **Decoys**: 2-5 one-off calls after fleeing to persons elsewhere (deliveries, wrong numbers), and
  the fugitive's whole past (cases, associates) stays in the data, dated before the flight.

Truth: ``fugitives`` (person_id, home_region, hiding_region, flee_date, phone: the one used after
fleeing, new_phone) and ``fugitive_contacts`` (fugitive, contact person_id, kind helper/family,
region). About 7% of the fugitives leave no trace after fleeing (a new phone, no lodging record, no
call to family): no method can place them.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from . import identity as idt

#: A fugitive hides in their home region with this probability.
STAY_HOME = 0.25
#: A fugitive keeps calling from their old phone with this probability.
OLD_PHONE = 0.4
_ROLES = ("supplier", "wholesaler", "courier", "seller")


def _phone_of(records: pa.Table, rp: pa.Table) -> dict[str, tuple[str, str]]:
    """person_id -> (a phone of theirs, the region of that record), primary records first."""
    t = rp.join(records.select(["record_id", "phone", "source_region"]), "record_id").filter(pc.is_valid(pc.field("phone")))
    t = t.sort_by([("person_id", "ascending"), ("is_primary", "descending"), ("record_id", "ascending")])
    out: dict[str, tuple[str, str]] = {}
    for p, ph, reg in zip(t["person_id"].to_pylist(), t["phone"].to_pylist(), t["source_region"].to_pylist()):
        out.setdefault(p, (ph, reg))
    return out


def add_fugitives(rng: np.random.Generator, count: int, tables: dict, truth: dict, *, cities, city_p, t0,
                  span: int) -> tuple[dict, dict]:
    """The dataset's tables and truth with ``count`` planted fugitives (fewer when the networks are too few)."""
    tables, truth = dict(tables), dict(truth)
    persons, rp, records = truth["persons"], truth["record_person"], tables["person_records"]
    phone = _phone_of(records, rp)
    end_of = dict(zip(truth["networks"]["network"].to_pylist(),
                      ((np.array(truth["networks"]["end_date"].to_pylist(), dtype="datetime64[D]") - t0)
                       .astype(np.int64)).tolist()))
    pid = persons["person_id"].to_pylist()
    role = persons["role"].to_pylist()
    net = persons["network"].to_pylist()
    home = persons["home_region"].to_pylist()
    cand = [i for i in range(len(pid)) if role[i] in _ROLES and pid[i] in phone and net[i] >= 0
            and end_of.get(net[i], span) <= span - 180]
    cand = np.array(cand, dtype=np.int64)
    chosen = np.sort(rng.choice(cand, min(count, cand.size), replace=False)) if cand.size else cand
    by_region: dict[str, list[int]] = {}
    members_of: dict[int, list[int]] = {}
    for i in range(len(pid)):
        if role[i] == "registered" and pid[i] in phone:
            by_region.setdefault(home[i], []).append(i)
        if net[i] >= 0 and pid[i] in phone:
            members_of.setdefault(net[i], []).append(i)
    taken = set(records["phone"].drop_null().to_pylist())
    fresh = [p for p in np.char.add("1046", np.char.zfill(idt._distinct_ints(rng, 10**7, 2 * max(len(chosen), 1))
                                                          .astype("U7"), 7)) if p not in taken]
    used: set[int] = set(chosen.tolist())
    calls = []  # (phone a, phone b, count, first day, last day)
    lodging = []  # (person index, region, phone)
    fug_rows, contact_rows = [], []
    cities = list(cities)
    for k, f in enumerate(chosen.tolist()):
        old_phone = phone[pid[f]][0]
        flee = min(end_of[net[f]] + int(rng.integers(0, 61)), span - 120)
        hide = home[f] if rng.random() < STAY_HOME else None
        if hide is None:
            others = [c for c in cities if c != home[f]]
            w = np.array([city_p[cities.index(c)] for c in others])
            hide = others[rng.choice(len(others), p=w / w.sum())]
        pool = [i for i in by_region.get(hide, []) if i not in used]
        helpers = [pool[j] for j in rng.choice(len(pool), min(int(rng.integers(2, 5)), len(pool)), replace=False)]
        mates = [i for i in members_of.get(net[f], []) if home[i] == hide and i not in used and i != f]
        if mates and rng.random() < 0.5:
            helpers.append(mates[int(rng.integers(len(mates)))])
        family = []
        if rng.random() < 0.6:
            pool = [i for i in by_region.get(home[f], []) if i not in used]
            if pool:
                family = [pool[int(rng.integers(len(pool)))]]
        used.update(helpers + family)
        new = rng.random() >= OLD_PHONE
        now = fresh[k] if new else old_phone
        for h in helpers:
            hp = phone[pid[h]][0]
            if rng.random() < 0.5:  # they knew each other before
                d = int(rng.integers(0, max(flee - 30, 1)))
                calls.append((old_phone, hp, int(1 + rng.integers(0, 3)), d, d + int(rng.integers(0, 30))))
            if rng.random() < 0.85:
                first = flee + int(rng.integers(0, 60))
                calls.append((now, hp, int(4 + rng.integers(0, 37)), first,
                              max(first, span - int(rng.integers(0, 90)))))
        for h in family:
            hp = phone[pid[h]][0]
            d = int(rng.integers(0, max(flee - 200, 1)))
            calls.append((old_phone, hp, int(10 + rng.integers(0, 30)), d, flee))
            if rng.random() < 0.9:
                first = flee + int(rng.integers(0, 90))
                calls.append((now, hp, int(2 + rng.integers(0, 15)), first, max(first, span - int(rng.integers(0, 120)))))
        # the old circle: associates and friends at home they called most until they fled, then not again
        circle = [i for i in members_of.get(net[f], []) if i != f and i not in helpers]
        circle = [circle[j] for j in rng.permutation(len(circle))[:int(rng.integers(1, 4))]]
        pool = by_region.get(home[f], [])
        circle += [pool[j] for j in rng.choice(len(pool), min(int(rng.integers(2, 4)), len(pool)), replace=False)
                   if pool[j] not in helpers and pool[j] not in family]
        for h in circle:
            first = int(rng.integers(0, max(flee - 90, 1)))
            calls.append((old_phone, phone[pid[h]][0], int(20 + rng.integers(0, 101)), first,
                          max(first, flee - int(rng.integers(0, 30)))))
        for _ in range(int(rng.integers(2, 6))):  # decoys: one-off calls to persons elsewhere
            region = cities[rng.choice(len(cities), p=city_p)]
            pool = by_region.get(region, []) if region != hide else []
            if pool:
                d = int(rng.integers(flee, span))
                calls.append((now, phone[pid[pool[int(rng.integers(len(pool)))]]][0], 1, d, d))
        if rng.random() < (0.6 if new else 0.3):
            lodging.append((f, hide, now))
        fug_rows.append((pid[f], home[f], hide, flee, now, new))
        contact_rows += [(pid[f], pid[h], "helper", home[h]) for h in helpers]
        contact_rows += [(pid[f], pid[h], "family", home[h]) for h in family]

    if calls:
        a, b, n, lo, hi = (list(x) for x in zip(*calls))
        lo_p, hi_p = pc.min_element_wise(pa.array(a), pa.array(b)), pc.max_element_wise(pa.array(a), pa.array(b))
        extra = pa.table({"phone_a": lo_p, "phone_b": hi_p, "count": pa.array(n, pa.int64()),
                          "first_date": pa.array(t0 + np.array(lo)), "last_date": pa.array(t0 + np.minimum(hi, span))})
        ct = tables["contacts"]
        merged = pa.concat_tables([ct, extra.cast(ct.schema)]).group_by(["phone_a", "phone_b"], use_threads=False) \
            .aggregate([("count", "sum"), ("first_date", "min"), ("last_date", "max")])
        tables["contacts"] = merged.rename_columns(ct.column_names).sort_by(
            [("phone_a", "ascending"), ("phone_b", "ascending")])
    if lodging:
        primary = rp.filter(rp["is_primary"]).join(records, "record_id")
        row_of = dict(zip(primary["person_id"].to_pylist(), range(primary.num_rows)))
        src = primary.take(pa.array([row_of[pid[f]] for f, _, _ in lodging], pa.int64()))
        n_l = len(lodging)
        base = records.num_rows
        rid = np.char.add("R", np.char.zfill((base + rng.permutation(n_l)).astype("U9"), 9)).astype(object)
        names = idt.confuse_names(rng, np.array(src["name"].to_pylist(), dtype=object), 0.6)
        ids = src["id_number"].to_pylist()
        ids = np.array([None if (x is None or rng.random() < 0.6) else x for x in ids], dtype=object)
        masked = np.array([x is not None for x in ids])
        if masked.any():
            ids[masked] = idt.mask_ids(ids[masked])
        lodge = pa.table({"record_id": pa.array(rid, pa.string()),
                          "source_region": pa.array([h for _, h, _ in lodging], pa.string()),
                          "name": pa.array(names, pa.string()), "id_number": pa.array(ids, pa.string()),
                          "birth_date": src["birth_date"], "sex": src["sex"],
                          "phone": pa.array([p for _, _, p in lodging], pa.string()),
                          "home_region": pa.nulls(n_l, pa.string())})
        tables["person_records"] = pa.concat_tables([records, lodge.cast(records.schema)])
        truth["record_person"] = pa.concat_tables([rp, pa.table({
            "record_id": pa.array(rid, pa.string()), "person_id": pa.array([pid[f] for f, _, _ in lodging], pa.string()),
            "is_primary": pa.array(np.zeros(n_l, dtype=bool))}).cast(rp.schema)])
    cols = list(zip(*fug_rows)) if fug_rows else [[]] * 6
    truth["fugitives"] = pa.table({
        "person_id": pa.array(cols[0], pa.string()), "home_region": pa.array(cols[1], pa.string()),
        "hiding_region": pa.array(cols[2], pa.string()),
        "flee_date": pa.array(t0 + np.array(cols[3], dtype=np.int64), pa.date32()),
        "phone": pa.array(cols[4], pa.string()), "new_phone": pa.array(cols[5], pa.bool_())})
    cols = list(zip(*contact_rows)) if contact_rows else [[]] * 4
    truth["fugitive_contacts"] = pa.table({
        "fugitive": pa.array(cols[0], pa.string()), "person_id": pa.array(cols[1], pa.string()),
        "kind": pa.array(cols[2], pa.string()), "region": pa.array(cols[3], pa.string())})
    return tables, truth
