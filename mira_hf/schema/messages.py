"""Chat messages as engines take them: ``{"role": ..., "content": ...}`` dicts in a list."""

from __future__ import annotations

from typing import Any

Message = dict[str, Any]
Conversation = list[Message]
