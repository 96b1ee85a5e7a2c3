#!/usr/bin/env python3
"""Refresh server/static/vendor/ from the npm lockfile (``make vendor``).

Redwall serves its front-end libraries from its own static folder: government intranets are
closed, so no page may load anything from the internet. The libraries are pinned exactly in
``package.json`` / ``package-lock.json``; this script

1. runs ``npm ci --ignore-scripts`` (exactly the lockfile's versions and integrity hashes,
   no install scripts),
2. copies only the release files the pages need (``VENDOR`` below) into
   ``server/static/vendor/<package>/`` with the package's licence files, and for bundles a
   ``THIRD-PARTY-LICENSES.txt`` made of the licences of every package the bundle contains,
3. writes ``server/static/vendor/VERSIONS.txt``: each package's version, licence and lockfile
   integrity, and each vendored file's size and SHA-256.

The result is committed, so ``make run`` needs neither npm nor the network.
``tests/unit/test_vendor_assets.py`` checks that VERSIONS.txt matches the lockfile and that
every file it lists is present and unchanged.

Usage: ``python3 scripts/refresh_vendor.py [--skip-npm]`` (``--skip-npm``: node_modules is
already installed from the lockfile).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
NODE_MODULES = REPO / "node_modules"
VENDOR_DIR = REPO / "server" / "static" / "vendor"
LOCKFILE = REPO / "package-lock.json"

# package -> (source path inside the package, target path inside vendor/<package>/).
# A source ending in "/" copies that folder's files recursively.
VENDOR: dict[str, list[tuple[str, str]]] = {
    # partial page updates (every page)
    "htmx.org": [("dist/htmx.min.js", "htmx.min.js")],
    # the BPMN diagram: viewer (case page), navigated viewer (pan/zoom), modeler (the studio issue)
    "bpmn-js": [
        ("dist/bpmn-viewer.production.min.js", "bpmn-viewer.production.min.js"),
        ("dist/bpmn-navigated-viewer.production.min.js", "bpmn-navigated-viewer.production.min.js"),
        ("dist/bpmn-modeler.production.min.js", "bpmn-modeler.production.min.js"),
        ("dist/assets/diagram-js.css", "assets/diagram-js.css"),
        ("dist/assets/bpmn-js.css", "assets/bpmn-js.css"),
        ("dist/assets/bpmn-font/css/bpmn.css", "assets/bpmn-font/css/bpmn.css"),
        ("dist/assets/bpmn-font/css/bpmn-codes.css", "assets/bpmn-font/css/bpmn-codes.css"),
        ("dist/assets/bpmn-font/font/", "assets/bpmn-font/font/"),
    ],
    # charts of the supervision desk (minified full build only)
    "echarts": [("dist/echarts.min.js", "echarts.min.js"), ("licenses/", "licenses/")],
    # accessibility scan, used only by the browser tests (tests/browser/conftest.py)
    "axe-core": [("axe.min.js", "axe.min.js")],
}

# Packages without a browser build: bundled with esbuild (a devDependency) from an entry file
# into one script. package -> (entry under scripts/vendor-entries/, target inside vendor/<package>/).
BUNDLES: dict[str, tuple[str, str]] = {
    # lays out models that carry no diagram (the shipped processes) for the case page's viewer
    "bpmn-auto-layout": ("bpmn-auto-layout.js", "bpmn-auto-layout.min.js"),
}

LICENCE_NAMES = ("LICENSE", "LICENSE.txt", "LICENSE.md", "license", "LICENCE", "NOTICE", "NOTICE.txt",
                 "LICENSE-3RD-PARTY.txt", "CopyrightNotice.txt")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def licence_files(package_dir: Path) -> list[Path]:
    return [package_dir / name for name in LICENCE_NAMES if (package_dir / name).is_file()]


def bundled_dependencies(lock: dict, package: str) -> list[str]:
    """Every package in ``package``'s dependency tree (its release bundle contains them)."""
    packages = lock["packages"]
    seen: list[str] = []
    todo = list(packages[f"node_modules/{package}"].get("dependencies", {}))
    while todo:
        name = todo.pop(0)
        if name in seen:
            continue
        seen.append(name)
        todo.extend(packages.get(f"node_modules/{name}", {}).get("dependencies", {}))
    return sorted(seen)


def bundle_package(package: str, entry: str, target: str) -> Path:
    out = VENDOR_DIR / package / target
    out.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([str(NODE_MODULES / ".bin" / "esbuild"), str(REPO / "scripts" / "vendor-entries" / entry),
                    "--bundle", "--minify", "--format=iife", "--target=es2020", "--legal-comments=none",
                    f"--outfile={out}"], cwd=REPO, check=True)
    return out


def copy_package(lock: dict, package: str, files: list[tuple[str, str]]) -> list[Path]:
    source_root = NODE_MODULES / package
    target_root = VENDOR_DIR / package
    written: list[Path] = []
    if package in BUNDLES:
        written.append(bundle_package(package, *BUNDLES[package]))
    for source, target in files:
        if source.endswith("/"):
            pairs = [(p, target_root / target / p.relative_to(source_root / source))
                     for p in sorted((source_root / source).rglob("*")) if p.is_file()]
        else:
            pairs = [(source_root / source, target_root / target)]
        for src, dst in pairs:
            if not src.is_file():
                raise SystemExit(f"{package}: {src.relative_to(NODE_MODULES)} is missing from the release")
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dst)
            written.append(dst)
    for licence in licence_files(source_root):
        shutil.copyfile(licence, target_root / licence.name)
        written.append(target_root / licence.name)
    if not any(p.name.lower().startswith(("license", "licence")) for p in written):
        meta = json.loads((source_root / "package.json").read_text(encoding="utf-8"))
        if not meta.get("license"):
            raise SystemExit(f"{package}: no licence file found")
        # (bpmn-auto-layout ships no licence text; its package.json names the licence)
        author = meta.get("author")
        author = author.get("name") if isinstance(author, dict) else (author or "see the package")
        note = target_root / "LICENSE.txt"
        note.parent.mkdir(parents=True, exist_ok=True)
        note.write_text(f"{package} {meta.get('version')} is licensed under {meta['license']}, as its package.json "
                        f"states; the package ships no licence text. Author: {author}. "
                        f"Source: {(meta.get('repository') or {}).get('url', 'the npm registry') if isinstance(meta.get('repository'), dict) else meta.get('repository')}.\n",
                        encoding="utf-8")
        written.append(note)
    deps = bundled_dependencies(lock, package)
    if deps:
        parts = [f"Licences of the packages bundled in {package}'s release files.\n"]
        for dep in deps:
            dep_dir = NODE_MODULES / dep
            version = lock["packages"][f"node_modules/{dep}"]["version"]
            for licence in licence_files(dep_dir):
                parts.append(f"\n{'=' * 78}\n{dep} {version} — {licence.name}\n{'=' * 78}\n\n"
                             + licence.read_text(encoding="utf-8").strip() + "\n")
        third_party = target_root / "THIRD-PARTY-LICENSES.txt"
        third_party.write_text("".join(parts), encoding="utf-8")
        written.append(third_party)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-npm", action="store_true", help="node_modules is already installed from the lockfile")
    args = parser.parse_args(argv)
    if not args.skip_npm:
        subprocess.run(["npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund"], cwd=REPO, check=True)
    lock = json.loads(LOCKFILE.read_text(encoding="utf-8"))
    declared = json.loads((REPO / "package.json").read_text(encoding="utf-8"))["dependencies"]
    if set(declared) != set(VENDOR) | set(BUNDLES):
        raise SystemExit(f"package.json declares {sorted(declared)}, this script vendors {sorted(set(VENDOR) | set(BUNDLES))}")

    if VENDOR_DIR.exists():
        shutil.rmtree(VENDOR_DIR)
    VENDOR_DIR.mkdir(parents=True)
    lines = [
        "# Front-end release files vendored from npm by scripts/refresh_vendor.py (make vendor).",
        "# Do not edit by hand. Checked against package-lock.json by tests/unit/test_vendor_assets.py.",
        "# <package> <version> <lockfile integrity> <licence as package-lock.json states it>",
        "#     <file under server/static/vendor/<package>/> <bytes> <sha256>",
    ]
    for package in sorted(set(VENDOR) | set(BUNDLES)):
        entry = lock["packages"][f"node_modules/{package}"]
        installed = json.loads((NODE_MODULES / package / "package.json").read_text(encoding="utf-8"))["version"]
        if installed != entry["version"] or declared[package] != entry["version"]:
            raise SystemExit(f"{package}: package.json {declared[package]}, lockfile {entry['version']}, "
                             f"node_modules {installed}; run npm install and commit package-lock.json")
        written = copy_package(lock, package, VENDOR.get(package, []))
        lines.append(f"{package} {entry['version']} {entry['integrity']} {entry.get('license', 'see LICENSE')}")
        root = VENDOR_DIR / package
        for path in sorted(written, key=lambda p: p.relative_to(root).as_posix()):
            lines.append(f"    {path.relative_to(root).as_posix()} {path.stat().st_size} {sha256(path)}")
    (VENDOR_DIR / "VERSIONS.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    total = sum(p.stat().st_size for p in VENDOR_DIR.rglob("*") if p.is_file())
    print(f"vendored {len(set(VENDOR) | set(BUNDLES))} packages into {VENDOR_DIR.relative_to(REPO)} ({total / 1024:.0f} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
