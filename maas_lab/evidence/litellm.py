"""Reads from the student's LiteLLM proxy: management API with the master key, model calls with a student key."""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from maas_lab.errors import ServiceError
from maas_lab.evidence.services import CredentialRejected, Fetch, error_message, expect_ok

if TYPE_CHECKING:
    from maas_lab.evidence.http import HttpAnswer
    from maas_lab.evidence.sensitive import Sensitive

PAGE_SIZE = 100  # LiteLLM's maximum for /key/list and /user/list


class LiteLLM:
    """Every method is one memoised request (plus pages); nothing here writes."""

    def __init__(self, fetch: Fetch, base_url: str, master_key: Sensitive | None, *, secret_name: str) -> None:
        self._fetch = fetch
        self.base_url = base_url.rstrip("/")
        self._master_key = master_key
        self._secret_name = secret_name

    def _admin_get(self, path: str, params: dict[str, Any] | None = None, *, missing_ok: bool = False) -> Any:
        if self._master_key is None or not self._master_key.reveal().strip():
            raise CredentialRejected(
                f"the LiteLLM master key in Secret {self._secret_name} is missing or empty",
                hint="The Helm chart stores it in the Secret <release>-litellm, key master-key; reinstall or fix the Secret.",
            )
        if self._master_key.reveal() != self._master_key.reveal().strip():
            raise CredentialRejected(
                f"the LiteLLM master key in Secret {self._secret_name} has white space around it",
                hint="A Secret made with --from-file keeps the file's trailing newline; recreate it with --from-literal.",
            )
        answer = self._fetch("GET", self.base_url + path, params=params, auth=("Bearer", self._master_key.reveal()))
        if missing_ok and answer.status == 404:
            return None
        return expect_ok(answer, f"LiteLLM {path}", self._rejected)

    def _rejected(self) -> CredentialRejected:
        return CredentialRejected(
            f"LiteLLM rejected the master key from Secret {self._secret_name} (401)",
            hint="Secret changed but pods not restarted? `oc rollout restart deployment` for LiteLLM and the backend.",
        )

    # -- unauthenticated -----------------------------------------------------------------------------------

    def readiness(self) -> HttpAnswer:
        return self._fetch("GET", self.base_url + "/health/readiness")

    # -- master key ----------------------------------------------------------------------------------------

    def model_info(self) -> list[dict[str, Any]]:
        return list(_dict(self._admin_get("/model/info")).get("data") or [])

    def users(self) -> list[dict[str, Any]]:
        return self._pages("/user/list", "users", {"page_size": str(PAGE_SIZE)})

    def user_info(self, user_id: str) -> dict[str, Any] | None:
        body = self._admin_get("/user/info", {"user_id": user_id}, missing_ok=True)
        return None if body is None else _dict(body)

    def keys_of(self, user_id: str) -> list[dict[str, Any]]:
        """The user's keys as full objects (`token` is the SHA-256 of the key)."""
        params = {"user_id": user_id, "return_full_object": "true", "size": str(PAGE_SIZE)}
        return [k for k in self._pages("/key/list", "keys", params) if isinstance(k, dict)]

    def spend_logs(self, user_id: str, *, since: date, until: date) -> list[dict[str, Any]]:
        """The user's spend rows from `since` to `until` (days, inclusive), one row each.

        `/spend/logs` has no pagination; the date window bounds it (LiteLLM's `end_date` is an exclusive midnight,
        and with dates it sums rows per day unless `summarize=false`).
        """
        params = {
            "user_id": user_id,
            "start_date": since.isoformat(),
            "end_date": (until + timedelta(days=1)).isoformat(),
            "summarize": "false",
        }
        body = self._admin_get("/spend/logs", params)
        if not isinstance(body, list):
            raise ServiceError("LiteLLM /spend/logs did not answer with a list")
        return [row for row in body if isinstance(row, dict)]

    def _pages(self, path: str, field: str, params: dict[str, str]) -> list[Any]:
        items: list[Any] = []
        page = 1
        while True:
            body = _dict(self._admin_get(path, {**params, "page": str(page)}))
            items.extend(body.get(field) or [])
            total_pages = int(body.get("total_pages") or 1)
            if page >= total_pages or not body.get(field):
                return items
            page += 1

    # -- a student key (only for 4.key-works) ------------------------------------------------------------------

    def models_with_key(self, key: Sensitive) -> HttpAnswer:
        return self._fetch("GET", self.base_url + "/v1/models", auth=("Bearer", key.reveal()))

    def chat_with_key(self, key: Sensitive, model: str) -> HttpAnswer:
        body = {"model": model, "messages": [{"role": "user", "content": "Say OK."}], "max_tokens": 1}
        return self._fetch("POST", self.base_url + "/v1/chat/completions", auth=("Bearer", key.reveal()), json_body=body)


def _dict(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ServiceError("LiteLLM answered with an unexpected shape")
    return body


__all__ = ["LiteLLM", "error_message"]
