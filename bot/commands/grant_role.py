"""``python -m bot grant-role --platform telegram --id 123 --role admin``: give a role to a known account."""

from __future__ import annotations

import argparse

from bot.clock import SystemClock
from bot.services import roles
from bot.settings import Settings
from bot.subcommands import subcommand
from storage.engine import create_engine, session_factory


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--platform", required=True, choices=["telegram", "vk", "console"])
    parser.add_argument("--id", required=True, dest="external_id", help="the account id on that platform")
    parser.add_argument("--role", required=True, choices=sorted(roles.ROLES))
    parser.add_argument("--revoke", action="store_true", help="take the role away instead")


async def grant_role(
    settings: Settings, platform: str, external_id: str, role: str, revoke: bool = False
) -> tuple[int, str]:
    """Returns (exit code, Russian message)."""
    engine = create_engine(settings.database_url)
    try:
        async with session_factory(engine)() as session, session.begin():
            account = await roles.account_by_external(session, platform, external_id)
            if account is None:
                return 1, (
                    f"Аккаунт {platform}:{external_id} не найден. Попросите человека сначала написать боту "
                    "(например, /start), затем повторите команду."
                )
            if account.person_id is None:
                return 1, (
                    f"Аккаунт {platform}:{external_id} ещё не заполнил профиль (нет согласия на обработку "
                    "данных). Роль можно выдать после того, как человек пройдёт знакомство с ботом."
                )
            if revoke:
                changed = await roles.revoke(session, account.person_id, role)
                return 0, f"Роль {role} снята." if changed else f"У аккаунта не было роли {role}."
            changed = await roles.grant(session, account.person_id, role, SystemClock().now())
            return 0, f"Роль {role} выдана." if changed else f"Роль {role} уже была у этого аккаунта."
    finally:
        await engine.dispose()


@subcommand("grant-role", "give (or --revoke) a role to an account that has written to the bot", _configure)
async def _grant_role(settings: Settings, args: argparse.Namespace) -> int:
    code, message = await grant_role(settings, args.platform, args.external_id, args.role, args.revoke)
    print(message)
    return code
