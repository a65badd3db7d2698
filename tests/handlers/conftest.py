from tests.e2e.harness import harness  # noqa: F401 - the fixture: both sandboxes, the intake and a worker
