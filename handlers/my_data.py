"""«Мои данные»: download everything stored about me (a readable .docx and the same in JSON), or erase it
(with a confirmation)."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

from bot.periodic import TickRun
from bot.services import outbox
from bot.services.personal_data import erase_person
from bot.services.personal_document import personal_docx
from bot.services.personal_record import personal_record
from content.texts import text
from handlers import registry
from handlers.actions import Action
from handlers.context import Ctx
from handlers.mentoring_notices import tell_partners_erased
from handlers.messages import Attachment, Incoming
from handlers.navigation import nav_row
from handlers.registry import Flow, MenuItem

flow = Flow("my_data", former_names=("mydata",))
log = logging.getLogger(__name__)


def _t(key: str, **values: object) -> str:
    return text(f"my_data.{key}", **values)


class ExportData(Action, prefix="md:export"):
    """«Скачать мои данные»."""


class EraseData(Action, prefix="md:erase"):
    """«Удалить мои данные»: asks for a confirmation first."""


class ConfirmErase(Action, prefix="md:yes"):
    """«Да, удалить»."""


class CancelErase(Action, prefix="md:no"):
    """«Нет, оставить»."""


DOCX_NAME, JSON_NAME = "moi-dannye.docx", "moi-dannye.json"


@flow.show("main")
async def show_main(ctx: Ctx) -> None:
    ctx.say(
        _t("main", after_erase=text("privacy.my_data_after_erase")),
        [
            [ExportData().button(_t("export_button"))],
            [EraseData().button(_t("erase_button"))],
            nav_row(back=False),
        ],
    )


@flow.on("main")
async def on_main(ctx: Ctx, incoming: Incoming) -> None:
    if ExportData.unpack(incoming.action):
        record = await personal_record(ctx.session, ctx.me.id, ctx.now)
        if record is None:
            ctx.say(_t("nothing_stored"))
            await ctx.show_current()
            return
        ctx.say(
            _t("export_docx"),
            attachment=Attachment(DOCX_NAME, personal_docx(record), "document"),
        )
        data = json.dumps(record, ensure_ascii=False, indent=2).encode("utf-8")
        ctx.say(
            _t("export_json"),
            attachment=Attachment(JSON_NAME, data, "document"),
        )
        await ctx.show_current()
    elif EraseData.unpack(incoming.action):
        await ctx.go(flow.name, "confirm")
    else:
        ctx.invalid(_t("main_invalid"))


@flow.show("confirm")
async def show_confirm(ctx: Ctx) -> None:
    ctx.say(
        _t("confirm"),
        [[ConfirmErase().button(_t("confirm_yes_button")), CancelErase().button(_t("confirm_no_button"))]],
    )


@flow.on("confirm")
async def on_confirm(ctx: Ctx, incoming: Incoming) -> None:
    if ConfirmErase.unpack(incoming.action):
        erasure = await erase_person(ctx.session, ctx.me.id, ctx.now)
        await tell_partners_erased(ctx.session, erasure.partners, ctx.now)
        ctx.forget_account = True
        ctx.say(text("profile.erased"))  # the same outcome as «Профиль» → «Удалить мои данные»
    elif CancelErase.unpack(incoming.action):
        ctx.say(_t("kept"))
        await ctx.go(flow.name, "main", remember=False)
    else:
        ctx.invalid(_t("confirm_invalid"))


registry.menu_item(MenuItem("mydata", _t("menu_label"), flow.name, "main", order=95))


@flow.tick("outbox_retention", 3600)
async def purge_old_messages(run: TickRun) -> int:
    """Finished outbox rows are kept ``OUTBOX_RETENTION_DAYS`` for delivery statistics, then deleted."""
    purged = await outbox.purge_finished(
        run.session, run.now - timedelta(days=run.settings.outbox_retention_days)
    )
    if purged:
        log.info("purged %d finished outbox rows and handled-update ids", purged)
    return purged
