"""Synthetic Beibu Gulf datasets with planted truth (see :mod:`.generator` for the model)."""

from .generator import PRESETS, SyntheticConfig, generate, preset_config

__all__ = ["generate", "SyntheticConfig", "PRESETS", "preset_config"]
