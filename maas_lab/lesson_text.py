"""The lesson texts, shipped with the package, shown in the terminal with the student's own names.

What a student copies must work when pasted, so the terminal rendering never reflows what is meant to be copied:
code blocks are written line for line (a long line overflows and the terminal soft-wraps it, which copies back as
one line), and a table too wide for the terminal is stacked (one block a row) rather than cut. Prose is the
small Markdown subset the lessons use (headings, paragraphs, lists, block quotes, rules; code, bold, italic and
links inline), wrapped here: a full Markdown parser would double `lesson`'s start-up time. Mermaid diagrams
become a short text outline; knowledge-check answers stay hidden unless asked for.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from maas_lab.engine.registry import LESSONS
from maas_lab.errors import UsageError

if TYPE_CHECKING:
    from rich.console import Console
    from rich.text import Text

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


# -- sections ------------------------------------------------------------------------------------------------

_ANCHOR_ID = re.compile(r'^\s*<a id="([^"]+)"></a>\s*$')
_HEADING = re.compile(r"^(#{1,6})\s")
_FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})\s*([\w+-]*)")


def _outside_code(lines: list[str]) -> list[bool]:
    """For each line: is it Markdown (True) or inside a fenced code block (False)?"""
    flags: list[bool] = []
    fence: str | None = None
    for line in lines:
        match = _FENCE.match(line)
        if fence is None:
            flags.append(True)
            if match:
                fence = match.group(2)
        else:
            flags.append(False)
            if line.strip().startswith(fence) and line.strip().strip(fence[0]) == "":
                fence = None
    return flags


def section_ids(markdown: str) -> list[str]:
    lines = markdown.splitlines()
    return [m.group(1) for line, prose in zip(lines, _outside_code(lines), strict=True) if prose and (m := _ANCHOR_ID.match(line))]


def section(markdown: str, anchor: str) -> str:
    """The text from `<a id="anchor">` to the next heading of the same or a higher level."""
    lines = markdown.splitlines()
    prose = _outside_code(lines)
    start = next((i for i, line in enumerate(lines) if prose[i] and (m := _ANCHOR_ID.match(line)) and m.group(1) == anchor), None)
    if start is None:
        raise UsageError(f"no section {anchor!r} in this lesson; its sections: {', '.join(section_ids(markdown))}")
    heading = next((i for i in range(start + 1, len(lines)) if prose[i] and _HEADING.match(lines[i])), None)
    if heading is None:
        return "\n".join(lines[start:]) + "\n"
    level = len(_HEADING.match(lines[heading]).group(1))  # type: ignore[union-attr]
    end = len(lines)
    for i in range(heading + 1, len(lines)):
        match = _HEADING.match(lines[i])
        if prose[i] and match and len(match.group(1)) <= level:
            end = i
            break
    while end > heading + 1 and (not lines[end - 1].strip() or lines[end - 1].strip() == "---" or _ANCHOR_ID.match(lines[end - 1])):
        end -= 1
    return "\n".join(lines[start:end]) + "\n"


# -- from docsify Markdown to terminal Markdown ----------------------------------------------------------------

_ANCHOR = re.compile(r'^\s*<a id="[^"]*"></a>\s*$', re.MULTILINE)
_DETAILS = re.compile(r"(<details>\s*<summary>.*?</summary>)(.*?)(</details>)", re.DOTALL)
_SUMMARY = re.compile(r"<details>\s*<summary>(.*?)</summary>", re.DOTALL)
_OUTPUT = re.compile(r'<div class="highlight"[^>]*>\s*<pre><code[^>]*>(.*?)</code></pre>\s*</div>', re.DOTALL)
_INLINE_CODE_TAG = re.compile(r"<code>(.*?)</code>")
_TAGS = re.compile(r"</?(details|summary|p|b|br|div|pre|code)(\s[^>]*)?/?>")
HIDDEN_ANSWER = "*(answer hidden: add `--answers` to show it)*"


def hide_answers(markdown: str) -> str:
    """Knowledge-check answers (a `<details>` whose body gives the **Answer:**) stay folded in the terminal."""

    def fold(match: re.Match[str]) -> str:
        if "**Answer:**" not in match.group(2):
            return match.group(0)
        return f"{match.group(1)}\n\n{HIDDEN_ANSWER}\n{match.group(3)}"

    return _DETAILS.sub(fold, markdown)


def for_terminal(markdown: str, *, answers: bool = True) -> str:
    """Turn the docsify HTML bits (anchors, details, expected-output blocks) into plain Markdown."""
    text = markdown if answers else hide_answers(markdown)
    text = _ANCHOR.sub("", text)
    text = _OUTPUT.sub(lambda m: "Expected output:\n\n```text\n" + html.unescape(m.group(1).strip("\n")) + "\n```", text)
    text = _SUMMARY.sub(lambda m: "\n**" + _INLINE_CODE_TAG.sub(r"`\1`", m.group(1).strip()) + "**\n", text)
    lines = text.splitlines()
    return "\n".join(_TAGS.sub("", line) if prose else line for line, prose in zip(lines, _outside_code(lines), strict=True)) + "\n"


# -- blocks ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Block:
    kind: str  # "prose", "code", "table" or "mermaid"
    lines: list[str]


_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")


def blocks(markdown: str) -> list[Block]:
    """Split terminal Markdown into prose, fenced code (with its fences), pipe tables and Mermaid diagrams."""
    lines = markdown.splitlines()
    found: list[Block] = []
    prose: list[str] = []

    def flush() -> None:
        if any(line.strip() for line in prose):
            found.append(Block("prose", list(prose)))
        prose.clear()

    i = 0
    while i < len(lines):
        line = lines[i]
        fence = _FENCE.match(line)
        if fence:
            end = i + 1
            marker = fence.group(2)
            while end < len(lines) and not (lines[end].strip().startswith(marker) and lines[end].strip().strip(marker[0]) == ""):
                end += 1
            flush()
            found.append(Block("mermaid" if fence.group(3) == "mermaid" else "code", lines[i : end + 1]))
            i = end + 1
            continue
        if line.lstrip().startswith("|") and i + 1 < len(lines) and _TABLE_RULE.match(lines[i + 1]):
            end = i + 2
            while end < len(lines) and lines[end].lstrip().startswith("|"):
                end += 1
            flush()
            found.append(Block("table", lines[i:end]))
            i = end
            continue
        prose.append(line)
        i += 1
    flush()
    return found


def code_lines(block: Block) -> list[str]:
    """The lines inside the fences, exactly as written (indentation included: it is the list item's)."""
    body = block.lines[1:]
    if body and body[-1].strip().startswith(("```", "~~~")):
        body = body[:-1]
    return body


def table_cells(block: Block) -> tuple[list[str], list[list[str]]]:
    def cells(line: str) -> list[str]:
        inner = line.strip().removeprefix("|").removesuffix("|")
        return [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", inner)]

    return cells(block.lines[0]), [cells(line) for line in block.lines[2:]]


_NODE = re.compile(r'(\w+)\s*(?:\[\(|\(\(|\(\[|\[\[|\[|\(|\{)\s*"([^"]*)"')
_EDGE = re.compile(r'\s*(-->|---|-\.->|==>)\s*(?:\|"?([^|"]*)"?\|\s*)?')


def _label(text: str) -> str:
    """`litemaas<br/>frontend` → `litemaas (frontend)`."""
    name, *rest = [part.strip() for part in re.split(r"<br\s*/?>", text)]
    detail = ", ".join(rest).removeprefix("(").removesuffix(")")
    return f"{name} ({detail})" if detail else name


def mermaid_outline(block: Block) -> list[str]:
    """A flowchart as `A → B` lines, using the node labels; the drawing itself is in the lesson on the web."""
    source = code_lines(block)
    labels = {m.group(1): _label(m.group(2)) for line in source for m in _NODE.finditer(line)}
    outline: list[str] = []
    for line in source:
        stripped = line.strip()
        if stripped.startswith("subgraph "):
            match = _NODE.search(stripped.removeprefix("subgraph "))
            outline.append(f"{match.group(2) if match else stripped.split()[1]}:")
            continue
        parts = _EDGE.split(stripped)
        if len(parts) < 4:  # no arrow on this line
            continue
        text = ""
        for index in range(0, len(parts), 3):
            node = re.match(r"\w+", parts[index].strip())
            name = labels.get(node.group(0), node.group(0)) if node else parts[index].strip()
            if index:
                arrow, label = parts[index - 2], parts[index - 1]
                text += (" — " if arrow == "---" else " → ") + (f"({label}) " if label else "")
            text += name
        outline.append(("  " if line.startswith("        ") else "") + text)
    return outline


# -- rendering ---------------------------------------------------------------------------------------------------


def inline(text: str) -> Text:
    """A table cell's Markdown: `code` and **bold** styled, [links](url) as their text, the rest as is."""
    from rich.text import Text

    result = Text()
    for token in re.split(r"(\*\*.+?\*\*|\*[^*\s][^*]*\*|`[^`]+`|\[[^\]]+\]\([^)]+\))", text):
        if token.startswith("`") and token.endswith("`") and len(token) > 1:
            result.append(token[1:-1], style="bold cyan")
        elif token.startswith("**") and token.endswith("**") and len(token) > 3:
            bold = inline(token[2:-2])
            bold.stylize("bold")
            result.append_text(bold)
        elif token.startswith("*") and token.endswith("*") and len(token) > 2:
            italic = inline(token[1:-1])
            italic.stylize("italic")
            result.append_text(italic)
        elif token.startswith("[") and "](" in token:
            result.append(token[1 : token.index("](")], style="underline")
        else:
            result.append(token)
    return result


MIN_TEXT_COLUMN = 16  # below this a wrapped description column is a sliver: the table is stacked instead


def _table_fits(headers: list[str], rows: list[list[str]], width: int) -> bool:
    """The first column whole, each other one at least its longest word (and MIN_TEXT_COLUMN), plus the borders."""
    columns = list(zip(headers, *rows, strict=False))
    key = max(inline(cell).cell_len for cell in columns[0])
    others = [max(MIN_TEXT_COLUMN, *(len(word) for cell in column for word in inline(cell).plain.split())) for column in columns[1:]]
    return key + sum(others) + 3 * len(columns) + 1 <= width


@dataclass
class Paragraph:
    """One wrapped unit of prose: a heading, a rule, a paragraph, a block quote or a list item."""

    kind: str  # "heading", "rule", "text", "quote" or "item"
    indent: int = 0
    marker: str = ""  # a heading's level ("##"), a list item's bullet or number ("*", "2.")
    words: list[str] | None = None


_ITEM = re.compile(r"^(\s*)([*+-]|\d+[.)])\s+(.*)$")
_QUOTE = re.compile(r"^\s*>\s?(.*)$")
_RULE = re.compile(r"^\s*([-*_])(\s*\1){2,}\s*$")
_HEADING_TEXT = re.compile(r"^\s*(#{1,6})\s+(.*?)(\s+#+)?\s*$")


def paragraphs(lines: list[str]) -> list[Paragraph]:
    """A prose block as headings, rules, paragraphs, quotes and list items; a line that starts none continues
    the one before it (Markdown's lazy continuation), a blank line ends it."""
    found: list[Paragraph] = []
    current: Paragraph | None = None
    for line in lines:
        if not line.strip():
            current = None
        elif heading := _HEADING_TEXT.match(line):
            found.append(Paragraph("heading", marker=heading.group(1), words=[heading.group(2)]))
            current = None
        elif _RULE.match(line):
            found.append(Paragraph("rule"))
            current = None
        elif item := _ITEM.match(line):
            current = Paragraph("item", len(item.group(1)), item.group(2), [item.group(3)])
            found.append(current)
        elif (quote := _QUOTE.match(line)) and not (current and current.kind == "quote"):
            current = Paragraph("quote", len(line) - len(line.lstrip()), words=[quote.group(1)])
            found.append(current)
        elif current is not None and current.words is not None:
            current.words.append(quote.group(1) if quote else line.strip())
        else:
            current = Paragraph("text", len(line) - len(line.lstrip()), words=[line.strip()])
            found.append(current)
    return found


HEADING_STYLES = {1: "bold reverse", 2: "bold underline", 3: "bold"}


def render_prose(lines: list[str], console: Console) -> None:
    """Prose wrapped to the terminal, list items and quotes with a hanging indent; one blank line between
    paragraphs, none between the items of a list."""
    from rich.text import Text

    width = console.width
    out: list[Text] = []
    previous: Paragraph | None = None
    for paragraph in paragraphs(lines):
        if previous is not None and not (paragraph.kind == previous.kind == "item"):
            out.append(Text())
        previous = paragraph
        if paragraph.kind == "rule":
            out.append(Text("─" * width, style="dim"))
            continue
        text = inline(" ".join(paragraph.words or []))
        if paragraph.kind == "heading":
            text.stylize(HEADING_STYLES.get(len(paragraph.marker), "bold italic"))
            out.append(text)
            continue
        first = " " * paragraph.indent
        if paragraph.kind == "item":
            first += (" • " if paragraph.marker in "*+-" else f" {paragraph.marker} ")
        elif paragraph.kind == "quote":
            first += "▌ "
        following = first if paragraph.kind == "quote" else " " * len(first)  # a quote's bar runs down its side
        style = "magenta" if paragraph.kind == "quote" else ""
        for index, line in enumerate(text.wrap(console, max(width - len(first), MIN_TEXT_COLUMN))):
            out.append(Text(following if index else first, style=style).append_text(line))
    # soft_wrap: every line already fits; one print keeps the console's per-call cost out of the loop
    console.print(Text("\n").join(out), soft_wrap=True)


def render(markdown: str, console: Console) -> None:
    """Print terminal Markdown: prose wrapped, code line for line, tables whole or stacked, diagrams outlined."""
    from rich.padding import Padding
    from rich.table import Table
    from rich.text import Text

    for block in blocks(markdown):
        if block.kind == "prose":
            render_prose(block.lines, console)
        elif block.kind == "code":
            # soft_wrap: no line break is ever inserted, so a pasted line is the whole command
            console.print(Text("\n" + "\n".join(code_lines(block)) + "\n", style="cyan"), soft_wrap=True)
        elif block.kind == "mermaid":
            console.print()
            console.print(Text("Diagram (drawn on the course site), in outline:", style="dim italic"))
            for line in mermaid_outline(block):
                indent = len(line) - len(line.lstrip()) + 2
                console.print(Padding(Text(line.strip(), style="dim", overflow="fold"), (0, 0, 0, indent)))
            console.print()
        else:
            headers, rows = table_cells(block)
            console.print()
            if _table_fits(headers, rows, console.width):
                table = Table()
                for index, header in enumerate(headers):  # the key a student must type (column 0) is never cut
                    table.add_column(inline(header), no_wrap=index == 0, overflow="fold")
                for row in rows:
                    table.add_row(*[inline(cell) for cell in row])
                console.print(table)
                console.print()
                continue
            for row in rows:  # too wide: one block a row, the key on its own line, never cut
                console.print(inline(row[0]), soft_wrap=True)
                for header, cell in zip(headers[1:], row[1:], strict=False):
                    detail = inline(header).append(": ").append_text(inline(cell))
                    detail.overflow = "fold"
                    console.print(Padding(detail, (0, 0, 0, 4)))
            console.print()
