"""`POST /import`: a Flipper export document as a full sync, in one transaction.

Features missing from the document are removed and every gate of every listed
feature is made to equal the document's (Flipper ≥ 0.27, `Flipper#import`).
flagramp's own rules (deny lists, eligibility, descriptions) are kept; and a
feature whose gates in the document equal what flagramp serves for it now is left
exactly as it is, so that importing an export taken from flagramp changes nothing.
Anything that cannot be read is `422` code 6 and writes nothing.
"""

from __future__ import annotations

from flagramp.core.errors import ImportInvalid
from flagramp.core.flags import Flag, flag_from_gates, flipper_view, parse_export
from flagramp.core.types import Json
from flagramp.server.flipper_api.context import (
    MAX_KEY_LENGTH,
    ApiRequest,
    FlipperContext,
    Reply,
)
from flagramp.server.flipper_api.errors import IMPORT_INVALID, FlipperApiError
from flagramp.server.flipper_api.params import loads_json

#: Flipper main refuses imports over 50 MiB; so does flagramp.
MAX_IMPORT_BYTES = 50 * 1024 * 1024


def import_features(ctx: FlipperContext, request: ApiRequest) -> Reply:
    """Replace the environment's flags by the document's; 204, or 422 code 6."""
    incoming = _incoming(ctx, _document(request.body))
    ctx.store.put_flags(incoming, request.author, ctx.environment, remove_missing=True)
    return Reply(204)


def _document(body: bytes) -> Json:
    if len(body) > MAX_IMPORT_BYTES:
        raise FlipperApiError(IMPORT_INVALID)
    try:
        document = loads_json(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise FlipperApiError(IMPORT_INVALID) from exc
    return document


def _incoming(ctx: FlipperContext, document: Json) -> list[Flag]:
    try:
        features = parse_export(document, "POST /import")
    except ImportInvalid as exc:
        raise FlipperApiError(IMPORT_INVALID) from exc
    current = {f.key: f for f in ctx.store.list_flags(ctx.environment)}
    segments = ctx.segments()
    flags: list[Flag] = []
    for key, gates in features.items():
        if not key or len(key) > MAX_KEY_LENGTH:
            raise FlipperApiError(IMPORT_INVALID)
        before = current.get(key)
        try:
            as_sent = flag_from_gates(key, gates)
            if before is not None and flipper_view(before, segments).flag == as_sent:
                flags.append(before)
            else:
                flags.append(flag_from_gates(key, gates, before))
        except ImportInvalid as exc:
            raise FlipperApiError(IMPORT_INVALID) from exc
    return flags
