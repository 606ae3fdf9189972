"""Channels: every distinct kind of event a world can emit, numbered.

A channel is what the real ingest calls a profile: the fields of an event that a
plan metric's `where` rules and names read (name, route, device, status,
attributes). Aggregates are indexed by channel, so a caller maps channels to plan
metrics once (`Channel.properties()` gives the same keys ingest filters on) and
then adds arrays.

Numbering: for each request kind, its statuses (200, 500, and 504 if it can time
out) per device; then failure and timeout events; business kinds per device; then
page views per (flow, page, referrer) per device.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from flagramp.core.events import DeviceClass
from flagramp.core.types import PropertyValue
from flagramp.sim.model import Attributes, EventModel
from flagramp.sim.population import Population

IntArray = npt.NDArray[np.int64]

#: Request outcomes, in this order: served, failed, timed out.
STATUSES = (200, 500, 504)
OK, FAILED, TIMED_OUT = 0, 1, 2


@dataclass(frozen=True, slots=True)
class Channel:
    """One kind of event: a request (with `status`) or a business event."""

    is_request: bool
    name: str
    route: str | None
    device: DeviceClass
    status: int | None = None
    attributes: Attributes = ()
    has_value: bool = False
    """Requests carry a latency; business events a value if their kind has one."""

    def properties(self) -> dict[str, PropertyValue]:
        """The fields a plan metric's `where` rules read, as ingest builds them."""
        props: dict[str, PropertyValue] = {
            "name": self.name,
            "route": self.route,
            "device": self.device.value,
        }
        if self.status is not None:
            props["status"] = self.status
            props["status_class"] = f"{self.status // 100}xx"
        props.update(self.attributes)
        return props


@dataclass(frozen=True, slots=True, eq=False)
class ChannelTable:
    """Channels and the lookup arrays that number events fast.

    `request[kind, status, device]`, `failure[kind, device]`,
    `timeout[kind, device]`, `business[kind, device]` and
    `page[flow, page, referrer + 1, device]` (referrer -1: the entry page) give
    channel numbers; -1 where the world has no such event.
    """

    channels: tuple[Channel, ...]
    request: IntArray
    failure: IntArray
    timeout: IntArray
    business: IntArray
    page: IntArray

    def __len__(self) -> int:
        return len(self.channels)


@functools.lru_cache(maxsize=16)
def channel_table(model: EventModel, population: Population) -> ChannelTable:
    """The channels of a world's event model and devices (cached)."""
    devices = tuple(d for d, _ in population.devices)
    n_dev = len(devices)
    channels: list[Channel] = []

    def add(channel: Channel) -> int:
        channels.append(channel)
        return len(channels) - 1

    k = len(model.request_kinds)
    request = np.full((k, len(STATUSES), n_dev), -1, dtype=np.int64)
    failure = np.full((k, n_dev), -1, dtype=np.int64)
    timeout = np.full((k, n_dev), -1, dtype=np.int64)
    for i, kind in enumerate(model.request_kinds):
        statuses = 3 if kind.timeout_ms is not None else 2
        for s in range(statuses):
            for d, device in enumerate(devices):
                request[i, s, d] = add(
                    Channel(True, kind.name, kind.route, device, STATUSES[s], (), True)
                )
    for table, attr in ((failure, "failure_event"), (timeout, "timeout_event")):
        for i, kind in enumerate(model.request_kinds):
            name = getattr(kind, attr)
            if name is None:
                continue
            for d, device in enumerate(devices):
                table[i, d] = add(Channel(False, name, kind.route, device))
    business = np.full((len(model.business), n_dev), -1, dtype=np.int64)
    for j, b in enumerate(model.business):
        for d, device in enumerate(devices):
            business[j, d] = add(
                Channel(
                    False,
                    b.name,
                    b.route,
                    device,
                    None,
                    b.attributes,
                    b.value is not None,
                )
            )
    most = max((len(f.routes()) for f in model.pages), default=0)
    page = np.full((len(model.pages), most, most + 1, n_dev), -1, dtype=np.int64)
    for p, flow in enumerate(model.pages):
        routes = flow.routes()
        index = {r: i for i, r in enumerate(routes)}
        arrivals = {(flow.entry, None)} | {(t, s) for s, t, _ in flow.transitions}
        for r, route in enumerate(routes):
            for ref in (None, *routes):
                if (route, ref) not in arrivals:
                    continue
                attrs: Attributes = () if ref is None else (("referrer", ref),)
                slot = 0 if ref is None else index[ref] + 1
                for d, device in enumerate(devices):
                    page[p, r, slot, d] = add(
                        Channel(False, flow.name, route, device, None, attrs)
                    )
    return ChannelTable(tuple(channels), request, failure, timeout, business, page)
