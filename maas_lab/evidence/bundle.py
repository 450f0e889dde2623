"""Evidence bundles: one student's snapshot serialised (`<user>.json.gz`), secrets replaced by stand-ins.

A bundle holds every Kubernetes answer and every HTTP answer the checks read, keyed as `Recorder` keys them, so
that `BundleSource` can answer the same questions with no cluster. Every secret value becomes its stand-in
(`{sha256, prefix, length}`; inside text, `prefix⟦sha256-…-length⟧`): hash comparisons and prefix rules give
what the value gave, and no value can be recovered.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import hashlib
import json
import re
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from maas_lab import __version__
from maas_lab.errors import UsageError
from maas_lab.evidence.sensitive import Sensitive, standin_of, standin_record
from maas_lab.evidence.snapshot import NOT_SECRET_KEYS
from maas_lab.evidence.sources import BundleSource, Recorder
from maas_lab.profile import Profile
from maas_lab.settings import Settings

SCHEMA_VERSION = 1
# Shapes of credentials in free text (error bodies echo tokens, configs hold keys).
SECRET_SHAPES = (
    re.compile(r"\bsk-[A-Za-z0-9_\-]{8,}"),
    re.compile(r"\bltm_admin_[A-Za-z0-9_\-+/=.]+"),
    re.compile(r"\beyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+"),
)
BEARER = re.compile(r"(?i)(bearer\s+)([A-Za-z0-9_\-.~+/=]{8,})")
SUBSTRING_MIN = 12  # shorter known values are replaced only where they are the whole string


def profile_hash(profile: Profile) -> str:
    text = json.dumps(profile.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


class Scrubber:
    """Replaces every known secret value, and every credential-shaped string, by its stand-in."""

    def __init__(self, known: set[str]) -> None:
        self.exact = known
        self.substrings = sorted((v for v in known if len(v) >= SUBSTRING_MIN), key=len, reverse=True)

    def text(self, value: str) -> str:
        if value in self.exact:
            return standin_of(value)
        for secret in self.substrings:
            if secret in value:
                value = value.replace(secret, standin_of(secret))
        for shape in SECRET_SHAPES:
            value = shape.sub(lambda m: standin_of(m.group(0)), value)
        return BEARER.sub(lambda m: m.group(1) + standin_of(m.group(2)), value)

    def data(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            if value.get("kind") == "Secret" or ("data" in value and _is_secret_item(value)):
                return self.secret(value)
            return {self.text(str(k)): self.data(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.data(v) for v in value]
        return value

    def secret(self, obj: dict[str, Any]) -> dict[str, Any]:
        out = {k: self.data(v) for k, v in obj.items() if k not in ("data", "stringData")}
        data: dict[str, Any] = {}
        for key, encoded in (obj.get("data") or {}).items():
            if key in NOT_SECRET_KEYS:
                data[key] = encoded
                continue
            try:
                value = base64.b64decode(str(encoded)).decode("utf-8", "replace")
            except (binascii.Error, ValueError):
                data[key] = standin_record(str(encoded))
                continue
            data[key] = standin_record(value)
        out["data"] = data
        return out


def _is_secret_item(obj: dict[str, Any]) -> bool:
    # LIST items carry no `kind`; a Secret is known by its `type` next to `data`
    return isinstance(obj.get("data"), dict) and isinstance(obj.get("type"), str) and "metadata" in obj


@dataclass(frozen=True)
class ReplaySettings(Settings):
    """Settings for a regrade: the student's key given live (--api-key-env) is the bundle's stand-in of it."""

    student_key: str | None = None

    def student_api_key(self) -> Sensitive | None:
        return Sensitive(self.student_key) if self.student_key else None


@dataclass(frozen=True)
class Bundle:
    user: str
    cluster_domain: str | None
    captured_at: datetime
    lessons: list[int]
    on_behalf: bool
    litemaas_url: str | None
    litellm_url: str | None
    notes: list[str]
    source: BundleSource
    student_key: str | None = None

    def settings(self, base: Settings) -> Settings:
        replay = ReplaySettings(**{f.name: getattr(base, f.name) for f in fields(Settings)}, student_key=self.student_key)
        return replay.with_(
            user=self.user,
            cluster_domain=self.cluster_domain,
            on_behalf=self.on_behalf,
            litemaas_url=self.litemaas_url,
            litellm_url=self.litellm_url,
            kubeconfig=None,
            context=None,
            api_key_env=None,
        )


def bundle_dict(
    recorder: Recorder,
    *,
    settings: Settings,
    profile: Profile,
    user: str,
    cluster_domain: str | None,
    captured_at: datetime,
    lessons: list[int],
    known_secrets: set[str],
    notes: list[str],
) -> dict[str, Any]:
    scrub = Scrubber(known_secrets)
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "maas-lab", "version": __version__},
        "profile": {"name": profile.name, "sha256": profile_hash(profile)},
        "target": {"user": user, "cluster_domain": cluster_domain},
        "captured_at": captured_at.astimezone(UTC).isoformat(),
        "lessons": lessons,
        "options": {
            "on_behalf": settings.on_behalf,
            "litemaas_url": settings.litemaas_url,
            "litellm_url": settings.litellm_url,
            "student_key": _student_key(settings),
        },
        "server": recorder.server,
        "kube": scrub.data(narrowed(dict(recorder.kube), user, {profile.namespace(r, user) for r in ROLES})),
        "http": {scrub.text(k): scrub.data(v) for k, v in dict(recorder.http).items()},
        "notes": [scrub.text(n) for n in notes],
    }


def _student_key(settings: Settings) -> dict[str, Any] | None:
    """The stand-in of the key given with --api-key-env, so that 4.key-works regrades as it graded."""
    try:
        key = settings.student_api_key()
    except UsageError:
        return None
    return standin_record(key.reveal()) if key is not None else None


PROJECTS = "GET /apis/project.openshift.io/v1/projects"
GROUPS = "GET /apis/user.openshift.io/v1/groups"
ROLES = ("maas", "canopy", "test", "toolings", "shared")


def narrowed(kube: dict[str, Any], user: str, namespaces: set[str]) -> dict[str, Any]:
    """Class-wide answers cut down to what concerns this student (their projects, the groups they are in): the
    checks ask nothing else of them, and a student's bundle must not list their classmates."""
    out = dict(kube)
    projects = (out.get(PROJECTS) or {}).get("answer")
    if isinstance(projects, dict):
        items = [p for p in projects.get("items") or [] if (p.get("metadata") or {}).get("name") in namespaces]
        out[PROJECTS] = {"answer": {**projects, "items": items}}
    groups = (out.get(GROUPS) or {}).get("answer")
    if isinstance(groups, dict):
        mine = [{**g, "users": [user]} for g in groups.get("items") or [] if user in (g.get("users") or [])]
        out[GROUPS] = {"answer": {**groups, "items": mine}}
    return out


def write_bundle(path: Path, bundle: dict[str, Any]) -> None:
    """gzip-compressed JSON, written beside the target and renamed into place (never half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    payload = json.dumps(bundle, ensure_ascii=False, default=str, sort_keys=True).encode()
    with gzip.open(temporary, "wb", compresslevel=6) as stream:
        stream.write(payload)
    temporary.replace(path)


def load_bundle_data(path: Path) -> dict[str, Any]:
    try:
        with gzip.open(path, "rb") as stream:
            data = json.loads(stream.read())
    except FileNotFoundError:
        raise UsageError(f"no evidence bundle at {path}") from None
    except (OSError, EOFError, ValueError, UnicodeDecodeError):
        raise UsageError(f"{path} is not an evidence bundle (gzip-compressed JSON)") from None
    if not isinstance(data, dict):
        raise UsageError(f"{path} is not an evidence bundle")
    return data


def read_bundle(path: Path, profile: Profile) -> Bundle:
    """Load and validate a bundle; another schema version or another profile is a usage error (exit 2)."""
    data = load_bundle_data(path)
    if data.get("schema_version") != SCHEMA_VERSION:
        raise UsageError(f"{path}: evidence schema_version {data.get('schema_version')!r}, this maas-lab reads {SCHEMA_VERSION}")
    recorded = (data.get("profile") or {}).get("sha256")
    if recorded != profile_hash(profile):
        name = (data.get("profile") or {}).get("name")
        raise UsageError(f"{path}: captured with another profile ({name}, hash {str(recorded)[:12]}); pass --profile with that one")
    try:
        target, options = data["target"], data.get("options") or {}
        return Bundle(
            user=str(target["user"]),
            cluster_domain=target.get("cluster_domain"),
            captured_at=datetime.fromisoformat(str(data["captured_at"])),
            lessons=[int(n) for n in data.get("lessons") or []],
            on_behalf=bool(options.get("on_behalf")),
            litemaas_url=options.get("litemaas_url"),
            litellm_url=options.get("litellm_url"),
            notes=[str(n) for n in data.get("notes") or []],
            student_key=str((options.get("student_key") or {}).get("text") or "") or None,
            source=BundleSource(dict(data.get("kube") or {}), dict(data.get("http") or {}), server=str(data.get("server") or "")),
        )
    except (KeyError, TypeError, ValueError):
        raise UsageError(f"{path}: the evidence bundle is incomplete (target, captured_at)") from None
