"""flagramp.store."""
