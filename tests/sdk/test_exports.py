"""The SDK's public surface is a contract (httpx's rule), and it is light to import."""

from __future__ import annotations

import subprocess
import sys

import flagramp.sdk


def test_all_is_sorted_and_names_every_public_member() -> None:
    public = [name for name in vars(flagramp.sdk) if not name.startswith("_")]
    assert flagramp.sdk.__all__ == sorted(public, key=str.casefold)


def test_public_names_say_they_come_from_flagramp_sdk() -> None:
    for name in flagramp.sdk.__all__:
        module = getattr(flagramp.sdk, name).__module__
        assert module in ("flagramp.sdk", "flagramp.core.errors"), (name, module)


def test_importing_the_sdk_loads_no_numerical_model_or_database_stack() -> None:
    probe = "import sys, flagramp.sdk; print(' '.join(sorted(sys.modules)))"
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.split()
    assert "flagramp.sdk._client" in loaded  # the probe did import the SDK
    packages = {name.split(".")[0] for name in loaded}
    heavy = {"numpy", "scipy", "pydantic", "sqlalchemy", "ddsketch", "datasketches"}
    assert not packages & heavy
    layers = {".".join(name.split(".")[:2]) for name in loaded}
    assert not layers & {"flagramp.store", "flagramp.stats", "flagramp.engine"}
