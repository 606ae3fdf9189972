"""The suite's small version of bench/propagation.py: 40 stream clients of one
server each get every change, once, in order (timing is the benchmark's)."""

from __future__ import annotations

from flagramp.core.flags import Flag
from flagramp.core.flags import operations as ops
from flagramp.server.app import create_app
from flagramp.server.settings import ServerSettings
from tests.server.conftest import SETUP, Api
from tests.server.live_server import serving
from tests.server.sse_client import SseReader

CLIENTS = 40


def test_every_client_gets_every_change_once_in_order(api: Api) -> None:
    store = api.store
    store.create_flag(Flag(key="f"), SETUP)
    app = create_app(ServerSettings(stream_poll_seconds=0.05), store=store)
    with serving(app) as url:
        readers = [
            SseReader(f"{url}/api/v1/stream", api.headers("sdk"))
            for _ in range(CLIENTS)
        ]
        try:
            snapshots = {r.next(timeout=20).id for r in readers}
            versions = []
            for change in (ops.enable, ops.disable, ops.enable):
                store.change_flag("f", change, SETUP)
                versions.append(str(store.version()))
            got = [[r.next(timeout=20).id for _ in versions] for r in readers]
        finally:
            for reader in readers:
                reader.close()
    assert snapshots == {str(int(versions[0]) - 1)}
    assert got == [versions] * CLIENTS
