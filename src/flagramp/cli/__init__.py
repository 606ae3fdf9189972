"""flagramp.cli."""
