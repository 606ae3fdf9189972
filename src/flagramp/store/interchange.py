"""Moving flags in and out: Flipper's export JSON and VA's features.yml."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import yaml

from flagramp.core.errors import ImportInvalid
from flagramp.core.flags import (
    Flag,
    export_document,
    flag_from_gates,
    parse_export,
    parse_features_yml,
)
from flagramp.core.flags import operations as ops
from flagramp.core.types import Json
from flagramp.store.flag_store import DEFAULT_ENVIRONMENT, Author, FlagStore

#: Flipper refuses imports over 50 MiB; so does flagramp, before parsing.
MAX_IMPORT_BYTES = 50 * 1024 * 1024
#: features.yml nests three levels; a document nested deeper than this is not one
#: (and PyYAML's composer recurses once per level).
MAX_YAML_DEPTH = 64

_YamlLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def export_json(store: FlagStore, environment: str = DEFAULT_ENVIRONMENT) -> str:
    """The environment's flags as a Flipper export v1 document (JSON text)."""
    document = export_document(store.list_flags(environment))
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False)


def import_flipper(
    store: FlagStore,
    text: str,
    author: Author,
    environment: str = DEFAULT_ENVIRONMENT,
    *,
    source: str = "import",
    full_sync: bool = False,
) -> int:
    """Import a Flipper export; returns how many flags changed.

    flagramp's own fields (deny lists, eligibility, descriptions) are kept. With
    `full_sync`, flags missing from the document are removed, as Flipper's own
    import does; by default they are left alone. All or nothing: one transaction.
    """
    features = parse_export(_load_json(text, source), source)
    current = {f.key: f for f in store.list_flags(environment)}
    incoming = [
        flag_from_gates(key, gates, current.get(key)) for key, gates in features.items()
    ]
    return store.put_flags(incoming, author, environment, remove_missing=full_sync)


def import_features_yml(
    store: FlagStore,
    text: str,
    author: Author,
    environment: str = DEFAULT_ENVIRONMENT,
    *,
    source: str = "features.yml",
) -> int:
    """Import VA's features.yml: creates missing flags with their descriptions.

    Existing flags keep their gates (only the description and actor type are
    refreshed). In the `development` environment, `enable_in_development: true`
    turns the flag fully on, as vets-api does at boot.
    """
    entries = parse_features_yml(_load_yaml(text, source), source)
    current = {f.key: f for f in store.list_flags(environment)}
    incoming: list[Flag] = []
    for entry in entries:
        base = current.get(entry.key, Flag(key=entry.key))
        flag = base.with_changes(
            description=entry.description, actor_type=entry.actor_type
        )
        if environment == "development" and entry.enable_in_development:
            flag = ops.enable(flag)
        incoming.append(flag)
    return store.put_flags(incoming, author, environment)


def read_import_file(path: Path) -> str:
    """Read an import file, refusing what is too large or not text.

    The limit holds for pipes and devices too: at most one byte past it is read.
    """
    try:
        with path.open("rb") as handle:
            info = os.fstat(handle.fileno())
            if stat.S_ISREG(info.st_mode) and info.st_size > MAX_IMPORT_BYTES:
                raise ImportInvalid(
                    str(path), f"{info.st_size} bytes is over the 50 MiB limit"
                )
            data = handle.read(MAX_IMPORT_BYTES + 1)
    except FileNotFoundError as exc:
        raise ImportInvalid(str(path), "no such file") from exc
    except IsADirectoryError as exc:
        raise ImportInvalid(str(path), "is a directory") from exc
    except OSError as exc:
        raise ImportInvalid(str(path), f"cannot read: {exc.strerror}") from exc
    if len(data) > MAX_IMPORT_BYTES:
        raise ImportInvalid(str(path), "more than 50 MiB, over the limit")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ImportInvalid(str(path), "not UTF-8 text") from exc


def _load_json(text: str, source: str) -> Json:
    if len(text.encode()) > MAX_IMPORT_BYTES:
        raise ImportInvalid(source, "over the 50 MiB limit")
    try:
        loaded: Json = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ImportInvalid(
            f"{source}:{exc.lineno}:{exc.colno}", f"not valid JSON ({exc.msg})"
        ) from exc
    except RecursionError as exc:
        # The decoder gives up at the interpreter's recursion limit (~1,000).
        raise ImportInvalid(source, "nested too deeply to read") from exc
    return loaded


def _load_yaml(text: str, source: str) -> Json:
    try:
        depth = 0
        for event in yaml.parse(text, Loader=_YamlLoader):
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_YAML_DEPTH:
                    mark = event.start_mark
                    where = f":{mark.line + 1}:{mark.column + 1}" if mark else ""
                    raise ImportInvalid(
                        f"{source}{where}",
                        f"nested more than {MAX_YAML_DEPTH} levels deep",
                    )
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
        # A safe loader (SafeConstructor), in C when libyaml is there.
        document: Json = yaml.load(text, Loader=_YamlLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}:{mark.column + 1}" if mark is not None else ""
        if "depth" in str(exc):
            # libyaml ≥ 0.2.6 has a nesting limit of its own that can trip first.
            detail = f"nested more than {MAX_YAML_DEPTH} levels deep"
            raise ImportInvalid(f"{source}{where}", detail) from exc
        raise ImportInvalid(f"{source}{where}", "not valid YAML") from exc
    return document
