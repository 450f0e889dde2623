"""Secret values: kept in memory, compared by SHA-256, shown only as a prefix and a fingerprint."""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any

# Shapes of secrets that may reach us from outside (error bodies echo tokens); scrubbed from every output.
_SECRET_PATTERNS = (
    re.compile(r"\bsk-[A-Za-z0-9_\-]{8,}"),
    re.compile(r"\bltm_admin_[A-Za-z0-9_\-+/=.]+"),
    re.compile(r"\beyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+"),
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9_\-.~+/=]{8,}"),
)


# Values published in charts and docs: a Secret holding one is a mistake to name plainly, not a secret to hide.
PUBLIC_DEFAULTS = frozenset({"changeme"})
# Never hidden either: the defaults, and a bare prefix the lessons name (a Secret holding only it has no secret part).
PUBLIC_WORDS = PUBLIC_DEFAULTS | {"ltm_admin_"}


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def fingerprint_of(value: str) -> str:
    """`sk-Fz7K…#3f9c2a`: enough to tell keys apart, nothing to reuse."""
    standin = parse_standin(value)
    if standin is not None:  # a value from an evidence bundle: the same fingerprint as the live value had
        prefix, digest, _length = standin
        return f"{prefix[:7]}…#{digest[:6]}"
    prefix = value[:7] if value.startswith(("sk-", "ltm_")) else ""
    return f"{prefix}…#{sha256_hex(value)[:6]}"


# -- stand-ins: what an evidence bundle keeps of a secret value ---------------------------------------------
# `sk-Fz7K⟦sha256-<hex>-<length>⟧`: the public prefix, the SHA-256 and the length of the value, so that hash
# comparisons and prefix rules give what the value gave, and nothing of the value can be recovered. No comma,
# colon, quote or space inside, so it survives YAML, JSON and comma-separated lists unchanged.
_STANDIN = re.compile(r"^(?P<prefix>[A-Za-z0-9_\-]*)⟦sha256-(?P<digest>[0-9a-f]{64})-(?P<length>[0-9]+)⟧$")


def public_prefix(value: str) -> str:
    """The part of a key that its service shows anyway (LiteMaaS lists `keyPrefix`, fingerprints show 7 chars)."""
    if value.startswith("ltm_admin_"):
        return "ltm_admin_"
    if value.startswith(("sk-", "ltm_")) and len(value) >= 12:
        return value[:7]
    return ""


def standin_of(value: str) -> str:
    """The stand-in text of a secret value; entries of a comma-separated list each get their own."""
    if "," in value:
        return ",".join(standin_of(part) for part in value.split(","))
    core = value.strip()
    if not core or core in PUBLIC_WORDS or parse_standin(core) is not None:
        return value
    lead, trail = value[: len(value) - len(value.lstrip())], value[len(value.rstrip()) :]
    return f"{lead}{public_prefix(core)}⟦sha256-{sha256_hex(core)}-{len(core)}⟧{trail}"


def parse_standin(value: str) -> tuple[str, str, int] | None:
    found = _STANDIN.match(value)
    if found is None:
        return None
    return found["prefix"], found["digest"], int(found["length"])


def standin_record(value: str) -> dict[str, Any]:
    """The `{sha256, prefix, length}` form a bundle stores in place of a Secret value (`text`: the stand-in text)."""
    return {"sha256": sha256_hex(value), "prefix": public_prefix(value.strip()), "length": len(value), "text": standin_of(value)}


class Sensitive:
    """A secret value. `str()` and `repr()` show the fingerprint; `reveal()` is the only way to the value."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    @property
    def sha256(self) -> str:
        standin = parse_standin(self._value)
        return standin[1] if standin is not None else sha256_hex(self._value)

    @property
    def fingerprint(self) -> str:
        return fingerprint_of(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sensitive) and other.sha256 == self.sha256

    def __hash__(self) -> int:
        return hash(self.sha256)

    def __bool__(self) -> bool:
        return bool(self._value)

    def __str__(self) -> str:
        return self.fingerprint

    __repr__ = __str__


class Redactor:
    """Remembers every secret value read in a run and removes them (and known secret shapes) from text."""

    def __init__(self) -> None:
        self._values: set[str] = set()

    def remember(self, value: str) -> None:
        # Short values ("", "0", "true") would mangle ordinary text; they are not secrets worth hiding.
        if len(value) >= 6 and value not in PUBLIC_WORDS:
            self._values.add(value)
            self._values.add(base64.b64encode(value.encode()).decode())

    def known(self) -> set[str]:
        """Every value remembered so far (for the evidence bundle's scrubbing; never for output)."""
        return set(self._values)

    def scrub(self, text: str) -> str:
        for value in sorted(self._values, key=len, reverse=True):
            if value in text:
                text = text.replace(value, fingerprint_of(value))
        for pattern in _SECRET_PATTERNS:
            text = pattern.sub(_mask, text)
        return text

    def scrub_data(self, data: Any) -> Any:
        if isinstance(data, str):
            return self.scrub(data)
        if isinstance(data, Sensitive):
            return data.fingerprint
        if isinstance(data, dict):
            return {str(k): self.scrub_data(v) for k, v in data.items()}
        if isinstance(data, (list, tuple, set)):
            return [self.scrub_data(v) for v in data]
        return data


def _mask(match: re.Match[str]) -> str:
    text = match.group(0)
    if match.re.pattern.startswith("(?i)(bearer"):
        return match.group(1) + "…"
    if "…#" in text:  # already a fingerprint
        return text
    return fingerprint_of(text)
