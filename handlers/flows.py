"""Imports every flow module so that it registers its steps, menu entries, commands and actions."""

from __future__ import annotations

import importlib

FLOW_MODULES = [
    "handlers.menu",
    "handlers.my_data",
    "handlers.checkins",
    "handlers.settings_menu",
    "handlers.announcements",
    "handlers.onboarding",
    "handlers.linking",
    "handlers.profile",
    "handlers.diagnostics",
    "handlers.iom",
    "handlers.mentoring",
    "handlers.caseload",
    "handlers.invitations",
    "handlers.mentor_profile",
    "handlers.methodist_profile",
    "handlers.cohort",
    "handlers.broadcasts",
    "handlers.reminders",
    "handlers.reports",
    "handlers.pair_health",
    "handlers.programs_menu",
]

_loaded = False


def load_flows() -> None:
    global _loaded
    if _loaded:
        return
    for module in FLOW_MODULES:
        importlib.import_module(module)
    _loaded = True
