"""flagramp.sources."""
