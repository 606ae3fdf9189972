"""Ruby Flipper 0.25.4 with its ActiveRecord adapter, on the same database as
flagramp's Flipper-tables store (`active_record_peer.rb`)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.compat.ruby_peer import RubyPeer
from tests.services import absent, require_binary

PEER_SOURCE = (Path(__file__).parent / "active_record_peer.rb").read_text("utf-8")
#: What each backend needs from Debian (scripts/setup-debian.sh installs them).
DRIVERS = {"sqlite": "sqlite3", "postgresql": "pg", "mysql": "mysql2"}


def start_active_record_peer(tmp_dir: Path) -> Iterator[RubyPeer]:
    """Start the peer (skip, or fail under FLAGRAMP_REQUIRE_SERVICES=1, when Ruby,
    ActiveRecord, Flipper's adapter or a database driver is missing)."""
    ruby = require_binary("ruby")
    requires = ["active_record", "flipper/adapters/active_record", *DRIVERS.values()]
    probe = subprocess.run(
        [ruby, "-e", "; ".join(f'require "{r}"' for r in requires)],
        capture_output=True,
        text=True,
        check=False,
    )
    if probe.returncode != 0:
        absent(
            "Ruby's ActiveRecord, Flipper's ActiveRecord adapter and the sqlite3, "
            f"pg and mysql2 gems ({probe.stderr.strip().splitlines()[-1:]})"
        )
    script = tmp_dir / "active_record_peer.rb"
    script.write_text(PEER_SOURCE, encoding="utf-8")
    peer = RubyPeer(ruby, script)
    try:
        version = peer.call("version")
        if not version["flipper"].startswith("0.25."):
            pytest.fail(f"expected Ruby Flipper 0.25.x, found {version['flipper']}")
        yield peer
    finally:
        peer.close()


def active_record_config(url: str) -> dict[str, Any]:
    """ActiveRecord's connection settings for one of the tests' database URLs."""
    parsed = sa.engine.make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return {"adapter": "sqlite3", "database": parsed.database}
    common = {
        "host": parsed.host,
        "port": parsed.port,
        "username": parsed.username,
        "database": parsed.database,
    }
    if backend == "postgresql":
        config = {"adapter": "postgresql", **common}
        options = str(parsed.query.get("options", ""))
        if options.startswith("-csearch_path="):
            config["schema_search_path"] = options.removeprefix("-csearch_path=")
        return config
    return {"adapter": "mysql2", "encoding": "utf8mb4", **common}
