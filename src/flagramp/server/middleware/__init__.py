"""The server's ASGI middleware, one per module."""
