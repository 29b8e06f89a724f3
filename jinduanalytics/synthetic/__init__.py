"""Synthetic Beibu Gulf datasets with planted truth (see :mod:`.generator` for the model)."""

from .generator import PRESETS, SyntheticConfig, generate, preset_config
from .shards import SHARD_NETWORKS, generate_sharded

__all__ = ["generate", "generate_sharded", "SyntheticConfig", "PRESETS", "SHARD_NETWORKS", "preset_config"]
