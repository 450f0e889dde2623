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
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from maas_lab.engine.registry import LESSONS
from maas_lab.errors import UsageError

PLACEHOLDERS = ("<USER_NAME>", "<CLUSTER_DOMAIN>")


def lessons_dir() -> Path:
    """`maas_lab/_lessons` in an installed wheel; the repository's `lessons/` in a checkout."""
    packaged = Path(__file__).resolve().parent / "_lessons"  # not importlib.resources: a wheel installs files
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


# -- rendering ---------------------------------------------------------------------------------------------------
# Plain strings and SGR codes rather than rich: `lesson` starts as fast as `--help` (rich's console and layout
# engine cost more than the whole rendering here). A run is (text, style), the style an SGR parameter list.

Run = tuple[str, str]
CODE, BOLD, ITALIC, LINK, DIM, QUOTE = "1;36", "1", "3", "4", "2", "35"
CODE_BLOCK, NOTE = "36", "2;3"
HEADING_STYLES = {1: "1;7", 2: "1;4", 3: "1"}  # h1 reversed, h2 underlined, h3 bold, deeper ones bold italic
_INLINE = re.compile(r"(\*\*.+?\*\*|\*[^*\s][^*]*\*|`[^`]+`|\[[^\]]+\]\([^)]+\))")


def _with(style: str, extra: str) -> str:
    return f"{style};{extra}" if style else extra


class Parse(Protocol):
    """How a cell's text becomes styled runs: inline Markdown, or literal text."""

    def __call__(self, text: str, style: str = "", /) -> list[Run]: ...


def inline(text: str, style: str = "") -> list[Run]:
    """Markdown inline: `code` and **bold** styled, [links](url) as their text, the rest as is."""
    runs: list[Run] = []
    for token in _INLINE.split(text):
        if token.startswith("`") and token.endswith("`") and len(token) > 1:
            runs.append((token[1:-1], _with(style, CODE)))
        elif token.startswith("**") and token.endswith("**") and len(token) > 3:
            runs += inline(token[2:-2], _with(style, BOLD))
        elif token.startswith("*") and token.endswith("*") and len(token) > 2:
            runs += inline(token[1:-1], _with(style, ITALIC))
        elif token.startswith("[") and "](" in token:
            runs.append((token[1 : token.index("](")], _with(style, LINK)))
        elif token:
            runs.append((token, style))
    return runs


def plain(runs: list[Run]) -> str:
    return "".join(text for text, _ in runs)


def cells(text: str) -> int:
    """Terminal columns: wide characters (emoji, CJK) take two, combining marks and variation selectors none."""
    if text.isascii():
        return len(text)
    return sum(_char_cells(char) for char in text)


def _char_cells(char: str) -> int:
    if unicodedata.combining(char) or "\ufe00" <= char <= "\ufe0f" or char == "\u200d":
        return 0
    return 2 if unicodedata.east_asian_width(char) in "WF" else 1


def wrap(runs: list[Run], width: int) -> list[list[Run]]:
    """Greedy word wrap at `width` columns, styles kept; a word longer than a line is folded."""
    words: list[list[Run]] = [[]]
    for text, style in runs:
        for index, piece in enumerate(text.split(" ")):
            if index:
                words.append([])
            if piece:
                words[-1].append((piece, style))
    lines: list[list[Run]] = []
    line: list[Run] = []
    used = 0
    for word in (w for w in words if w):
        size = sum(cells(text) for text, _ in word)
        if line and used + 1 + size > width:
            lines.append(line)
            line, used = [], 0
        if line:
            line.append((" ", ""))
            used += 1
        if size > width:  # a word no line can hold is folded; its last piece starts the next line
            *whole, word = _fold(word, width)  # (the line before it was ended above)
            lines += whole
            size = sum(cells(text) for text, _ in word)
        line += word
        used += size
    if line or not lines:
        lines.append(line)
    return lines


def _fold(word: list[Run], width: int) -> list[list[Run]]:
    pieces: list[list[Run]] = [[]]
    used = 0
    for text, style in word:
        for char in text:
            if used + cells(char) > width and pieces[-1]:
                pieces.append([])
                used = 0
            last = pieces[-1]
            if last and last[-1][1] == style:
                last[-1] = (last[-1][0] + char, style)
            else:
                last.append((char, style))
            used += cells(char)
    return pieces


def _merged(runs: list[Run]) -> list[Run]:
    """Neighbouring runs of one style as one (a space between two words of a style takes it): fewer SGR codes."""
    merged: list[Run] = []
    for index, (text, style) in enumerate(runs):
        if not style and text == " " and 0 < index < len(runs) - 1 and runs[index - 1][1] == runs[index + 1][1]:
            style = runs[index - 1][1]
        if merged and merged[-1][1] == style:
            merged[-1] = (merged[-1][0] + text, style)
        else:
            merged.append((text, style))
    return merged


class Output:
    """Lines for the terminal, with SGR styles when colour is on (plain text otherwise)."""

    def __init__(self, width: int, *, color: bool) -> None:
        self.width, self.color, self.lines = width, color, list[str]()

    def line(self, runs: list[Run] | str = "", style: str = "") -> None:
        if isinstance(runs, str):
            runs = [(runs, style)]
        elif style:
            runs = [(text, _with(style, own)) for text, own in runs]
        if self.color:
            self.lines.append("".join(f"\x1b[{s}m{text}\x1b[0m" if s and text else text for text, s in _merged(runs)))
        else:
            self.lines.append("".join(text for text, _ in runs))

    def wrapped(self, runs: list[Run], first: str, following: str, prefix_style: str = "") -> None:
        for index, line in enumerate(wrap(runs, max(self.width - cells(first), MIN_TEXT_COLUMN))):
            self.line([(following if index else first, prefix_style), *line])

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def _prose(lines: list[str], out: Output) -> None:
    """Prose wrapped to the terminal, list items and quotes with a hanging indent; one blank line between
    paragraphs, none between the items of a list."""
    previous: Paragraph | None = None
    for paragraph in paragraphs(lines):
        if previous is not None and not (paragraph.kind == previous.kind == "item"):
            out.line()
        previous = paragraph
        if paragraph.kind == "rule":
            out.line("─" * out.width, DIM)
            continue
        text = " ".join(paragraph.words or [])
        if paragraph.kind == "heading":
            out.wrapped(inline(text, HEADING_STYLES.get(len(paragraph.marker), "1;3")), "", "")
            continue
        runs = inline(text)
        first = " " * paragraph.indent
        if paragraph.kind == "item":
            first += " • " if paragraph.marker in "*+-" else f" {paragraph.marker} "
        elif paragraph.kind == "quote":
            first += "▌ "
        following = first if paragraph.kind == "quote" else " " * len(first)  # a quote's bar runs down its side
        out.wrapped(runs, first, following, QUOTE if paragraph.kind == "quote" else "")


MIN_TEXT_COLUMN = 16  # below this a wrapped description column is a sliver: the table is stacked instead


def _column_widths(headers: list[str], rows: list[list[str]], width: int, parse: Parse) -> list[int] | None:
    """The first column whole; the others share what is left, each at least its longest word (and
    MIN_TEXT_COLUMN) — or None when that does not fit, and the table is stacked."""
    columns = [[plain(parse(cell)) for cell in column] for column in zip(headers, *rows, strict=False)]
    key = max(cells(cell) for cell in columns[0])
    # a column is at least its longest word, and MIN_TEXT_COLUMN unless all of it is narrower
    floors = [
        max(min(MIN_TEXT_COLUMN, max(cells(cell) for cell in column)), *(cells(word) for cell in column for word in cell.split()))
        for column in columns[1:]
    ]
    wanted = [max(floor, *(cells(cell) for cell in column)) for floor, column in zip(floors, columns[1:], strict=True)]
    room = width - key - 3 * len(columns) - 1
    if sum(floors) > room:
        return None
    widths = list(wanted)
    while sum(widths) > room:  # take a column from the widest one that can still give
        widest = max((i for i in range(len(widths)) if widths[i] > floors[i]), key=lambda i: widths[i])
        widths[widest] -= 1
    return [key, *widths]


def _table(headers: list[str], rows: list[list[str]], widths: list[int], out: Output, parse: Parse) -> None:
    def border(left: str, middle: str, right: str) -> None:
        out.line(left + middle.join("─" * (w + 2) for w in widths) + right)

    def row(cells_: list[str], style: str = "") -> None:
        # the key (column 0) is never wrapped: the widths were made to fit it whole
        wrapped = [[parse(cells_[0], style)], *(wrap(parse(cell, style), w) for cell, w in zip(cells_[1:], widths[1:], strict=False))]
        for index in range(max(len(lines) for lines in wrapped)):
            runs: list[Run] = [("│", "")]
            for lines, w in zip(wrapped, widths, strict=False):
                line = lines[index] if index < len(lines) else []
                runs += [(" ", ""), *line, (" " * (w - cells(plain(line))) + " │", "")]
            out.line(runs)

    border("┌", "┬", "┐")
    row(headers, BOLD)
    border("├", "┼", "┤")
    for cells_ in rows:
        row(cells_ + [""] * (len(headers) - len(cells_)))
    border("└", "┴", "┘")


def render(markdown: str, *, width: int, color: bool) -> str:
    """Terminal Markdown as the terminal's text: prose wrapped, code line for line (never broken: a long line
    overflows, and the terminal's soft wrap copies back as one line), tables whole or stacked, diagrams outlined."""
    out = Output(width, color=color)
    for block in blocks(markdown):
        if block.kind == "prose":
            _prose(block.lines, out)
        elif block.kind == "code":
            out.line()
            for line in code_lines(block):
                out.line(line, CODE_BLOCK)
            out.line()
        elif block.kind == "mermaid":
            out.line()
            out.line("Diagram (drawn on the course site), in outline:", NOTE)
            for line in mermaid_outline(block):
                indent = " " * (len(line) - len(line.lstrip()) + 2)
                out.wrapped([(line.strip(), DIM)], indent, indent)
            out.line()
        else:
            headers, rows = table_cells(block)
            out.line()
            _whole_or_stacked(headers, rows, out)
            out.line()
    return out.text()


def render_table(headers: list[str], rows: list[list[str]], *, width: int, color: bool = False) -> str:
    """Cells taken literally (no Markdown): a table whole when it fits `width` (its first column never wrapped),
    else one block a row."""
    out = Output(width, color=color)
    _whole_or_stacked(headers, rows, out, literal)
    return out.text()


def literal(text: str, style: str = "") -> list[Run]:
    return [(text, style)] if text else []


def _whole_or_stacked(headers: list[str], rows: list[list[str]], out: Output, parse: Parse = inline) -> None:
    widths = _column_widths(headers, rows, out.width, parse)
    if widths is not None:
        _table(headers, rows, widths, out, parse)
        return
    for row in rows:  # too wide: one block a row, the key on its own line, never cut
        out.line(parse(row[0]))
        for header, cell in zip(headers[1:], row[1:], strict=False):
            if cell:
                out.wrapped([*parse(header), (": ", ""), *parse(cell)], "    ", "    ")
