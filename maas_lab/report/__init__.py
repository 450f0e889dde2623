"""Reporters: pure functions from a Report to text, one module a format."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from maas_lab.engine.model import Report

FORMATS = ("table", "json", "junit", "gradescope", "markdown")


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
