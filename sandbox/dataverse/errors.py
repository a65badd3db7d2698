"""Errors answered in Dataverse's shape: `{"error": {"code": "0x...", "message": "..."}}`."""

from __future__ import annotations

# Codes as Dataverse reports them; the connector classifies on HTTP status, these are for humans and logs.
BAD_REQUEST = "0x80060888"
INVALID_ARGUMENT = "0x80040203"
NOT_FOUND = "0x80040217"
DUPLICATE = "0x80040237"
CONCURRENCY = "0x80060882"
PRIVILEGE = "0x80040220"
UNAUTHORIZED = "0x80072560"
THROTTLED = "0x80072322"
READ_ONLY_RECORD = "0x80043b09"
INVALID_STATE = "0x8004431a"
ALREADY_EXISTS = "0x80044363"


class DataverseError(Exception):
    """An error the Web API answers with; `status` is the HTTP status."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}

    def body(self) -> dict[str, dict[str, str]]:
        return {"error": {"code": self.code, "message": self.message}}


def bad_request(message: str, code: str = BAD_REQUEST) -> DataverseError:
    return DataverseError(400, code, message)


def not_found(logical_name: str, record_id: str) -> DataverseError:
    return DataverseError(404, NOT_FOUND, f"{logical_name} With Id = {record_id} Does Not Exist")


def no_such_property(name: str, logical_name: str) -> DataverseError:
    return bad_request(f"Could not find a property named '{name}' on type 'Microsoft.Dynamics.CRM.{logical_name}'.")


def missing_privilege(user_id: str, privilege: str) -> DataverseError:
    return DataverseError(
        403,
        PRIVILEGE,
        f"Principal user (Id={user_id}, type=8, roleCount=1, privilegeName={privilege}) "
        f"is missing {privilege} privilege",
    )
