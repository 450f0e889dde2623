"""`maas-lab quiz N`: the lesson's knowledge questions, asked in the terminal or answered from a file."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from maas_lab.errors import UsageError


class Question(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    question: str
    choices: dict[str, str] = Field(min_length=2)
    answer: str
    explanation: str

    @model_validator(mode="after")
    def _answer_is_a_choice(self) -> Question:
        if self.answer not in self.choices:
            raise ValueError(f"answer {self.answer!r} is not one of the choices")
        return self


class Quiz(BaseModel):
    model_config = ConfigDict(extra="forbid")
    lesson: int
    title: str
    questions: list[Question] = Field(min_length=1)


@dataclass(frozen=True)
class Graded:
    question: Question
    given: str | None  # None: the question was left unanswered

    @property
    def correct(self) -> bool:
        return self.given == self.question.answer


@dataclass(frozen=True)
class Outcome:
    graded: list[Graded]
    total: int
    stopped_by: str | None = None  # "eof" (Ctrl-D, or the input ended) or "interrupt" (Ctrl-C) before the end

    @property
    def right(self) -> int:
        return sum(1 for g in self.graded if g.correct)


def choice_of(text: str, question: Question) -> str | None:
    """The choice a typed answer names, whatever its case: `B`, `b`, ` b) ` → `b`; None when it names none."""
    wanted = text.strip().rstrip(").").strip().lower()
    return next((letter for letter in question.choices if letter.lower() == wanted), None)


def load_quiz(lesson: int) -> Quiz:
    resource = resources.files("maas_lab.quizzes").joinpath(f"quiz{lesson}.yaml")
    if not resource.is_file():
        raise UsageError(f"no quiz for lesson {lesson} (quizzes exist for: {', '.join(available())})")
    return Quiz.model_validate(yaml.safe_load(resource.read_text("utf-8")))


def available() -> list[str]:
    names = [p.name for p in resources.files("maas_lab.quizzes").iterdir()]
    return sorted(n[4:-5] for n in names if n.startswith("quiz") and n.endswith(".yaml"))


def load_answers(path: Path, quiz: Quiz) -> dict[str, str]:
    """`{question id: choice letter}` from YAML or JSON; anything else is a usage error."""
    try:
        text = path.read_text("utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not UTF-8 text"
        raise UsageError(f"cannot read answers file {path}: {reason}") from None
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError):
        raise UsageError(f"answers file {path} is not valid YAML/JSON") from None
    if not isinstance(data, dict):
        raise UsageError(f"answers file {path} must map question ids to choice letters, e.g. q1: b")
    known = {q.id: q for q in quiz.questions}
    answers: dict[str, str] = {}
    for key, value in data.items():
        if str(key) not in known:
            raise UsageError(f"answers file {path}: unknown question id {key!r} (ids: {', '.join(known)})")
        letter = choice_of(str(value), known[str(key)])
        if letter is None:
            raise UsageError(f"answers file {path}: {key}: {value!r} is not one of {', '.join(known[str(key)].choices)}")
        answers[str(key)] = letter
    return answers


def run_quiz(quiz: Quiz, ask: Callable[[Question], str | None], show: Callable[[Graded], None]) -> Outcome:
    """Ask every question; Ctrl-D or Ctrl-C in `ask` ends the quiz early with the score of what was answered."""
    graded: list[Graded] = []
    for question in quiz.questions:
        try:
            given = ask(question)
        except EOFError:
            return Outcome(graded, len(quiz.questions), "eof")
        except KeyboardInterrupt:
            return Outcome(graded, len(quiz.questions), "interrupt")
        result = Graded(question, given)
        show(result)
        graded.append(result)
    return Outcome(graded, len(quiz.questions))


def ask_in_terminal(question: Question, read: Callable[[str], str], warn: Callable[[str], None]) -> str:
    """Ask until the answer names a choice (any case); EOFError and KeyboardInterrupt go to the caller."""
    letters = "/".join(question.choices)
    while True:
        letter = choice_of(read(f"Your answer [{letters}]: "), question)
        if letter is not None:
            return letter
        warn(f"Please answer with one of {', '.join(question.choices)}.")


__all__ = ["Graded", "Outcome", "Question", "Quiz", "ValidationError", "ask_in_terminal", "load_answers", "load_quiz", "run_quiz"]
