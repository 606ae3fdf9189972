"""flagramp.core.plans."""
