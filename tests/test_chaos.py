"""The chaos run, small: invoices through the real stack (processes, HTTP, a persisting Redis) while Xero
answers 5xx, drops answers after committing and bursts 429s, a tenth of the webhooks each way are lost and Redis
crashes once; then every invoice must be in Xero exactly once with Dynamics' total and nothing left waiting.

The full run (`python -m benchmarks.chaos --invoices 300 --baseline`) also SIGKILLs workers every 2 s. It is not
done here yet: with kills and the Redis crash together, a periodic maintenance job whose work-horse died in the
crash can end failed, or stay "started", which fails the check (seen once in three runs on a loaded machine).
"""

from __future__ import annotations

from benchmarks.chaos import ChaosConfig, check, run

DRAIN_BOUND_SECONDS = 90.0


def test_invoices_survive_xero_faults_lost_webhooks_and_a_redis_crash(tmp_path):
    config = ChaosConfig(
        invoices=6, workers=3, per_second=2.0, kill_every=0, drain_bound=DRAIN_BOUND_SECONDS, creators=2
    )
    report = run(config, tmp_path)

    assert report.invoices == 6
    assert report.redis_restarts == 1
    check(report, DRAIN_BOUND_SECONDS)  # raises naming every invoice or queue that is not right
