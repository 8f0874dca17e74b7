"""Every service dict the roles hand to the shared role (mlops_service), and the vars of
every include of python_venv, match that role's argument specs: no unknown key, every
required key, the right type where the value is not a Jinja expression. The play skips
Ansible's own check of these at run time (rolespec_validate: false: one task per
service and per venv in every run); this test stands in."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tests.harness import REPO

ROLES = REPO / "ansible" / "roles"
SPEC = yaml.safe_load((ROLES / "mlops_service/meta/argument_specs.yml").read_text())
OPTIONS = SPEC["argument_specs"]["unit"]["options"]["mlops_service_def"]["options"]
TYPES = {"str": str, "path": str, "bool": bool, "int": int, "list": list, "dict": dict}
IMPORT = re.compile(
    r"name: mlops_service\n\s+tasks_from: (\w+)\n(?:\s+rolespec_validate: false.*\n)?"
    r"\s+vars:\n\s+mlops_service_def: \"\{\{ (\w+) \}\}\""
)


def problems(value: object, options: dict, where: str) -> list[str]:
    """What is wrong with one dict against its options (recursively)."""
    if isinstance(value, str) and "{{" in value:
        return []  # an expression: its type is known only when the play runs
    if not isinstance(value, dict):
        return [f"{where}: a dict, not {value!r}"]
    found = [f"{where}.{key}: unknown" for key in value if key not in options]
    for key, option in options.items():
        if key not in value:
            found += [f"{where}.{key}: required"] if option.get("required") else []
            continue
        found += check(value[key], option, f"{where}.{key}")
    return found


def check(value: object, option: dict, where: str) -> list[str]:
    if isinstance(value, str) and "{{" in value:
        return []
    kind = option.get("type", "str")
    if not isinstance(value, TYPES[kind]):
        return [f"{where}: a {kind}, not {value!r}"]
    if kind == "list" and "options" in option:
        return [
            p for i, v in enumerate(value) for p in problems(v, option["options"], f"{where}[{i}]")
        ]
    if kind == "list" and "elements" in option:
        element = TYPES[option["elements"]]
        return [f"{where}[{i}]: not a {option['elements']}: {v!r}" for i, v in enumerate(value)
                if not isinstance(v, element) and "{{" not in str(v)]  # fmt: skip
    if kind == "dict" and "options" in option:
        return problems(value, option["options"], where)
    return []


def service_dicts() -> dict[str, tuple[Path, object]]:
    found = {}
    for path in sorted(ROLES.glob("*/vars/main.yml")):
        for name, value in (yaml.safe_load(path.read_text()) or {}).items():
            if re.fullmatch(r"__\w+_service", name):
                found[name] = (path, value)
    return found


def test_every_service_dict_matches_the_shared_roles_specs():
    dicts = service_dicts()
    assert len(dicts) >= 10, sorted(dicts)
    for name, (path, value) in dicts.items():
        assert problems(value, OPTIONS, name) == [], path


@pytest.mark.parametrize(
    ("broken", "expected"),
    [
        ({"units": []}, "name: required"),
        ({"name": "x", "units": [], "restart_units": []}, "restart_units: unknown"),
        ({"name": "x", "units": [{"name": "x.service"}]}, "units[0].src: required"),
        ({"name": "x", "units": [], "venv": "yes"}, "venv: a bool"),
        ({"name": "x", "units": [], "env": {"src": "e.j2", "dest": "/e", "mode": "0600"}},
         "env.mode: unknown"),
    ],
)  # fmt: skip
def test_the_check_refuses_a_broken_dict(broken, expected):
    assert any(expected in p for p in problems(broken, OPTIONS, "svc")), problems(
        broken, OPTIONS, "svc"
    )


def test_every_import_of_the_shared_role_passes_its_roles_dict():
    dicts = service_dicts()
    imports = []
    for path in sorted(ROLES.glob("*/tasks/*.yml")):
        text = path.read_text()
        calls = text.count("name: mlops_service\n")
        found = IMPORT.findall(text)
        assert len(found) == calls, f"{path}: an import of mlops_service without its dict"
        for entry, name in found:
            assert entry in ("unit", "run"), (path, entry)
            assert name in dicts, f"{path}: {name} is not a service dict of any role"
            assert dicts[name][0].parent.parent == path.parent.parent, (path, name)
            imports.append((path.parent.parent.name, entry))
    assert len(imports) >= 20, imports


VENV_OPTIONS = yaml.safe_load((ROLES / "python_venv/meta/argument_specs.yml").read_text())[
    "argument_specs"
]["main"]["options"]


def venv_includes() -> list[tuple[Path, dict]]:
    """Every include of python_venv in the roles' tasks, with its task."""
    found = []
    for path in sorted(ROLES.glob("*/tasks/*.yml")):
        for task in yaml.safe_load(path.read_text()) or []:
            include = task.get("ansible.builtin.include_role") or {}
            if include.get("name") == "python_venv":
                found.append((path, task))
    return found


def test_every_venv_include_matches_python_venvs_specs():
    """The venv roles include python_venv without Ansible's check of its arguments (a
    task per venv in every run): this test checks their vars instead."""
    includes = venv_includes()
    assert len(includes) >= 4, includes
    for path, task in includes:
        assert task["ansible.builtin.include_role"].get("rolespec_validate") is False, path
        assert problems(task.get("vars") or {}, VENV_OPTIONS, str(path)) == [], path


def test_a_venv_include_without_its_path_is_refused():
    assert problems({"python_venv_packages": []}, VENV_OPTIONS, "x") == [
        "x.python_venv_path: required"
    ]
    assert problems({"python_venv_path": "/v", "python_venv_pkgs": []}, VENV_OPTIONS, "x") == [
        "x.python_venv_pkgs: unknown"
    ]
