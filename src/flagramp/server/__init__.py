"""flagramp.server."""
