"""Business events and page views of a slice of visits, from their draws.

A business kind happens on a visit when its uniform is below its probability
(moved by PROBABILITY regressions on treated visits), the visit passes the kind's
flag gate, and its `after` kind happened. Page flows walk their transitions, one
uniform per step. Values come from the kind's value model (VALUE regressions move
them): see `model.Discrete` for how a shift keeps scores on the scale.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from flagramp.sim.categorical import choose
from flagramp.sim.context import BoolArray, VisitContext, quantise
from flagramp.sim.model import LogNormal, ValueModel
from flagramp.sim.scenario import RegressionKind

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class VisitEvents:
    """Events as columns: their visit, order within it, channel and value."""

    visit: IntArray
    seq: IntArray
    channel: IntArray
    value: FloatArray
    next_seq: int


def _shift(ctx: VisitContext, kind: RegressionKind, target: str) -> FloatArray:
    total = np.zeros(ctx.visits)
    for r in ctx.world.regressions:
        if r.kind is kind and r.target == target:
            total = total + r.amount * ctx.hit(r)
    return total


def _values(
    model: ValueModel, u: FloatArray, aux: FloatArray, z: FloatArray, shift: FloatArray
) -> FloatArray:
    if isinstance(model, LogNormal):
        return np.asarray(
            np.maximum(model.median * np.exp(model.sigma * z) + shift, 0.0)
        )
    values = np.asarray(model.values, dtype=np.float64)
    cum = np.cumsum(model.weights) / np.sum(model.weights)
    drawn = values[choose(cum, u)]
    if values.shape[0] == 1:
        return drawn
    # Rationale: a shifted score lands between two neighbours; choosing the upper
    # one with probability equal to the distance moves the mean by the shift exactly.
    target = np.clip(drawn + shift, values[0], values[-1])
    low = np.clip(np.searchsorted(values, target, side="right") - 1, 0, len(values) - 2)
    lo, hi = values[low], values[low + 1]
    return np.asarray(np.where(aux < (target - lo) / (hi - lo), hi, lo))


def business_events(ctx: VisitContext) -> VisitEvents:
    """The business events that happened on the slice's visits."""
    model = ctx.world.model
    base = 3 * model.session_max
    draws = ctx.draws.business[ctx.v0 : ctx.v1]
    normals = ctx.draws.business_z[ctx.v0 : ctx.v1]
    happened: dict[str, BoolArray] = {}
    parts: list[tuple[IntArray, IntArray, IntArray, FloatArray]] = []
    for j, kind in enumerate(model.business):
        p = kind.probability + _shift(ctx, RegressionKind.PROBABILITY, kind.name)
        occurred = (draws[:, j, 0] < np.clip(p, 0.0, 1.0)) & ctx.gate(
            kind.flag, kind.flag_on
        )
        if kind.after is not None:
            occurred &= happened[kind.after]
        happened[kind.name] = happened.get(kind.name, occurred) | occurred
        where = np.flatnonzero(occurred)
        if kind.value is None:
            value = np.full(where.shape[0], np.nan)
        else:
            shift = _shift(ctx, RegressionKind.VALUE, kind.name)
            value = _values(
                kind.value,
                draws[where, j, 1],
                draws[where, j, 2],
                normals[where, j],
                shift[where],
            )
            value = quantise(value)
        channel = ctx.table.business[j, ctx.device[where]]
        parts.append((where, np.full(where.shape[0], base + j), channel, value))
    return _columns(parts, base + len(model.business))


def page_views(ctx: VisitContext, first_seq: int) -> VisitEvents:
    """The page views of the slice's visits, flow after flow, step after step."""
    model = ctx.world.model
    draws = ctx.draws.page[ctx.v0 : ctx.v1]
    parts: list[tuple[IntArray, IntArray, IntArray, FloatArray]] = []
    seq = first_seq
    for p, flow in enumerate(model.pages):
        routes = flow.routes()
        index = {r: i for i, r in enumerate(routes)}
        step = np.zeros((len(routes), len(routes)))
        for source, target, prob in flow.transitions:
            step[index[source], index[target]] += prob
        cum = np.cumsum(step, axis=1)
        entry = flow.probability + _shift(ctx, RegressionKind.PROBABILITY, flow.name)
        alive = (draws[:, p, 0] < np.clip(entry, 0.0, 1.0)) & ctx.gate(
            flow.flag, flow.flag_on
        )
        page = np.zeros(ctx.visits, dtype=np.int64)
        referrer = np.full(ctx.visits, -1, dtype=np.int64)
        for s in range(flow.max_pages):
            if s > 0:
                nxt = (draws[:, p, s][:, None] >= cum[page]).sum(axis=1)
                alive &= nxt < len(routes)
                referrer = page
                page = np.where(alive, nxt, page)
            where = np.flatnonzero(alive)
            if where.shape[0] == 0:
                break
            channel = ctx.table.page[
                p, page[where], referrer[where] + 1, ctx.device[where]
            ]
            parts.append(
                (
                    where,
                    np.full(where.shape[0], seq + s),
                    channel,
                    np.full(where.shape[0], np.nan),
                )
            )
        seq += flow.max_pages
    return _columns(parts, seq)


def _columns(
    parts: list[tuple[IntArray, IntArray, IntArray, FloatArray]], next_seq: int
) -> VisitEvents:
    if not parts:
        none = np.zeros(0, dtype=np.int64)
        return VisitEvents(none, none, none, np.zeros(0), next_seq)
    return VisitEvents(
        np.concatenate([x[0] for x in parts]).astype(np.int64),
        np.concatenate([x[1] for x in parts]).astype(np.int64),
        np.concatenate([x[2] for x in parts]).astype(np.int64),
        np.concatenate([x[3] for x in parts]).astype(np.float64),
        next_seq,
    )
