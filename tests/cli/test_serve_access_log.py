"""`flagramp serve --no-access-log`: the line per request is uvicorn's, on by
default; an operator whose proxy logs requests already turns it off."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.server.live_server import seed_for_serving, serve_process


@pytest.mark.parametrize(
    ("options", "logged"), [((), True), (("--no-access-log",), False)]
)
def test_each_request_is_logged_unless_the_access_log_is_off(
    options: tuple[str, ...], logged: bool, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'flagramp.db'}"
    seed_for_serving(url)
    with serve_process(url, tmp_path, options=options) as (base, _):
        assert httpx.get(f"{base}/healthz?probe=access-log").status_code == 200
    (log_path,) = tmp_path.glob("serve-*.log")
    log = log_path.read_text()
    assert "Uvicorn running on" in log  # the server's other lines stay
    assert ("/healthz?probe=access-log" in log) is logged
