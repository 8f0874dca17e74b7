"""docs/configuration.md is generated from the playbook's sources: it must be up to
date, and every role default must be described in its argument specs with the same
value (docs/build_configuration.py fails otherwise)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

from tests.harness import REPO

BUILDER = REPO / "docs" / "build_configuration.py"


def test_the_configuration_reference_is_up_to_date():
    done = subprocess.run(
        [sys.executable, str(BUILDER), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def test_a_default_without_a_description_is_refused(tmp_path, monkeypatch):
    spec = importlib.util.spec_from_file_location("build_configuration", BUILDER)
    build_configuration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build_configuration)

    role = tmp_path / "roles" / "demo"
    (role / "defaults").mkdir(parents=True)
    (role / "meta").mkdir()
    (role / "defaults" / "main.yml").write_text("demo_port: 1\ndemo_secret: x\n")
    (role / "meta" / "argument_specs.yml").write_text(
        "argument_specs:\n  main:\n    short_description: demo\n    options:\n"
        "      demo_port:\n        type: int\n        default: 2\n        description: a port\n"
    )
    monkeypatch.setattr(build_configuration, "ANSIBLE", tmp_path)
    problems: list[str] = []
    build_configuration.role_section("demo", problems)
    assert problems == [
        "demo: demo_port defaults to 1 in defaults/main.yml but 2 in meta/argument_specs.yml",
        "demo: demo_secret is in defaults/main.yml but not in its argument specs",
    ]
