"""The built-in promotion plan behind `flagramp promote FROM TO`.

`flagramp promote` is shorthand for a plan run: this module writes the minimal
promotion plan (seed 004's shape with one step) as YAML text, and the command
starts it through `RunService` like any `plan start`, so the run has its exact
plan text and hash, appears in `run list`, keeps a log, asks its go/no-go and
restores on No-Go as plan promotions do.

The plan: environments `[FROM, TO]`; one role, `promoter`, held by the person
promoting (owner, product owner and the go/no-go's only voter); one step into
TO with a backup just before it (`backup: true`), the given probes, a go/no-go
by `promoter` and `on_no_go: restore`. No time of day and no date: it begins at
once.
"""

from __future__ import annotations

from collections.abc import Sequence

import yaml

from flagramp.core.types import Json

__all__ = ["PROMOTER", "shorthand_plan", "shorthand_plan_name"]

#: The built-in plan's one role.
PROMOTER = "promoter"


def shorthand_plan_name(source: str, target: str) -> str:
    """The built-in plan's name: `promote-FROM-to-TO`."""
    return f"promote-{source}-to-{target}"


def shorthand_plan(
    source: str,
    target: str,
    *,
    person: str,
    urls: Sequence[str] = (),
    hooks: Sequence[str] = (),
    why: str = "",
) -> str:
    """The YAML text of the minimal promotion from `source` to `target`, with
    HTTP probes `urls` and verification hooks `hooks` (registered names)."""
    verify: list[Json] = [{"kind": "http", "url": u} for u in urls]
    verify += [{"kind": "hook", "name": h, "arguments": {"environment": target}}
               for h in hooks]  # fmt: skip
    document: dict[str, Json] = {
        "name": shorthand_plan_name(source, target),
        "title": f"Promote {source} to {target}",
        "owner": PROMOTER,
        "product_owner": PROMOTER,
        "environment": target,
        "summary": why or f"flagramp promote {source} {target}",
        "roles": {
            PROMOTER: {
                "title": "Promoter (flagramp promote)",
                "people": [person],
                "signs": ["go_no_go", "promotion"],
            }
        },
        "environments": [{"name": source}, {"name": target}],
        "promotion": {
            "steps": [
                {
                    "environment": target,
                    "backup": True,
                    "verify": verify,
                    "go_no_go": {"roles": [PROMOTER]},
                    "on_no_go": "restore",
                }
            ]
        },
    }
    header = "# The built-in plan of `flagramp promote` (engine.promotion_shorthand).\n"
    return header + yaml.safe_dump(document, sort_keys=False, allow_unicode=True)
