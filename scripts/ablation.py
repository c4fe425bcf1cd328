"""What each part of the score does: evaluates variants of the weights in qa/search.py.

    .venv/bin/python scripts/ablation.py [QUESTIONS.jsonl ...]

Defaults to ../shared/eval/dev.jsonl and tests/data/own-questions.jsonl. Prints Hit@1 /
Recall@5 / MRR@10 over answerable questions for each variant and file.
"""

from __future__ import annotations

from pathlib import Path

import question_sets

import qa.search as search
from qa.evaluate import evaluate, load_questions
from qa.settings import get_settings

WEIGHTS = ("W_LATE_CLAIM", "W_LATE_TITLED", "W_DENSE_CLAIM", "W_DENSE_TITLED", "W_LATE_SECTION")
VARIANTS: dict[str, tuple[float, ...]] = {
    "dense, claim": (0, 0, 1, 0, 0),
    "dense, claim + titled claim": (0, 0, 0.5, 0.5, 0),
    "late interaction, claim": (1, 0, 0, 0, 0),
    "late interaction, claim + titled": (0.7, 0.3, 0, 0, 0),
    "late + dense (session 1)": (0.7, 0.3, 0.15, 0.15, 0),
    "late + dense, reweighted": (0.7, 0.65, 0.45, 0.3, 0),
    "+ 0.3 late, whole section": (0.7, 0.65, 0.45, 0.3, 0.3),
}


def main(paths: list[Path]) -> None:
    searcher = search.open_searcher(get_settings(), build=True)
    shipped = tuple(getattr(search, name) for name in WEIGHTS)
    sets = {p.name: load_questions(p) for p in paths}
    print(f"{'variant (Hit@1 / Recall@5 / MRR@10)':36}" + "".join(f"{n:>24}" for n in sets))
    for label, weights in VARIANTS.items():
        for name, value in zip(WEIGHTS, weights, strict=True):
            setattr(search, name, value)
        row = f"{label + (' (shipped)' if weights == shipped else ''):36}"
        for questions in sets.values():
            m = evaluate(searcher, questions)["all"].as_dict()
            row += f"{m['hit@1']:>8.3f}{m['recall@5']:>8.3f}{m['mrr@10']:>8.3f}"
        print(row, flush=True)


if __name__ == "__main__":
    main(question_sets.from_argv([question_sets.DEV, question_sets.OWN]))
