"""Numbers agreed with their Russian nouns: «1 шаг», «2 шага», «5 шагов» (the three plural forms)."""

from __future__ import annotations


def plural(count: int, one: str, few: str, many: str) -> str:
    tail = abs(count) % 100
    if 11 <= tail <= 14:
        return many
    last = tail % 10
    if last == 1:
        return one
    if 2 <= last <= 4:
        return few
    return many


def steps_phrase(count: int) -> str:
    return f"{count} {plural(count, 'шаг', 'шага', 'шагов')}"


def hours_phrase(count: int) -> str:
    return f"{count} {plural(count, 'час', 'часа', 'часов')}"


def routes_phrase(count: int) -> str:
    return f"{count} {plural(count, 'маршрут', 'маршрута', 'маршрутов')}"
