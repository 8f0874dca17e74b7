"""ops.backup against a real PostgreSQL and a real SeaweedFS: a backup restores to
the same rows and objects, unchanged objects are shared, retention holds, and a
damaged backup is reported rather than restored. ops.backup_remote against a
second bucket of that SeaweedFS as the off-host store: backups go there and
come back intact, unchanged files are copied inside the remote, a copy cut
short does not count, the remote keeps as many as the host."""

from __future__ import annotations

import io
import json
import sqlite3
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from ops.backup import (
    MANIFEST,
    BackupError,
    Settings,
    check,
    complete_backups,
    create,
    resolve,
    restore_bucket,
)
from ops.backup_remote import Remote, fetch, push

T0 = datetime(2026, 11, 26, 2, 30, tzinfo=UTC)
REMOTE_BUCKET = "offsite-backups"


@pytest.fixture(scope="module")
def source(platform, tmp_path_factory):
    """A database with rows, a SQLite file and a bucket with objects, all real."""
    pg, s3 = platform.pg, platform.s3
    role, password = pg.create_database("backup_source")
    url = pg.url(role, role, password)
    with psycopg.connect(url) as conn:
        conn.execute("CREATE TABLE runs (id int PRIMARY KEY, name text NOT NULL)")
        conn.execute("INSERT INTO runs SELECT g, 'run ' || g FROM generate_series(1, 500) g")
    auth = tmp_path_factory.mktemp("auth") / "basic_auth.db"
    with sqlite3.connect(auth) as db:
        db.execute("CREATE TABLE users (name text)")
        db.execute("INSERT INTO users VALUES ('admin'), ('reader')")
    client = s3.client()
    client.make_bucket("backup-source")
    for key, body in {
        "1/a/model.pkl": b"x" * 5000,
        "1/a/MLmodel": b"flavors",
        "2/b/c": b"c",
    }.items():
        client.put_object("backup-source", key, io.BytesIO(body), len(body))
    return {"url": url, "auth": auth, "bucket": "backup-source", "role": role}


@pytest.fixture
def settings(platform, source, tmp_path, monkeypatch) -> Settings:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", platform.s3.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", platform.s3.secret_key)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    return Settings.from_env(
        {
            "MLOPS_BACKUP_DIR": str(tmp_path / "backups"),
            "MLOPS_BACKUP_KEEP": "2",
            "MLOPS_BACKUP_DB_SOURCE": source["url"],
            "MLOPS_BACKUP_SQLITE_MLFLOW_AUTH": str(source["auth"]),
            "MLOPS_BACKUP_S3_ENDPOINT": platform.s3.endpoint,
            "MLOPS_BACKUP_BUCKET": source["bucket"],
        }
    )


def objects(platform, bucket: str) -> dict[str, bytes]:
    client = platform.s3.client()
    return {
        o.object_name: client.get_object(bucket, o.object_name).read()
        for o in client.list_objects(bucket, recursive=True)
    }


def test_a_backup_restores_to_the_same_rows_and_objects(platform, source, settings):
    backup = create(settings, now=T0)
    assert backup.name == "20261126T023000Z"
    assert check(backup) == []
    manifest = json.loads((backup / MANIFEST).read_text())
    assert set(manifest["bucket"]["objects"]) == {"1/a/model.pkl", "1/a/MLmodel", "2/b/c"}

    # the dump restores into an empty database with every row
    role, password = platform.pg.create_database("backup_restored")
    restored = platform.pg.url("backup_restored", role, password)
    dump = backup / "databases" / "source.dump"
    subprocess.run(
        ["pg_restore", "--no-owner", "--exit-on-error", f"--dbname={restored}", str(dump)],
        check=True,
    )
    with psycopg.connect(platform.pg.url("backup_restored", role, password)) as conn:
        assert conn.execute("SELECT count(*), sum(id) FROM runs").fetchone() == (500, 125250)
    with sqlite3.connect(backup / "sqlite" / "mlflow_auth.db") as db:
        assert db.execute("SELECT name FROM users ORDER BY name").fetchall() == [
            ("admin",),
            ("reader",),
        ]

    # empty the bucket, then restore it from the backup: the same keys and bytes
    before = objects(platform, source["bucket"])
    client = platform.s3.client()
    for key in before:
        client.remove_object(source["bucket"], key)
    assert objects(platform, source["bucket"]) == {}
    assert restore_bucket(settings, backup) == 3
    assert objects(platform, source["bucket"]) == before


def test_unchanged_objects_are_shared_and_retention_keeps_the_newest(platform, source, settings):
    first = create(settings, now=T0)
    body = b"retrained"
    platform.s3.client().put_object(source["bucket"], "2/b/c", io.BytesIO(body), len(body))
    second = create(settings, now=T0 + timedelta(days=1))
    model = Path("bucket/1/a/model.pkl")
    assert (first / model).stat().st_ino == (second / model).stat().st_ino
    changed = Path("bucket/2/b/c")
    assert (second / changed).read_bytes() == body
    assert (first / changed).stat().st_ino != (second / changed).stat().st_ino

    third = create(settings, now=T0 + timedelta(days=2))
    assert complete_backups(settings.root) == [second, third]  # keep=2
    assert check(third) == [] and check(second) == []
    assert resolve(settings, "latest") == third


def test_a_damaged_backup_is_reported(settings):
    backup = create(settings, now=T0)
    (backup / "bucket" / "1" / "a" / "MLmodel").write_bytes(b"tampered")
    (backup / "databases" / "source.dump").unlink()
    assert check(backup) == [
        "bucket/1/a/MLmodel: differs from the manifest",
        "databases/source.dump: missing",
    ]


def test_a_failed_backup_leaves_no_backup_and_says_why(settings):
    settings.databases["broken"] = settings.databases["source"].rsplit("/", 1)[0] + "/nope"
    with pytest.raises(BackupError, match=r'pg_dump of nope failed: .*"nope" does not exist'):
        create(settings, now=T0)
    assert complete_backups(settings.root) == []
    with pytest.raises(BackupError, match="no complete backup 'latest'"):
        resolve(settings, "latest")
    # the next run clears the half-written folder
    del settings.databases["broken"]
    create(settings, now=T0 + timedelta(hours=1))
    assert [p.name for p in settings.root.iterdir()] == ["20261126T033000Z"]


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "MLOPS_BACKUP_DIR is not set"),
        ({"MLOPS_BACKUP_DIR": "/x", "MLOPS_BACKUP_KEEP": "seven"}, "whole number"),
        ({"MLOPS_BACKUP_DIR": "/x", "MLOPS_BACKUP_KEEP": "0"}, "at least 1"),
    ],
)
def test_bad_settings_are_named(env, message):
    with pytest.raises(BackupError, match=message):
        Settings.from_env(env)


def remote_for(platform, root: Path, prefix: str) -> Remote:
    client = platform.s3.client()
    if not client.bucket_exists(REMOTE_BUCKET):
        client.make_bucket(REMOTE_BUCKET)
    return Remote.from_env(
        {
            "MLOPS_BACKUP_DIR": str(root),
            "MLOPS_BACKUP_KEEP": "2",
            "MLOPS_BACKUP_REMOTE_BUCKET": REMOTE_BUCKET,
            "MLOPS_BACKUP_REMOTE_PREFIX": prefix,
            "MLOPS_BACKUP_REMOTE_ENDPOINT": platform.s3.endpoint,
            "MLOPS_BACKUP_REMOTE_ACCESS_KEY_ID": platform.s3.access_key,
            "MLOPS_BACKUP_REMOTE_SECRET_ACCESS_KEY": platform.s3.secret_key,
        }
    )


def test_backups_go_off_the_host_and_come_back_intact(platform, settings, tmp_path):
    remote = remote_for(platform, settings.root, "host-a")
    first = create(settings, now=T0)
    second = create(settings, now=T0 + timedelta(days=1))  # the bucket is unchanged
    pushed = dict((name, (up, copied)) for name, up, copied in push(remote))
    assert set(pushed) == {first.name, second.name}
    assert pushed[first.name][1] == 0
    assert pushed[second.name][1] >= 3  # the three unchanged objects, copied remotely
    assert push(remote) == []  # nothing new

    elsewhere = remote_for(platform, tmp_path / "new-host", "host-a")
    fetched = fetch(elsewhere, "latest")
    assert fetched.name == second.name and check(fetched) == []
    for path in second.rglob("*"):
        if path.is_file():
            assert (fetched / path.relative_to(second)).read_bytes() == path.read_bytes()

    third = create(settings, now=T0 + timedelta(days=2))
    push(remote)
    assert remote.backups() == [second.name, third.name]  # keep=2, as on the host


def test_a_remote_copy_cut_short_is_not_a_backup(platform, settings, tmp_path):
    remote = remote_for(platform, settings.root, "host-b")
    backup = create(settings, now=T0)
    dump = backup / "databases" / "source.dump"
    remote.client.upload_file(str(dump), REMOTE_BUCKET, remote.key(backup.name, "databases/x"))
    assert remote.backups() == []  # no manifest: the push died before its end
    with pytest.raises(BackupError, match=r"no complete remote backup .*there are: none"):
        fetch(remote_for(platform, tmp_path / "other", "host-b"), backup.name)


def test_remote_settings_are_named():
    with pytest.raises(BackupError, match=r"MLOPS_BACKUP_REMOTE_BUCKET.*SECRET_ACCESS_KEY"):
        Remote.from_env({"MLOPS_BACKUP_DIR": "/x"})
