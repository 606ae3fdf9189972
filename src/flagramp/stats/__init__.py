"""flagramp.stats."""
