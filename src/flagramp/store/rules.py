"""What the store refuses whatever shell a write comes from (CLI, server, import).

Names follow `core.identifiers`; a flag's eligibility segment must exist (checked
by the unit of work, which sees the segments). Flipper groups need no segment:
Flipper itself allows unregistered groups, and such a group matches nobody.
"""

from __future__ import annotations

from flagramp.core.flags import Flag, Segment
from flagramp.core.identifiers import (
    check_actor_id,
    check_author,
    check_flag_key,
    check_segment_name,
    check_text,
)
from flagramp.store.port import Author


def check_flag(flag: Flag) -> Flag:
    """`flag` if every name in it is valid; raises InvalidIdentifier."""
    check_flag_key(flag.key)
    for actor in (*flag.actors, *flag.denied_actors):
        check_actor_id(actor)
    for group in flag.groups:
        check_segment_name(group)
    if flag.eligibility is not None:
        check_segment_name(flag.eligibility)
    if flag.bucket_key is not None:
        check_flag_key(flag.bucket_key)  # another flag's key, by the same rules
    check_text("description", flag.description)
    return flag


def check_segment(segment: Segment) -> Segment:
    """`segment` if its name and description are valid."""
    check_segment_name(segment.name)
    check_text("description", segment.description)
    return segment


def check_author_fields(author: Author) -> Author:
    """`author` if its `who` is a valid author and its `why` valid text."""
    check_author(author.who)
    check_text("reason", author.why)
    return author
