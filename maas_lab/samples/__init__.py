"""Evidence bundles of three sample students, made from the test worlds (tests/test_samples.py regenerates them).

`maas-lab demo [complete|half-done|broken]` grades one, so a report can be seen without a cluster.
"""

from __future__ import annotations

from pathlib import Path

from maas_lab.errors import UsageError

SAMPLES_DIR = Path(__file__).parent
SAMPLES = ("complete", "half-done", "broken")


def check_sample(name: str) -> str:
    if name not in SAMPLES:
        raise UsageError(f"unknown sample {name!r}: choose one of {', '.join(SAMPLES)}")
    return name


def sample_path(name: str) -> Path:
    return SAMPLES_DIR / f"{check_sample(name)}.json.gz"
