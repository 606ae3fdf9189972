"""Fill a draft's TBDs the way a person would, so the tests can load the result.

Each TBD is replaced on its own line (the draft's `tbds` give the line and the
field path), so the text that loads is the draft as written, comments and all.
"""

from __future__ import annotations

import json
import re
from typing import Any

import yaml

from flagramp.core.plans.markdown import TBD, Imported

ROLE = "lead"
SIGNS = ["prerequisite", "go_no_go", "re-enable", "revert", "kill_switch"]
_INDEX = re.compile(r"\[(\d+)\]")


def fill(imported: Imported) -> str:
    """The draft's text with every TBD decided."""
    data = yaml.safe_load(imported.yaml)
    lines = imported.yaml.split("\n")
    for line, path in imported.tbds:
        value = decide(path, data)
        text = lines[line - 1]
        head, sep, tail = text.partition(" #")
        assert head.rstrip().endswith(TBD), (line, text)
        lines[line - 1] = head.rstrip()[: -len(TBD)] + json.dumps(value) + sep + tail
    return "\n".join(lines)


def decide(path: str, data: dict[str, Any]) -> object:
    """What a person might write for the TBD at `path`."""
    parts = [int(p) if p.isdigit() else p for p in re.split(r"\.|\[|\]", path) if p]
    key = next(p for p in reversed(parts) if isinstance(p, str))
    if path == "roles":
        return {ROLE: {"people": ["lead@example.gov"], "signs": SIGNS}}
    if path == "flags":
        return {"my_flag": {}}
    if path == "events":
        return {"request": {"kind": "request"}}
    if path == "metrics":
        return {
            "error_rate": {
                "kind": "ratio",
                "numerator": "request_failed",
                "denominator": "request",
            }
        }
    if path == "rollback":
        return {
            "severities": {"critical": {"action": "disable_all"}},
            "re-enable": {"approved_by": [ROLE]},
        }
    if key in ("owner", "product_owner", "signed_by", "answered_by"):
        return ROLE
    if key in ("monitored_by", "approved_by", "revert_confirmed_by", "roles"):
        return [ROLE]
    if key == "flags":
        declared = data.get("flags")
        return [next(iter(declared))] if isinstance(declared, dict) else ["my_flag"]
    if key == "metrics" or key == "metric":
        return ["error_rate"] if key == "metrics" else "error_rate"
    if key == "criteria":
        return [
            {"kind": "absolute", "metric": "error_rate", "below": 5, "mde": 1,
             "severity": "high"}
        ]  # fmt: skip
    if key == "severities":
        return {"critical": {"action": "disable_all"}}
    if key == "percentage":
        return _previous_share(data, parts)
    answers: dict[str, object] = {
        "users_per_day": 20_000, "requests_per_minute": 200, "hold": "1h",
        "start": "2026-01-01", "end": "2026-12-31", "date": "2026-06-01",
        "after": "1w", "below": 1, "action": "disable_all",
        "description": "decided", "title": "Decided", "url": "https://example.gov/x",
        "text": "decided",
    }  # fmt: skip
    if key in answers:
        return answers[key]
    if key == "name":
        return f"decided-{'-'.join(str(p) for p in parts)}".replace("_", "-")
    raise AssertionError(f"no rule to fill {path}")


def _at(data: Any, parts: list[str | int]) -> Any:
    for part in parts:
        data = data[part]
    return data


def _previous_share(data: dict[str, Any], parts: list[str | int]) -> float:
    # The share of the stage before (so shares never fall), else 1.
    stages = _at(data, parts[:-2])
    index = parts[-2]
    assert isinstance(index, int)
    for stage in reversed(stages[:index]):
        if isinstance(stage.get("percentage"), int | float):
            return float(stage["percentage"])
    return 1.0
