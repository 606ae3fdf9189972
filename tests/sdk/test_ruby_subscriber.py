"""The Rails initializer (src/flagramp/sdk/ruby/flagramp.rb) with Debian's Ruby and
ruby-flipper, reporting exposures and request outcomes to a live server.

The server is the real app on uvicorn on a loopback port, its events endpoint
with its token check and parsing; only the sink behind it records what arrived
(the engine's routing is not what is under test here).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import threading
from pathlib import Path

from flagramp.core.clock import VirtualClock
from flagramp.core.events import EventBatch, Exposure, RequestOutcome
from flagramp.core.flags import Actor, Evaluator, Flag, Percentage
from flagramp.server.app import create_app
from flagramp.server.ports import RoutedBatch
from flagramp.server.settings import ServerSettings
from tests.sdk.live import live_store
from tests.server.live_server import serving
from tests.services import absent, require_binary

INITIALIZER = Path(__file__).parents[2] / "src/flagramp/sdk/ruby/flagramp.rb"
APP = Path(__file__).parent / "ruby" / "flipper_app.rb"


class RecordingSink:
    """An `EventSink` that keeps every parsed batch."""

    def __init__(self) -> None:
        self.batches: list[tuple[str, EventBatch]] = []
        self.lock = threading.Lock()

    def accept(
        self, environment: str, batch: EventBatch, *, received_at: dt.datetime
    ) -> RoutedBatch:
        with self.lock:
            self.batches.append((environment, batch))
        return RoutedBatch(unwatched=len(batch.events))


def run_ruby(url: str, token: str) -> dict[str, object]:
    ruby = require_binary("ruby")
    probe = subprocess.run(
        [ruby, "-e", 'require "flipper"; require "rack"; require "active_support"'],
        capture_output=True,
        check=False,
    )
    if probe.returncode != 0:
        absent("Debian's ruby-flipper, ruby-rack and ruby-activesupport")
    env = {
        **os.environ,
        "FLAGRAMP_URL": url,
        "FLAGRAMP_TOKEN": token,
        "FLAGRAMP_EVENT_NAME": "vaos_request",
    }
    done = subprocess.run(
        [ruby, str(APP), str(INITIALIZER)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_the_ruby_initializer_reports_flipper_exposures_and_rack_outcomes(
    tmp_path: Path,
) -> None:
    live = live_store(tmp_path, [Flag(key="new_flow")], [])
    sink = RecordingSink()
    app = create_app(ServerSettings(), store=live.store, events_sink=sink)
    with serving(app) as base:
        result = run_ruby(base, live.sdk)
    assert result["delivered"] is True
    assert (result["rejected"], result["dropped"]) == (0, 0)
    events = [e for env, batch in sink.batches for e in batch.events]
    assert {env for env, _ in sink.batches} == {"production"}
    assert result["sent"] == len(events)

    # Flipper's bucketing is flagramp's: the same users are in the 50 %.
    flipper = Flag(key="new_flow", percentage_of_actors=Percentage.parse("50"))
    evaluator = Evaluator({}, VirtualClock(), lambda: 0.5)
    answers = result["answers"]
    assert isinstance(answers, dict)
    for user, (new_flow, _uat) in answers.items():
        assert new_flow is evaluator.is_enabled(flipper, [Actor(user)]), user

    all_exposures = [e for e in events if isinstance(e, Exposure)]
    flips = [e.variant.value for e in all_exposures if e.flag == "flip"]
    assert flips == ["on", "off", "on"]  # every change of answer is sent
    assert result["coin"] == [False, True]
    coins = sorted(e.variant.value for e in all_exposures if e.flag == "coin")
    assert coins == ["off", "on"]  # a feature that draws: each variant once
    exposures = [e for e in all_exposures if e.flag in ("new_flow", "uat")]
    seen = sorted((e.actor, e.flag) for e in exposures)
    users = [f"User;{i}" for i in range(20)]
    assert seen == sorted(
        [(u, "new_flow") for u in [*users, "User;99"]] + [(u, "uat") for u in users]
    )  # one per actor and flag in the minute, however often checked
    for exposure in exposures:
        expected = answers.get(exposure.actor, [result["outside"], False])
        on = expected[0] if exposure.flag == "new_flow" else expected[1]
        assert exposure.variant.value == ("on" if on else "off")
        assert exposure.allow_listed == (
            exposure.flag == "uat" and exposure.actor == "User;1"
        )

    requests = [e for e in events if isinstance(e, RequestOutcome)]
    assert len(requests) == 22
    assert {r.name for r in requests} == {"vaos_request"}
    boom = [r for r in requests if r.route == "/boom/:id"]
    assert [(b.actor, b.status, b.error) for b in boom] == [
        ("User;3", 500, "Timeout::Error /boom/:id")
    ]
    pages = [r for r in requests if r.route == "/appointments/:id"]
    for page in pages:
        assert page.status == (200 if answers[page.actor][0] else 404)
        assert page.error is None and page.latency_ms >= 0


def test_without_settings_the_initializer_does_nothing() -> None:
    ruby = require_binary("ruby")
    script = f"load {str(INITIALIZER)!r}; puts Flagramp.reporter.nil?"
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLAGRAMP_")}
    done = subprocess.run(
        [ruby, "-e", script], capture_output=True, text=True, env=env, check=False
    )
    if "cannot load such file" in done.stderr:
        absent("ruby-activesupport")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "true"
