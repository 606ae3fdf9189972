"""A hooks module as `FLAGRAMP_HOOKS` names one (used by the promotion tests)."""

from __future__ import annotations

from collections.abc import Mapping

from flagramp.engine.probes import HookRegistry


def _ok(arguments: Mapping[str, str]) -> tuple[bool, str]:
    return True, f"ok for {arguments.get('environment')}"


def register_hooks(registry: HookRegistry) -> None:
    """Register the TMP plan's hooks."""
    for name in ("backup", "restore", "tmp_verification_tests"):
        registry.register(name, _ok)
