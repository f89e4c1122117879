"""Launching Debian's Chromium through Playwright for real-browser tests.

Never downloads a browser: ``/usr/bin/chromium`` must exist (``make test`` installs
Debian's package when it is missing). Flags keep Chromium off the network.
"""

from __future__ import annotations

import shutil
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox", "--headless", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-default-apps", "--disable-extensions",
]


def chromium_path() -> str:
    """The system Chromium; a clear failure (not a skip) when it is missing."""
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        raise RuntimeError("Debian's chromium is not installed: run `make test` (it installs "
                           "it) or `apt-get install -y chromium`")
    return CHROMIUM if Path(CHROMIUM).exists() else str(shutil.which("chromium"))
