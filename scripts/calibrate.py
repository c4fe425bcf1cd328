"""Fit the confidence curve (CONFIDENCE_SLOPE, CONFIDENCE_OFFSET in qa/search.py).

Fits a one-feature logistic regression, P(the transcript answers the question) from the top
claim's margin `score - best background score`, on OUR OWN questions
(tests/data/own-questions.jsonl), never on the dev set, which stays for checking. Prints the
constants to paste.

    .venv/bin/python scripts/calibrate.py [QUESTIONS.jsonl ...]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from qa.evaluate import load_questions
from qa.search import open_searcher
from qa.settings import get_settings


def main(paths: list[Path]) -> None:
    searcher = open_searcher(get_settings(), build=True)
    margins: list[float] = []
    labels: list[float] = []
    for path in paths:
        for q in load_questions(path):
            (query,) = searcher.encoder.encode_tokens([q.question], query=True)
            scores, background = searcher.scores(query)
            margins.append(float(scores.max() - background))
            labels.append(float(bool(q.gold)))
    x, y = np.array(margins), np.array(labels)
    slope, offset = 1.0, 0.0
    for _ in range(20000):  # plain gradient descent: two parameters, a few hundred points
        p = 1.0 / (1.0 + np.exp(-(slope * x + offset)))
        slope -= 50.0 * float(((p - y) * x).mean())
        offset -= 0.5 * float((p - y).mean())
    print(f"{len(y)} questions, {int(y.sum())} answerable")
    print(f"CONFIDENCE_SLOPE = {slope:.1f}\nCONFIDENCE_OFFSET = {offset:.2f}")


if __name__ == "__main__":
    default = [Path(__file__).resolve().parents[1] / "tests" / "data" / "own-questions.jsonl"]
    main([Path(p) for p in sys.argv[1:]] or default)
