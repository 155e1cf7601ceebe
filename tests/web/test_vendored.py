"""The vendored front-end files are the ones vendored.toml records (the registry side is
`python scripts/vendor_check.py`, which needs the network)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_vendored_file_matches_its_recorded_digest() -> None:
    checked = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "vendor_check.py"), "--offline"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert checked.returncode == 0, checked.stderr
    assert "vendored files match" in checked.stdout
