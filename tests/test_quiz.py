"""`maas-lab quiz`: answers in any case, a partial score when the student stops, "no answer" for a skipped one."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import yaml
from typer.testing import CliRunner, Result

from maas_lab.cli import app
from maas_lab.quiz import Question, ask_in_terminal, choice_of, load_quiz, run_quiz

QUIZ = load_quiz(1)
RIGHT = {q.id: q.answer for q in QUIZ.questions}


def cli(*args: str | Path, input: str | None = None) -> Result:
    return CliRunner().invoke(app, [str(a) for a in args], input=input, catch_exceptions=False)


def test_answers_at_the_prompt_in_capitals_count() -> None:
    typed = "".join(f"{a.upper()}\n" for a in RIGHT.values())
    result = cli("quiz", "1", input=typed)
    assert result.exit_code == 0, result.stderr
    assert f"Score: {len(RIGHT)}/{len(RIGHT)}" in result.stdout
    assert "not quite" not in result.stdout


def test_an_answer_that_names_no_choice_is_asked_again() -> None:
    first = QUIZ.questions[0]
    typed = "z\n\n" + f" {first.answer.upper()}) \n" + "".join(f"{a}\n" for a in list(RIGHT.values())[1:])
    result = cli("quiz", "1", input=typed)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.count("Please answer with one of a, b, c, d.") == 2
    assert f"Score: {len(RIGHT)}/{len(RIGHT)}" in result.stdout


def test_the_input_ending_half_way_keeps_the_score_so_far() -> None:
    answers = list(RIGHT.values())
    wrong = "a" if answers[2] != "a" else "b"
    result = cli("quiz", "1", input=f"{answers[0]}\n{answers[1]}\n{wrong}\n")  # three answers, then Ctrl-D
    assert result.exit_code == 2
    assert f"Score so far: 2/3 (3 of {len(RIGHT)} questions answered)" in result.stdout
    assert "--answers FILE" in result.stderr and "Traceback" not in result.stderr


def test_ctrl_c_half_way_keeps_the_score_so_far() -> None:
    asked: list[str] = []

    def ask(question: Question) -> str:
        asked.append(question.id)
        if len(asked) == 3:
            raise KeyboardInterrupt
        return question.answer

    outcome = run_quiz(QUIZ, ask, lambda graded: None)
    assert outcome.stopped_by == "interrupt" and outcome.right == 2 and len(outcome.graded) == 2
    assert outcome.total == len(QUIZ.questions)


def test_unanswered_questions_in_a_file_say_no_answer(tmp_path: Path) -> None:
    path = tmp_path / "answers.yaml"
    path.write_text(yaml.safe_dump({"q1": RIGHT["q1"].upper(), "q2": RIGHT["q2"]}))
    result = cli("quiz", "1", "--answers", path)
    assert result.exit_code == 0, result.stderr
    assert f"Score: 2/{len(RIGHT)}" in result.stdout
    assert result.stdout.count("no answer") == len(RIGHT) - 2
    assert "not quite" not in result.stdout


def test_choice_of_reads_what_people_type() -> None:
    question = QUIZ.questions[0]
    assert [choice_of(t, question) for t in ("b", "B", " b) ", "B.", "e", "", "bb")] == ["b", "b", "b", "b", None, None, None]
    replies = iter(["", "E", "C"])
    warnings: list[str] = []
    assert ask_in_terminal(question, lambda prompt: next(replies), warnings.append) == "c"
    assert len(warnings) == 2


def test_every_shipped_quiz_loads() -> None:
    names = [p.name for p in resources.files("maas_lab.quizzes").iterdir() if p.name.endswith(".yaml")]
    assert names and all(load_quiz(int(n[4:-5])).questions for n in names)
