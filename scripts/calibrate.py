"""Fit the confidence model (CONFIDENCE_MARGIN, CONFIDENCE_GAP, CONFIDENCE_UNKNOWN_NAME,
CONFIDENCE_NO_FIGURE, CONFIDENCE_OFFSET in qa/search.py): the probability that a claim answers
the question, from the features `qa.search.confidence_features` computes for the service (its
margin over the best background score, its gap to the best claim's score, whether the question
names something the transcript never does, and whether it asks for a figure that the claim does
not state); and LITERAL_MARGIN, the median margin of the best claim of the answerable ones.

Fits a logistic regression over the ten best claims of each of OUR OWN questions
(tests/data/own-questions.jsonl; a claim is positive when it is one of the question's gold
claims), never over the dev set, which stays for checking. Prints the constants to paste and
what each cut-off (QA_MIN_CONFIDENCE) would do.

    .venv/bin/python scripts/calibrate.py [QUESTIONS.jsonl ...]
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import question_sets
from numpy.typing import NDArray

from qa.evaluate import load_questions
from qa.search import CONFIDENCE_FEATURES, confidence_features, open_searcher
from qa.settings import get_settings

DEPTH = 10


def fit(features: NDArray[np.float64], labels: NDArray[np.float64]) -> NDArray[np.float64]:
    """Logistic regression by Newton's method, with Platt's targets ((N+ + 1) / (N+ + 2) and
    1 / (N- + 2) instead of 1 and 0) so that separable data still gives finite weights."""
    positives, negatives = labels.sum(), len(labels) - labels.sum()
    y = np.where(labels > 0, (positives + 1) / (positives + 2), 1 / (negatives + 2))
    x = np.column_stack([features, np.ones(len(features))])
    w = np.zeros(x.shape[1])
    for _ in range(100):
        p = 1.0 / (1.0 + np.exp(-(x @ w)))
        hessian = x.T @ (x * (p * (1 - p))[:, None]) + 1e-9 * np.eye(len(w))
        w -= np.linalg.solve(hessian, x.T @ (p - y))
    return w


def main(paths: list[Path]) -> None:
    searcher = open_searcher(get_settings(), build=True)
    ids = [c.id for c in searcher.transcript.claims]
    rows: list[NDArray[np.float64]] = []
    labels: list[float] = []
    questions = [q for path in paths for q in load_questions(path)]
    encoded = searcher.encoder.encode_tokens([q.question for q in questions], query=True)
    for q, query in zip(questions, encoded, strict=True):
        scored = searcher.scores(query)
        scores, background = scored.claims, scored.background
        # The features the service computes, from the same functions.
        per_claim = confidence_features(scores, background, clues=searcher.clues(q.question))
        for i in np.argsort(-scores, kind="stable")[:DEPTH]:
            rows.append(per_claim[i])
            labels.append(float(ids[i] in q.gold))
    features, y = np.array(rows), np.array(labels)
    *weights, offset = fit(features, y)
    print(f"{len(questions)} questions, {sum(bool(q.gold) for q in questions)} answerable")
    for name, weight in zip(CONFIDENCE_FEATURES, weights, strict=True):
        print(f"CONFIDENCE_{name.upper()} = {weight:.2f}")
    print(f"CONFIDENCE_OFFSET = {offset:.2f}")
    # The best claim's margin over the background (each question's first row), answerable only.
    best = features.reshape(len(questions), DEPTH, len(CONFIDENCE_FEATURES))[:, 0, 0]
    answerable = np.array([bool(q.gold) for q in questions])
    print(f"LITERAL_MARGIN = {float(np.median(best[answerable])):.4f}")
    # The trade-off that QA_MIN_CONFIDENCE picks from, with the model just fitted.
    confidence = 1.0 / (1.0 + np.exp(-(features @ np.array(weights) + offset)))
    per_question = confidence.reshape(len(questions), DEPTH)[:, :5]
    gold = y.reshape(len(questions), DEPTH)[:, :5]
    print("cut-off  refuses answerable  abstains on unanswerable  answers kept  of them right")
    for cut in (0.1, 0.2, 0.3, 0.4, 0.5):
        kept = per_question >= cut
        refused = float((~kept[answerable, 0]).mean())
        abstained = float((~kept[~answerable, 0]).mean()) if (~answerable).any() else np.nan
        right = float(gold[kept & answerable[:, None]].mean())
        print(
            f"{cut:7.1f}  {refused:18.3f}  {abstained:24.3f}  "
            f"{kept[answerable].sum(1).mean():12.2f}  {right:13.3f}"
        )


if __name__ == "__main__":
    main(question_sets.from_argv([question_sets.OWN]))
