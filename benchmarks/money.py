"""Money to the cent, at volume: many generated invoices through the whole stack, counted by outcome.

Runs the property test (`tests/e2e/test_money_properties.py`) with many more examples than the suite does
(`MONEY_PROPERTY_EXAMPLES`, default 200 here) and prints how many invoices matched Xero exactly, matched
after a rounding line, or were reported with their difference named; any invoice breaking the invariant
fails the run with hypothesis' smallest example.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).parent.parent
OUTCOMES = ("matched exactly", "matched after a rounding line", "reported")


def run(examples: int) -> dict[str, int]:
    with tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "outcomes.json"
        env = {**os.environ, "MONEY_PROPERTY_EXAMPLES": str(examples), "MONEY_PROPERTY_REPORT": str(report)}
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:logging", "--timeout=3600"]
        command.append("tests/e2e/test_money_properties.py")
        finished = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
        if finished.returncode != 0:
            print(finished.stdout[-4000:], finished.stderr[-2000:], sep="\n")
            raise SystemExit("money: an invoice broke the totals invariant (hypothesis' example above)")
        return json.loads(report.read_text())


def main() -> None:
    examples = int(os.environ.get("MONEY_PROPERTY_EXAMPLES", "200"))
    started = time.perf_counter()
    counts = run(examples)
    elapsed = time.perf_counter() - started
    total = sum(counts.values())
    parts = ", ".join(f"{name} {counts.get(name, 0)} ({counts.get(name, 0) / total:.0%})" for name in OUTCOMES)
    print(f"money: {total} generated invoices through the stack in {elapsed:.1f} s ({elapsed / total:.2f} s each)")
    print(f"money: {parts}")


if __name__ == "__main__":
    main()
