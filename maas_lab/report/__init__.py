"""Reporters: pure functions from a Report to text, one module a format."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from maas_lab.engine.model import Report

FORMATS = ("table", "json", "junit", "gradescope", "markdown")
DEFAULT_WIDTH = 100  # when the output is not a terminal (a pipe, a file, CI) and COLUMNS is unset


def terminal_width() -> int:
    """COLUMNS when set, else the terminal's width, else DEFAULT_WIDTH for a pipe or a file."""
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    if sys.stdout.isatty():
        return shutil.get_terminal_size((DEFAULT_WIDTH, 24)).columns
    return DEFAULT_WIDTH


def renderer(format_: str) -> Callable[..., str]:
    from maas_lab.report import gradescope, json_, junit, markdown, table

    return {
        "table": table.render_table,
        "json": json_.render_json,
        "junit": junit.render_junit,
        "gradescope": gradescope.render_gradescope,
        "markdown": markdown.render_markdown,
    }[format_]


def render(report: Report, format_: str, *, color: bool = False) -> str:
    if format_ == "table":
        return renderer("table")(report, color=color)
    return renderer(format_)(report)
