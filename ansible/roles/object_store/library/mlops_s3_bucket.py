#!/usr/bin/python
"""Ansible module: make sure an S3 bucket exists, with the minio client.

Runs with the object-store venv's Python (which has the minio package), so it
works against SeaweedFS and MinIO alike. With minio_user_* it also creates a
MinIO user limited to the bucket (MinIO's admin API); SeaweedFS keys come
from its identities file instead.
"""

from __future__ import annotations

import json
import tempfile
import time

from ansible.module_utils.basic import AnsibleModule

DOCUMENTATION = r"""
module: mlops_s3_bucket
short_description: Ensure an S3 bucket (and, on MinIO, a key limited to it) exists
options:
  endpoint: {type: str, required: true, description: host:port of the S3 API}
  access_key: {type: str, required: true, description: administrative access key}
  secret_key: {type: str, required: true, no_log: true, description: its secret}
  bucket: {type: str, required: true, description: bucket name}
  region: {type: str, default: us-east-1, description: region to sign with}
  wait_seconds: {type: int, default: 60, description: how long to wait for the API}
  minio_user_access_key: {type: str, description: MinIO only - user to create for the bucket}
  minio_user_secret_key: {type: str, no_log: true, description: its secret}
"""

RETURN = r"""
bucket: {description: the bucket name, returned: always, type: str}
"""


def _bucket_policy(bucket: str) -> dict:
    arn = f"arn:aws:s3:::{bucket}"
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["s3:ListBucket", "s3:GetBucketLocation"],
                "Resource": [arn],
            },
            {
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                "Resource": [f"{arn}/*"],
            },
        ],
    }


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "endpoint": {"type": "str", "required": True},
            "access_key": {"type": "str", "required": True},
            "secret_key": {"type": "str", "required": True, "no_log": True},
            "bucket": {"type": "str", "required": True},
            "region": {"type": "str", "default": "us-east-1"},
            "wait_seconds": {"type": "int", "default": 60},
            "minio_user_access_key": {"type": "str"},
            "minio_user_secret_key": {"type": "str", "no_log": True},
        },
        supports_check_mode=True,
    )
    try:
        from minio import Minio  # noqa: PLC0415 - a clear error when the venv is wrong
    except ImportError:
        module.fail_json(
            msg="the minio package is missing: run this module with the "
            "object-store venv's Python (ansible_python_interpreter)"
        )
    p = module.params
    client = Minio(
        p["endpoint"],
        access_key=p["access_key"],
        secret_key=p["secret_key"],
        secure=False,
        region=p["region"],
    )
    deadline = time.monotonic() + p["wait_seconds"]
    while True:
        try:
            exists = client.bucket_exists(p["bucket"])
            break
        except Exception as exc:  # the server may still be starting
            if time.monotonic() > deadline:
                module.fail_json(msg=f"S3 API at {p['endpoint']} did not answer: {exc}")
            time.sleep(1)
    changed = False
    if not exists:
        changed = True
        if not module.check_mode:
            client.make_bucket(p["bucket"])
    if p["minio_user_access_key"]:
        changed |= _minio_user(module, p)
    module.exit_json(changed=changed, bucket=p["bucket"])


def _minio_user(module: AnsibleModule, p: dict) -> bool:
    from minio.credentials import StaticProvider  # noqa: PLC0415
    from minio.minioadmin import MinioAdmin  # noqa: PLC0415

    admin = MinioAdmin(
        p["endpoint"], credentials=StaticProvider(p["access_key"], p["secret_key"]), secure=False
    )
    policy_name = f"{p['bucket']}-rw"
    users = json.loads(admin.user_list())
    if p["minio_user_access_key"] in users:
        return False
    if not module.check_mode:
        with tempfile.NamedTemporaryFile("w", suffix=".json") as fh:
            json.dump(_bucket_policy(p["bucket"]), fh)
            fh.flush()
            admin.policy_add(policy_name, fh.name)
        admin.user_add(p["minio_user_access_key"], p["minio_user_secret_key"])
        admin.policy_set(policy_name, user=p["minio_user_access_key"])
    return True


if __name__ == "__main__":
    main()
