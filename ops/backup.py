"""Backups of the platform's data, and the object half of a restore.

One backup is one folder, named by its UTC time, holding every database
(pg_dump, custom format), MLflow's login database (SQLite) and every object
of the artifact bucket, with a manifest of their sizes and sha256 written last:
a folder without a manifest is not a backup. Objects unchanged since the
previous backup (same ETag and size) are hard links to it, so a daily backup
costs only what changed. Backups beyond the retention are deleted, oldest first.

    python -m ops.backup create               # what mlops-backup.service runs
    python -m ops.backup list                 # complete backups, newest last
    python -m ops.backup check NAME           # files against the manifest (exit 1 if not)
    python -m ops.backup restore-bucket NAME  # upload the objects (restore.yml)

Settings come from the environment (/etc/mlops/backup.env, 0600):
  MLOPS_BACKUP_DIR, MLOPS_BACKUP_KEEP
  MLOPS_BACKUP_DB_<NAME>=postgresql://user:password@host:port/database
  MLOPS_BACKUP_SQLITE_<NAME>=/path/to/file.db
  MLOPS_BACKUP_S3_ENDPOINT, MLOPS_BACKUP_BUCKET, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY
Passwords reach pg_dump through its environment, never its command line.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit

import boto3
from botocore.client import BaseClient

MANIFEST = "manifest.json"
PARTIAL_PREFIX = ".partial-"


class BackupError(RuntimeError):
    pass


@dataclass
class Settings:
    root: Path
    keep: int
    databases: dict[str, str] = field(default_factory=dict)
    sqlite: dict[str, Path] = field(default_factory=dict)
    s3_endpoint: str = ""
    bucket: str = ""

    @classmethod
    def from_env(cls, env: dict[str, str]) -> Settings:
        try:
            keep = int(env.get("MLOPS_BACKUP_KEEP", "7"))
        except ValueError:
            raise BackupError("MLOPS_BACKUP_KEEP must be a whole number") from None
        if keep < 1:
            raise BackupError("MLOPS_BACKUP_KEEP must be at least 1")
        if not env.get("MLOPS_BACKUP_DIR"):
            raise BackupError("MLOPS_BACKUP_DIR is not set")
        return cls(
            root=Path(env["MLOPS_BACKUP_DIR"]),
            keep=keep,
            databases={
                k.removeprefix("MLOPS_BACKUP_DB_").lower(): v
                for k, v in sorted(env.items())
                if k.startswith("MLOPS_BACKUP_DB_")
            },
            sqlite={
                k.removeprefix("MLOPS_BACKUP_SQLITE_").lower(): Path(v)
                for k, v in sorted(env.items())
                if k.startswith("MLOPS_BACKUP_SQLITE_")
            },
            s3_endpoint=env.get("MLOPS_BACKUP_S3_ENDPOINT", ""),
            bucket=env.get("MLOPS_BACKUP_BUCKET", ""),
        )


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def describe(path: Path) -> dict:
    return {"bytes": path.stat().st_size, "sha256": sha256(path)}


def pg_dump(uri: str, dest: Path) -> None:
    """One database in pg_dump's custom format; the password only in the child's env."""
    parts = urlsplit(uri)
    database = parts.path.lstrip("/")
    if parts.scheme not in ("postgresql", "postgres") or not database:
        raise BackupError(f"not a postgresql://user:password@host:port/database URI: {database!r}")
    env = {**os.environ, "PGPASSWORD": unquote(parts.password or "")}
    argv = ["pg_dump", "--format=custom", "--no-password", f"--file={dest}"]
    argv += [f"--host={parts.hostname}", f"--port={parts.port or 5432}"]
    argv += [f"--username={unquote(parts.username or '')}", f"--dbname={database}"]
    done = subprocess.run(argv, check=False, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupError(f"pg_dump of {database} failed: {done.stderr.strip()}")


def sqlite_copy(source: Path, dest: Path) -> None:
    """A consistent copy of a live SQLite file (its online backup API), read-only."""
    if not source.exists():
        raise BackupError(f"{source} does not exist")
    with sqlite3.connect(f"file:{source}?mode=ro", uri=True) as src, sqlite3.connect(dest) as dst:
        src.backup(dst)


def s3_client(settings: Settings) -> BaseClient:
    return boto3.client("s3", endpoint_url=settings.s3_endpoint or None)


def complete_backups(root: Path) -> list[Path]:
    """Folders with a manifest, oldest first (their names are UTC times)."""
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.is_dir() and (p / MANIFEST).is_file())


def copy_bucket(settings: Settings, dest: Path, previous: dict[str, dict]) -> dict[str, dict]:
    """Every object of the bucket; unchanged ones are hard links to the previous backup."""
    client = s3_client(settings)
    objects: dict[str, dict] = {}
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=settings.bucket)
    for page in pages:
        for obj in page.get("Contents", []):
            key, etag, size = obj["Key"], obj["ETag"], obj["Size"]
            target = dest / key
            target.parent.mkdir(parents=True, exist_ok=True)
            before = previous.get(key)
            if before and before["etag"] == etag and before["bytes"] == size:
                os.link(before["path"], target)
                objects[key] = {"bytes": size, "sha256": before["sha256"], "etag": etag}
                continue
            client.download_file(settings.bucket, key, str(target))
            objects[key] = {**describe(target), "etag": etag}
    return objects


def previous_objects(root: Path) -> dict[str, dict]:
    backups = complete_backups(root)
    if not backups:
        return {}
    last = backups[-1]
    manifest = json.loads((last / MANIFEST).read_text())
    return {
        key: {**info, "path": last / "bucket" / key}
        for key, info in manifest.get("bucket", {}).get("objects", {}).items()
    }


def create(settings: Settings, now: datetime | None = None) -> Path:
    """A new complete backup; the retention is applied after it succeeded."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    settings.root.mkdir(parents=True, exist_ok=True)
    final = settings.root / stamp
    if final.exists():
        raise BackupError(f"{final} exists already")
    for stale in settings.root.glob(f"{PARTIAL_PREFIX}*"):
        shutil.rmtree(stale)  # a backup that died half-way: one runs at a time
    work = settings.root / f"{PARTIAL_PREFIX}{stamp}"
    work.mkdir()
    started = time.monotonic()
    manifest: dict = {"created": stamp, "databases": {}, "sqlite": {}}
    (work / "databases").mkdir()
    for name, uri in settings.databases.items():
        path = work / "databases" / f"{name}.dump"
        pg_dump(uri, path)
        manifest["databases"][name] = describe(path)
    (work / "sqlite").mkdir()
    for name, source in settings.sqlite.items():
        path = work / "sqlite" / f"{name}.db"
        sqlite_copy(source, path)
        manifest["sqlite"][name] = {**describe(path), "source": str(source)}
    if settings.bucket:
        objects = copy_bucket(settings, work / "bucket", previous_objects(settings.root))
        manifest["bucket"] = {"name": settings.bucket, "objects": objects}
    manifest["seconds"] = round(time.monotonic() - started, 2)
    (work / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True))
    work.rename(final)
    for old in complete_backups(settings.root)[: -settings.keep]:
        shutil.rmtree(old)
    return final


def resolve(settings: Settings, name: str) -> Path:
    """A complete backup by name; 'latest' is the newest."""
    backups = complete_backups(settings.root)
    if name == "latest" and backups:
        return backups[-1]
    found = [b for b in backups if b.name == name]
    if not found:
        names = ", ".join(b.name for b in backups) or "none"
        raise BackupError(f"no complete backup {name!r} in {settings.root} (there are: {names})")
    return found[0]


def manifest_files(manifest: dict) -> dict[str, dict]:
    """Every file a manifest lists, by its path inside the backup, with size and sha256."""
    files = {f"databases/{n}.dump": i for n, i in manifest["databases"].items()}
    files |= {f"sqlite/{n}.db": i for n, i in manifest["sqlite"].items()}
    objects = manifest.get("bucket", {}).get("objects", {})
    return files | {f"bucket/{key}": info for key, info in objects.items()}


def check(backup: Path) -> list[str]:
    """What does not match the manifest: an empty list for an intact backup."""
    manifest = json.loads((backup / MANIFEST).read_text())
    problems = []
    for relative, info in sorted(manifest_files(manifest).items()):
        path = backup / relative
        if not path.is_file():
            problems.append(f"{relative}: missing")
        elif describe(path) != {"bytes": info["bytes"], "sha256": info["sha256"]}:
            problems.append(f"{relative}: differs from the manifest")
    return problems


def restore_bucket(settings: Settings, backup: Path) -> int:
    """Upload every object of the backup into the bucket; returns how many."""
    manifest = json.loads((backup / MANIFEST).read_text())
    objects = manifest.get("bucket", {}).get("objects", {})
    client = s3_client(settings)
    for key in sorted(objects):
        client.upload_file(str(backup / "bucket" / key), settings.bucket, key)
    return len(objects)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("create", help="make a backup, then apply the retention")
    commands.add_parser("list", help="complete backups, oldest first")
    for name in ("check", "restore-bucket"):
        sub = commands.add_parser(name)
        sub.add_argument("name", help="a backup's folder name, or 'latest'")
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env(dict(os.environ))
        if args.command == "create":
            made = create(settings)
            manifest = json.loads((made / MANIFEST).read_text())
            count = len(manifest.get("bucket", {}).get("objects", {}))
            print(
                f"backup {made}: {len(manifest['databases'])} databases, "
                f"{len(manifest['sqlite'])} SQLite files, {count} objects "
                f"in {manifest['seconds']}s"
            )
        elif args.command == "list":
            for backup in complete_backups(settings.root):
                print(backup.name)
        elif args.command == "check":
            backup = resolve(settings, args.name)
            problems = check(backup)
            for problem in problems:
                print(f"{backup.name}: {problem}", file=sys.stderr)
            if problems:
                return 1
            print(f"{backup.name}: every file matches the manifest")
        else:
            backup = resolve(settings, args.name)
            print(f"{backup.name}: {restore_bucket(settings, backup)} objects uploaded")
    except BackupError as exc:
        print(f"backup: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
