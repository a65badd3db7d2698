"""`python -m app.reference_data import`: queue by default, run inline with --now and print the counts."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.reference_data import KIND_IMPORT, KIND_IMPORT_ALL, main
from app.services import forget_services
from sandbox.xero.seed import TENANT_B_ID

ROOT = Path(__file__).resolve().parents[2]


def test_one_connection_is_queued(connected, capsys):
    assert main(["import", "--connection", connected.connection_id]) == 0
    [queued] = connected.queued(KIND_IMPORT)
    assert capsys.readouterr().out.strip() == (
        f"queued {queued.id}: reference data import for connection {connected.connection_id}"
    )
    assert queued.args[1] == {"connection_id": connected.connection_id}


def test_all_connections_queue_the_fan_out_job(connected, capsys):
    assert main(["import", "--all"]) == 0
    [queued] = connected.queued(KIND_IMPORT_ALL)
    assert queued.id in capsys.readouterr().out


def test_now_runs_here_and_prints_the_counts(connected, capsys):
    assert main(["import", "--connection", connected.connection_id, "--now"]) == 0
    first = capsys.readouterr().out
    assert f"connection {connected.connection_id}" in first
    assert [line.split() for line in first.splitlines() if line.strip().startswith("tax rates")] == [
        ["tax", "rates", "9", "0", "0", "0"]
    ]
    assert connected.queued(KIND_IMPORT) == [], "nothing was queued"

    assert main(["import", "--connection", connected.connection_id, "--now"]) == 0
    total = next(line.split() for line in capsys.readouterr().out.splitlines() if line.strip().startswith("total"))
    assert total == ["total", "0", "0", "0", "34"]


def test_now_for_all_names_the_connections_it_skipped(connected, capsys):
    waiting = connected.new_connection("Waiting for consent", TENANT_B_ID, token=False)
    assert main(["import", "--all", "--now"]) == 0
    out = capsys.readouterr().out
    assert f"connection {waiting}: skipped, no Xero token is stored for it" in out
    assert f"connection {connected.connection_id} (Xero tenant" in out


def test_a_failed_import_is_reported_with_exit_code_1(connected, capsys):
    connected.tokens.delete(connected.connection_id)
    assert main(["import", "--connection", connected.connection_id, "--now"]) == 1
    assert "failed" in capsys.readouterr().err


def test_now_needs_the_worker_environment(connected, monkeypatch, capsys):
    monkeypatch.delenv("DATAVERSE_URL")
    monkeypatch.delenv("XERO_CLIENT_ID")
    forget_services()
    assert main(["import", "--all", "--now"]) == 2
    assert "DATAVERSE_URL" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv", [["import"], ["import", "--all", "--connection", "x"], ["import", "--connection", "not-a-guid"]]
)
def test_bad_arguments_exit_with_2(argv, connected):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2


def test_the_module_runs_as_a_command(connected):
    done = subprocess.run(
        [sys.executable, "-m", "app.reference_data", "import", "--connection", connected.connection_id],
        cwd=ROOT,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    [queued] = connected.queued(KIND_IMPORT)
    assert done.stdout.startswith(f"queued {queued.id}")
