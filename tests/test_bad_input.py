"""Bad input of every family: one clear line on stderr and the documented exit code, never a traceback.

The first half pins the cases the issue names; the second half is property-based (hypothesis): rosters,
profiles, kubeconfigs, URLs and cluster domains of any shape. Example counts are small and derandomized, so
a run is quick and the same on every machine.
"""

from __future__ import annotations

import json
import os
import tempfile
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner, Result

from maas_lab.cli import app
from maas_lab.errors import MaasLabError, ProfileError, UsageError
from maas_lab.evidence.kube import KubeClient
from maas_lab.profile import load_profile
from maas_lab.report.json_ import load_schema
from maas_lab.roster import read_roster
from tests.fakes.kube_api import FakeOpenShift
from tests.lab import Lab

EXIT_CODES = {0, 1, 2, 3}
AI501 = yaml.safe_load(resources.files("maas_lab.profiles").joinpath("ai501.yaml").read_text("utf-8"))
PROPERTY = settings(
    max_examples=30,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def cli(*args: str | Path, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(app, [str(a) for a in args], env=env)


def assert_clean(result: Result, codes: set[int] = EXIT_CODES) -> list[str]:
    """The documented exit code, no traceback, and when it failed, one `error:` line (and at most a hint)."""
    assert result.exit_code in codes, f"exit {result.exit_code}: {result.stderr}"
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.stdout + result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error:")]
    if result.exit_code == 2:
        assert len(errors) == 1, lines
        others = [line for line in lines if not line.startswith(("error:", "hint:", "warning:"))]
        assert others == [], lines
    return lines


def one_line(error: MaasLabError) -> None:
    assert "\n" not in str(error) and str(error).strip()


# -- profiles: the cases the issue names ----------------------------------------------------------------------


def _profile(tmp_path: Path, points: dict[str, Any]) -> Path:
    path = tmp_path / "profile.yaml"
    path.write_text(yaml.safe_dump({**AI501, "name": "custom", "points": points}))
    return path


def test_points_that_are_not_numbers_give_a_could_not_grade_report(lab: Lab, tmp_path: Path) -> None:
    profile = _profile(tmp_path, {"required": 2, "bonus": 1, "2.routes": "lots"})
    result = cli("check", "2", "--kubeconfig", lab.kubeconfig, "--profile", profile, "--format", "json")
    assert_clean(result, {3})
    data = json.loads(result.stdout)
    jsonschema.validate(data, load_schema())
    assert data["outcome"] == "could_not_grade"
    checks = [c for lesson in data["lessons"] for c in lesson["checks"]]
    assert {c["status"] for c in checks} == {"error"}
    assert all("points for 2.routes must be a number" in c["message"] for c in checks)


@pytest.mark.parametrize("value", [-1, True, ".inf", None, [3]])
def test_points_out_of_range_are_refused(tmp_path: Path, value: Any) -> None:
    profile = _profile(tmp_path, {"2.routes": float("inf") if value == ".inf" else value})
    with pytest.raises(ProfileError, match=r"points for 2\.routes must be a number") as failure:
        load_profile(str(profile))
    one_line(failure.value)


def test_point_keys_that_name_no_check_are_refused_with_the_closest_ids(tmp_path: Path) -> None:
    profile = _profile(tmp_path, {"2.route": 3, "3.pricing": 4, "9.nothing-like-it": 1})
    with pytest.raises(ProfileError) as failure:
        load_profile(str(profile))
    message = str(failure.value)
    assert "unknown check id(s) 2.route, 9.nothing-like-it" in message
    assert "closest check ids:" in message and "2.routes" in message
    one_line(failure.value)
    result = cli("list", "--profile", profile)
    assert_clean(result, {3})
    assert "2.route" in result.stderr and "2.routes" in result.stderr


def test_points_for_real_check_ids_are_used(tmp_path: Path) -> None:
    profile = load_profile(str(_profile(tmp_path, {"2.routes": 5})))
    assert profile.points.for_check("2.routes", required=True) == 5


def test_a_profile_that_is_not_utf8_is_invalid_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "profile.yaml"
    path.write_bytes(b"name: \xff\xfe\n")
    with pytest.raises(ProfileError, match="not UTF-8"):
        load_profile(str(path))
    assert_clean(cli("list", "--profile", path), {3})


# -- kubeconfigs: the cases the issue names -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"just-a-string\n", "it is a YAML string"),
        (b"- a\n- b\n", "it is a YAML list"),
        (b"\x7fELF\x02\x01\x01\x00\x00\x00", "binary file"),
        (b"clusters: \xff\xfe\n", "not UTF-8"),
        (b"", "it is empty"),
        (b"clusters: 5\n", "`clusters` must be a list"),
        (b"users: [oops]\n", "`users` must be a list"),
        (b"contexts: [{name: x, context: nope}]\n", "`contexts` must be a list"),
        (b"current-context: [1]\n", "`current-context` must be a name"),
        (b"key: [unclosed\n", "not valid YAML"),
    ],
)
def test_a_kubeconfig_of_the_wrong_shape_is_one_usage_line(tmp_path: Path, content: bytes, words: str) -> None:
    config = tmp_path / "config"
    config.write_bytes(content)
    result = cli("check", "1", "--kubeconfig", config)
    lines = assert_clean(result, {2})
    assert lines[0].startswith(f"error: --kubeconfig {config}") and words in lines[0], lines
    assert "TypeError" not in result.stderr and "UnicodeDecodeError" not in result.stderr


def test_a_bad_kubeconfig_from_the_environment_blames_kubeconfig(tmp_path: Path, kubeconfig: Path) -> None:
    bad = tmp_path / "bad"
    bad.write_bytes(b"- not\n- a kubeconfig\n")
    joined = os.pathsep.join([str(kubeconfig), str(bad)])
    result = cli("check", "1", env={"KUBECONFIG": joined})
    lines = assert_clean(result, {2})
    assert lines[0].startswith(f"error: KUBECONFIG ({kubeconfig}, {bad}): {bad} is not a kubeconfig"), lines
    assert "--kubeconfig" not in lines[0]


def test_kubeconfig_naming_no_existing_file_blames_kubeconfig(tmp_path: Path) -> None:
    missing = [tmp_path / "a", tmp_path / "b"]
    result = cli("check", "1", env={"KUBECONFIG": os.pathsep.join(map(str, missing))})
    lines = assert_clean(result, {2})
    assert lines[0] == f"error: KUBECONFIG ({missing[0]}, {missing[1]}): no such file"


def _split_kubeconfig(openshift: FakeOpenShift, directory: Path) -> tuple[Path, Path]:
    """The fake's kubeconfig in two files, as `oc login` to two clusters leaves them: neither works alone."""
    whole = yaml.safe_load(openshift.write_kubeconfig(directory / "whole", token="tok-user1").read_text())
    first = directory / "clusters-and-users"
    first.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "Config", "clusters": whole["clusters"], "users": whole["users"]}))
    second = directory / "contexts"
    second.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "contexts": [*whole["contexts"], {"name": "elsewhere", "context": {"cluster": "nowhere", "user": "nobody"}}],
                "clusters": [{"name": "nowhere", "cluster": {"server": "https://127.0.0.1:9"}}],
                "users": [{"name": "nobody", "user": {"token": "x"}}],
                "current-context": whole["current-context"],
            }
        )
    )
    return first, second


def test_kubeconfig_with_several_files_is_merged_like_kubectl(
    openshift: FakeOpenShift, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = _split_kubeconfig(openshift, tmp_path)
    monkeypatch.setenv("KUBECONFIG", os.pathsep.join([str(first), str(second)]))
    kube = KubeClient.from_kubeconfig(None, None)
    try:
        assert kube.server == openshift.url
        assert kube.get("/apis/user.openshift.io/v1/users/~")["metadata"]["name"] == "user1"
    finally:
        kube.close()


def test_the_first_file_to_set_the_current_context_wins(openshift: FakeOpenShift, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = _split_kubeconfig(openshift, tmp_path)
    elsewhere = yaml.safe_load(second.read_text())
    elsewhere["current-context"] = "elsewhere"
    third = tmp_path / "third"
    third.write_text(yaml.safe_dump(elsewhere))
    monkeypatch.setenv("KUBECONFIG", os.pathsep.join([str(first), str(second), str(third)]))
    kube = KubeClient.from_kubeconfig(None, None)
    kube.close()
    assert kube.server == openshift.url  # kubectl: the first value wins; the loader alone would take "elsewhere"


def test_a_merged_kubeconfig_grades_through_the_cli(lab: Lab, tmp_path: Path) -> None:
    first, second = _split_kubeconfig(lab.openshift, tmp_path)
    env = {"KUBECONFIG": os.pathsep.join([str(first), str(second)])}
    result = cli("check", "1", "--litemaas-url", lab.litemaas.url, "--litellm-url", lab.litellm.url, "--format", "json", env=env)
    assert_clean(result, {0})
    assert json.loads(result.stdout)["target"]["user"] == "user1"


# -- property-based ------------------------------------------------------------------------------------------

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-10, 10**6), st.floats(allow_nan=True), st.text(max_size=12)
)
yaml_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)


def _dump(value: Any) -> str:
    return yaml.safe_dump(value, allow_unicode=True)


def _temp_file(suffix: str, content: bytes) -> Path:
    handle, name = tempfile.mkstemp(suffix=suffix)
    os.write(handle, content)
    os.close(handle)
    return Path(name)


@st.composite
def mutated(draw: st.DrawFn, base: dict[str, Any]) -> dict[str, Any]:
    """`base` with one value (two levels deep at most) replaced by anything, or a key dropped."""
    data = json.loads(json.dumps(base))
    key = draw(st.sampled_from(sorted(data)))
    inner = data[key]
    if isinstance(inner, dict) and inner and draw(st.booleans()):
        data = {**data, key: {**inner}}
        target = data[key]
        key = draw(st.sampled_from(sorted(target)))
    elif isinstance(inner, list) and inner and draw(st.booleans()):
        target = {index: item for index, item in enumerate(inner)}
        key = draw(st.sampled_from(sorted(target)))
        inner[key] = draw(yaml_values)
        return data
    else:
        target = data
    if draw(st.booleans()):
        target.pop(key, None)
    else:
        target[key] = draw(yaml_values)
    return data


@PROPERTY
@given(
    profile=st.one_of(
        yaml_values.map(_dump),
        mutated(AI501).map(_dump),
        st.dictionaries(st.text(max_size=12), scalars, max_size=3).map(lambda p: _dump({**AI501, "points": p})),
        st.binary(max_size=40).map(lambda b: b.decode("latin-1")),
    )
)
def test_any_profile_is_valid_or_one_error_line(profile: str) -> None:
    path = _temp_file(".yaml", profile.encode("utf-8", "surrogatepass"))
    try:
        try:
            load_profile(str(path))
        except (ProfileError, UsageError) as exc:
            one_line(exc)
        assert_clean(cli("list", "--profile", path), {0, 2, 3})
    finally:
        path.unlink()


def _kubeconfig_base() -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:9", "insecure-skip-tls-verify": True}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "x",
    }


@PROPERTY
@given(
    content=st.one_of(
        yaml_values.map(lambda v: _dump(v).encode()),
        mutated(_kubeconfig_base()).map(lambda v: _dump(v).encode()),
        st.binary(max_size=60),
    )
)
def test_any_kubeconfig_loads_or_is_one_usage_line(content: bytes) -> None:
    path = _temp_file("", content)
    try:
        try:
            KubeClient.from_kubeconfig(str(path), None).close()  # loading makes no request
        except UsageError as exc:
            one_line(exc)
            assert str(path) in str(exc)
            # the same file through the CLI: it stops at the same place, before any request
            lines = assert_clean(cli("check", "1", "--kubeconfig", path), {2})
            assert lines[0] == f"error: {exc}"
    finally:
        path.unlink()


@PROPERTY
@given(
    rows=st.one_of(
        st.lists(st.dictionaries(st.sampled_from(["user", "context", "kubeconfig", "cluster_domain", "other"]), scalars, max_size=4), max_size=4),
        yaml_values,
    ),
    as_csv=st.booleans(),
    raw=st.one_of(st.none(), st.text(max_size=80)),
)
def test_any_roster_reads_or_is_one_usage_line(rows: Any, as_csv: bool, raw: str | None) -> None:
    if raw is not None:
        text = raw
    elif as_csv and isinstance(rows, list) and all(isinstance(r, dict) for r in rows):
        columns = sorted({k for r in rows for k in r}) or ["user"]
        text = ",".join(columns) + "\n" + "".join(",".join(str(r.get(c, "")) for c in columns) + "\n" for r in rows)
    else:
        text = _dump(rows)
    path = _temp_file(".csv" if as_csv else ".yaml", text.encode("utf-8", "surrogatepass"))
    try:
        try:
            read = read_roster(path)
            assert read and all(row.user for row in read)
        except UsageError as exc:
            one_line(exc)
    finally:
        path.unlink()


urls = st.one_of(
    st.text(max_size=30),
    st.builds(lambda scheme, rest: scheme + rest, st.sampled_from(["http://", "https://", "ftp://", ""]), st.text(max_size=25)),
    st.sampled_from(["http://", "https://", "http://[::1", "https://:80", "http://host:99999", "https://exa mple.com"]),
)


@PROPERTY
@given(url=urls, option=st.sampled_from(["--litemaas-url", "--litellm-url"]))
def test_any_url_override_is_accepted_or_one_usage_line(url: str, option: str) -> None:
    if "\x00" in url:
        url = url.replace("\x00", "")
    missing = Path(tempfile.gettempdir()) / "maas-lab-no-such-kubeconfig"
    result = cli("check", "2", f"{option}={url}", "--kubeconfig", missing)
    lines = assert_clean(result, {2})
    # either the URL was refused, or it passed and the (missing) kubeconfig stopped the run before any request
    assert option in lines[0] or "--kubeconfig" in lines[0], lines


domains = st.one_of(
    st.text(max_size=30),
    st.from_regex(r"(apps\.)?[a-z0-9]{1,8}(\.[a-z0-9]{1,8}){0,3}", fullmatch=True),
    st.sampled_from(["apps.example.com", "example.com", "APPS.example.com", "https://apps.example.com", "apps..x", "-x.com"]),
)


@PROPERTY
@given(domain=domains)
def test_any_cluster_domain_is_accepted_warned_or_one_usage_line(domain: str) -> None:
    domain = domain.replace("\x00", "")
    missing = Path(tempfile.gettempdir()) / "maas-lab-no-such-kubeconfig"
    result = cli("check", "2", f"--cluster-domain={domain}", "--kubeconfig", missing)
    lines = assert_clean(result, {2})
    warnings = [line for line in lines if line.startswith("warning:")]
    if "--kubeconfig" in lines[-1]:  # the domain was accepted
        assert len(warnings) == (0 if domain.lower().startswith("apps.") else 1), lines
        assert all("does not start with `apps.`" in w for w in warnings)
    else:
        assert warnings == [] and "--cluster-domain" in lines[-1]


def test_a_domain_without_apps_is_accepted_with_one_warning_line(lab: Lab) -> None:
    result = cli(
        "check", "1", "--kubeconfig", lab.kubeconfig, "--cluster-domain", "example.com", "--format", "json",
        "--litemaas-url", lab.litemaas.url, "--litellm-url", lab.litellm.url,
    )
    assert_clean(result, {0, 1})
    assert [line for line in result.stderr.splitlines() if line.startswith("warning:")] == [
        "warning: --cluster-domain example.com does not start with `apps.`; Route hosts are <name>-<namespace>.example.com"
        " (the apps domain usually is apps.example.com)"
    ]
    assert json.loads(result.stdout)["target"]["cluster_domain"] == "example.com"


@pytest.mark.parametrize(
    ("suffix", "text"),
    [(".yaml", '- {user: a, "x\\ny": 1}\n'), (".csv", 'user,"a\nb"\nx,1\n'), (".yaml", '- {user: "a\\nb"}\n')],
)
def test_roster_names_with_newlines_stay_on_one_line(suffix: str, text: str) -> None:
    path = _temp_file(suffix, text.encode())
    try:
        with pytest.raises(UsageError) as failure:
            read_roster(path)
        one_line(failure.value)
    finally:
        path.unlink()
