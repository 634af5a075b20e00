"""Conversation flows: platform-agnostic, driven by ``Incoming`` values, answering with ``Reply`` values."""
