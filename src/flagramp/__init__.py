"""flagramp: staged feature-flag rollouts from written release plans."""

__version__ = "0.1.0"
