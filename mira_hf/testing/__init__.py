"""Helpers for testing and demonstrating mira-hf without a GPU or the Hub."""

from mira_hf.testing.tiny_model import build_tiny_model

__all__ = ["build_tiny_model"]
