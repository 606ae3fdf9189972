"""flagramp.sim."""
