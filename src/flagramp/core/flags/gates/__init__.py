"""flagramp.core.flags.gates."""
