"""Probe flows, menu entries and actions that exist only while a test runs.

``registered(register)`` loads the real flows first (so that they are never imported inside the scope and
lost at its end), then calls ``register`` inside ``handlers.registry.scoped()``: whatever it registers is
removed again when the block ends, and no test module leaves registrations behind for the others.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

from handlers import registry
from handlers.flows import load_flows


@contextlib.contextmanager
def registered(register: Callable[[], object]) -> Iterator[None]:
    load_flows()
    with registry.scoped():
        register()
        yield
