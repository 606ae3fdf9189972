"""flagramp.engine."""
