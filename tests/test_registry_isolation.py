"""Test modules leave no registrations behind: probe flows, menu entries and actions live in fixtures inside
``registry.scoped()`` (tests/probes.py), so a teacher's main menu is the same whatever was imported."""

from __future__ import annotations

import importlib
import json
import pkgutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import tests
from handlers.flows import load_flows
from handlers.menu import menu_buttons

ROOT = Path(__file__).resolve().parent.parent
TEACHER_MENU_BUTTONS = 9  # the registered entries and «Справка» below them

FRESH = """
import json
from types import SimpleNamespace
from handlers.flows import load_flows
from handlers.menu import menu_buttons
load_flows()
ctx = SimpleNamespace(roles=frozenset({"teacher"}))
print(json.dumps([[b.label for b in row] for row in menu_buttons(ctx)], ensure_ascii=False))
"""


def _teacher_menu() -> list[list[str]]:
    ctx: Any = SimpleNamespace(roles=frozenset({"teacher"}))
    return [[button.label for button in row] for row in menu_buttons(ctx)]


def _import_every_test_module() -> list[str]:
    names = [
        info.name
        for info in pkgutil.walk_packages(tests.__path__, prefix="tests.")
        if info.name.rsplit(".", 1)[-1].startswith("test_")
    ]
    for name in names:
        importlib.import_module(name)
    return names


def test_teacher_menu_does_not_depend_on_the_imported_test_modules() -> None:
    imported = _import_every_test_module()
    assert "tests.test_dispatcher" in imported and "tests.e2e.test_vk" in imported
    load_flows()
    in_process = _teacher_menu()
    fresh = subprocess.run(
        [sys.executable, "-c", FRESH], cwd=ROOT, capture_output=True, text=True, check=True, timeout=120
    )
    assert in_process == json.loads(fresh.stdout)
    assert sum(len(row) for row in in_process) + 1 == TEACHER_MENU_BUTTONS, in_process
