"""The deployment files parse and are complete: every service the app needs is there, every
variable the app reads is set, every image is pinned. (No container engine runs here.)"""

from __future__ import annotations

import importlib
import importlib.util
import re
import subprocess
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from workflows.search_attributes import SEARCH_ATTRIBUTES
from runtime.settings import ENV_PREFIX, Settings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
SETTINGS = {ENV_PREFIX + name.upper() for name in Settings.model_fields}
OWNER_DSN = ENV_PREFIX + "MIGRATION_DATABASE_URL"
"""The schema owner's DSN: the migration step's alone, never the workers' or the API's."""
PINNED = re.compile(r"^[\w./-]+:\d+(\.\d+)+[\w.-]*$")
APP_SERVICES = ("worker", "api")


def load_all(path: Path) -> list[dict]:
    return [doc for doc in YAML(typ="safe").load_all(path.read_text()) if doc]


@pytest.fixture(scope="module")
def compose() -> dict:
    (doc,) = load_all(DEPLOY / "compose" / "docker-compose.yml")
    return doc


@pytest.fixture(scope="module")
def k8s() -> list[dict]:
    return load_all(DEPLOY / "k8s" / "app.yaml")


def test_compose_runs_a_temporal_cluster_on_postgres_beside_the_app(compose):
    services = compose["services"]
    assert set(services) >= {"temporal-db", "temporal-schema", "temporal", "temporal-namespace",
                             "temporal-ui", "app-db", "migrate", *APP_SERVICES}
    images = {name: s["image"] for name, s in services.items()}
    assert images["temporal"].startswith("temporalio/server:")
    assert images["temporal-schema"].startswith("temporalio/admin-tools:")
    assert images["temporal-ui"].startswith("temporalio/ui:")
    assert all(PINNED.match(image) for image in images.values()), images
    assert services["temporal"]["environment"]["POSTGRES_SEEDS"] == "temporal-db"
    for name, service in services.items():
        for needed in service.get("depends_on", {}):
            assert needed in services, f"{name} depends on missing {needed}"


def test_compose_sets_every_variable_the_app_reads(compose):
    for name in APP_SERVICES:
        env = compose["services"][name]["environment"]
        assert SETTINGS <= set(env), f"{name} lacks {sorted(SETTINGS - set(env))}"
        assert env["ROLLOUT_TEMPORAL_ADDRESS"].split(":")[0] in compose["services"]
        database_host = re.search(r"@([\w-]+):", env["ROLLOUT_DATABASE_URL"]).group(1)
        assert database_host in compose["services"]


def test_compose_runs_the_app_as_its_own_role_and_migrates_as_the_owner(compose):
    """Issue 18, finding 5: the workers and the API connect as rollout_app and never hold the
    owner's DSN; the one-shot `migrate` does, and they wait for it; app-db trusts no one."""
    services = compose["services"]
    for name in APP_SERVICES:
        env = services[name]["environment"]
        assert env["ROLLOUT_DATABASE_URL"].startswith("postgresql://rollout_app:")
        assert env[OWNER_DSN] == "" and env["ROLLOUT_DATABASE_ROLE"] == "rollout_app"
        assert services[name]["depends_on"]["migrate"]["condition"] == \
            "service_completed_successfully"
    migrate = services["migrate"]
    assert migrate["command"] == ["python", "-m", "runtime.migrate"]
    assert migrate["environment"][OWNER_DSN].startswith("postgresql://rollout_owner:")
    assert "migrate" not in migrate["depends_on"]
    database = services["app-db"]["environment"]
    assert database["POSTGRES_USER"] == "postgres" and "trust" not in str(database)
    assert "--auth-host=scram-sha-256" in database["POSTGRES_INITDB_ARGS"]
    init = [v for v in services["app-db"]["volumes"] if "docker-entrypoint-initdb.d" in v]
    script = (DEPLOY / "compose" / init[0].split(":")[0]).read_text()
    for role in ("rollout_owner", "rollout_app"):
        assert f"CREATE ROLE {role} WITH LOGIN NOSUPERUSER" in script
    assert "CREATE DATABASE rollout OWNER rollout_owner" in script


def test_compose_and_kubernetes_run_commands_that_exist(compose, k8s):
    commands = [compose["services"][name]["command"] for name in (*APP_SERVICES, "migrate")]
    commands += [c["command"] for d in k8s if d["kind"] in ("Deployment", "Job")
                 for c in d["spec"]["template"]["spec"]["containers"]]
    for command in commands:
        if command[:2] == ["python", "-m"]:
            assert importlib.util.find_spec(command[2]) is not None, command
        else:
            assert command[:2] == ["uvicorn", "--factory"], command
            module, factory = command[2].split(":")
            assert hasattr(importlib.import_module(module), factory), command


def test_the_namespace_script_registers_every_search_attribute():
    script = (DEPLOY / "compose" / "scripts" / "temporal-namespace.sh").read_text()
    listed = re.search(r"for name in ([\w ]+); do", script).group(1).split()
    assert sorted(listed) == sorted(SEARCH_ATTRIBUTES)
    assert set(SEARCH_ATTRIBUTES.values()) == {"Keyword"} and "--type Keyword" in script


@pytest.mark.parametrize("script", sorted((DEPLOY / "compose" / "scripts").glob("*.sh")),
                         ids=lambda p: p.name)
def test_setup_scripts_are_valid_shell(script):
    subprocess.run(["sh", "-n", str(script)], check=True)


def test_kubernetes_deployments_have_probes_limits_and_every_variable(k8s):
    kinds = {(d["kind"], d["metadata"]["name"]) for d in k8s}
    assert {("Deployment", "rollout-worker"), ("Deployment", "rollout-api"),
            ("Service", "rollout-api"), ("ConfigMap", "rollout-config")} <= kinds
    config = next(d["data"] for d in k8s if d["kind"] == "ConfigMap")
    for deployment in (d for d in k8s if d["kind"] == "Deployment"):
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        assert PINNED.match(container["image"])
        assert {"livenessProbe", "readinessProbe"} <= set(container)
        assert {"cpu", "memory"} <= set(container["resources"]["limits"])
        names = set(config) | {e["name"] for e in container.get("env", [])}
        assert SETTINGS - {OWNER_DSN} <= names, \
            f"{deployment['metadata']['name']} lacks {sorted(SETTINGS - {OWNER_DSN} - names)}"
        assert OWNER_DSN not in names, "the owner's DSN is the migration Job's alone"
        secrets = [e for e in container["env"] if "valueFrom" in e]
        assert {e["name"] for e in secrets} >= {"ROLLOUT_DATABASE_URL", "ROLLOUT_TEMPORAL_API_KEY"}
        assert not {"ROLLOUT_DATABASE_URL", "ROLLOUT_TEMPORAL_API_KEY", OWNER_DSN} & set(config), \
            "credentials come from the Secret, not the ConfigMap"
    (job,) = [d for d in k8s if d["kind"] == "Job"]
    (container,) = job["spec"]["template"]["spec"]["containers"]
    assert container["command"] == ["python", "-m", "runtime.migrate"]
    (owner,) = [e for e in container["env"] if e["name"] == OWNER_DSN]
    assert owner["valueFrom"]["secretKeyRef"]["name"] == "rollout-migration-secrets"
    assert config["ROLLOUT_DATABASE_ROLE"] == "rollout_app"


def test_temporal_helm_values_pin_the_same_versions_as_compose(compose):
    (values,) = load_all(DEPLOY / "k8s" / "temporal-values.yaml")
    tags = {values[part]["image"]["repository"]: values[part]["image"]["tag"]
            for part in ("server", "admintools", "web")}
    for service in compose["services"].values():
        repository, tag = service["image"].rsplit(":", 1)
        if repository in tags:
            assert tags[repository] == tag, repository
    for store in ("default", "visibility"):
        assert values["server"]["config"]["persistence"][store]["sql"]["driver"] == "postgres12"


def test_the_image_copies_every_package_the_project_installs():
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    copied = set(re.findall(r"^COPY (\w+) \1$", dockerfile, re.M))
    pyproject = (DEPLOY.parent / "pyproject.toml").read_text()
    packages = {p.rstrip("*") for p in re.findall(r'"(\w+)\*"', pyproject)}
    assert packages <= copied, sorted(packages - copied)
    assert re.search(r"^FROM python:3\.11\.\d+-slim", dockerfile, re.M)


def test_env_example_lists_every_variable():
    listed = set(re.findall(r"^(ROLLOUT_\w+)=", (DEPLOY / "env.example").read_text(), re.M))
    assert listed == SETTINGS
