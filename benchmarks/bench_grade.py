"""Timings of a full run against the loopback fakes: one student (`check all`), and a cohort through `grade`.

Prints figures; asserts nothing (machines are shared and noisy). Run from the repository root:

    python -m benchmarks.bench_grade [--students 50] [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from maas_lab.roster import Options, RosterRow, grade_roster
from tests.fakes.kube_api import FakeOpenShift, add_standard_users
from tests.fakes.litellm import FakeLiteLLM
from tests.fakes.litemaas import FakeLiteMaaS
from tests.fixtures.cluster import DOMAIN
from tests.fixtures.world import reference_world
from tests.lab import Lab


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--students", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--jobs", type=int, default=4)
    args = parser.parse_args()
    world = reference_world()
    with (
        tempfile.TemporaryDirectory() as tmp,
        FakeOpenShift(domain=DOMAIN) as openshift,
        FakeLiteMaaS() as litemaas,
        FakeLiteLLM() as litellm,
    ):
        add_standard_users(openshift)
        openshift.start()
        kubeconfig = Path(openshift.write_kubeconfig(Path(tmp) / "config", token="tok-user1"))
        lab = Lab(openshift, litemaas, litellm, kubeconfig)
        lab.load(world)
        timings = []
        for _ in range(args.repeat):
            for fake in (openshift, litemaas, litellm):
                fake.clear_log()
            started = time.perf_counter()
            report = lab.grade()
            timings.append(time.perf_counter() - started)
        requests = {name: len(fake.request_log) for name, fake in (("kube", openshift), ("litemaas", litemaas), ("litellm", litellm))}
        print(f"check all, one student ({len(report.results)} checks, outcome {report.outcome.value}):")
        print(f"  median {statistics.median(timings) * 1000:.0f} ms, min {min(timings) * 1000:.0f} ms over {args.repeat} runs")
        print(f"  requests per run: {requests} (total {sum(requests.values())})")

        admin = Path(openshift.write_kubeconfig(Path(tmp) / "admin", token="tok-admin"))
        base = lab.settings(kubeconfig=str(admin), litemaas_url=litemaas.url, litellm_url=litellm.url)
        rows = [RosterRow("user1") for _ in range(1)] + [RosterRow(f"student{i}") for i in range(args.students - 1)]
        started = time.perf_counter()
        book = grade_roster(base, rows, [1, 2, 3, 4, 5], Path(tmp) / "grades", options=Options(jobs=args.jobs))
        elapsed = time.perf_counter() - started
        print(f"grade, {len(rows)} roster rows, {args.jobs} at once: {elapsed:.2f} s ({elapsed / len(rows) * 1000:.0f} ms a student), "
              f"{len(book.reports)} reports written")


if __name__ == "__main__":
    main()
