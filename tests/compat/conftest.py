from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.compat.ruby_peer import RubyPeer, start_peer


@pytest.fixture(scope="module")
def ruby(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RubyPeer]:
    """One Ruby Flipper process per test module."""
    yield from start_peer(tmp_path_factory.mktemp("ruby"))
