"""Evaluation of the engines on data laid out as ``../shared/data`` (never in the package)."""
