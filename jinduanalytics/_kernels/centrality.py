"""Centralities over a CSR graph restricted to ``alive`` nodes (numba)."""

from __future__ import annotations

import heapq

import numba as nb
import numpy as np


@nb.njit(cache=True, inline="always")
def _accumulate(stack, top, s, indptr, pred, npred, sigma, delta, bc):
    """Brandes' dependency accumulation for source ``s``: pop the ``top`` nodes of ``stack`` (in
    non-increasing distance from s), pass each node's dependency to its predecessors
    (``pred[indptr[w]:indptr[w] + npred[w]]``) and add it to ``bc`` (s itself excluded). The one
    copy shared by the weighted (Dijkstra) and the unweighted (BFS) betweenness."""
    while top > 0:
        top -= 1
        w = stack[top]
        for k in range(npred[w]):
            v = pred[indptr[w] + k]
            delta[v] += sigma[v] / sigma[w] * (1.0 + delta[w])
        if w != s:
            bc[w] += delta[w]


@nb.njit(cache=True)
def weighted_betweenness(indptr, indices, weights, alive):
    """Brandes (2001) betweenness with Dijkstra, the weight as the edge *length*; un-normalised,
    each ordered (s, t) pair counted once, only ``alive`` nodes take part. Undirected graphs
    (both directions stored) give twice the usual undirected value; rankings are unaffected.
    Unweighted graphs: :func:`betweenness_from_sources` (BFS, parallel)."""
    n = indptr.shape[0] - 1
    bc = np.zeros(n)
    sigma = np.zeros(n)
    dist = np.full(n, np.inf)
    delta = np.zeros(n)
    stack = np.empty(n, dtype=np.int64)
    pred = np.empty(indices.shape[0], dtype=np.int64)  # predecessors of v in pred[indptr[v]:...]
    npred = np.zeros(n, dtype=np.int64)
    done = np.zeros(n, dtype=np.bool_)
    for s in range(n):
        if not alive[s]:
            continue
        for v in range(n):
            sigma[v] = 0.0
            dist[v] = np.inf
            delta[v] = 0.0
            npred[v] = 0
            done[v] = False
        sigma[s] = 1.0
        dist[s] = 0.0
        top = 0
        heap = [(0.0, s)]
        while len(heap) > 0:
            d, v = heapq.heappop(heap)
            if done[v]:
                continue
            done[v] = True
            stack[top] = v
            top += 1
            for j in range(indptr[v], indptr[v + 1]):
                w = indices[j]
                if not alive[w] or done[w]:
                    continue
                nd = d + weights[j]
                if nd < dist[w]:
                    dist[w] = nd
                    sigma[w] = sigma[v]
                    pred[indptr[w]] = v
                    npred[w] = 1
                    heapq.heappush(heap, (nd, w))
                elif nd == dist[w]:
                    sigma[w] += sigma[v]
                    pred[indptr[w] + npred[w]] = v
                    npred[w] += 1
        _accumulate(stack, top, s, indptr, pred, npred, sigma, delta, bc)
    return bc


@nb.njit(cache=True)
def component_sizes(indptr, indices, alive):
    """Size of the component of every alive node's component label; returns (labels, sizes)."""
    n = indptr.shape[0] - 1
    label = np.full(n, -1, dtype=np.int64)
    sizes = np.zeros(n, dtype=np.int64)
    queue = np.empty(n, dtype=np.int64)
    c = 0
    for s in range(n):
        if not alive[s] or label[s] >= 0:
            continue
        label[s] = c
        head, tail = 0, 1
        queue[0] = s
        while head < tail:
            v = queue[head]
            head += 1
            for j in range(indptr[v], indptr[v + 1]):
                w = indices[j]
                if alive[w] and label[w] < 0:
                    label[w] = c
                    queue[tail] = w
                    tail += 1
        sizes[c] = tail
        c += 1
    return label, sizes[:c]


@nb.njit(cache=True, parallel=True)
def betweenness_from_sources(indptr, indices, sources, alive, n_chunks):
    """Unweighted Brandes accumulation from the given sources only, over ``alive`` nodes
    (parallel over chunks of sources; each chunk keeps its own scores, summed at the end)."""
    n = indptr.shape[0] - 1
    part = np.zeros((n_chunks, n))
    ns = sources.shape[0]
    for c in nb.prange(n_chunks):
        sigma = np.zeros(n)
        dist = np.full(n, -1, dtype=np.int64)
        delta = np.zeros(n)
        stack = np.empty(n, dtype=np.int64)
        queue = np.empty(n, dtype=np.int64)
        pred = np.empty(indices.shape[0], dtype=np.int64)
        npred = np.zeros(n, dtype=np.int64)
        touched = np.empty(n, dtype=np.int64)
        for si in range(c * ns // n_chunks, (c + 1) * ns // n_chunks):
            s = sources[si]
            sigma[s] = 1.0
            dist[s] = 0
            head, tail, top = 0, 1, 0
            queue[0] = s
            while head < tail:
                v = queue[head]
                head += 1
                stack[top] = v
                top += 1
                for j in range(indptr[v], indptr[v + 1]):
                    w = indices[j]
                    if not alive[w]:
                        continue
                    if dist[w] < 0:
                        dist[w] = dist[v] + 1
                        queue[tail] = w
                        tail += 1
                    if dist[w] == dist[v] + 1:
                        sigma[w] += sigma[v]
                        pred[indptr[w] + npred[w]] = v
                        npred[w] += 1
            for t in range(top):
                touched[t] = stack[t]
            _accumulate(stack, top, s, indptr, pred, npred, sigma, delta, part[c])
            for t in range(tail):  # reset only what this source touched
                v = touched[t]
                sigma[v] = 0.0
                dist[v] = -1
                delta[v] = 0.0
                npred[v] = 0
    out = np.zeros(n)
    for c in range(n_chunks):
        out += part[c]
    return out
