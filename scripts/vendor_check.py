"""Check the vendored front-end libraries against vendored.toml and the npm registry.

    python scripts/vendor_check.py            fetch each package's tarball again and check
                                               it, and the files on disk, against the record
    python scripts/vendor_check.py --offline  check the files on disk only (no network)
    python scripts/vendor_check.py --write    copy the recorded files out of the tarballs
                                               (after a version change in vendored.toml) and
                                               print their digests, to be recorded

Tarballs are fetched with the machine's npm (`npm pack`), which checks each against the
integrity the registry publishes; the record's own integrity is compared too, so a package
republished under the same version would not go unnoticed either.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import subprocess
import sys
import tarfile
import tempfile
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RECORD = ROOT / "vendored.toml"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _fetch(package: dict[str, Any], into: Path) -> dict[str, bytes]:
    """The recorded files of the package's tarball, by their path in the package."""
    spec = f"{package['name']}@{package['version']}"
    packed = subprocess.run(
        ["npm", "pack", spec, "--json", "--pack-destination", str(into)],
        capture_output=True,
        text=True,
        check=True,
    )
    tarball = into / json.loads(packed.stdout)[0]["filename"]
    integrity = "sha512-" + base64.b64encode(hashlib.sha512(tarball.read_bytes()).digest()).decode()
    if integrity != package["integrity"]:
        raise SystemExit(f"{spec}: the registry's tarball is {integrity}, the record says {package['integrity']}")
    files: dict[str, bytes] = {}
    with tarfile.open(tarball) as archive:
        for entry in package["files"]:
            member = archive.extractfile(f"package/{entry['from']}")
            if member is None:
                raise SystemExit(f"{spec}: {entry['from']} is not a file in the tarball")
            files[entry["from"]] = member.read()
    return files


def check(packages: list[dict[str, Any]], *, offline: bool, write: bool) -> list[str]:
    """What does not match (empty when everything does)."""
    problems: list[str] = []
    with tempfile.TemporaryDirectory(prefix="ic-vendor-") as scratch:
        for package in packages:
            spec = f"{package['name']}@{package['version']}"
            fetched = {} if offline else _fetch(package, Path(scratch))
            for entry in package["files"]:
                target = ROOT / entry["to"]
                if write:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(fetched[entry["from"]])
                    print(f"{entry['to']}: sha256 = {sha256(fetched[entry['from']])}")
                    continue
                if not offline and sha256(fetched[entry["from"]]) != entry["sha256"]:
                    problems.append(f"{spec} {entry['from']}: the registry's file differs from the record")
                if not target.is_file():
                    problems.append(f"{entry['to']}: missing")
                elif sha256(target.read_bytes()) != entry["sha256"]:
                    problems.append(f"{entry['to']}: differs from the record")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--offline", action="store_true", help="check the files on disk only")
    mode.add_argument("--write", action="store_true", help="copy the files out of the tarballs")
    args = parser.parse_args()
    packages = tomllib.loads(RECORD.read_text())["package"]
    problems = check(packages, offline=args.offline, write=args.write)
    for problem in problems:
        print(problem, file=sys.stderr)
    if not problems and not args.write:
        count = sum(len(package["files"]) for package in packages)
        print(f"{count} vendored files match {RECORD.name}" + ("" if args.offline else " and the npm registry"))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
