"""Verification probes of a promotion step: HTTP checks and hooks run by name.

A plan names a probe; it never carries a command. An `http` probe is a GET whose
status must be the expected one. A `hook` probe runs a function registered under
its name in a `HookRegistry`, which the process running the controller fills
from flagramp's configuration (its own code, never the plan's): whoever can edit
a plan can choose only among hooks someone registered. An unknown hook is a
failed probe, not an error that stops the step: the go/no-go sees it.

The application's own backup and restore (seed 004 backs up "VA TMP Prod") are
hooks too, registered under the names the promotion runner is given.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

import httpx

from flagramp.core.plans import HookProbe, HttpProbe, Probe
from flagramp.core.types import Json


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """One probe's outcome: which probe, whether it passed, what it saw."""

    probe: str
    """`GET <url>` or `hook <name>`."""
    ok: bool
    detail: str
    at: dt.datetime

    def to_json(self) -> dict[str, Json]:
        return {
            "probe": self.probe,
            "ok": self.ok,
            "detail": self.detail,
            "at": self.at.isoformat(),
        }


#: A hook: text arguments in, (passed, what it saw) out.
Hook = Callable[[Mapping[str, str]], tuple[bool, str]]


@dataclass(slots=True)
class HookRegistry:
    """Hooks by name, registered by the controller's process (never by a plan)."""

    hooks: dict[str, Hook] = field(default_factory=dict)

    def register(self, name: str, hook: Hook) -> None:
        """Register `hook` as `name` (replacing any hook of that name)."""
        self.hooks[name] = hook

    def __contains__(self, name: object) -> bool:
        return name in self.hooks

    def run(
        self, name: str, arguments: Mapping[str, str], now: dt.datetime
    ) -> ProbeResult:
        """Run the hook `name`; unknown names and raising hooks are failures."""
        label = f"hook {name}"
        hook = self.hooks.get(name)
        if hook is None:
            return ProbeResult(label, False, f"no hook is registered as {name!r}", now)
        try:
            ok, detail = hook(dict(arguments))
        except Exception as exc:  # a hook is someone else's code: report, go on
            return ProbeResult(label, False, f"raised {type(exc).__name__}: {exc}", now)
        return ProbeResult(label, ok, detail, now)


def run_http_probe(
    probe: HttpProbe, client: httpx.Client, now: dt.datetime
) -> ProbeResult:
    """GET the probe's URL; it passes on the expected status."""
    label = f"GET {probe.url}"
    try:
        response = client.get(str(probe.url), timeout=probe.timeout.seconds)
    except httpx.HTTPError as exc:
        return ProbeResult(label, False, f"{type(exc).__name__}: {exc}", now)
    ok = response.status_code == probe.expect_status
    detail = f"status {response.status_code}, expected {probe.expect_status}"
    return ProbeResult(label, ok, detail, now)


def run_probes(
    probes: Iterable[Probe],
    hooks: HookRegistry,
    client: httpx.Client,
    now: Callable[[], dt.datetime],
) -> tuple[ProbeResult, ...]:
    """Every probe in order (all of them run, whatever the earlier ones gave)."""
    out = []
    for probe in probes:
        if isinstance(probe, HookProbe):
            out.append(hooks.run(probe.name, probe.arguments, now()))
        else:
            out.append(run_http_probe(probe, client, now()))
    return tuple(out)
