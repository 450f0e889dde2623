"""The lab profile: namespaces, expected models, names and values the lessons use (validated by pydantic)."""

from __future__ import annotations

import difflib
from importlib import resources
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from maas_lab.errors import ProfileError, UsageError

BUILTIN_PROFILES = ("ai501",)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Namespaces(_Strict):
    maas: str = "{user}-maas"
    canopy: str = "{user}-canopy"
    test: str = "{user}-test"
    toolings: str = "{user}-toolings"
    shared: str = "ai501"

    @field_validator("maas", "canopy", "test", "toolings")
    @classmethod
    def _has_user(cls, value: str) -> str:
        if "{user}" not in value:
            raise ValueError("must contain {user}")
        return value


class SharedModel(_Strict):
    isvc: str
    served_name: str


class LiteMaaSModel(_Strict):
    name: str
    api_base: str
    backend_name: str
    input_per_million: float = Field(ge=0)
    output_per_million: float = Field(ge=0)
    restricted: bool = False


class UserBudget(_Strict):
    max_budget: float
    tpm: int
    rpm: int


class KeyBudget(_Strict):
    max_budget: float


class Budgets(_Strict):
    user: UserBudget
    key_defaults: KeyBudget
    key_maximums: KeyBudget


class KeySpec(_Strict):
    name: str
    models: list[str] = Field(min_length=1)
    max_budget: float | None = None


class Keys(_Strict):
    first: KeySpec
    multi: KeySpec
    canopy: KeySpec


class Canopy(_Strict):
    model: str
    features: list[str] = Field(min_length=1)


class GitOps(_Strict):
    secret: str
    key: str


class Points(BaseModel):
    """`required` and `bonus` per check; any other key is a check id with its own points (a number ≥ 0)."""

    model_config = ConfigDict(extra="allow", frozen=True)
    required: float = Field(default=2, ge=0)
    bonus: float = Field(default=1, ge=0)

    @model_validator(mode="after")
    def _per_check(self) -> Points:
        extra = self.model_extra or {}
        if not extra:
            return self
        from maas_lab.engine.registry import load_checks  # the checks import this module: load them lazily

        known = set(load_checks())
        unknown = sorted(str(key) for key in extra if key not in known)
        if unknown:
            guesses = sorted({g for key in unknown for g in difflib.get_close_matches(key, known, n=2, cutoff=0.6)})
            closest = f"; closest check ids: {', '.join(guesses)}" if guesses else ""
            raise ValueError(f"unknown check id(s) {', '.join(unknown)}{closest}")
        for key, value in extra.items():
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < float("inf"):
                raise ValueError(f"points for {key} must be a number ≥ 0, not {str(value)[:40]!r}")
        return self

    def for_check(self, check_id: str, *, required: bool) -> float:
        extra = self.model_extra or {}
        if check_id in extra:
            return float(extra[check_id])
        return self.required if required else self.bonus


class Profile(_Strict):
    name: str
    namespaces: Namespaces = Namespaces()
    shared_models: list[SharedModel]
    litemaas_models: list[LiteMaaSModel]
    budgets: Budgets
    keys: Keys
    canopy: Canopy
    gitops: GitOps
    points: Points = Points()

    def namespace(self, role: str, user: str) -> str:
        """The namespace for `role` (maas, canopy, test, toolings, shared) of `user`."""
        pattern: str = getattr(self.namespaces, role)
        return pattern.replace("{user}", user)

    def model(self, name: str) -> LiteMaaSModel | None:
        return next((m for m in self.litemaas_models if m.name == name), None)


def load_profile(name_or_path: str | None) -> Profile:
    """Load a built-in profile by name, or a YAML file by path.

    An unreadable path is a usage error (exit 2); a readable file that does not validate is exit 3.
    """
    name_or_path = name_or_path or "ai501"
    if name_or_path in BUILTIN_PROFILES:
        text = resources.files("maas_lab.profiles").joinpath(f"{name_or_path}.yaml").read_text("utf-8")
        source = f"built-in profile {name_or_path}"
    else:
        path = Path(name_or_path)
        try:
            text = path.read_text("utf-8")
        except UnicodeDecodeError:
            raise ProfileError(f"profile {path} is not UTF-8 text") from None
        except OSError as exc:
            raise UsageError(
                f"cannot read profile {name_or_path!r}: {exc.strerror or exc}; built-in profiles: {', '.join(BUILTIN_PROFILES)}"
            ) from None
        source = f"profile {path}"
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ProfileError(_one_line(f"{source} is not valid YAML: {_yaml_problem(exc)}")) from None
    if not isinstance(data, dict):
        raise ProfileError(f"{source} must be a YAML mapping")
    try:
        return Profile.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(top)'}: {err['msg']}" for err in exc.errors()[:8]
        )
        raise ProfileError(_one_line(f"{source} does not validate: {problems}")) from None


def _yaml_problem(error: yaml.YAMLError) -> str:
    """PyYAML's message spans lines (it quotes the text); keep the problem and where it is."""
    problem = getattr(error, "problem", None) or type(error).__name__
    mark = getattr(error, "problem_mark", None)
    return f"{problem} (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else str(problem)


def _one_line(message: str) -> str:
    """Error messages are one line on stderr, whatever names or values the file held."""
    return " ".join(message.split())
