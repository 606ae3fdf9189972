"""Loading the promotion hooks of the process that runs the controller.

Hooks are code the operator installs, never commands from a plan: the
environment variable `FLAGRAMP_HOOKS` names Python modules (comma-separated),
each with a `register_hooks(registry: HookRegistry) -> None` function that
registers its hooks by name (`backup`, `restore`, `tmp_verification_tests`...).
A plan can then only choose among the names registered.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping

from flagramp.core.errors import EngineError
from flagramp.engine.probes import HookRegistry

__all__ = ["HOOKS_VARIABLE", "HookLoadError", "load_hooks"]

HOOKS_VARIABLE = "FLAGRAMP_HOOKS"


class HookLoadError(EngineError):
    """A hooks module that cannot be imported or has no `register_hooks`."""

    code = "hooks_not_loaded"


def load_hooks(environ: Mapping[str, str] | None = None) -> HookRegistry:
    """A registry filled by every module `FLAGRAMP_HOOKS` names (empty if unset)."""
    spec = (os.environ if environ is None else environ).get(HOOKS_VARIABLE, "")
    registry = HookRegistry()
    for name in (n.strip() for n in spec.split(",")):
        if not name:
            continue
        try:
            module = importlib.import_module(name)
        except ImportError as exc:
            raise HookLoadError(
                f"{HOOKS_VARIABLE}: cannot import {name!r}: {exc}"
            ) from exc
        register = getattr(module, "register_hooks", None)
        if not callable(register):
            raise HookLoadError(
                f"{HOOKS_VARIABLE}: module {name!r} has no register_hooks(registry)"
            )
        register(registry)
    return registry
