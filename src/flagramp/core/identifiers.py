"""Names people type and the store keeps: the same rules and limits everywhere.

A flag key, segment name, environment name, actor id or audit author is checked
here once, so that every shell (CLI, server, imports) and every backend (memory,
SQLite, PostgreSQL, MariaDB) accepts and refuses the same names with the same
message. The SQL columns are exactly as wide as these limits.

Rationale: control characters (NUL, ESC, newlines), bidirectional overrides and
other invisible format characters, and unpaired surrogates are refused in names:
they make one name look like another on a terminal, and some backends store them
while others refuse them (PostgreSQL refuses NUL in text).
"""

from __future__ import annotations

import re
import unicodedata

from flagramp.core.errors import InvalidIdentifier

#: Characters, not bytes; SQL `VARCHAR(n)` counts characters on every backend.
FLAG_KEY_MAX = 255
SEGMENT_NAME_MAX = 255
ACTOR_ID_MAX = 255
AUTHOR_MAX = 255
ENVIRONMENT_MAX = 64
ENTITY_KIND_MAX = 32
#: The key of an audited entity of any kind (flag keys, segment names, run ids).
ENTITY_KEY_MAX = 255
ACTION_MAX = 64
#: Free text (a reason, a description) may hold newlines, within this length.
TEXT_MAX = 10_000

_ENVIRONMENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]*")
_ENTITY_KIND = re.compile(r"[a-z][a-z0-9_]*")
_ASCII_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
#: Unicode categories refused in names: controls, format characters (bidi
#: overrides, zero-width joiners), surrogates, line and paragraph separators.
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


def check_flag_key(key: str) -> str:
    """`key` if it is a valid flag key; raises InvalidIdentifier."""
    return _check_name("flag key", key, FLAG_KEY_MAX)


def check_segment_name(name: str) -> str:
    """`name` if it is a valid segment (or group) name; raises InvalidIdentifier."""
    return _check_name("segment name", name, SEGMENT_NAME_MAX)


def check_actor_id(actor_id: str) -> str:
    """`actor_id` (a flipper_id) if valid; raises InvalidIdentifier.

    The empty id is valid: Flipper's API accepts `{"flipper_id": ""}` and a Ruby
    app may have stored one, so refusing it would break an import or a sync.
    """
    if actor_id == "":
        return actor_id
    return _check_name("actor id", actor_id, ACTOR_ID_MAX)


def check_author(who: str) -> str:
    """`who` if it can be recorded as the author of a change."""
    return _check_name("author", who, AUTHOR_MAX)


def check_entity_key(key: str) -> str:
    """`key` if it can name an audited entity (a run id, say)."""
    return _check_name("entity key", key, ENTITY_KEY_MAX)


def check_environment(name: str) -> str:
    """`name` if it is a valid environment name: letters, digits, `_`, `.`, `-`,
    starting with a letter or digit (so never `/`), at most 64 characters."""
    _check_length("environment name", name, ENVIRONMENT_MAX)
    if _ENVIRONMENT.fullmatch(name) is None:
        raise InvalidIdentifier(
            "environment name",
            name,
            "use letters, digits, '_', '.' and '-', starting with a letter or digit",
        )
    return name


def check_entity_kind(kind: str) -> str:
    """`kind` if it names a kind of audited entity (`flag`, `segment`, `run`)."""
    _check_length("entity kind", kind, ENTITY_KIND_MAX)
    if _ENTITY_KIND.fullmatch(kind) is None:
        raise InvalidIdentifier(
            "entity kind", kind, "use lower-case letters, digits and '_'"
        )
    return kind


def check_action(action: str) -> str:
    """`action` if it names what a change did (`create`, `percentage_of_actors`)."""
    _check_length("action", action, ACTION_MAX)
    if _ENTITY_KIND.fullmatch(action) is None:
        raise InvalidIdentifier(
            "action", action, "use lower-case letters, digits and '_'"
        )
    return action


def check_text(what: str, text: str) -> str:
    """Free text (a reason, a description): newlines are fine, NUL and unpaired
    surrogates are not (no backend stores both the same way)."""
    if len(text) > TEXT_MAX:
        raise InvalidIdentifier(what, text, f"longer than {TEXT_MAX:,} characters")
    if "\x00" in text:
        raise InvalidIdentifier(what, text, "contains a NUL character")
    if not text.isascii() and any(unicodedata.category(c) == "Cs" for c in text):
        raise InvalidIdentifier(what, text, "contains an unpaired surrogate")
    return text


def _check_length(what: str, name: str, limit: int) -> None:
    if not name:
        raise InvalidIdentifier(what, name, "it is empty")
    if len(name) > limit:
        raise InvalidIdentifier(what, name, f"longer than {limit} characters")


def _check_name(what: str, name: str, limit: int) -> str:
    _check_length(what, name, limit)
    if name != name.strip():
        raise InvalidIdentifier(what, name, "it starts or ends with white space")
    if name.isascii():
        if _ASCII_CONTROL.search(name):
            raise InvalidIdentifier(what, name, "it contains a control character")
        return name
    for char in name:
        if unicodedata.category(char) in _REFUSED_CATEGORIES:
            raise InvalidIdentifier(
                what,
                name,
                f"it contains the invisible or control character U+{ord(char):04X}",
            )
    return name
