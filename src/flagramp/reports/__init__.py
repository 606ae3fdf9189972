"""flagramp.reports."""
