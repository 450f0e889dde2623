"""Shared plumbing of the LiteLLM and LiteMaaS readers: memoised requests and their failures."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from maas_lab.errors import MaasLabError, ServiceError

if TYPE_CHECKING:
    from maas_lab.evidence.http import HttpAnswer


class Unavailable(MaasLabError):
    """Evidence the student has not produced yet (no namespace, no Route, no LiteMaaS user...).

    The runner turns it into `skip`: the check that owns that step fails on its own.
    """


class NamespaceAbsent(Unavailable):
    pass


class CredentialRejected(Unavailable):
    """A credential from the student's own Secrets was rejected (401): the student's side."""


class Fetch(Protocol):
    def __call__(
        self,
        method: str,
        url: str,
        *,
        params: dict[str, Any] | None = None,
        auth: tuple[str, str] | None = None,
        json_body: Any = None,
    ) -> HttpAnswer: ...


def error_message(answer: HttpAnswer) -> str:
    """The service's own error text (both LiteLLM and LiteMaaS wrap it in `error.message`)."""
    body = answer.body
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])[:300]
        if isinstance(body.get("detail"), (str, dict)):
            return str(body["detail"])[:300]
    return f"HTTP {answer.status}"


def expect_ok(answer: HttpAnswer, what: str, on_401: Callable[[], MaasLabError]) -> Any:
    if answer.ok and not answer.is_json:  # a management API always answers JSON: anything else is its fault
        raise ServiceError(f"{what} answered {answer.status} with something that is not JSON")
    if answer.ok:
        return answer.body
    if answer.status == 401:
        raise on_401()
    raise ServiceError(f"{what} answered {answer.status}: {error_message(answer)}")
