"""Imports every flow module so that it registers its steps, menu entries, commands, actions and ticks."""

from __future__ import annotations


def load_flows() -> None:
    """Register every flow; importing a module again does nothing (Python keeps it in ``sys.modules``).

    The order is the order of registration, and it matters: text interceptors and ``/start`` argument
    handlers are tried in it (account linking before invitation codes), and the menu lists flows in it.
    """
    # isort: off
    from handlers import menu  # noqa: F401  (each import registers that module)
    from handlers import my_data  # noqa: F401
    from handlers import checkins  # noqa: F401
    from handlers import settings_menu  # noqa: F401
    from handlers import announcements  # noqa: F401
    from handlers import onboarding  # noqa: F401
    from handlers import linking  # noqa: F401
    from handlers import profile  # noqa: F401
    from handlers import diagnostics  # noqa: F401
    from handlers import iom  # noqa: F401
    from handlers import mentoring  # noqa: F401
    from handlers import mentoring_ticks  # noqa: F401
    from handlers import caseload  # noqa: F401
    from handlers import caseload_route  # noqa: F401
    from handlers import curator  # noqa: F401
    from handlers import invitations  # noqa: F401
    from handlers import mentor_profile  # noqa: F401
    from handlers import methodist_profile  # noqa: F401
    from handlers import staff_onboarding  # noqa: F401
    from handlers import cohort  # noqa: F401
    from handlers import iom_queue  # noqa: F401
    from handlers import broadcasts  # noqa: F401
    from handlers import reminders  # noqa: F401
    from handlers import reports  # noqa: F401
    from handlers import item_statistics  # noqa: F401
    from handlers import pair_health  # noqa: F401
    from handlers import programs_menu  # noqa: F401
    from handlers import support  # noqa: F401
    from handlers import practices  # noqa: F401
    from handlers import attestation  # noqa: F401
    # isort: on
