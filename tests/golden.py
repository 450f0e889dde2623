"""The words students read, kept as reviewed text: each fixture's verdict message, hint and evidence are compared with
tests/fixtures/messages.json. `UPDATE_GOLDEN=1 pytest tests/test_checks.py` rewrites the file after a deliberate change."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

GOLDEN = Path(__file__).parent / "fixtures" / "messages.json"
_MOMENT = re.compile(r"\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2})?(\.\d+)?(Z|[+-]\d{2}:\d{2})?)?")


def _normalise(text: str | None) -> str | None:
    return None if text is None else _MOMENT.sub("<time>", text)


def expect_words(key: str, result: Any) -> None:
    """`result` (a CheckResult) says what the golden file holds for `key`."""
    evidence = json.loads(_normalise(json.dumps(result.evidence, sort_keys=True, default=str)) or "{}")
    found = {"status": result.status.value, "message": _normalise(result.message), "hint": _normalise(result.hint), "evidence": evidence}
    golden: dict[str, Any] = json.loads(GOLDEN.read_text("utf-8")) if GOLDEN.exists() else {}
    if os.environ.get("UPDATE_GOLDEN"):
        golden[key] = found
        GOLDEN.write_text(json.dumps(dict(sorted(golden.items())), indent=1, ensure_ascii=False) + "\n", "utf-8")
        return
    assert key in golden, f"{key} is not in {GOLDEN.name}; run with UPDATE_GOLDEN=1 after reviewing the text"
    assert found == golden[key], key
