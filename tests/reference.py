"""Naive oracles, gathered in one place: slow, plain-Python versions of what the package computes
fast. Tests compare the package against them on small inputs."""

from __future__ import annotations

import itertools
import math
from collections import defaultdict

import numpy as np
import pyarrow as pa


def brute_force_projection(ce: pa.Table, rarity: str, max_cases, kind_weights=None):
    """Oracle: enumerate every pair of cases of every entity in pure Python."""
    holders = defaultdict(set)
    for c, k, v in zip(*(ce.column(x).to_pylist() for x in ("case_id", "kind", "value"))):
        holders[(k, v)].add(c)
    n_cases = len({c for s in holders.values() for c in s})
    w = defaultdict(float)
    for (kind, _), cs in sorted(holders.items()):
        k = len(cs)
        if k < 2 or (max_cases is not None and k > max_cases):
            continue
        r = {"newman": 1 / (k - 1), "adamic_adar": 1 / math.log(k), "none": 1.0,
             "idf": max(0.0, math.log(n_cases / k))}[rarity]
        r *= (kind_weights or {}).get(kind, 1.0)
        for a, b in itertools.combinations(sorted(cs), 2):
            w[(a, b)] += r
    return {k: v for k, v in w.items() if v != 0.0 or True}


def reference_local_moving(indptr, indices, weights, node_w, order, labels, gamma):
    """The serial sweep of local moving written plainly in Python (the oracle for the kernel):
    sweeps over ``order`` visiting pending nodes; a node moves to the best neighbouring community
    if it beats staying (ties: stay, then the first community among its edges), or to the
    smallest empty community when every gain is negative; neighbours outside the node's new
    community become pending."""
    n = len(node_w)
    lab = [int(x) for x in labels]
    comm_w = [0.0] * n
    comm_n = [0] * n
    for v in range(n):
        comm_w[lab[v]] += node_w[v]
        comm_n[lab[v]] += 1
    free = [c for c in range(n - 1, -1, -1) if comm_n[c] == 0]  # stack: smallest id on top
    pending = [True] * n
    moves = 0
    while any(pending):
        for v in order:
            if not pending[v]:
                continue
            pending[v] = False
            ws = {}
            for e in range(indptr[v], indptr[v + 1]):
                if indices[e] != v:
                    c = lab[indices[e]]
                    ws[c] = ws.get(c, 0.0) + weights[e]
            cv, wv = lab[v], node_w[v]
            best, best_gain = cv, ws.get(cv, 0.0) - gamma * wv * (comm_w[cv] - wv)
            for c, w in ws.items():  # dicts keep first-appearance order
                if c != cv and w - gamma * wv * comm_w[c] > best_gain:
                    best, best_gain = c, w - gamma * wv * comm_w[c]
            if best_gain < 0 and comm_n[cv] > 1:
                best = free.pop()
            if best == cv:
                continue
            comm_w[cv] -= wv
            comm_n[cv] -= 1
            if comm_n[cv] == 0:
                free.append(cv)
            comm_w[best] += wv
            comm_n[best] += 1
            lab[v] = best
            moves += 1
            for e in range(indptr[v], indptr[v + 1]):
                u = indices[e]
                if lab[u] != best:
                    pending[u] = True
    return moves, np.array(lab)


def reference_greedy_checkpoints(net, k: int, evasive: bool, tolerance: float) -> list[int]:
    """Greedy checkpoint placement as first built (issue 8): every round scores every candidate by
    evaluating the whole placement (with evasion: rerouting every intercepted route from scratch),
    and takes the first candidate whose gain beats the best so far by more than 1e-12 (gains summed
    exactly, math.fsum, so ties do not hang on summation order). The oracle
    for the lazy (CELF) and incremental placements of :mod:`jinduanalytics.checkpoints`."""
    chosen: list[int] = []
    covered = np.zeros(len(net.q), dtype=bool)
    # sites (new with issue 30): a second site of one region and mode stops nothing more; skipped
    stops = (lambda c: net.site[net.cands[c]]) if net.kind == "site" else (lambda c: net.cands[c])
    for _ in range(min(k, len(net.cands))):
        best, best_gain = -1, -1.0
        for c in range(len(net.cands)):
            if c in chosen or stops(c) in {stops(x) for x in chosen}:
                continue
            if evasive:
                hit, _ = net.intercepted({net.cands[i] for i in chosen + [c]}, True, tolerance)
                gain = math.fsum(net.q[hit])
            else:
                gain = math.fsum(net.q[t] for t in net.by_cand[c] if not covered[t])
            if gain > best_gain + 1e-12:
                best, best_gain = c, gain
        if best < 0:
            break
        chosen.append(best)
        if not evasive:
            covered[net.by_cand[best]] = True
    return chosen
