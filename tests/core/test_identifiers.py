"""Names: one rule per kind, the same limits on every backend."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from flagramp.core.errors import InvalidIdentifier
from flagramp.core.identifiers import (
    check_action,
    check_actor_id,
    check_author,
    check_entity_key,
    check_entity_kind,
    check_environment,
    check_flag_key,
    check_segment_name,
    check_text,
)

Check = Callable[[str], str]


@pytest.mark.parametrize(
    ("check", "value"),
    [
        (check_flag_key, "va_online_scheduling_vaos_service_requests"),
        (check_flag_key, "k" * 255),
        (check_flag_key, "a/flag/b"),
        (check_flag_key, "Search"),
        (check_flag_key, "ключ-東京"),
        (check_actor_id, "User;42"),
        (check_actor_id, "veteran@va.gov"),
        (check_actor_id, "5f0c3a2e-8d1b-4c1e-9f7a-0b2c3d4e5f60"),
        (check_segment_name, "oracle_health"),
        (check_author, "Ana María (on call)"),
        (check_environment, "production"),
        (check_environment, "pre-prod"),
        (check_environment, "INT"),
        (check_environment, "qa.2"),
        (check_environment, "e" * 64),
        (check_entity_kind, "run"),
        (check_entity_key, "vaos-2026-11/phase-1"),
        (check_action, "percentage_of_actors"),
    ],
)
def test_valid_names_pass_unchanged(check: Check, value: str) -> None:
    assert check(value) == value


@pytest.mark.parametrize(
    ("check", "value", "message"),
    [
        (check_flag_key, "", "flag key '': it is empty"),
        (check_flag_key, "k" * 256, "longer than 255 characters"),
        (
            check_flag_key,
            "k" * 10_000,
            "invalid flag key 'kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk…'",
        ),
        (check_flag_key, " padded", "starts or ends with white space"),
        (check_flag_key, "tab\tinside", "control character"),
        (check_flag_key, "nul\x00", "control character"),
        (check_flag_key, "esc\x1b[31m", "control character"),
        (check_flag_key, "del\x7f", "control character"),
        (check_flag_key, "c1\x85next", "U+0085"),
        (check_flag_key, "rtl\u202eevil", "U+202E"),
        (check_flag_key, "zero\u200bwidth", "U+200B"),
        (check_flag_key, "line\u2028sep", "U+2028"),
        (check_flag_key, "half\ud800", "U+D800"),
        (check_actor_id, "a\nb", "invalid actor id"),
        (check_segment_name, "", "invalid segment name"),
        (check_author, "w" * 256, "invalid author"),
        (check_environment, "production/flag/a", "use letters, digits"),
        (check_environment, "-leading", "starting with a letter or digit"),
        (check_environment, "with space", "use letters"),
        (check_environment, "e" * 65, "longer than 64"),
        (check_entity_kind, "Run", "lower-case"),
        (check_entity_kind, "k" * 33, "longer than 32"),
        (check_entity_key, "", "entity key"),
        (check_action, "roll back", "lower-case"),
    ],
)
def test_invalid_names_are_refused_with_a_reason(
    check: Check, value: str, message: str
) -> None:
    with pytest.raises(InvalidIdentifier) as raised:
        check(value)
    assert message in str(raised.value)
    assert isinstance(raised.value, ValueError)
    # The message never carries the refused characters themselves.
    assert str(raised.value).isprintable()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("x" * 10_001, "longer than 10,000"),
        ("nul\x00", "NUL"),
        ("half\udc00", "unpaired surrogate"),
    ],
)
def test_free_text_refuses_only_what_no_backend_stores_alike(
    text: str, message: str
) -> None:
    with pytest.raises(InvalidIdentifier, match=message):
        check_text("reason", text)


def test_free_text_keeps_newlines_and_escapes() -> None:
    text = "Stage B:\n\tlatency 4–23 s \x1b[1mfound\x1b[0m"
    assert check_text("reason", text) == text
