"""Evidence bundles: every fixture world regraded from its bundle gives the live report, and no bundle holds a secret."""

from __future__ import annotations

import base64
import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from maas_lab.engine.model import Report
from maas_lab.errors import UsageError
from maas_lab.evidence.sensitive import Sensitive, fingerprint_of, standin_of
from maas_lab.grading import grade, grade_bundle
from maas_lab.settings import Settings
from tests.fixtures.omissions import OMISSIONS
from tests.fixtures.world import World
from tests.lab import Lab, RouteTransport
from tests.test_no_secrets import CLUSTER_TOKENS

KEY_VARIABLE = "MAAS_LAB_TEST_STUDENT_KEY"


def outcome_of(report: Report) -> list[tuple[str, str, str, str | None, float]]:
    return [(r.check.id, r.status.value, r.message, r.hint, r.points) for r in report.results]


def planted(world: World) -> dict[str, str]:
    values = {**world.secrets, **CLUSTER_TOKENS}
    found = dict(values)
    found.update({f"{k} (base64)": base64.b64encode(v.encode()).decode().rstrip("=") for k, v in values.items()})
    return found


def live_and_regraded(lab: Lab, bundle: Path, lessons: list[int]) -> tuple[Report, Report]:
    live = grade(lab.settings(), lessons, transport=RouteTransport(lab.routes()), evidence=bundle.parent)
    regraded = grade_bundle(bundle, Settings(), None)
    return live, regraded


def assert_no_secret_in(bundle: Path, world: World) -> None:
    text = gzip.decompress(bundle.read_bytes()).decode()
    for name, value in planted(world).items():
        assert value not in text, f"{name} appears in {bundle.name}"


@pytest.mark.parametrize("check_id", ["reference", *sorted(OMISSIONS)])
def test_regrade_from_evidence_equals_the_live_grade(lab: Lab, world: World, tmp_path: Path, check_id: str) -> None:
    if check_id != "reference":
        OMISSIONS[check_id](world)
        lab.load(world)
    bundle = tmp_path / "user1.json.gz"
    live, regraded = live_and_regraded(lab, bundle, [1, 2, 3, 4, 5])
    assert outcome_of(regraded) == outcome_of(live)
    assert (regraded.outcome, regraded.score, regraded.max_score) == (live.outcome, live.score, live.max_score)
    assert_no_secret_in(bundle, world)


def test_check_saves_evidence_and_regrades_it_with_the_student_key(lab: Lab, world: World, tmp_path: Path) -> None:
    """`check … --api-key-env VAR --save-evidence DIR`, then `check … --from-evidence DIR/user1.json.gz`: the same report."""
    from typer.testing import CliRunner

    from maas_lab.cli import app

    key = world.secrets["key:canopy-experiments"]
    args = ["--kubeconfig", str(lab.kubeconfig), "--litemaas-url", lab.litemaas.url, "--litellm-url", lab.litellm.url]
    live = CliRunner().invoke(app, ["check", "all", *args, "--api-key-env", KEY_VARIABLE, "--format", "json",
                                    "--save-evidence", str(tmp_path)], env={KEY_VARIABLE: key})
    assert live.exit_code == 0, live.stderr
    bundle = tmp_path / "user1.json.gz"
    assert_no_secret_in(bundle, world)
    again = CliRunner().invoke(app, ["check", "all", "--from-evidence", str(bundle), "--format", "json"])
    assert again.exit_code == 0, again.stderr

    def checks(text: str) -> list[tuple[str, str, str, float]]:
        report = json.loads(text)
        return [(c["id"], c["status"], c["message"], c["points"]) for lesson in report["lessons"] for c in lesson["checks"]]

    assert checks(again.stdout) == checks(live.stdout)
    assert ("4.key-works", "pass") in [(i, s) for i, s, _m, _p in checks(again.stdout)]


def test_a_bundle_holds_stand_ins_that_compare_by_hash(lab: Lab, world: World, tmp_path: Path) -> None:
    bundle = tmp_path / "user1.json.gz"
    grade(lab.settings(), [2], transport=RouteTransport(lab.routes()), evidence=bundle.parent)
    data: dict[str, Any] = json.loads(gzip.decompress(bundle.read_bytes()))
    assert data["schema_version"] == 1 and data["target"]["user"] == "user1" and data["lessons"] == [2]
    secrets = next(v for k, v in data["kube"].items() if k.endswith("/user1-maas/secrets"))["items"]
    backend = next(s for s in secrets if s["metadata"]["name"] == "litemaas-backend")
    master = world.secrets["master-key"]
    record = backend["data"]["litellm-api-key"]
    assert record["sha256"] == Sensitive(master).sha256 and record["length"] == len(master) and record["prefix"] == master[:7]
    stand_in = Sensitive(record["text"])
    assert stand_in == Sensitive(standin_of(master)) and stand_in.sha256 == Sensitive(master).sha256
    assert stand_in.fingerprint == fingerprint_of(master)
    admin = backend["data"]["admin-api-keys"]
    assert admin["prefix"] == "ltm_admin_" and admin["text"].startswith("ltm_admin_")


def test_a_bundle_of_another_profile_or_schema_is_refused(lab: Lab, tmp_path: Path) -> None:
    bundle = tmp_path / "user1.json.gz"
    grade(lab.settings(), [1], transport=RouteTransport(lab.routes()), evidence=bundle.parent)
    data = json.loads(gzip.decompress(bundle.read_bytes()))
    for change, reason in ((("schema_version", 2), "schema_version 2"), (("profile", {"name": "x", "sha256": "0" * 64}), "another profile")):
        altered = tmp_path / "altered.json.gz"
        altered.write_bytes(gzip.compress(json.dumps({**data, change[0]: change[1]}).encode()))
        with pytest.raises(UsageError, match=reason):
            grade_bundle(altered, Settings(), None)
    not_gzip = tmp_path / "plain.json.gz"
    not_gzip.write_text("{}")
    with pytest.raises(UsageError, match="not an evidence bundle"):
        grade_bundle(not_gzip, Settings(), None)


def test_a_question_the_bundle_cannot_answer_is_an_error_not_a_fetch(lab: Lab, tmp_path: Path) -> None:
    bundle = tmp_path / "user1.json.gz"
    grade(lab.settings(), [1], transport=RouteTransport(lab.routes()), evidence=bundle.parent)
    lab.openshift.clear_log()
    report = grade_bundle(bundle, Settings(), [2])  # lesson 2 was never read live
    assert not lab.openshift.request_log
    assert any(r.status.value == "error" and "no answer" in r.message for r in report.results)
