"""Grade a class against the loopback fakes, the way an instructor would (cluster-admin credential, on behalf of
each student), with every Kubernetes API request delayed like a remote API server. Prints figures, asserts none.

    python -m benchmarks.bench_cohort [--sizes 50,200,1000] [--lessons 2] [--delay 0.02] [--baseline-sample 10]

Cohorts are 80 % complete, 10 % broken, 10 % missing (nothing installed). The fakes run in their own process,
and each grading run in a fresh one, so the peak RSS is the grader's alone. Where `kubectl` is on PATH, the
one-`kubectl get`-per-check baseline runs on a sample of the same cohort and is scaled to the class.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import platform
import resource
import shutil
import subprocess
import tempfile
import time
from collections import Counter
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

# One `kubectl get` a lesson-2 check, as lab scripts do it (the HTTP checks read the Route first).
BASELINE_LESSON_2 = (
    ("get", "namespace", "{ns}"),
    ("get", "secrets", "-n", "{ns}"),
    ("get", "secrets", "-n", "{ns}"),
    ("get", "statefulsets,persistentvolumeclaims", "-n", "{ns}"),
    ("get", "deployments,pods", "-n", "{ns}"),
    ("get", "deployments,pods", "-n", "{ns}"),
    ("get", "deployments,pods", "-n", "{ns}"),
    ("get", "routes", "-n", "{ns}"),
    ("get", "routes", "-n", "{ns}"),
    ("get", "routes", "-n", "{ns}"),
    ("get", "serviceaccounts,routes", "-n", "{ns}"),
    ("get", "secrets", "-n", "{ns}"),
)


def students(size: int) -> dict[str, str]:
    """80 % complete, 10 % broken, 10 % missing, interleaved."""
    return {f"student{n:04d}": ("broken" if n % 10 == 3 else "empty" if n % 10 == 7 else "complete") for n in range(size)}


def kind_of(path: str) -> str:
    parts = [p for p in path.split("/") if p]
    if parts and parts[-1].endswith("accessreviews"):
        return parts[-1]
    if "namespaces" in parts and parts.index("namespaces") + 2 < len(parts):
        return parts[parts.index("namespaces") + 2]
    if len(parts) >= 4 and parts[0] == "apis":
        return parts[3]
    if len(parts) >= 3 and parts[0] == "api":
        return parts[2]
    return "/" + "/".join(parts)


def serve_fakes(size: int, delay: float, workdir: str, pipe: Connection) -> None:
    """The fake OpenShift, LiteMaaS and LiteLLM for a cohort, until told to stop (runs in its own process)."""
    from tests.fakes.cohort import CohortLiteLLM, CohortLiteMaaS, build_cohort
    from tests.fakes.kube_api import FakeOpenShift, add_standard_users
    from tests.fixtures.cluster import DOMAIN

    cohort = build_cohort(students(size))
    with FakeOpenShift(domain=DOMAIN) as openshift, CohortLiteMaaS() as litemaas, CohortLiteLLM() as litellm:
        add_standard_users(openshift)
        openshift.load(cohort.objects)
        litemaas.states, litellm.states = cohort.litemaas, cohort.litellm
        openshift.inject(r".*", delay=delay)  # a remote API server: every request waits
        kubeconfig = openshift.write_kubeconfig(Path(workdir) / "admin", token="tok-admin")
        pipe.send({"kubeconfig": str(kubeconfig), "litemaas": litemaas.url, "litellm": litellm.url, "objects": len(cohort.objects)})
        while True:
            command = pipe.recv()
            if command == "clear":
                for fake in (openshift, litemaas, litellm):
                    fake.clear_log()
                pipe.send(None)
            elif command == "counts":
                kube = Counter(kind_of(r.path) for r in openshift.request_log)
                pipe.send({"kube": dict(kube), "http": len(litemaas.request_log) + len(litellm.request_log)})
            else:
                pipe.send(None)
                return


def grade_class(size: int, lessons: list[int], jobs: int, fakes: dict[str, Any], out: str, pipe: Connection) -> None:
    """One grading run in a fresh process: wall time and peak RSS of the grader alone."""
    from maas_lab.roster import Options, RosterRow, grade_roster
    from maas_lab.settings import Settings
    from tests.fakes.cohort import HostTransport

    rows = [RosterRow(user) for user in students(size)]
    base = Settings(kubeconfig=fakes["kubeconfig"])
    transport = HostTransport(fakes["litemaas"], fakes["litellm"])
    started = time.perf_counter()
    book = grade_roster(base, rows, lessons, Path(out), options=Options(jobs=jobs, transport=transport))
    wall = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    pipe.send({"wall": wall, "rss_mb": peak, "tally": book.tally()})


def kubectl_baseline(kubeconfig: str, size: int, sample: int, workdir: str) -> tuple[float, int] | None:
    """Seconds for `sample` students, one `kubectl get` a check; None without kubectl."""
    kubectl = shutil.which("kubectl")
    if kubectl is None or sample <= 0:
        return None
    env = {**os.environ, "KUBECONFIG": kubeconfig, "HOME": workdir}
    names = list(students(size))[:sample]
    started = time.perf_counter()
    calls = 0
    for user in names:
        for command in BASELINE_LESSON_2:
            args = [a.format(ns=f"{user}-maas") for a in command]
            subprocess.run([kubectl, *args, "-o", "json", "--cache-dir", f"{workdir}/kubecache"], env=env, capture_output=True, check=False)
            calls += 1
    return time.perf_counter() - started, calls


def bench(size: int, args: argparse.Namespace, context: Any) -> None:
    with tempfile.TemporaryDirectory() as workdir:
        ours, theirs = context.Pipe()
        server = context.Process(target=serve_fakes, args=(size, args.delay, workdir, theirs), daemon=True)
        started = time.perf_counter()
        server.start()
        fakes = ours.recv()
        setup = time.perf_counter() - started
        ours.send("clear")
        ours.recv()
        mine, child = context.Pipe()
        grader = context.Process(target=grade_class, args=(size, args.lessons, args.jobs, fakes, f"{workdir}/grades", child))
        grader.start()
        result = mine.recv()
        grader.join()
        ours.send("counts")
        counts = ours.recv()
        kube_total = sum(counts["kube"].values())
        by_kind = ", ".join(f"{k} {n}" for k, n in sorted(counts["kube"].items(), key=lambda kv: (-kv[1], kv[0])))
        print(f"\n{size} students, lessons {','.join(map(str, args.lessons))}, --jobs {args.jobs} "
              f"({fakes['objects']} objects on the API server, set up in {setup:.1f} s)")
        print(f"  wall {result['wall']:.2f} s ({result['wall'] / size * 1000:.1f} ms a student), peak RSS {result['rss_mb']:.0f} MB")
        print(f"  outcomes {result['tally']}")
        print(f"  Kubernetes requests {kube_total} ({kube_total / size:.2f} a student): {by_kind}")
        print(f"  HTTP requests (LiteMaaS + LiteLLM) {counts['http']}")
        baseline = kubectl_baseline(fakes["kubeconfig"], size, args.baseline_sample if args.lessons == [2] else 0, workdir)
        if baseline is not None:
            seconds, calls = baseline
            scaled = seconds / args.baseline_sample * size
            print(f"  baseline, one kubectl get a check: {seconds:.1f} s for {args.baseline_sample} students ({calls} calls) "
                  f"→ {scaled:.0f} s for {size}; maas-lab is {scaled / result['wall']:.0f}× faster")
        ours.send("stop")
        ours.recv()
        server.join(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="50,200,1000")
    parser.add_argument("--lessons", default="2")
    parser.add_argument("--jobs", type=int, default=8)
    parser.add_argument("--delay", type=float, default=0.02, help="seconds added to every Kubernetes API request")
    parser.add_argument("--baseline-sample", type=int, default=10, help="students the kubectl baseline is timed on")
    args = parser.parse_args()
    args.lessons = [int(n) for n in args.lessons.split(",")]
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPU(s), Python {platform.python_version()}, "
          f"{platform.system()} {platform.release()}; API delay {args.delay * 1000:.0f} ms a request")
    context = mp.get_context("spawn")
    for size in (int(n) for n in args.sizes.split(",")):
        bench(size, args, context)


if __name__ == "__main__":
    main()
