"""flagramp.core."""
