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
    given: str | None

    @property
    def correct(self) -> bool:
        return self.given == self.question.answer


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
        letter = str(value).strip().lower()
        if letter not in known[str(key)].choices:
            raise UsageError(f"answers file {path}: {key}: {value!r} is not one of {', '.join(known[str(key)].choices)}")
        answers[str(key)] = letter
    return answers


def run_quiz(quiz: Quiz, ask: Callable[[Question], str | None], show: Callable[[Graded], None]) -> list[Graded]:
    graded = []
    for question in quiz.questions:
        result = Graded(question, ask(question))
        show(result)
        graded.append(result)
    return graded


__all__ = ["Graded", "Question", "Quiz", "ValidationError", "load_answers", "load_quiz", "run_quiz"]
