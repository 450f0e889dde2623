"""Find the LiteMaaS install in a namespace (Helm release or Kustomize) and name its objects."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

INSTANCE = "app.kubernetes.io/instance"
PART_OF = "app.kubernetes.io/part-of"
COMPONENT = "app.kubernetes.io/component"
DEFAULT_RELEASE = "litemaas"


@dataclass(frozen=True)
class Install:
    recipe: Literal["helm", "kustomize"]
    release: str
    frontend: str
    backend: str
    litellm: str
    postgres: str
    frontend_route: str
    litellm_route: str
    backend_secret: str
    litellm_secret: str
    postgres_secret: str
    service_account: str | None
    note: str | None = None

    @property
    def label(self) -> str:
        return f"Helm release {self.release}" if self.recipe == "helm" else "Kustomize install"


def helm_install(release: str, frontend_name: str | None = None) -> Install:
    fullname = frontend_name or (release if "litemaas" in release else f"{release}-litemaas")
    return Install(
        recipe="helm",
        release=release,
        frontend=fullname,
        backend=f"{fullname}-backend",
        litellm=f"{fullname}-litellm",
        postgres=f"{fullname}-postgresql",
        frontend_route=fullname,
        litellm_route=f"{fullname}-litellm",
        backend_secret=f"{fullname}-backend",
        litellm_secret=f"{fullname}-litellm",
        postgres_secret=f"{fullname}-postgresql",
        service_account=fullname,
    )


KUSTOMIZE = Install(
    recipe="kustomize",
    release="kustomize",
    frontend="frontend",
    backend="backend",
    litellm="litellm",
    postgres="postgres",
    frontend_route="litemaas",
    litellm_route="litellm",
    backend_secret="backend-secret",
    litellm_secret="litellm-secret",
    postgres_secret="postgres-secret",
    service_account=None,
)


def _labels(obj: dict[str, Any]) -> dict[str, str]:
    return (obj.get("metadata") or {}).get("labels") or {}


def find_install(deployments: list[dict[str, Any]], statefulsets: list[dict[str, Any]]) -> Install | None:
    """The install to grade: the Helm release named `litemaas`, else the first by name; else Kustomize."""
    releases: dict[str, str | None] = {}
    for obj in deployments + statefulsets:
        labels = _labels(obj)
        if labels.get(PART_OF) == "litemaas" and labels.get(INSTANCE):
            release = labels[INSTANCE]
            releases.setdefault(release, None)
            if labels.get(COMPONENT) == "web":
                releases[release] = obj["metadata"]["name"]
    names = {obj["metadata"]["name"] for obj in deployments}
    has_kustomize = {"backend", "litellm"} <= names and any(
        _labels(d).get("app") == "backend" for d in deployments if d["metadata"]["name"] == "backend"
    )
    candidates = sorted(releases)
    if not candidates and not has_kustomize:
        return None
    if candidates:
        chosen = DEFAULT_RELEASE if DEFAULT_RELEASE in candidates else candidates[0]
        install = helm_install(chosen, releases[chosen])
        others = [c for c in candidates if c != chosen] + (["a Kustomize install"] if has_kustomize else [])
    else:
        install, others = KUSTOMIZE, []
    if others:
        note = f"several LiteMaaS installs found; grading the {install.label} (also present: {', '.join(others)})"
        install = Install(**{**install.__dict__, "note": note})
    return install
