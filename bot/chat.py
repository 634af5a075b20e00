"""The values every channel speaks: ``Incoming`` in, ``Reply`` out.

The ground floor: this module imports nothing of ours, so channels, delivery, services and flows can all use it.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

MAX_ACTION_BYTES = 64  # Telegram callback_data limit; VK payloads are larger
# The most buttons one message can carry: Telegram's inline keyboard takes at most 100 buttons; VK's regular
# keyboard at most 40 (10 rows of up to 5; the inline keyboard only 10, so larger screens use the regular one).
# A screen with more is paged by the dispatcher ("Ещё"), never cut.
BUTTON_LIMITS = {"telegram": 100, "vk": 40}


@dataclass(frozen=True)
class Incoming:
    """One thing a person did: typed text or pressed a button (``action``)."""

    channel: str  # "telegram" | "vk" | "console"
    user_id: str  # the person's id on that channel
    text: str | None = None
    action: str | None = None
    # the platform's own id of this event (Telegram's update_id, VK's message or event id), None where there
    # is none (the console): an update delivered again after a crash is recognised by it
    key: str | None = None


@dataclass(frozen=True)
class Button:
    label: str
    action: str

    def __post_init__(self) -> None:
        if len(self.action.encode("utf-8")) > MAX_ACTION_BYTES:
            raise ValueError(f"button action longer than {MAX_ACTION_BYTES} bytes: {self.action!r}")


@dataclass(frozen=True)
class Attachment:
    """A document (.docx, .xlsx) or an image (.png) sent with a reply."""

    filename: str
    data: bytes
    kind: str = "document"  # "document" | "image"


@dataclass(frozen=True)
class Reply:
    text: str
    buttons: tuple[tuple[Button, ...], ...] = ()
    attachment: Attachment | None = None
    urgent: bool = field(default=True, compare=False)
    # what this reply is, stably across retries (an outbox row, the n-th answer to an update): a channel
    # derives its idempotency key from it (VK ``random_id``), so a retried send is not shown twice
    identity: str | None = field(default=None, compare=False)

    @property
    def actions(self) -> list[str]:
        return [button.action for row in self.buttons for button in row]

    def to_payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "text": self.text,
            "buttons": [[[b.label, b.action] for b in row] for row in self.buttons],
        }
        if self.attachment is not None:
            payload["attachment"] = {
                "filename": self.attachment.filename,
                "kind": self.attachment.kind,
                "data": base64.b64encode(self.attachment.data).decode("ascii"),
            }
        return payload

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> Reply:
        attachment = None
        if payload.get("attachment"):
            raw = payload["attachment"]
            attachment = Attachment(raw["filename"], base64.b64decode(raw["data"]), raw["kind"])
        buttons = tuple(tuple(Button(label, action) for label, action in row) for row in payload["buttons"])
        return cls(text=payload["text"], buttons=buttons, attachment=attachment)


def rows(*rows_: list[Button] | tuple[Button, ...]) -> tuple[tuple[Button, ...], ...]:
    """Build a keyboard from rows of buttons, dropping empty rows."""
    return tuple(tuple(row) for row in rows_ if row)
