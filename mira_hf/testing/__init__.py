"""Helpers for testing and demonstrating mira-hf without a GPU or the Hub."""
