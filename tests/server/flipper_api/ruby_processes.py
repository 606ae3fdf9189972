"""Ruby scripts as peer processes (one JSON request per line, as tests/compat does)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator, Sequence
from pathlib import Path

from tests.compat.ruby_peer import RubyPeer
from tests.services import absent, require_binary

SCRIPTS = Path(__file__).parent / "ruby"


def start_ruby(script: str, requires: Sequence[str], what: str) -> Iterator[RubyPeer]:
    """Start `ruby/<script>`; skip (or fail under FLAGRAMP_REQUIRE_SERVICES=1) when
    Ruby or one of `requires` is missing (`what` names the Debian packages)."""
    ruby = require_binary("ruby")
    probe = "; ".join(f"require {name!r}" for name in requires)
    found = subprocess.run(
        [ruby, "-e", probe], capture_output=True, text=True, check=False
    )
    if found.returncode != 0:
        absent(what)
    peer = RubyPeer(ruby, SCRIPTS / script)
    try:
        yield peer
    finally:
        peer.close()
