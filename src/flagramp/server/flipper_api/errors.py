"""The Flipper API's error table: Flipper's codes 1–7, then flagramp's own.

Every error answer is `{"code": …, "message": …, "more_info": …}`, the shape of
`Flipper::Api::ErrorResponse`, so that Ruby's HTTP adapter shows our message and
more_info in its `Flipper::Adapters::Http::Error`. Flipper's codes are integers with
Flipper's exact messages. Where Flipper itself would raise (and its host app answer
500), flagramp answers with a code of its own: a string, so it can never collide
with a code Flipper adds later.
"""

from __future__ import annotations

from dataclasses import dataclass

from flagramp.core.errors import FlagrampError
from flagramp.core.types import Json

FLIPPER_MORE_INFO = "https://flippercloud.io/docs/api#error-code-reference"
FLAGRAMP_MORE_INFO = "flagramp docs/flipper.md#error-codes"


@dataclass(frozen=True, slots=True)
class ErrorEntry:
    """One row of the table: the code, the HTTP status and the message."""

    code: int | str
    http_status: int
    message: str

    @property
    def more_info(self) -> str:
        return FLIPPER_MORE_INFO if isinstance(self.code, int) else FLAGRAMP_MORE_INFO


# Flipper's own (lib/flipper/api/error_response.rb), word for word.
FEATURE_NOT_FOUND = ErrorEntry(1, 404, "Feature not found.")
GROUP_NOT_REGISTERED = ErrorEntry(2, 404, "Group not registered.")
PERCENTAGE_INVALID = ErrorEntry(
    3, 422, "Percentage must be a positive number less than or equal to 100."
)
FLIPPER_ID_INVALID = ErrorEntry(4, 422, "Required parameter flipper_id is missing.")
NAME_INVALID = ErrorEntry(5, 422, "Required parameter name is missing.")
IMPORT_INVALID = ErrorEntry(6, 422, "Import invalid.")
EXPRESSION_INVALID = ErrorEntry(7, 422, "The provided expression was not valid.")

# flagramp's, where Flipper raises instead of answering.
INVALID_REQUEST = ErrorEntry("invalid_request", 400, "The request cannot be read.")
UNAUTHORIZED = ErrorEntry("unauthorized", 401, "A valid token is required.")
READ_ONLY = ErrorEntry(
    "read_only", 403, "This token may read flags but not change them."
)
METHOD_NOT_ALLOWED = ErrorEntry(
    "method_not_allowed", 405, "This route does not answer that method."
)
BODY_TOO_LARGE = ErrorEntry("body_too_large", 413, "The request body is over 50 MiB.")
NAME_TOO_LONG = ErrorEntry(
    "name_too_long", 422, "A feature name may have at most 255 characters."
)
TOO_MANY_FAILURES = ErrorEntry(
    "too_many_failures", 429, "Too many failed authentications from this address."
)
INVALID_NAME = ErrorEntry(
    "invalid_name", 422, "A name or actor id holds what the store cannot keep."
)
STORE_UNAVAILABLE = ErrorEntry(
    "store_unavailable", 503, "The flag store cannot be reached; nothing was changed."
)
INTERNAL_ERROR = ErrorEntry(
    "internal_error", 500, "flagramp could not answer; the server log says why."
)

FLIPPER_ERRORS = (
    FEATURE_NOT_FOUND,
    GROUP_NOT_REGISTERED,
    PERCENTAGE_INVALID,
    FLIPPER_ID_INVALID,
    NAME_INVALID,
    IMPORT_INVALID,
    EXPRESSION_INVALID,
)
FLAGRAMP_ERRORS = (
    INVALID_REQUEST,
    UNAUTHORIZED,
    READ_ONLY,
    METHOD_NOT_ALLOWED,
    BODY_TOO_LARGE,
    NAME_TOO_LONG,
    INVALID_NAME,
    TOO_MANY_FAILURES,
    STORE_UNAVAILABLE,
    INTERNAL_ERROR,
)


class FlipperApiError(FlagrampError):
    """A request the Flipper API answers with an error document.

    Raised inside the app and turned into the answer there; it never reaches the
    app's caller. `detail` (flagramp's codes only) adds what exactly was wrong.
    """

    code = "flipper_api_error"

    def __init__(self, entry: ErrorEntry, detail: str = "") -> None:
        self.entry = entry
        self.detail = detail
        super().__init__(self.message)

    @property
    def message(self) -> str:
        if self.detail and isinstance(self.entry.code, str):
            return f"{self.entry.message.rstrip('.')}: {self.detail}"
        return self.entry.message

    def document(self) -> dict[str, Json]:
        """The error answer's body."""
        return {
            "code": self.entry.code,
            "message": self.message,
            "more_info": self.entry.more_info,
        }
