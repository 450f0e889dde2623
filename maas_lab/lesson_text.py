"""The lesson texts, shipped with the package, rendered in the terminal with the student's own names."""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

from maas_lab.engine.registry import LESSONS
from maas_lab.errors import UsageError

PLACEHOLDERS = ("<USER_NAME>", "<CLUSTER_DOMAIN>")


def lessons_dir() -> Path:
    """`maas_lab/_lessons` in an installed wheel; the repository's `lessons/` in a checkout."""
    packaged = Path(str(resources.files("maas_lab"))) / "_lessons"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / "lessons"


def lesson_path(number: int) -> Path:
    if number not in LESSONS:
        raise UsageError(f"unknown lesson {number}: choose 1-{max(LESSONS)}")
    path = lessons_dir() / Path(LESSONS[number].file).name
    if not path.is_file():
        raise UsageError(f"the text of lesson {number} is missing from this installation ({path.name})")
    return path


def fill(text: str, *, user: str | None, domain: str | None) -> str:
    if user:
        text = text.replace("<USER_NAME>", user)
    if domain:
        text = text.replace("<CLUSTER_DOMAIN>", domain)
    return text


_ANCHOR = re.compile(r'^\s*<a id="[^"]*"></a>\s*$', re.MULTILINE)
_SUMMARY = re.compile(r"<details>\s*<summary>(.*?)</summary>", re.DOTALL)
_OUTPUT = re.compile(r'<div class="highlight"[^>]*>\s*<pre><code[^>]*>(.*?)</code></pre>\s*</div>', re.DOTALL)
_TAGS = re.compile(r"</?(details|summary|p|b|br|div|pre|code)(\s[^>]*)?>")


def for_terminal(markdown: str) -> str:
    """Turn the docsify HTML bits (anchors, details, expected-output blocks) into plain Markdown."""
    text = _ANCHOR.sub("", markdown)
    text = _OUTPUT.sub(lambda m: "Expected output:\n\n```text\n" + m.group(1).strip("\n") + "\n```", text)
    text = _SUMMARY.sub(lambda m: f"\n**{m.group(1).strip()}**\n", text)
    return _TAGS.sub("", text)
