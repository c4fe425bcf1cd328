"""Fit the confidence curve (CONFIDENCE_SLOPE, CONFIDENCE_OFFSET in qa/search.py).

Fits a one-feature logistic regression, P(the transcript answers the question) from the top
claim's margin `score - best background score`, on OUR OWN questions
(tests/data/own-questions.jsonl), never on the dev set, which stays for checking. Prints the
constants to paste, and what each cut-off (QA_MIN_CONFIDENCE) would refuse.

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
    x, labels_ = np.array(margins), np.array(labels)
    # Platt's targets: (N+ + 1) / (N+ + 2) and 1 / (N- + 2) instead of 1 and 0, so that a set
    # the margin separates perfectly still gives a finite slope (it would grow without bound).
    positives, negatives = labels_.sum(), len(labels_) - labels_.sum()
    y = np.where(labels_ > 0, (positives + 1) / (positives + 2), 1 / (negatives + 2))
    slope, offset = 1.0, 0.0
    for _ in range(200):  # Newton's method on the two parameters
        p = 1.0 / (1.0 + np.exp(-(slope * x + offset)))
        features = np.stack([x, np.ones_like(x)], axis=1)
        gradient = features.T @ (p - y)
        hessian = features.T @ (features * (p * (1 - p))[:, None]) + 1e-9 * np.eye(2)
        slope, offset = np.array([slope, offset]) - np.linalg.solve(hessian, gradient)
    print(f"{len(y)} questions, {int(labels_.sum())} answerable")
    print(f"CONFIDENCE_SLOPE = {slope:.1f}\nCONFIDENCE_OFFSET = {offset:.2f}")
    # The trade-off that QA_MIN_CONFIDENCE picks from, with the curve just fitted.
    confidence = 1.0 / (1.0 + np.exp(-(slope * x + offset)))
    answerable, unanswerable = confidence[labels_ > 0], confidence[labels_ == 0]
    print("cut-off  refuses answerable  abstains on unanswerable")
    for cut in (0.1, 0.2, 0.3, 0.4, 0.5, 0.6):
        refused = float((answerable < cut).mean())
        abstained = float((unanswerable < cut).mean()) if len(unanswerable) else float("nan")
        print(f"{cut:7.1f}  {refused:18.3f}  {abstained:24.3f}")


if __name__ == "__main__":
    default = [Path(__file__).resolve().parents[1] / "tests" / "data" / "own-questions.jsonl"]
    main([Path(p) for p in sys.argv[1:]] or default)
