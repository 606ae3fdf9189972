"""Streaming flag changes to SDKs: one feed reader per replica, SSE per client."""
