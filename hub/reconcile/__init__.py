"""Reconciliation: prove that each destination equals its source (docs/reconciliation.md)."""

__all__: list[str] = []
