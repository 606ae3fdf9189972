"""The real Ruby Flipper (Debian's ruby-flipper 0.25.4) as a peer process.

`peer.rb` reads one JSON request per line on stdin and writes one JSON reply per
line on stdout; a test module starts one process and sends it all its cases.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.services import absent, require_binary

PEER_SOURCE = (Path(__file__).parent / "peer.rb").read_text(encoding="utf-8")


class RubyError(RuntimeError):
    """The Ruby peer answered a request with an exception."""


class RubyPeer:
    """A running `peer.rb`; `call(op, **args)` sends one request."""

    def __init__(self, ruby: str, script: Path) -> None:
        self.proc = subprocess.Popen(
            [ruby, str(script)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
        )

    def call(self, op: str, **args: Any) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps({"op": op, **args}) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            stderr = self.proc.stderr.read() if self.proc.stderr else ""
            raise RubyError(f"the Ruby peer exited: {stderr.strip()}")
        reply: dict[str, Any] = json.loads(line)
        if "error" in reply:
            raise RubyError(reply["error"])
        return reply

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()


def start_peer(tmp_dir: Path) -> Iterator[RubyPeer]:
    """Start the peer (skip, or fail under FLAGRAMP_REQUIRE_SERVICES=1, without it)."""
    ruby = require_binary("ruby")
    probe = subprocess.run(
        [ruby, "-e", 'require "flipper"; require "flipper/version"'],
        capture_output=True,
        text=True,
        check=False,
    )
    if probe.returncode != 0:
        absent("the Ruby `flipper` gem (Debian package ruby-flipper)")
    script = tmp_dir / "flipper_peer.rb"
    script.write_text(PEER_SOURCE, encoding="utf-8")
    peer = RubyPeer(ruby, script)
    try:
        version = peer.call("version")
        if not version["flipper"].startswith("0.25."):
            pytest.fail(f"expected Ruby Flipper 0.25.x, found {version['flipper']}")
        yield peer
    finally:
        peer.close()
