import threading
import time

import pytest

from app.clients.xero_limits import TenantLimiter, XeroLimits
from app.errors import Deferred, Retryable

TENANT_A = "tenant-a"
TENANT_B = "tenant-b"


def test_at_most_the_concurrent_limit_in_flight_across_threads(redis_conn):
    limiter = TenantLimiter(redis_conn, XeroLimits(concurrent=2, per_minute=1000), max_wait_seconds=5)
    in_flight = 0
    peak = 0
    guard = threading.Lock()

    def call():
        nonlocal in_flight, peak
        with limiter.call(TENANT_A):
            with guard:
                in_flight += 1
                peak = max(peak, in_flight)
            time.sleep(0.05)
            with guard:
                in_flight -= 1

    threads = [threading.Thread(target=call) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert peak == 2


def test_the_minute_limit_turns_into_a_retry_after_the_window(redis_conn):
    limiter = TenantLimiter(redis_conn, XeroLimits(per_minute=3, minute_seconds=30), max_wait_seconds=0.1)
    for _ in range(3):
        with limiter.call(TENANT_A):
            pass
    with pytest.raises(Retryable) as info, limiter.call(TENANT_A):
        pass
    assert 25 <= info.value.retry_after <= 30


def test_one_busy_tenant_does_not_stop_another(redis_conn):
    limiter = TenantLimiter(redis_conn, XeroLimits(per_minute=1), max_wait_seconds=0.1)
    with limiter.call(TENANT_A):
        pass
    limiter.pause(TENANT_A, 60)
    with pytest.raises(Retryable, match="paused after a 429"), limiter.call(TENANT_A):
        pass
    with limiter.call(TENANT_B):
        pass


def test_the_daily_limit_defers_until_the_reset(redis_conn):
    limiter = TenantLimiter(redis_conn, XeroLimits(per_day=2, day_seconds=3600, reserved_share=0), max_wait_seconds=0.1)
    for _ in range(2):
        with limiter.call(TENANT_A):
            pass
    assert limiter.remaining_today(TENANT_A) == 0
    with pytest.raises(Deferred) as info, limiter.call(TENANT_A):
        pass
    assert 3500 <= (info.value.run_at.timestamp() - time.time()) <= 3600


def test_a_short_wait_is_absorbed_inside_the_call(redis_conn):
    limiter = TenantLimiter(redis_conn, XeroLimits(per_minute=1, minute_seconds=0.3), max_wait_seconds=2)
    with limiter.call(TENANT_A):
        pass
    with limiter.call(TENANT_A):  # waits out the 0.3 s window instead of failing
        pass
    assert int(redis_conn.get("connector:xero:limit:tenant-a:day")) == 2


def test_bulk_work_leaves_the_reserved_share_for_payments_and_reconciliation(redis_conn):
    limiter = TenantLimiter(redis_conn, XeroLimits(per_day=10, reserved_share=0.2), max_wait_seconds=0.1)
    for _ in range(8):
        with limiter.call(TENANT_A):
            pass
    with pytest.raises(Deferred) as info, limiter.call(TENANT_A):
        pass
    assert "kept for payments and reconciliation" in info.value.user_message
    assert "resumes at" in info.value.user_message
    for _ in range(2):
        with limiter.call(TENANT_A, essential=True):
            pass
    with pytest.raises(Deferred, match="daily call limit"), limiter.call(TENANT_A, essential=True):
        pass


def test_the_daily_budget_can_be_set_per_organisation(redis_conn):
    limiter = TenantLimiter(redis_conn, XeroLimits(per_day=5000, reserved_share=0), max_wait_seconds=0.1)
    limiter.set_day_budget(TENANT_A, 3)
    for _ in range(3):
        with limiter.call(TENANT_A):
            pass
    with pytest.raises(Deferred), limiter.call(TENANT_A):
        pass
    with limiter.call(TENANT_B):  # the other organisation keeps the default
        pass
    assert limiter.remaining_today(TENANT_B) == 4999
    limiter.set_day_budget(TENANT_A, None)
    assert limiter.day_budget(TENANT_A) == 5000


def test_xeros_remaining_figures_correct_the_shared_counters(redis_conn):
    limiter = TenantLimiter(redis_conn, XeroLimits(per_minute=60, per_day=5000, reserved_share=0), max_wait_seconds=0.1)
    with limiter.call(TENANT_A):
        # Another instance of the app already spent most of today's and this minute's calls.
        limiter.observe(
            TENANT_A,
            {"X-MinLimit-Remaining": "2", "X-DayLimit-Remaining": "4000", "X-AppMinLimit-Remaining": "9000"},
        )
    assert int(redis_conn.get("connector:xero:limit:tenant-a:minute")) == 58
    assert limiter.remaining_today(TENANT_A) == 4000
    assert int(redis_conn.get("connector:xero:limit:app:minute")) == 1000
    for _ in range(2):
        with limiter.call(TENANT_A):
            pass
    with pytest.raises(Retryable, match="minute limit"), limiter.call(TENANT_A):
        pass
    # A large remaining figure never lowers our count: our own budget may be stricter than Xero's.
    limiter.set_day_budget(TENANT_B, 3)
    for _ in range(3):
        with limiter.call(TENANT_B):
            limiter.observe(TENANT_B, {"x-daylimit-remaining": "4990"})
    with pytest.raises(Deferred), limiter.call(TENANT_B):
        pass


def test_the_app_minute_limit_is_shared_by_every_organisation(redis_conn):
    limiter = TenantLimiter(redis_conn, XeroLimits(app_per_minute=2), max_wait_seconds=0.1)
    with limiter.call(TENANT_A):
        pass
    with limiter.call(TENANT_B):
        pass
    with pytest.raises(Retryable, match="app's minute limit"), limiter.call("tenant-c"):
        pass


def test_headroom_tells_what_is_left_without_taking_anything(redis_conn):
    limiter = TenantLimiter(redis_conn, XeroLimits(per_minute=60, per_day=5000))
    fresh = limiter.headroom(TENANT_A)
    assert (fresh.minute_left, fresh.day_left, fresh.paused_seconds) == (60, 5000, 0)
    for _ in range(2):
        with limiter.call(TENANT_A):
            pass
    limiter.pause(TENANT_A, 30)
    used = limiter.headroom(TENANT_A)
    assert (used.minute_left, used.day_left) == (58, 4998)
    assert 25 < used.paused_seconds <= 30
    assert limiter.headroom(TENANT_A).minute_left == 58, "reading takes nothing"
    assert limiter.headroom(TENANT_B).minute_left == 60, "per tenant"
