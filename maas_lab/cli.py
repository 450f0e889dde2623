"""The command line: options → Settings → grading → reporter → exit code. No grading logic lives here."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.text import Text

from maas_lab import __version__
from maas_lab.engine.model import Report
from maas_lab.engine.registry import LESSONS, get_check, load_checks, parse_lessons
from maas_lab.errors import MaasLabError, UsageError
from maas_lab.files import write_atomically
from maas_lab.report import FORMATS, render
from maas_lab.settings import DEFAULT_RUN_TIMEOUT, Settings, validate

app = typer.Typer(
    name="maas-lab",
    help="Grade the 'Models as a Service' lessons against your cluster, LiteMaaS and LiteLLM. Read-only.",
    no_args_is_help=True,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_enable=False,
)
# soft_wrap: messages name paths and URLs, which must stay on one line (copy-paste, grep in CI logs)
stderr = Console(stderr=True, highlight=False, soft_wrap=True)

# -- options shared by check, grade and smoke ---------------------------------------------------------------

Kubeconfig = Annotated[
    Optional[str],
    typer.Option(
        "--kubeconfig",
        envvar="KUBECONFIG",
        help="Kubeconfig file (default ~/.kube/config; in a pod, the service account).",
        show_default=False,
    ),
]
Context = Annotated[Optional[str], typer.Option("--context", help="Kubeconfig context (default: the current one).")]
User = Annotated[
    Optional[str],
    typer.Option("--user", envvar="MAAS_LAB_USER", help="OpenShift user to grade (default: the user of the credentials)."),
]
Domain = Annotated[
    Optional[str],
    typer.Option("--cluster-domain", envvar="MAAS_LAB_CLUSTER_DOMAIN", help="Apps domain including 'apps.' (default: discovered)."),
]
ProfileOpt = Annotated[
    str, typer.Option("--profile", envvar="MAAS_LAB_PROFILE", help="Built-in profile name or a profile YAML path.")
]
LiteMaaSUrl = Annotated[
    Optional[str],
    typer.Option(
        "--litemaas-url", envvar="MAAS_LAB_LITEMAAS_URL", help="LiteMaaS URL (default: https:// + the frontend Route host)."
    ),
]
LiteLLMUrl = Annotated[
    Optional[str],
    typer.Option("--litellm-url", envvar="MAAS_LAB_LITELLM_URL", help="LiteLLM URL (default: https:// + the LiteLLM Route host)."),
]
CABundle = Annotated[
    Optional[str],
    typer.Option(
        "--ca-bundle", envvar="MAAS_LAB_CA_BUNDLE", help="CA bundle to verify LiteMaaS/LiteLLM TLS (default: system store)."
    ),
]
Insecure = Annotated[bool, typer.Option("--insecure", help="Do not verify TLS of LiteMaaS/LiteLLM (lab clusters only).")]
Format = Annotated[str, typer.Option("--format", help=f"Report format: {', '.join(FORMATS)}.")]
Output = Annotated[Optional[Path], typer.Option("-o", "--output", help="Write the report to FILE (default: standard output).")]
Timeout = Annotated[
    float, typer.Option("--timeout", help="Bound for the whole run, in seconds; each request has a shorter bound.")
]
NoColor = Annotated[bool, typer.Option("--no-color", help="No colour (also NO_COLOR).")]


def _settings(**values: object) -> Settings:
    return validate(Settings(**{k: v for k, v in values.items() if v is not None}))  # type: ignore[arg-type]


def _check_format(format_: str) -> str:
    if format_ not in FORMATS:
        raise UsageError(f"unknown --format {format_!r}: choose one of {', '.join(FORMATS)}")
    return format_


def _say(message: str, style: str = "") -> None:
    """One line on stderr; the message is plain text (a path with [brackets] is not markup)."""
    stderr.print(Text(message, style=style))


def _emit(report: Report, format_: str, output: Path | None, no_color: bool) -> None:
    color = output is None and sys.stdout.isatty() and not no_color and not os.environ.get("NO_COLOR")
    text = render(report, format_, color=color)
    if output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    _write_atomically(output, text)
    _say(f"report written to {output} (outcome {report.outcome.value}, {report.score:g}/{report.max_score:g})")


def _check_output(output: Path | None) -> None:
    """Refuse an -o path that cannot be written before grading, not after a long run."""
    if output is None:
        return
    if output.is_dir():
        raise UsageError(f"cannot write {output}: it is a directory")
    parent = output.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise UsageError(f"cannot write {output}: {parent} is not a writable directory")


def _write_atomically(output: Path, text: str) -> None:
    try:
        write_atomically(output, text)
    except OSError as exc:
        raise UsageError(f"cannot write {output}: {exc.strerror or exc}") from None


def _fail(error: MaasLabError) -> typer.Exit:
    stderr.print(Text.assemble(("error:", "red"), f" {error}"))
    if error.hint:
        _say(f"hint: {error.hint}")
    return typer.Exit(2 if isinstance(error, UsageError) else 3)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"maas-lab {__version__}")
        raise typer.Exit(0)


@app.callback()
def main_callback(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")] = False,
) -> None:
    """Grade the Models-as-a-Service lessons. Example: maas-lab check 2"""


@app.command()
def check(
    lesson: Annotated[str, typer.Argument(help="Lesson number 1-5, a list such as 2,3, or 'all'.")],
    kubeconfig: Kubeconfig = None,
    context: Context = None,
    user: User = None,
    cluster_domain: Domain = None,
    profile: ProfileOpt = "ai501",
    litemaas_url: LiteMaaSUrl = None,
    litellm_url: LiteLLMUrl = None,
    ca_bundle: CABundle = None,
    insecure: Insecure = False,
    format_: Format = "table",
    output: Output = None,
    timeout: Timeout = DEFAULT_RUN_TIMEOUT,
    no_color: NoColor = False,
    api_key_env: Annotated[
        Optional[str],
        typer.Option("--api-key-env", help="Name of an environment variable holding your LiteMaaS key, for 4.key-works."),
    ] = None,
) -> None:
    """Grade one lesson (or all) and print a scored report.

    Example: maas-lab check 2   ·   maas-lab check all --format junit -o report.xml
    """
    from maas_lab.grading import grade

    try:
        lessons = parse_lessons(lesson)
        _check_format(format_)
        _check_output(output)
        settings = _settings(
            kubeconfig=kubeconfig, context=context, user=user, cluster_domain=cluster_domain, profile=profile,
            litemaas_url=litemaas_url, litellm_url=litellm_url, ca_bundle=ca_bundle, insecure=insecure,
            timeout=timeout, api_key_env=api_key_env,
        )
        settings.student_api_key()  # an unset variable is a usage error, found before any request
        report = grade(settings, lessons)
        _emit(report, format_, output, no_color)
    except MaasLabError as exc:
        raise _fail(exc) from None
    raise typer.Exit(report.exit_code)


@app.command("list")
def list_(
    lesson: Annotated[Optional[str], typer.Argument(help="Lesson number, or nothing for all.")] = None,
    profile: ProfileOpt = "ai501",
) -> None:
    """List the checks: id, points, title and the evidence each reads.

    Example: maas-lab list 3
    """
    from rich.table import Table

    from maas_lab.profile import load_profile

    try:
        lessons = parse_lessons(lesson or "all")
        points = load_profile(profile).points
    except MaasLabError as exc:
        raise _fail(exc) from None
    table = Table(show_lines=False)
    for column in ("id", "points", "title", "evidence", "needs"):
        table.add_column(column)
    for item in sorted(load_checks().values(), key=lambda c: (c.lesson, c.id)):
        if item.lesson in lessons:
            value = points.for_check(item.id, required=item.required)
            table.add_row(item.id, f"{value:g}" + ("" if item.required else " bonus"), item.title, item.evidence, ", ".join(item.needs))
    Console(highlight=False, width=160).print(table)


@app.command()
def explain(check_id: Annotated[str, typer.Argument(help="A check id such as 2.routes.")]) -> None:
    """What a check verifies, why it matters, the hint and the lesson section.

    Example: maas-lab explain 2.routes
    """
    try:
        item = get_check(check_id)
    except MaasLabError as exc:
        raise _fail(exc) from None
    kind = "required" if item.required else "bonus (never decides the outcome)"
    lines = [
        f"{item.id} — {item.title}",
        "",
        item.description or "",
        "",
        f"Lesson:    {item.lesson} · {LESSONS[item.lesson].title} · {item.lesson_ref}",
        f"Kind:      {kind}",
        f"Evidence:  {item.evidence}",
        f"Needs:     {', '.join(item.needs) or 'nothing'}",
        f"If it fails: {item.hint}",
    ]
    typer.echo("\n".join(line for line in lines))


@app.command()
def lesson(
    number: Annotated[int, typer.Argument(help="Lesson number 1-5.")],
    user: User = None,
    cluster_domain: Domain = None,
    kubeconfig: Kubeconfig = None,
    context: Context = None,
    raw: Annotated[bool, typer.Option("--raw", help="Print the Markdown itself (placeholders filled).")] = False,
) -> None:
    """Show a lesson with <USER_NAME> and <CLUSTER_DOMAIN> filled in.

    Example: maas-lab lesson 2
    """
    from rich.markdown import Markdown

    from maas_lab.lesson_text import fill, for_terminal, lesson_path

    try:
        text = lesson_path(number).read_text("utf-8")
        if user is None or cluster_domain is None:
            user, cluster_domain = _discover_names(user, cluster_domain, kubeconfig, context)
    except MaasLabError as exc:
        raise _fail(exc) from None
    if user is None or cluster_domain is None:
        missing = " and ".join(n for n, v in (("--user", user), ("--cluster-domain", cluster_domain)) if v is None)
        _say(f"warning: placeholders left as they are; pass {missing} (or log in with oc) to fill them", "yellow")
    text = fill(text, user=user, domain=cluster_domain)
    if raw:
        sys.stdout.write(text)
        return
    Console(highlight=False).print(Markdown(for_terminal(text)))


def _discover_names(
    user: str | None, domain: str | None, kubeconfig: str | None, context: str | None
) -> tuple[str | None, str | None]:
    """Fill what the options left unset from the current credentials; quietly give up without a cluster."""
    from maas_lab.grading import build_snapshot
    from maas_lab.profile import load_profile

    settings = Settings(kubeconfig=kubeconfig, context=context, user=user, cluster_domain=domain, timeout=20)
    try:
        snapshot, failure = build_snapshot(settings, load_profile(None))
    except Exception:  # discovery is a convenience: whatever fails (even a mangled kubeconfig) leaves the placeholders
        return user, domain
    try:
        if failure is not None:
            return user, domain
        return snapshot.user_or_none, snapshot.domain_or_none
    finally:
        snapshot.close()


@app.command()
def quiz(
    number: Annotated[int, typer.Argument(help="Lesson number (quizzes exist for lesson 1).")],
    answers: Annotated[
        Optional[Path],
        typer.Option("--answers", help="YAML/JSON file {question id: choice letter}, for non-interactive use."),
    ] = None,
) -> None:
    """Answer the lesson's knowledge questions; the explanation follows each answer.

    Example: maas-lab quiz 1   ·   maas-lab quiz 1 --answers my-answers.yaml
    """
    from rich.prompt import Prompt

    from maas_lab.quiz import Graded, Question, load_answers, load_quiz, run_quiz

    console = Console(highlight=False)
    try:
        the_quiz = load_quiz(number)
        given = load_answers(answers, the_quiz) if answers else None
    except MaasLabError as exc:
        raise _fail(exc) from None

    def ask(question: Question) -> str | None:
        console.print(f"\n[bold]{question.id}. {question.question}[/bold]")
        for letter, text in question.choices.items():
            console.print(f"  {letter}) {text}", markup=False)
        if given is not None:
            return given.get(question.id)
        try:
            return Prompt.ask("Your answer", choices=list(question.choices), console=console)
        except EOFError:  # stdin closed (a pipe, CI): no one is there to answer
            raise UsageError("no answer on standard input; to answer from a file, pass --answers FILE") from None

    def show(result: Graded) -> None:
        verdict = "[green]✔ correct[/green]" if result.correct else f"[red]✘ not quite[/red] (answer: {result.question.answer})"
        console.print(verdict)
        console.print(result.question.explanation, markup=False)

    console.print(f"[bold]Quiz — lesson {the_quiz.lesson}: {the_quiz.title}[/bold]")
    try:
        graded = run_quiz(the_quiz, ask, show)
    except MaasLabError as exc:
        raise _fail(exc) from None
    right = sum(1 for g in graded if g.correct)
    console.print(f"\n[bold]Score: {right}/{len(graded)}[/bold]")


@app.command("grade")
def grade_command(
    roster: Annotated[Path, typer.Option("--roster", help="CSV (user,context,kubeconfig,cluster_domain) or YAML list.")],
    out: Annotated[Path, typer.Option("--out", help="Gradebook folder.")] = Path("maas-lab-grades"),
    lessons: Annotated[str, typer.Option("--lessons", help="Lessons to grade, e.g. 2,3 (default all).")] = "all",
    jobs: Annotated[int, typer.Option("--jobs", min=1, max=32, help="Students graded at once.")] = 4,
    kubeconfig: Kubeconfig = None,
    context: Context = None,
    cluster_domain: Domain = None,
    profile: ProfileOpt = "ai501",
    litemaas_url: LiteMaaSUrl = None,
    litellm_url: LiteLLMUrl = None,
    ca_bundle: CABundle = None,
    insecure: Insecure = False,
    timeout: Timeout = DEFAULT_RUN_TIMEOUT,
    no_color: NoColor = False,
    # Accepted only to refuse them with a useful message (a gradebook is a folder of every format, users come
    # from the roster); no envvar, so a MAAS_LAB_USER set for `check` does not break `grade`.
    output: Annotated[Optional[str], typer.Option("-o", "--output", hidden=True)] = None,
    format_: Annotated[Optional[str], typer.Option("--format", hidden=True)] = None,
    user: Annotated[Optional[str], typer.Option("--user", hidden=True)] = None,
) -> None:
    """Grade a cohort and write a gradebook (CSV, JSON, one JSON a student, an HTML page).

    Example: maas-lab grade --roster cohort.csv --lessons 2,3 --out grades/
    """
    from maas_lab.roster import grade_roster, read_roster

    try:
        if output is not None:
            raise UsageError("grade writes a gradebook folder, not one report: use --out DIR instead of -o/--output")
        if format_ is not None:
            raise UsageError("grade writes every format at once (gradebook.csv, gradebook.json, report.html): drop --format")
        if user is not None:
            raise UsageError("grade takes its students from the roster's `user` column: drop --user")
        numbers = parse_lessons(lessons)
        rows = read_roster(roster)
        base = _settings(
            kubeconfig=kubeconfig, context=context, cluster_domain=cluster_domain, profile=profile,
            litemaas_url=litemaas_url, litellm_url=litellm_url, ca_bundle=ca_bundle, insecure=insecure, timeout=timeout,
        )
    except MaasLabError as exc:
        raise _fail(exc) from None
    done = [0]

    def progress(student: str, report: Report) -> None:
        done[0] += 1
        _say(f"[{done[0]}/{len(rows)}] {student}: {report.outcome.value} {report.score:g}/{report.max_score:g}")

    try:
        book = grade_roster(base, rows, numbers, out, jobs=jobs, progress=progress)
    except MaasLabError as exc:
        raise _fail(exc) from None
    except KeyboardInterrupt:
        _say(f"interrupted: {out}/ holds the {done[0]} student(s) graded so far")
        raise typer.Exit(130) from None
    _say(f"gradebook written to {out}/ (gradebook.csv, gradebook.json, report.html, students/)")
    graded = [r for r in book.reports.values() if r.outcome.value != "could_not_grade"]
    raise typer.Exit(0 if graded else 3)


@app.command()
def smoke(
    kubeconfig: Kubeconfig = None,
    context: Context = None,
    user: User = None,
    cluster_domain: Domain = None,
    profile: ProfileOpt = "ai501",
    format_: Format = "table",
    output: Output = None,
    timeout: Timeout = DEFAULT_RUN_TIMEOUT,
    no_color: NoColor = False,
) -> None:
    """Is the shared lab environment ready: cluster, credentials, shared models, permissions?

    Example: maas-lab smoke --format junit -o smoke.xml
    """
    from maas_lab.grading import grade

    try:
        _check_format(format_)
        _check_output(output)
        settings = _settings(
            kubeconfig=kubeconfig, context=context, user=user, cluster_domain=cluster_domain, profile=profile, timeout=timeout
        )
        smoke_checks = [c.id for c in load_checks().values() if c.smoke]
        report = grade(settings, [1], only=smoke_checks)
        _emit(report, format_, output, no_color)
    except MaasLabError as exc:
        raise _fail(exc) from None
    raise typer.Exit(report.exit_code)


gradebook_app = typer.Typer(help="Work on gradebook folders written by `grade`.", no_args_is_help=True)
app.add_typer(gradebook_app, name="gradebook")


@gradebook_app.command("merge")
def gradebook_merge(
    sources: Annotated[Optional[list[Path]], typer.Argument(help="Gradebook folders to merge (the --out of each shard).")] = None,
    out: Annotated[Path, typer.Option("--out", help="Folder of the merged gradebook.")] = Path("maas-lab-grades"),
) -> None:
    """Merge sharded gradebooks into one: CSV, JSON, students/ and the class page.

    A student found in two folders must have the same grade in both (the newest report is kept); different
    grades exit 2. Example: maas-lab gradebook merge shard-1/ shard-2/ --out grades/
    """
    from maas_lab.gradebook import merge

    try:
        merged = merge(list(sources or []), out)
    except MaasLabError as exc:
        raise _fail(exc) from None
    files = "gradebook.csv, gradebook.json, report.html, students/"
    _say(f"merged {len(merged)} student(s) from {len(sources or [])} gradebook(s) into {out}/ ({files})")


def main() -> None:
    """Console entry point: Ctrl-C exits 130."""
    try:
        app()
    except KeyboardInterrupt:
        _say("interrupted")
        sys.exit(130)
