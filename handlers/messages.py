"""Re-exports the chat value types of ``bot.chat`` for the flows."""

from bot.chat import MAX_ACTION_BYTES, Attachment, Button, Incoming, Reply, rows

__all__ = ["MAX_ACTION_BYTES", "Attachment", "Button", "Incoming", "Reply", "rows"]
