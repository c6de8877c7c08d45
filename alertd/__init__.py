"""alertd: a deadline alerting daemon."""

__version__ = "0.1.0"
