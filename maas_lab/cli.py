"""The command line: options → Settings → grading → reporter → exit code. No grading logic lives here."""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from maas_lab import __version__, completion
from maas_lab.engine.registry import parse_lessons
from maas_lab.errors import MaasLabError, UsageError
from maas_lab.report import FORMATS
from maas_lab.settings import DEFAULT_RUN_TIMEOUT, Settings, validate, warnings_for

# Start-up time matters (`--help`, `list`, `explain`, `lesson` answer at once): rich, the evidence layer and the
# reporters are imported by the commands that use them, never here.
if TYPE_CHECKING:
    from rich.console import Console

    from maas_lab.engine.model import Report

app = typer.Typer(
    name="maas-lab",
    help="Grade the 'Models as a Service' lessons against your cluster, LiteMaaS and LiteLLM. Read-only.",
    no_args_is_help=True,
    add_completion=True,
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help: readable at any width, and `--help` need not import rich's renderers
)


@cache
def _stderr() -> Console:
    from rich.console import Console

    # soft_wrap: messages name paths and URLs, which must stay on one line (copy-paste, grep in CI logs)
    return Console(stderr=True, highlight=False, soft_wrap=True)

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
SaveEvidence = Annotated[
    Optional[Path], typer.Option("--save-evidence", help="Also write the evidence bundle to DIR/<user>.json.gz (secrets hashed).")
]
Verbose = Annotated[
    bool, typer.Option("-v", "--verbose", help="On stderr: what was discovered and from where (names only), and phase timings.")
]


def _settings(**values: object) -> Settings:
    settings = validate(Settings(**{k: v for k, v in values.items() if v is not None}))  # type: ignore[arg-type]
    _warn(settings)
    _trace_options(settings)
    return settings


def _trace_options(settings: Settings) -> None:
    """With -v: the choices the options (or their environment variables) made before any discovery."""
    from maas_lab import verbose

    for name, value, flag, env in (
        ("user", settings.user, "--user", "MAAS_LAB_USER"),
        ("apps domain", settings.cluster_domain, "--cluster-domain", "MAAS_LAB_CLUSTER_DOMAIN"),
        ("LiteMaaS URL", settings.litemaas_url, "--litemaas-url", "MAAS_LAB_LITEMAAS_URL"),
        ("LiteLLM URL", settings.litellm_url, "--litellm-url", "MAAS_LAB_LITELLM_URL"),
        ("CA bundle", settings.ca_bundle, "--ca-bundle", "MAAS_LAB_CA_BUNDLE"),
    ):
        if value is not None:
            verbose.found(name, verbose.without_userinfo(value), verbose.option_source(value, flag, env))
    verbose.found("profile", settings.profile, verbose.option_source(settings.profile, "--profile or the default", "MAAS_LAB_PROFILE"))
    if settings.api_key_env:
        verbose.credential("4.key-works", f"the student's LiteMaaS key from the environment variable {settings.api_key_env}")


def _check_format(format_: str) -> str:
    if format_ not in FORMATS:
        raise UsageError(f"unknown --format {format_!r}: choose one of {', '.join(FORMATS)}")
    return format_


def _say(message: str, style: str = "") -> None:
    """One line on stderr; the message is plain text (a path with [brackets] is not markup)."""
    from rich.text import Text

    _stderr().print(Text(message, style=style))


def _emit(report: Report, format_: str, output: Path | None, no_color: bool) -> None:
    from maas_lab import verbose
    from maas_lab.report import render

    color = output is None and sys.stdout.isatty() and not no_color and not os.environ.get("NO_COLOR")
    text = render(report, format_, color=color)
    verbose.phase("render")
    if output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    from maas_lab.report.table import score_text

    _write_atomically(output, text)
    _say(f"report written to {output} (outcome {report.outcome.value}, {score_text(report.results)})")


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
    from maas_lab.files import write_atomically

    try:
        write_atomically(output, text)
    except OSError as exc:
        raise UsageError(f"cannot write {output}: {exc.strerror or exc}") from None


def _fail(error: MaasLabError) -> typer.Exit:
    from rich.text import Text

    _stderr().print(Text.assemble(("error:", "red"), f" {error}"))
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
    lesson: Annotated[
        str,
        typer.Argument(metavar="LESSON", help="Lesson number 1-5, a list such as 2,3, or 'all'.", autocompletion=completion.lessons),
    ],
    # `--watch [SECONDS]`: the vendored click has no option with an optional value, so SECONDS is an argument
    watch_seconds: Annotated[Optional[str], typer.Argument(metavar="SECONDS", hidden=True)] = None,
    watch: Annotated[
        bool,
        typer.Option("--watch", help="Re-grade every SECONDS (default 10, e.g. --watch 5) until every required check passes."),
    ] = False,
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
    save_evidence: SaveEvidence = None,
    from_evidence: Annotated[
        Optional[Path], typer.Option("--from-evidence", help="Grade this evidence bundle (<user>.json.gz) instead of the cluster.")
    ] = None,
    verbose: Verbose = False,
) -> None:
    """Grade one lesson (or all) and print a scored report.

    Example: maas-lab check 2   ·   maas-lab check all --format junit -o report.xml
    """
    from maas_lab import verbose as trace
    from maas_lab.grading import grade, grade_bundle

    trace.enable(verbose)
    try:
        lessons = parse_lessons(lesson)
        _check_format(format_)
        _check_output(output)
        settings = _settings(
            kubeconfig=kubeconfig, context=context, user=user, cluster_domain=cluster_domain, profile=profile,
            litemaas_url=litemaas_url, litellm_url=litellm_url, ca_bundle=ca_bundle, insecure=insecure,
            timeout=timeout, api_key_env=api_key_env,
        )
        if watch_seconds is not None and not watch:
            raise UsageError(f"unexpected argument {watch_seconds!r} (to re-grade on a timer: --watch {watch_seconds})")
        if from_evidence is not None:
            if watch:
                raise UsageError("--watch re-grades the live cluster; a bundle does not change: drop --watch")
            report = grade_bundle(_bundle_path(from_evidence), settings.with_(api_key_env=None), lessons)
        else:
            settings.student_api_key()  # an unset variable is a usage error, found before any request

            def once() -> Report:
                return grade(settings, lessons, evidence=save_evidence)

            report = _watch(once, watch_seconds, no_color) if watch else once()
        _emit(report, format_, output, no_color)
        if save_evidence is not None and report.target.user:
            _say(f"evidence written to {save_evidence / f'{report.target.user}.json.gz'} (secrets replaced by their SHA-256)")
    except MaasLabError as exc:
        raise _fail(exc) from None
    raise typer.Exit(report.exit_code)


def _watch(grade_once: Callable[[], Report], seconds: str | None, no_color: bool) -> Report:
    """The live table on stderr (stdout keeps the final report, for a pipe or -o); Ctrl-C ends it."""
    from rich.console import Console

    from maas_lab.watch import Watch, parse_interval

    console = Console(stderr=True, highlight=False, no_color=no_color or bool(os.environ.get("NO_COLOR")))
    report = Watch(grade_once, parse_interval(seconds), console).run()
    if report is None:
        raise KeyboardInterrupt  # stopped before the first round finished: nothing to report (exit 130)
    return report


@app.command("list")
def list_(
    lesson: Annotated[
        Optional[str],
        typer.Argument(
            help="Lesson number, 'all' lessons, 'smoke' for the lab environment, or nothing for every check.",
            autocompletion=completion.list_groups,
        ),
    ] = None,
    profile: ProfileOpt = "ai501",
    user: User = None,
) -> None:
    """The checks in report order: id, points, title, evidence.

    Example: maas-lab list 3   ·   maas-lab list smoke
    """
    from maas_lab.catalogue import (
        CatalogueRow,
        checks_in_order,
        fill_user,
        profile_points,
        readable_evidence,
        render_catalogue,
        template_values,
    )
    from maas_lab.engine.registry import filled

    try:
        if lesson is None:  # every check: the lessons', then the lab environment's
            groups: list[int | str] = [*parse_lessons("all"), "env"]
        else:
            groups = ["env"] if lesson in ("smoke", "env") else list(parse_lessons(lesson))
        points = profile_points(profile)
        values = template_values(profile, user)
    except MaasLabError as exc:
        raise _fail(exc) from None
    rows = [
        CatalogueRow(
            id=item.id,
            points=f"{points.for_check(item.id, required=item.required):g}" + ("" if item.required else " bonus"),
            title=fill_user(item.title, user),
            evidence=fill_user(readable_evidence(item.evidence), user),
            needs=", ".join(item.needs),
        )
        for item in (filled(c, values) for c in checks_in_order(groups))
    ]
    sys.stdout.write(render_catalogue(rows))


@app.command()
def explain(
    check_id: Annotated[str, typer.Argument(help="A check id such as 2.routes.", autocompletion=completion.check_ids)],
    user: User = None,
) -> None:
    """What a check verifies and where the lesson teaches it.

    Example: maas-lab explain 2.routes
    """
    from maas_lab.catalogue import explain_text, find_check, template_values
    from maas_lab.engine.registry import filled, group

    try:
        item = filled(find_check(check_id), template_values(None, user))
    except MaasLabError as exc:
        raise _fail(exc) from None
    sys.stdout.write(explain_text(item, group(item.lesson).title, user))


@app.command()
def lesson(
    number: Annotated[int, typer.Argument(help="Lesson number 1-5.", autocompletion=completion.lesson_numbers)],
    user: User = None,
    cluster_domain: Domain = None,
    kubeconfig: Kubeconfig = None,
    context: Context = None,
    section_id: Annotated[
        Optional[str], typer.Option("--section", help="Show one step by its anchor, e.g. step-4-install-with-helm.")
    ] = None,
    answers: Annotated[bool, typer.Option("--answers", help="Show the knowledge-check answers.")] = False,
    raw: Annotated[bool, typer.Option("--raw", help="Print the Markdown itself (placeholders filled).")] = False,
    no_color: NoColor = False,
) -> None:
    """Show a lesson with your names filled in (in a pager on a terminal).

    \b
    Example: maas-lab lesson 2
             maas-lab lesson 2 --section step-4-install-with-helm
    """
    from maas_lab.lesson_text import fill, for_terminal, lesson_path, section

    try:
        text = lesson_path(number).read_text("utf-8")
        if section_id is not None:
            text = section(text, section_id)
        _warn(Settings(cluster_domain=cluster_domain))
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
    _show_lesson(for_terminal(text, answers=answers), color=not no_color and not os.environ.get("NO_COLOR"))


def _show_lesson(markdown: str, *, color: bool) -> None:
    """Through $PAGER (or less) on a terminal, straight to standard output otherwise (without colour there)."""
    import shutil

    from maas_lab.lesson_text import render

    if not sys.stdout.isatty():
        sys.stdout.write(render(markdown, width=shutil.get_terminal_size().columns, color=False))
        return
    import pydoc

    os.environ.setdefault("LESS", "-FRX")  # the pager keeps colours, quits when the text fits on one screen
    color = color and os.environ.get("TERM") != "dumb"
    pydoc.pager(render(markdown, width=shutil.get_terminal_size().columns, color=color))


def _warn(settings: Settings) -> None:
    """Settings that are allowed but probably wrong (a cluster domain without `apps.`): one line each."""
    for line in warnings_for(settings):
        _say(f"warning: {line}", "yellow")


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
    """The lesson's knowledge questions, each answer explained.

    Example: maas-lab quiz 1   ·   maas-lab quiz 1 --answers my-answers.yaml
    """
    from rich.console import Console

    from maas_lab.quiz import Graded, Question, ask_in_terminal, load_answers, load_quiz, run_quiz

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
        return ask_in_terminal(question, lambda prompt: console.input(prompt), lambda m: console.print(m, style="yellow"))

    def show(result: Graded) -> None:
        if result.given is None:
            console.print(f"[yellow]– no answer[/yellow] (answer: {result.question.answer})")
        elif result.correct:
            console.print("[green]✔ correct[/green]")
        else:
            console.print(f"[red]✘ not quite[/red] (answer: {result.question.answer})")
        console.print(result.question.explanation, markup=False)

    console.print(f"[bold]Quiz — lesson {the_quiz.lesson}: {the_quiz.title}[/bold]")
    outcome = run_quiz(the_quiz, ask, show)
    if outcome.stopped_by is None:
        console.print(f"\n[bold]Score: {outcome.right}/{outcome.total}[/bold]")
        return
    answered = len(outcome.graded)
    console.print(f"\n[bold]Score so far: {outcome.right}/{answered}[/bold] ({answered} of {outcome.total} questions answered)")
    if outcome.stopped_by == "interrupt":
        raise typer.Exit(130)
    _say("stopped: no more answers on standard input; to answer from a file, pass --answers FILE")
    raise typer.Exit(2)


@app.command("grade")
def grade_command(
    roster: Annotated[
        Optional[Path], typer.Option("--roster", help="CSV (user,context,kubeconfig,cluster_domain) or YAML list.")
    ] = None,
    out: Annotated[Path, typer.Option("--out", help="Gradebook folder.")] = Path("maas-lab-grades"),
    lessons: Annotated[str, typer.Option("--lessons", help="Lessons to grade, e.g. 2,3 (default all).")] = "all",
    jobs: Annotated[int, typer.Option("--jobs", min=1, max=64, help="Students graded at once.")] = 8,
    resume: Annotated[bool, typer.Option("--resume", help="Skip students whose students/<user>.json is in --out.")] = False,
    shard: Annotated[
        Optional[str], typer.Option("--shard", help="Grade only the I-th of N slices of the roster by user name: I/N (or auto/N).")
    ] = None,
    save_evidence: Annotated[
        bool, typer.Option("--save-evidence", help="Also write each student's evidence bundle to OUT/evidence/<user>.json.gz.")
    ] = False,
    from_evidence: Annotated[
        Optional[Path], typer.Option("--from-evidence", help="Grade the bundles in DIR instead of the cluster (--roster filters).")
    ] = None,
    kubeconfig: Kubeconfig = None,
    context: Context = None,
    cluster_domain: Domain = None,
    profile: ProfileOpt = "ai501",
    litemaas_url: LiteMaaSUrl = None,
    litellm_url: LiteLLMUrl = None,
    ca_bundle: CABundle = None,
    insecure: Insecure = False,
    timeout: Annotated[
        float, typer.Option("--timeout", help="Bound for each student, in seconds; one who takes longer gets `error` rows.")
    ] = DEFAULT_RUN_TIMEOUT,
    no_color: NoColor = False,
    # Accepted only to refuse them with a useful message (a gradebook is a folder of every format, users come
    # from the roster); no envvar, so a MAAS_LAB_USER set for `check` does not break `grade`.
    output: Annotated[Optional[str], typer.Option("-o", "--output", hidden=True)] = None,
    format_: Annotated[Optional[str], typer.Option("--format", hidden=True)] = None,
    user: Annotated[Optional[str], typer.Option("--user", hidden=True)] = None,
    verbose: Verbose = False,
) -> None:
    """Grade a cohort and write a gradebook (CSV, JSON, one JSON a student, an HTML page).

    Example: maas-lab grade --roster cohort.csv --lessons 2,3 --out grades/
    """
    from maas_lab import verbose as trace
    from maas_lab.progress import GradeProgress
    from maas_lab.roster import Options, Progress, evidence_rows, grade_roster, parse_shard, read_roster, shard_of

    trace.enable(verbose)
    try:
        if output is not None:
            raise UsageError("grade writes a gradebook folder, not one report: use --out DIR instead of -o/--output")
        if format_ is not None:
            raise UsageError("grade writes every format at once (gradebook.csv, gradebook.json, report.html): drop --format")
        if user is not None:
            raise UsageError("grade takes its students from the roster's `user` column: drop --user")
        numbers = parse_lessons(lessons)
        if from_evidence is not None:
            bundled = {r.user for r in evidence_rows(from_evidence)}
            rows = [r for r in read_roster(roster) if r.user in bundled] if roster else evidence_rows(from_evidence)
        elif roster is None:
            raise UsageError("grade needs --roster FILE (or --from-evidence DIR)")
        else:
            rows = read_roster(roster)
        if shard is not None:
            rows = shard_of(rows, *parse_shard(shard))
        base = _settings(
            kubeconfig=kubeconfig, context=context, cluster_domain=cluster_domain, profile=profile,
            litemaas_url=litemaas_url, litellm_url=litellm_url, ca_bundle=ca_bundle, insecure=insecure, timeout=timeout,
        )
    except MaasLabError as exc:
        raise _fail(exc) from None
    options = Options(jobs=jobs, resume=resume, save_evidence=save_evidence, from_evidence=from_evidence)
    done = [0]

    def progress(step: Progress) -> None:
        done[0] = step.done
        display(step)

    try:
        with GradeProgress(_stderr(), len(rows)) as display:
            book = grade_roster(base, rows, numbers, out, options=options, progress=progress)
    except MaasLabError as exc:
        raise _fail(exc) from None
    except KeyboardInterrupt:
        given = _command_line(
            ("--roster", roster, None), ("--from-evidence", from_evidence, None), ("--out", out, None),
            ("--lessons", lessons, "all"), ("--jobs", jobs, 8), ("--shard", shard, None), ("--save-evidence", save_evidence, False),
            ("--kubeconfig", kubeconfig, None), ("--context", context, None), ("--cluster-domain", cluster_domain, None),
            ("--profile", profile, "ai501"), ("--litemaas-url", litemaas_url, None), ("--litellm-url", litellm_url, None),
            ("--ca-bundle", ca_bundle, None), ("--insecure", insecure, False), ("--timeout", timeout, DEFAULT_RUN_TIMEOUT),
        )
        command = shlex.join(["maas-lab", "grade", *given, "--resume"])
        _say(f"interrupted: {out}/ holds the {done[0]} student(s) graded so far; resume with: {command}")
        raise typer.Exit(130) from None
    _say(f"gradebook written to {out}/ (gradebook.csv, gradebook.json, report.html, students/)")
    trace.phase("the whole class (grading and the gradebook)")
    graded = [r for r in book.reports.values() if r.get("outcome") != "could_not_grade"]
    raise typer.Exit(0 if graded or not rows else 3)


@app.command()
def demo(
    sample: Annotated[str, typer.Argument(help="complete, half-done or broken.")] = "complete",
    format_: Format = "table",
    output: Output = None,
    no_color: NoColor = False,
) -> None:
    """Grade a sample student shipped with maas-lab (no cluster needed) and print the real report.

    Example: maas-lab demo   ·   maas-lab demo broken --format markdown
    """
    from maas_lab.grading import grade_bundle
    from maas_lab.samples import sample_path

    try:
        _check_format(format_)
        _check_output(output)
        report = grade_bundle(sample_path(sample), Settings(), None)
        _emit(report, format_, output, no_color)
    except MaasLabError as exc:
        raise _fail(exc) from None
    raise typer.Exit(report.exit_code)


def _command_line(*options: tuple[str, object, object]) -> list[str]:
    """(flag, value, default) → the words of a command line, for the options that were given."""
    words: list[str] = []
    for flag, value, default in options:
        if value is True:
            words.append(flag)
        elif value not in (None, False, default):
            words += [flag, str(value)]
    return words


def _bundle_path(path: Path) -> Path:
    """A bundle file, or `sample:NAME` for one shipped with maas-lab."""
    if str(path).startswith("sample:"):
        from maas_lab.samples import sample_path

        return sample_path(str(path)[len("sample:") :])
    return path


@app.command()
def smoke(
    kubeconfig: Kubeconfig = None,
    context: Context = None,
    user: Annotated[
        Optional[str], typer.Option("--user", envvar="MAAS_LAB_USER", help="The same as --sample-user.", show_default=False)
    ] = None,
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
    sample_user: Annotated[
        Optional[str],
        typer.Option("--sample-user", help="The student whose permissions are reviewed (default: the first non-admin User)."),
    ] = None,
    roster: Annotated[
        Optional[Path], typer.Option("--roster", help="The class (grade's roster file): each must exist as a User, Canopy running.")
    ] = None,
    model_url: Annotated[
        Optional[list[str]],
        typer.Option("--model-url", help="NAME=URL of a shared model's /v1 base, to probe it from outside the cluster (repeatable)."),
    ] = None,
    verbose: Verbose = False,
) -> None:
    """Is the lab environment ready for a class: cluster, OAuth, shared models, student permissions, storage, roster?

    Example: maas-lab smoke --format junit -o smoke.xml   ·   maas-lab smoke --roster cohort.csv
    """
    from maas_lab import verbose as trace
    from maas_lab.roster import read_roster
    from maas_lab.smoke import parse_model_urls, run_smoke

    trace.enable(verbose)
    try:
        _check_format(format_)
        _check_output(output)
        settings = _settings(
            kubeconfig=kubeconfig, context=context, user=user, cluster_domain=cluster_domain, profile=profile,
            litemaas_url=litemaas_url, litellm_url=litellm_url, ca_bundle=ca_bundle, insecure=insecure, timeout=timeout,
            sample_user=sample_user, model_urls=parse_model_urls(model_url or []),
            roster_users=tuple(row.user for row in read_roster(roster)) if roster else None,
        )
        report = run_smoke(settings)
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
