"""Mappings: a source stream's records -> one canonical entity, validated and compiled once."""

from hub.mapping.compiler import MappingBatch
from hub.mapping.functions import FUNCTIONS
from hub.mapping.loader import CompiledMapping, load_mapping

__all__ = ["load_mapping", "CompiledMapping", "MappingBatch", "FUNCTIONS"]
