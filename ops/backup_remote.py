"""Copies of the local backups (ops.backup) in an S3 bucket off the host, and back.

    python -m ops.backup_remote push        # every local backup the remote lacks; remote retention
    python -m ops.backup_remote list        # complete remote backups, oldest first
    python -m ops.backup_remote fetch NAME  # into MLOPS_BACKUP_DIR, checked ('latest' works)

A remote backup is <prefix>/<name>/ with the same files as the local folder; its
manifest is uploaded last, so a copy cut short is not a backup. A file with the
same sha256 as in the previous remote backup is copied inside the remote store
(no upload). After `fetch`, restore.yml restores the backup as any local one.

Settings (environment, /etc/mlops/backup.env):
  MLOPS_BACKUP_DIR, MLOPS_BACKUP_KEEP (the remote keeps as many)
  MLOPS_BACKUP_REMOTE_BUCKET, MLOPS_BACKUP_REMOTE_PREFIX (default mlops-backups)
  MLOPS_BACKUP_REMOTE_ENDPOINT (empty for AWS S3), MLOPS_BACKUP_REMOTE_REGION
  MLOPS_BACKUP_REMOTE_ACCESS_KEY_ID, MLOPS_BACKUP_REMOTE_SECRET_ACCESS_KEY
The remote keys are separate from the local object store's AWS_* keys.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import boto3
from botocore.client import BaseClient
from botocore.exceptions import BotoCoreError, ClientError

from ops.backup import (
    MANIFEST,
    PARTIAL_PREFIX,
    BackupError,
    Settings,
    check,
    complete_backups,
    manifest_files,
)


@dataclass
class Remote:
    root: Path
    keep: int
    bucket: str
    prefix: str
    client: BaseClient

    @classmethod
    def from_env(cls, env: dict[str, str]) -> Remote:
        local = Settings.from_env(env)  # MLOPS_BACKUP_DIR and _KEEP, checked as for a backup
        needed = (
            "MLOPS_BACKUP_REMOTE_BUCKET",
            "MLOPS_BACKUP_REMOTE_ACCESS_KEY_ID",
            "MLOPS_BACKUP_REMOTE_SECRET_ACCESS_KEY",
        )
        missing = [name for name in needed if not env.get(name)]
        if missing:
            raise BackupError(f"not set: {', '.join(missing)}")
        client = boto3.client(
            "s3",
            endpoint_url=env.get("MLOPS_BACKUP_REMOTE_ENDPOINT") or None,
            region_name=env.get("MLOPS_BACKUP_REMOTE_REGION") or "us-east-1",
            aws_access_key_id=env["MLOPS_BACKUP_REMOTE_ACCESS_KEY_ID"],
            aws_secret_access_key=env["MLOPS_BACKUP_REMOTE_SECRET_ACCESS_KEY"],
        )
        prefix = env.get("MLOPS_BACKUP_REMOTE_PREFIX", "mlops-backups").strip("/")
        return cls(local.root, local.keep, env["MLOPS_BACKUP_REMOTE_BUCKET"], prefix, client)

    def key(self, name: str, relative: str = "") -> str:
        return f"{self.prefix}/{name}/{relative}"

    def backups(self) -> list[str]:
        """Names of the complete remote backups (with a manifest), oldest first."""
        names = []
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=f"{self.prefix}/", Delimiter="/"
        )
        for page in pages:
            for common in page.get("CommonPrefixes", []):
                name = common["Prefix"].removeprefix(f"{self.prefix}/").rstrip("/")
                if self._exists(self.key(name, MANIFEST)):
                    names.append(name)
        return sorted(names)

    def manifest(self, name: str) -> dict:
        body = self.client.get_object(Bucket=self.bucket, Key=self.key(name, MANIFEST))["Body"]
        return json.loads(body.read())

    def _exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True


def files_of(manifest: dict) -> dict[str, str]:
    """Relative path -> sha256 of every file a manifest lists."""
    return {relative: info["sha256"] for relative, info in manifest_files(manifest).items()}


def push(remote: Remote) -> list[tuple[str, int, int]]:
    """Every local backup the remote lacks, oldest first; then the remote retention.
    Returns (name, files uploaded, files copied inside the remote) per backup pushed."""
    pushed = []
    present = remote.backups()
    for backup in complete_backups(remote.root):
        if backup.name in present:
            continue
        manifest = json.loads((backup / MANIFEST).read_text())
        previous = present[-1] if present else None
        before = files_of(remote.manifest(previous)) if previous else {}
        uploaded = copied = 0
        for relative, digest in sorted(files_of(manifest).items()):
            target = remote.key(backup.name, relative)
            if before.get(relative) == digest:
                source = {"Bucket": remote.bucket, "Key": remote.key(previous, relative)}
                remote.client.copy_object(Bucket=remote.bucket, Key=target, CopySource=source)
                copied += 1
            else:
                remote.client.upload_file(str(backup / relative), remote.bucket, target)
                uploaded += 1
        remote.client.upload_file(
            str(backup / MANIFEST), remote.bucket, remote.key(backup.name, MANIFEST)
        )  # last: the remote backup is complete from here on
        present.append(backup.name)
        pushed.append((backup.name, uploaded, copied))
    for old in remote.backups()[: -remote.keep]:
        delete(remote, old)
    return pushed


def delete(remote: Remote, name: str) -> None:
    """A remote backup, its manifest first (it stops counting as a backup at once)."""
    remote.client.delete_object(Bucket=remote.bucket, Key=remote.key(name, MANIFEST))
    pages = remote.client.get_paginator("list_objects_v2").paginate(
        Bucket=remote.bucket, Prefix=remote.key(name)
    )
    for page in pages:
        keys = [{"Key": obj["Key"]} for obj in page.get("Contents", [])]
        if keys:
            remote.client.delete_objects(Bucket=remote.bucket, Delete={"Objects": keys})


def fetch(remote: Remote, name: str) -> Path:
    """A remote backup into the local backup directory, checked against its manifest."""
    names = remote.backups()
    if name == "latest" and names:
        name = names[-1]
    if name not in names:
        raise BackupError(
            f"no complete remote backup {name!r} in s3://{remote.bucket}/{remote.prefix}/ "
            f"(there are: {', '.join(names) or 'none'})"
        )
    if (remote.root / name).exists():
        raise BackupError(f"{remote.root / name} exists already: restore it as it is")
    work = remote.root / f"{PARTIAL_PREFIX}fetch-{name}"
    shutil.rmtree(work, ignore_errors=True)
    manifest = remote.manifest(name)
    for relative in sorted(files_of(manifest)):
        path = work / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        remote.client.download_file(remote.bucket, remote.key(name, relative), str(path))
    (work / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True))
    problems = check(work)
    if problems:
        raise BackupError(f"the fetched copy of {name} does not match its manifest: {problems}")
    work.rename(remote.root / name)
    return remote.root / name


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("push", help="copy the local backups the remote lacks")
    commands.add_parser("list", help="complete remote backups, oldest first")
    sub = commands.add_parser("fetch", help="a remote backup into the backup directory")
    sub.add_argument("name", help="a backup's name, or 'latest'")
    args = parser.parse_args(argv)
    try:
        remote = Remote.from_env(dict(os.environ))
        if args.command == "push":
            for name, uploaded, copied in push(remote):
                print(f"{name}: {uploaded} files uploaded, {copied} copied inside the remote")
            print(f"remote s3://{remote.bucket}/{remote.prefix}/ holds {len(remote.backups())}")
        elif args.command == "list":
            for name in remote.backups():
                print(name)
        else:
            print(f"fetched {fetch(remote, args.name)}")
    except (BackupError, BotoCoreError, ClientError) as exc:
        print(f"backup_remote: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
