"""Crossdock: the hub engine (pipeline, store, mapping, sandbox, CLI)."""

__version__ = "0.1.0"
