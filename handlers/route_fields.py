"""What a person types when changing an ИОМ step: a date, hours, a task — parsed the same way for the teacher
(«Мой ИОМ») and the methodist («Мои педагоги»); a bad value is a ``FieldError`` with the Russian hint."""

from __future__ import annotations

from datetime import date, timedelta

from handlers.context import Ctx
from handlers.widgets import FieldError

MAX_STEP_HOURS = 200
MAX_AHEAD = timedelta(days=731)  # a route's step is at most two years ahead
DATE_HINT = "Напишите дату в виде ДД.ММ.ГГГГ, например 15.03.2027 — не раньше сегодняшнего дня."
HOURS_HINT = f"Напишите число часов — от 1 до {MAX_STEP_HOURS}."
TASK_HINT = "Опишите шаг словами: от 5 до 300 символов."


def parse_date(ctx: Ctx, text: str) -> date:
    parts = text.strip().replace("/", ".").replace("-", ".").split(".")
    try:
        if len(parts) == 2:
            day, month = int(parts[0]), int(parts[1])
            value = date(ctx.now.year, month, day)
            if value < ctx.now.date():
                value = date(ctx.now.year + 1, month, day)
        elif len(parts) == 3:
            year = int(parts[2])
            value = date(year + 2000 if year < 100 else year, int(parts[1]), int(parts[0]))
        else:
            raise ValueError(text)
    except ValueError:
        raise FieldError(DATE_HINT) from None
    if value < ctx.now.date():
        raise FieldError("Эта дата уже прошла. " + DATE_HINT)
    if value > ctx.now.date() + MAX_AHEAD:
        raise FieldError("Срок маршрута — не больше двух лет. " + DATE_HINT)
    return value


def parse_hours(ctx: Ctx, text: str) -> int:
    digits = text.strip().removesuffix("ч").strip()
    if not digits.isdigit() or not 1 <= int(digits) <= MAX_STEP_HOURS:
        raise FieldError(HOURS_HINT)
    return int(digits)


def parse_task(ctx: Ctx, text: str) -> str:
    text = text.strip()
    if len(text) < 5:
        raise FieldError(TASK_HINT)
    if len(text) > 300:
        raise FieldError("Слишком длинно: уложитесь, пожалуйста, в 300 символов.")
    return text
