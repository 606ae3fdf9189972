"""flagramp's client library: flags evaluated in the app, kept current by the server.

`Client` (threads) and `AsyncClient` (asyncio) evaluate flags locally from
compiled copies, keep them current over SSE (or by polling), keep the last good
copy on disk, and send exposures, request outcomes and business events in
batches. `ASGIMiddleware` and `WSGIMiddleware` attribute request outcomes to the
flags evaluated during each request; `OpenFeatureProvider` serves OpenFeature.
See docs/sdk.md.
"""

from flagramp.core.errors import InvalidClientOption, InvalidSnapshot, SdkError
from flagramp.sdk._async_client import AsyncClient
from flagramp.sdk._base import BaseClient
from flagramp.sdk._client import Client
from flagramp.sdk._middleware import ASGIMiddleware, WSGIMiddleware
from flagramp.sdk._models import FlagDetails, FlagsChanged
from flagramp.sdk._openfeature import OpenFeatureProvider

__all__ = [
    "ASGIMiddleware",
    "AsyncClient",
    "BaseClient",
    "Client",
    "FlagDetails",
    "FlagsChanged",
    "InvalidClientOption",
    "InvalidSnapshot",
    "OpenFeatureProvider",
    "SdkError",
    "WSGIMiddleware",
]

for _name in __all__:
    _value = globals()[_name]
    if getattr(_value, "__module__", "").startswith("flagramp.sdk._"):
        _value.__module__ = __name__
del _name, _value
