"""The server and an SDK client while the database is away (a proxy the test
cuts), and after it comes back."""

from __future__ import annotations

from pathlib import Path

import httpx

from flagramp.core.flags import Flag, Percentage
from flagramp.core.flags import operations as ops
from flagramp.sdk import Client
from flagramp.server.app import create_app
from flagramp.server.settings import ServerSettings
from flagramp.store import SqlFlagStore, open_engine
from tests.conftest import empty_database
from tests.faults.conftest import through
from tests.faults.proxy import TcpProxy
from tests.sdk.fake_server import wait_for
from tests.server.conftest import SETUP, issue_tokens
from tests.server.live_server import serving

FLAG = "new_flow"
PROBLEM = "application/problem+json"
ACTORS = [f"User;{i}" for i in range(200)]


def _answers(client: Client) -> list[bool]:
    return [client.is_enabled(FLAG, actor, {}) for actor in ACTORS]


def test_503_while_the_database_is_away_and_the_sdk_serves_its_last_flags(
    pg_proxy: TcpProxy, tmp_path: Path
) -> None:
    with empty_database("postgres", tmp_path) as url:
        direct = SqlFlagStore.open(url)
        with direct.unit_of_work(SETUP) as unit:
            unit.record("production", "environment", "production", "create", None, {})
        direct.create_flag(
            Flag(key=FLAG, percentage_of_actors=Percentage.parse("25")), SETUP
        )
        tokens = issue_tokens(direct)
        served = SqlFlagStore(open_engine(through(pg_proxy, url), migrate=False))
        settings = ServerSettings(database_url=None, notified_poll_seconds=0.2)
        engineer = {"authorization": f"Bearer {tokens['engineer']}"}
        with serving(create_app(settings, store=served)) as base:
            client = Client(
                base,
                tokens["sdk"],
                "production",
                cache_path=tmp_path / "sdk-cache.json",
                retry_base=0.05,
                retry_max=0.3,
            )
            try:
                assert client.wait_until_ready(20)
                before = _answers(client)
                assert 0.1 < sum(before) / len(before) < 0.4  # 25 %

                pg_proxy.cut()
                away = httpx.get(f"{base}/api/v1/flags", headers=engineer, timeout=10)
                assert away.status_code == 503, away.text
                assert away.headers["content-type"].startswith(
                    "application/problem+json"
                )
                assert away.json()["code"] == "store_unavailable"
                ready = httpx.get(f"{base}/readyz", timeout=10)
                assert ready.status_code == 503, ready.text
                # A change made meanwhile (straight to the database): the
                # client keeps what it had until it can hear of it.
                direct.change_flag(
                    FLAG,
                    lambda f: ops.set_percentage_of_actors(f, Percentage.parse("75")),
                    SETUP,
                )
                assert _answers(client) == before

                pg_proxy.restore()
                wait_for(
                    lambda: httpx.get(f"{base}/readyz", timeout=10).status_code == 200,
                    timeout=20,
                )
                back = httpx.get(f"{base}/api/v1/flags", headers=engineer, timeout=10)
                assert back.status_code == 200, back.text
                wait_for(lambda: client.version == direct.version(), timeout=20)
                after = _answers(client)
                assert 0.6 < sum(after) / len(after) < 0.9  # 75 %
                assert pg_proxy.refused > 0
            finally:
                client.close()
                served.engine.dispose()
                direct.engine.dispose()
