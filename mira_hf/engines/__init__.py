"""Engines that turn chat conversations into completions: the protocol and its implementations."""

from mira_hf.engines.base import Completion, Engine, Sampling

__all__ = ["Completion", "Engine", "Sampling"]
