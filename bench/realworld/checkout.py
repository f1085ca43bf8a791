"""Write each manifest application's checked paths, at its pinned commit, under the corpora root.

    python bench/realworld/checkout.py --mirrors DIR [--corpora DIR] [--app NAME ...]

``--mirrors`` holds one git directory per repository, found as
``<mirrors>/<owner>+<name>/repo`` (the layout the ``fetch`` tool gives) or
``<mirrors>/<owner>+<name>``, or any clone at ``<mirrors>/<name>``. Only the
manifest's ``paths`` are written (inside ``subdir`` when the app has one), so
a mirror that lacks a large unrelated blob (documentation bundles, data dumps)
still yields a usable checkout; blobs missing inside the checked paths are
skipped and listed. An existing app directory is replaced. Exit 0 when every
requested app was written, 1 when one had no mirror, 2 on unusable input.
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType



def _load_run() -> ModuleType:
    """run.py beside this file, by path (a ``run`` module elsewhere on sys.path,
    such as bench/run.py, must not shadow it)."""
    name = "scalelint_realworld_run"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).resolve().parent / "run.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look their module up while it executes
        spec.loader.exec_module(module)
    return sys.modules[name]


_run = _load_run()
HERE, App, BenchInputError, corpora_root, load_manifest, tomllib = (
    _run.HERE, _run.App, _run.BenchInputError, _run.corpora_root, _run.load_manifest, _run.tomllib,
)


def find_git_dir(mirrors: Path, repo: str) -> Path | None:
    """The git directory holding ``repo`` under ``mirrors``, if any."""
    flat = repo.replace("/", "+")
    for candidate in (mirrors / flat / "repo", mirrors / flat, mirrors / repo.split("/")[-1]):
        if (candidate / "HEAD").is_file():
            return candidate
        if (candidate / ".git" / "HEAD").is_file():
            return candidate / ".git"
    return None


def blobs_at(git_dir: Path, commit: str, paths: list[str]) -> list[tuple[str, str, str]]:
    """(mode, sha, path) of every file under ``paths`` at ``commit``."""
    listing = subprocess.run(
        ["git", f"--git-dir={git_dir}", "ls-tree", "-r", "-z", commit, "--", *paths],
        capture_output=True, check=True,
    ).stdout
    entries = []
    for record in listing.split(b"\0"):
        if not record:
            continue
        meta, path = record.split(b"\t", 1)
        mode, kind, sha = meta.decode().split()
        if kind == "blob":
            entries.append((mode, sha, path.decode()))
    return entries


def write_checkout(app: App, subdir: str | None, git_dir: Path, destination: Path) -> list[str]:
    """Write the app's checked files under ``destination``; the paths of missing blobs."""
    prefix = f"{subdir}/" if subdir else ""
    entries = blobs_at(git_dir, app.commit, [prefix + path for path in app.paths])
    if destination.exists():
        shutil.rmtree(destination)
    missing: list[str] = []
    reader = subprocess.Popen(
        ["git", f"--git-dir={git_dir}", "cat-file", "--batch"], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    assert reader.stdin is not None and reader.stdout is not None
    try:
        for mode, sha, path in entries:
            reader.stdin.write(sha.encode() + b"\n")
            reader.stdin.flush()
            header = reader.stdout.readline().split()
            if header[-1] == b"missing":
                missing.append(path)
                continue
            data = reader.stdout.read(int(header[2]))
            reader.stdout.read(1)
            target = destination / path[len(prefix):]
            target.parent.mkdir(parents=True, exist_ok=True)
            if mode == "120000":
                os.symlink(data.decode(), target)
            else:
                target.write_bytes(data)
    finally:
        reader.stdin.close()
        reader.wait()
    return missing


def subdirs(manifest: Path) -> dict[str, str]:
    """The ``subdir`` of each app that has one."""
    data = tomllib.loads(manifest.read_text(encoding="utf-8"))
    return {entry["name"]: entry["subdir"] for entry in data.get("app", []) if "subdir" in entry}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mirrors", required=True, help="directory of git mirrors (see the module docstring)")
    parser.add_argument("--corpora", help="where the checkouts go (default $SCALELINT_CORPORA or /work/corpora)")
    parser.add_argument("--app", action="append", default=[], help="only this app (repeatable)")
    args = parser.parse_args(argv)
    manifest = HERE / "manifest.toml"
    try:
        apps = load_manifest(manifest)
    except BenchInputError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    unknown = set(args.app) - {app.name for app in apps}
    if unknown:
        print(f"error: no app named {', '.join(sorted(unknown))} in {manifest}", file=sys.stderr)
        return 2
    corpora = corpora_root(args.corpora)
    app_subdirs = subdirs(manifest)
    status = 0
    for app in apps:
        if args.app and app.name not in args.app:
            continue
        git_dir = find_git_dir(Path(args.mirrors), app.repo)
        if git_dir is None:
            print(f"{app.name}: no mirror of {app.repo} under {args.mirrors}", file=sys.stderr)
            status = 1
            continue
        try:
            missing = write_checkout(app, app_subdirs.get(app.name), git_dir, corpora / app.name)
        except subprocess.CalledProcessError as error:
            print(f"{app.name}: git failed: {error.stderr.decode(errors='replace').strip()}", file=sys.stderr)
            status = 1
            continue
        note = f"; {len(missing)} blob(s) missing from the mirror: {', '.join(missing[:3])}" if missing else ""
        print(f"{app.name}: written to {corpora / app.name}{note}")
    return status


if __name__ == "__main__":
    sys.exit(main())
