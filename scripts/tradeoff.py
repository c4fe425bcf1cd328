"""What the confidence cut-off (QA_MIN_CONFIDENCE) does, and whether confidence means what it
says, on each question file: the tables of docs/quality.md.

    .venv/bin/python scripts/tradeoff.py [QUESTIONS.jsonl ...]

Defaults to ../shared/eval/dev.jsonl and tests/data/own-questions.jsonl. For each file and
cut-off: abstained (unanswerable questions given no answer) / wrongly refused (answerable ones
given none) / Recall@5 of the answers given / share of the answers given that are right. Then,
per confidence band, the share of the top-5 answers in it that are right.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import question_sets

from qa.evaluate import load_questions
from qa.search import Question, open_searcher
from qa.settings import get_settings

CUTS = (0.1, 0.2, 0.3, 0.35, 0.4, 0.5)
BANDS = ((0.8, 1.01), (0.5, 0.8), (0.2, 0.5), (0.0, 0.2))


def main(paths: list[Path]) -> None:
    searcher = open_searcher(get_settings(), build=True)
    for path in paths:
        questions = load_questions(path)
        results = searcher.search_many(
            [Question(q.question, top_k=5, min_confidence=0) for q in questions]
        )
        ranked = [
            [(a.confidence, a.claim.id in q.gold) for a in r.answers]
            for q, r in zip(questions, results, strict=True)
        ]
        print(f"{path.name}: abstained / wrongly refused / Recall@5 given / right")
        for cut in CUTS:
            abstained, refused, recall, right = [], [], [], []
            for q, answers in zip(questions, ranked, strict=True):
                kept = [ok for c, ok in answers if c >= cut]
                if not q.gold:
                    abstained.append(not kept)
                    continue
                refused.append(not kept)
                recall.append(sum(kept) / len(q.gold))
                right.extend(kept)
            shares = (_share(abstained), _share(refused), _share(recall), _share(right, 2))
            print(f"  cut-off {cut:g}: " + " / ".join(shares))
        pairs = [pair for answers in ranked for pair in answers]
        bands = []
        for low, high in BANDS:
            hits = [ok for c, ok in pairs if low <= c < high]
            bands.append(f"[{low}, {min(high, 1.0)}) {_share(hits, 2)} of {len(hits)}")
        print("  right per confidence band: " + ", ".join(bands))


def _share(values: list[bool] | list[float], digits: int = 3) -> str:
    return f"{np.mean(values):.{digits}f}" if values else "–"


if __name__ == "__main__":
    main(question_sets.from_argv([question_sets.DEV, question_sets.OWN]))
