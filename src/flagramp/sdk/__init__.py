"""flagramp.sdk."""
