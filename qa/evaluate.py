"""Measure answer quality on a JSON Lines file of questions with their gold claims.

Each line: `{"qid", "kind", "question", "gold": ["d7c2", ...]}`; an empty `gold` means the
transcript does not answer the question. Questions go through `Searcher.search`, the same path
the service and the CLI use.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from qa.errors import InvalidInputError, QAError
from qa.search import Searcher

RANK_DEPTH = 10


@dataclass(frozen=True)
class Question:
    qid: str
    kind: str
    question: str
    gold: frozenset[str]


@dataclass
class Tally:
    """Running sums for one kind (or all): ranking metrics over answerable questions, refusal
    rates over each side."""

    answerable: int = 0
    unanswerable: int = 0
    hit1: float = 0.0
    recall5: float = 0.0
    mrr10: float = 0.0
    abstained: int = 0
    refused: int = 0
    misses: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, float | int | None]:
        n, m = self.answerable, self.unanswerable
        return {
            "questions": n + m,
            "hit@1": self.hit1 / n if n else None,
            "recall@5": self.recall5 / n if n else None,
            "mrr@10": self.mrr10 / n if n else None,
            "abstention": self.abstained / m if m else None,
            "false_refusal": self.refused / n if n else None,
        }


def load_questions(path: Path) -> list[Question]:
    """Read and check a questions file; a bad line is an error naming the file and line."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise QAError(f"{path}: cannot read the questions file ({exc})") from exc
    questions: list[Question] = []
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            question = Question(
                qid=str(row.get("qid", lineno)),
                kind=str(row.get("kind", "all")),
                question=row["question"],
                gold=frozenset(row.get("gold", [])),
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise InvalidInputError(
                f'{path}:{lineno}: expected {{"question": str, "gold": [claim ids], '
                f'"kind": str}} ({exc})'
            ) from exc
        if not isinstance(question.question, str):
            raise InvalidInputError(f"{path}:{lineno}: 'question' must be a string")
        questions.append(question)
    if not questions:
        raise InvalidInputError(f"{path}: no questions found")
    return questions


def evaluate(searcher: Searcher, questions: Iterable[Question]) -> dict[str, Tally]:
    """Per-kind tallies, plus `"all"`."""
    tallies: dict[str, Tally] = defaultdict(Tally)
    known = {c.id for c in searcher.transcript.claims}
    for q in questions:
        unknown = q.gold - known
        if unknown:
            raise InvalidInputError(
                f"question {q.qid} names claims this transcript does not have: {sorted(unknown)}"
            )
        # One search with the full ranking; "answered" is what the default cut-off would say.
        ranked = searcher.search(q.question, top_k=RANK_DEPTH, min_confidence=0.0)
        answered = bool(ranked.answers) and (
            ranked.answers[0].confidence >= searcher.min_confidence
        )
        ids = [a.claim.id for a in ranked.answers]
        for tally in (tallies[q.kind], tallies["all"]):
            if not q.gold:
                tally.unanswerable += 1
                tally.abstained += not answered
                continue
            tally.answerable += 1
            tally.refused += not answered
            tally.hit1 += bool(ids) and ids[0] in q.gold
            tally.recall5 += len(q.gold & set(ids[:5])) / len(q.gold)
            first = next((r for r, i in enumerate(ids, start=1) if i in q.gold), None)
            tally.mrr10 += 1.0 / first if first else 0.0
            if not ids or ids[0] not in q.gold:
                tally.misses.append(q.qid)
    return dict(tallies)
