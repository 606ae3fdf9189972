"""Requests of a slice of visits: which path serves them, and how they fare.

A request fails when its uniform is below its kind's failure rate times the
user's risk (RATE regressions add to it); a failure's fingerprint comes from the
kind's Zipf-weighted background list, or from a FINGERPRINT regression for a
request that did not already fail; a request as slow as its kind's timeout
times out (LATENCY regressions add to the latency before that test).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from flagramp.sim.channels import FAILED, OK, TIMED_OUT, ChannelTable
from flagramp.sim.context import QUANTUM, BoolArray, VisitContext, quantise
from flagramp.sim.draws import regression_draws
from flagramp.sim.scenario import RegressionKind
from flagramp.sim.world import World

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True, eq=False)
class _FingerprintTable:
    """Every request kind's background fingerprints in one searchable array.

    Kind i's cumulative Zipf weights, shifted by i, lie in (i, i + 1], so one
    `searchsorted` of `u + kind` finds each failure's fingerprint for all kinds.
    """

    shifted: FloatArray
    ids: IntArray
    timeout: IntArray
    index: dict[str, int]

    def background(self, kind: IntArray, u: FloatArray) -> IntArray:
        at = np.searchsorted(self.shifted, u + kind, side="right")
        # u < 1, so the hit lies in kind's own run; guard its last entry.
        last = np.searchsorted(self.shifted, kind + 1.0, side="left")
        return self.ids[np.minimum(at, last)]


@functools.lru_cache(maxsize=16)
def _fingerprint_table(world: World) -> _FingerprintTable:
    index = {name: i for i, name in enumerate(world.fingerprint_names())}
    shifted, ids, timeout = [], [], []
    for i, kind in enumerate(world.model.request_kinds):
        names = kind.fingerprint_names()
        ids.append(np.array([index[n] for n in names], dtype=np.int64))
        ranks = np.arange(1, len(names) + 1, dtype=np.float64)
        weights = ranks ** (-world.model.fingerprint_exponent)
        cum = np.cumsum(weights) / weights.sum()
        cum[-1] = 1.0
        shifted.append(i + cum)
        timeout.append(index.get(kind.timeout_fingerprint, -1))
    return _FingerprintTable(
        np.concatenate(shifted),
        np.concatenate(ids),
        np.array(timeout, dtype=np.int64),
        index,
    )


@dataclass(frozen=True, slots=True)
class RequestColumns:
    """The requests of a slice that were made, and the events their failures send."""

    visit: IntArray
    seq: IntArray
    kind: IntArray
    status: IntArray
    fingerprint: IntArray
    latency: FloatArray
    channel: IntArray
    extra_visit: IntArray
    extra_seq: IntArray
    extra_channel: IntArray


def request_outcomes(
    ctx: VisitContext, risk: FloatArray, latency_factor: FloatArray
) -> RequestColumns:
    """Each request's kind (old path if its gate is shut), status, fingerprint,
    latency and channel; `risk` and `latency_factor` are per visit."""
    d, world = ctx.draws, ctx.world
    kinds = world.model.request_kinds
    r0, r1 = int(d.request_start[ctx.v0]), int(d.request_start[ctx.v1])
    sizes = np.diff(d.request_start[ctx.v0 : ctx.v1 + 1])
    visit = np.repeat(np.arange(ctx.v1 - ctx.v0, dtype=np.int64), sizes)
    seq = np.arange(r0, r1, dtype=np.int64) - d.request_start[ctx.v0 : ctx.v1][visit]
    drawn = d.request_kind[r0:r1]
    declared = world.model.requests
    gates = np.stack([ctx.gate(k.flag, k.flag_on) for k in declared])
    open_gate = gates[drawn, visit]
    fallback = np.array(world.model.fallback_index(), dtype=np.int64)[drawn]
    # A shut gate sends the request to the kind's old path, or drops it.
    kind = np.where(open_gate, drawn, fallback)
    present = kind >= 0
    kind = np.maximum(kind, 0)
    p = np.array([k.failure_rate for k in kinds])[kind] * risk[visit]
    mu = np.log(np.array([k.latency_median_ms for k in kinds]))
    sigma = np.array([k.latency_sigma for k in kinds])
    latency = (
        np.exp(mu[kind] + sigma[kind] * d.latency_z[r0:r1]) * latency_factor[visit]
    )
    fps = _fingerprint_table(world)
    new: list[tuple[BoolArray, int]] = []
    for idx, r in enumerate(world.regressions):
        if r.kind not in (
            RegressionKind.RATE,
            RegressionKind.LATENCY,
            RegressionKind.FINGERPRINT,
        ):
            continue
        h = ctx.hit(r)[visit]
        if r.target is not None or r.route is not None:
            targets = [
                i
                for i, k in enumerate(kinds)
                if r.target in (None, k.name) and r.route in (None, k.route)
            ]
            h &= np.isin(kind, targets)
        if r.kind is RegressionKind.RATE:
            p = p + r.amount * h
        elif r.kind is RegressionKind.LATENCY:
            latency = latency + r.amount * h
        else:
            u = regression_draws(ctx.seed, d.hour, idx, True, d.fail_u.shape[0])
            new.append((h & (u[r0:r1] < r.amount), fps.index[r.fingerprint]))
    failed = d.fail_u[r0:r1] < np.clip(p, 0.0, 1.0)
    fingerprint = np.full(r1 - r0, -1, dtype=np.int64)
    for mask, fp in new:
        fingerprint[mask & ~failed & (fingerprint < 0)] = fp
    mine = np.flatnonzero(failed)
    fingerprint[mine] = fps.background(kind[mine], d.fingerprint_u[r0:r1][mine])
    limit = np.array([np.inf if k.timeout_ms is None else k.timeout_ms for k in kinds])
    timed = latency >= limit[kind]
    latency = np.maximum(quantise(np.where(timed, limit[kind], latency)), 1 / QUANTUM)
    fingerprint[timed] = fps.timeout[kind[timed]]
    status = np.where(timed, TIMED_OUT, np.where(fingerprint >= 0, FAILED, OK))
    dev = ctx.device[visit]
    channel = ctx.table.request[kind, status, dev]
    keep = np.flatnonzero(present)
    visit, seq, kind, status = visit[keep], seq[keep], kind[keep], status[keep]
    dev, channel = dev[keep], channel[keep]
    extra = _failure_events(ctx.table, visit, seq, kind, status, dev)
    return RequestColumns(
        visit, seq * 3, kind, status, fingerprint[keep], latency[keep], channel, *extra
    )


def _failure_events(
    table: ChannelTable,
    visit: IntArray,
    seq: IntArray,
    kind: IntArray,
    status: IntArray,
    dev: IntArray,
) -> tuple[IntArray, IntArray, IntArray]:
    parts = []
    for lookup, mask, step in (
        (table.failure, status != OK, 1),
        (table.timeout, status == TIMED_OUT, 2),
    ):
        ch = lookup[kind, dev]
        chosen = np.flatnonzero(mask & (ch >= 0))
        parts.append((visit[chosen], seq[chosen] * 3 + step, ch[chosen]))
    return (
        np.concatenate([p[0] for p in parts]),
        np.concatenate([p[1] for p in parts]),
        np.concatenate([p[2] for p in parts]),
    )
