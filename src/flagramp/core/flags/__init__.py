"""flagramp.core.flags."""
