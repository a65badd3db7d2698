from tests.e2e.harness import harness  # noqa: F401 - fixtures shared by this folder's tests
from tests.xero_to_dynamics.linked import linked  # noqa: F401
