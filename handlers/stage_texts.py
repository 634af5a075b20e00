"""What a pair's stage means, in words (``content/pair_stages.yaml``): for the pair's screens and notices."""

from __future__ import annotations

from content.pair_stages import stage_named


def stage_card(name: str) -> str:
    """«Этап «…»: what it means. Что делать: … Результат: …» (just the name for an unknown stage)."""
    stage = stage_named(name)
    if stage is None:
        return f"Этап «{name}»."
    todo = "\n".join(f"• {step}" for step in stage.todo)
    return f"Этап «{stage.name}». {stage.meaning}\nЧто делать:\n{todo}\nРезультат этапа: {stage.result}"
