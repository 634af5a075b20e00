"""``SOAK=1`` turns on the long soak runs (the 10,000-update fuzz, the full crash run, 30-second outages);
the default run keeps a smaller version of each so that CI stays short (see README.md, "Soak runs")."""

from __future__ import annotations

import os

SOAK = os.environ.get("SOAK", "") not in ("", "0")
