from tests.e2e.harness import harness  # noqa: F401 - the fixture, shared by this folder's tests
