"""Pieces many connectors share: manifest fragments (*.yaml) and Python components."""
