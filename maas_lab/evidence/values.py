"""Tolerant readings of values people and services write: timestamps in several formats, URLs as a person means them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


def parse_time(value: Any) -> datetime | None:
    """ISO-8601 (`Z` or offset), or JavaScript `Date.toString()` as LiteMaaS sometimes sends."""
    if not value or not isinstance(value, str):
        return None
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        parsed = None
    if parsed is None:
        # "Thu Nov 26 2026 10:28:15 GMT+0000 (Coordinated Universal Time)"
        head = text.split(" (")[0]
        try:
            parsed = datetime.strptime(head, "%a %b %d %Y %H:%M:%S GMT%z")
        except ValueError:
            from email.utils import parsedate_to_datetime  # rare; its import would slow `list` and `explain`

            try:
                parsed = parsedate_to_datetime(text)
            except (TypeError, ValueError, IndexError):
                return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def same_url(a: str, b: str) -> bool:
    """URLs compared as a person would: no trailing slash, `.svc` or `.svc.cluster.local`, case-insensitive host."""
    return normalise_url(a) == normalise_url(b)


def normalise_url(url: str) -> str:
    url = url.strip().rstrip("/")
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    host, slash, path = rest.partition("/")
    host = host.lower().replace(".svc.cluster.local", ".svc")
    return f"{scheme.lower()}://{host}{slash}{path}".rstrip("/")


def same_number(value: Any, expected: float) -> bool:
    """A number as the student typed it (a string, an int, a float) equals the expected one, to within rounding."""
    try:
        return abs(float(value) - float(expected)) < 1e-9
    except (TypeError, ValueError):
        return False
