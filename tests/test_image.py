"""What the Containerfile installs: the wheel built from this tree carries the lessons and runs as `maas-lab`.

No container engine runs here, so the image itself is not built; the wheel it installs is, the same way
(`pip wheel --no-deps .`), and installed apart from this checkout.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import sysconfig
import time
import zipfile
from pathlib import Path

import pytest

from maas_lab import __version__

ROOT = Path(__file__).resolve().parent.parent
CONTAINERFILE = (ROOT / "Containerfile").read_text()
LESSON_FILES = sorted(str(p.relative_to(ROOT / "lessons")) for p in (ROOT / "lessons").rglob("*") if p.is_file() and "__pycache__" not in p.parts)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dist = tmp_path_factory.mktemp("dist")
    started = time.monotonic()
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(dist), str(ROOT)],
        check=True, capture_output=True, text=True, timeout=300,
    )
    print(f"wheel built in {time.monotonic() - started:.1f} s")
    (built,) = dist.glob("maas_lab-*.whl")
    return built


def test_wheel_ships_the_lessons(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    shipped = sorted(n.removeprefix("maas_lab/_lessons/") for n in names if n.startswith("maas_lab/_lessons/"))
    assert shipped == LESSON_FILES
    assert "maas_lab/profiles/ai501.yaml" in names
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert "maas-lab = maas_lab.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_installed_wheel_runs_apart_from_the_checkout(wheel: Path, tmp_path: Path) -> None:
    """Installed into a fresh prefix (its dependencies come from this environment), run from elsewhere."""
    prefix = tmp_path / "prefix"
    subprocess.run(
        # --ignore-installed: without it pip uninstalls the maas-lab of the environment running the tests
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-compile", "--ignore-installed",
         "--prefix", str(prefix), str(wheel)],
        check=True, capture_output=True, text=True, timeout=120,
    )
    site = Path(sysconfig.get_path("purelib", vars={"base": str(prefix), "platbase": str(prefix)}))
    env = {**os.environ, "PYTHONPATH": str(site), "HOME": str(tmp_path), "NO_COLOR": "1"}
    env.pop("KUBECONFIG", None)

    def maas_lab(*args: str) -> str:
        done = subprocess.run([str(prefix / "bin" / "maas-lab"), *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        return done.stdout

    assert maas_lab("--version").strip() == f"maas-lab {__version__}"
    where = subprocess.run(
        [sys.executable, "-c", "import maas_lab.lesson_text as t; print(t.lessons_dir())"],
        cwd=tmp_path, env=env, capture_output=True, text=True, check=True,
    ).stdout.strip()
    assert Path(where) == site / "maas_lab" / "_lessons"  # the packaged copy, not this checkout's lessons/
    assert "LiteMaaS" in maas_lab("lesson", "2")


def test_containerfile_runs_maas_lab_as_any_non_root_uid() -> None:
    stages = re.findall(r"^FROM (\S+)", CONTAINERFILE, re.MULTILINE)
    assert len(stages) == 2 and all(s.startswith("registry.access.redhat.com/ubi9/python-311:") for s in stages)
    assert re.search(r'^ENTRYPOINT \["maas-lab"\]$', CONTAINERFILE, re.MULTILINE)
    users = re.findall(r"^USER (\S+)$", CONTAINERFILE, re.MULTILINE)
    assert users[-1] == "1001"  # numeric, so runAsNonRoot can verify it; OpenShift replaces it with the project's UID
    assert "chmod -R g=u /opt/app-root" in CONTAINERFILE  # group 0, which every OpenShift UID has, may use it all
    assert re.search(r"^ENV HOME=/opt/app-root/src", CONTAINERFILE, re.MULTILINE)


def test_build_context_holds_what_the_containerfile_copies() -> None:
    """.dockerignore (podman reads it too) lets in exactly what the COPY lines name."""
    ignore = [line for line in (ROOT / ".dockerignore").read_text().splitlines() if line and not line.startswith("#")]
    assert ignore[0] == "*"
    allowed = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}
    copied = set()
    for sources in re.findall(r"^COPY (?:--chown=\S+ )(?!--from)(.+) \S+$", CONTAINERFILE, re.MULTILINE):
        copied |= {s.rstrip("/") for s in sources.split()}
    assert copied == allowed
    assert all((ROOT / name).exists() for name in copied)
