"""House rules the code keeps: light imports for the checks, no `assert` in the product, the course outside the engine."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import maas_lab

PRODUCT = Path(maas_lab.__file__).parent
HEAVY = ("httpx", "kubernetes", "pydantic", "maas_lab.evidence.snapshot")


def test_loading_the_checks_imports_no_client_library() -> None:
    probe = (
        "import json, sys\n"
        "from maas_lab.engine.registry import load_checks\n"
        "checks = load_checks()\n"
        f"print(json.dumps({{'checks': len(checks), 'heavy': [m for m in {HEAVY!r} if m in sys.modules]}}))\n"
    )
    found = json.loads(subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True).stdout)
    assert found["checks"] > 30
    assert found["heavy"] == []


def test_no_assert_in_product_code() -> None:
    asserts = [
        f"{path.relative_to(PRODUCT.parent)}:{node.lineno}"
        for path in sorted(PRODUCT.rglob("*.py"))
        for node in ast.walk(ast.parse(path.read_text("utf-8")))
        if isinstance(node, ast.Assert)
    ]
    assert asserts == []


def test_the_engine_knows_nothing_of_the_course() -> None:
    words = ("LiteMaaS", "LiteLLM", "Canopy", "Llama", "ai501", "lessons/")
    engine = {path.name: path.read_text("utf-8") for path in (PRODUCT / "engine").glob("*.py")}
    mentions = {(name, word) for name, text in engine.items() for word in words if word.lower() in text.lower()}
    assert mentions == set()
