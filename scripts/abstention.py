"""How well each choice of background sentences tells answerable questions from the rest.

    .venv/bin/python scripts/abstention.py [QUESTIONS.jsonl ...]

Defaults to ../shared/eval/dev.jsonl and tests/data/own-questions.jsonl. For each variant it
builds a throwaway index and prints, per file: the ROC AUC of the margin (best claim score minus
best background score) between answerable and unanswerable questions, and the abstention and
false-refusal rates at the shipped cut-off (QA_MIN_CONFIDENCE's default, with the shipped
confidence model, which was fitted for the shipped background; questions naming what the
transcript never names, or that ask for a figure, are marked down as in the service).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import question_sets

import qa.index
from qa.evaluate import load_questions
from qa.model import Encoded, load_encoder
from qa.search import Searcher, confidences
from qa.settings import DEFAULT_MIN_CONFIDENCE, get_settings
from qa.transcript import load_transcript

LINES = qa.index.background_lines()
# Session 1 shipped the first 89 lines of qa/data/background.txt, in both scripts; session 2
# the first 135, in the transcript's script.
FIRST, SECOND = LINES[:89], LINES[:135]
IN_SCRIPT = qa.index.background_sentences


def variants() -> dict[str, Callable[[str], list[str]]]:
    def both(lines: list[str]) -> Callable[[str], list[str]]:
        return lambda script: lines

    def matched(lines: list[str]) -> Callable[[str], list[str]]:
        return lambda script: IN_SCRIPT(script, lines)

    return {
        "89 lines, both scripts (session 1)": both(FIRST),
        "89 lines, transcript's script only": matched(FIRST),
        "135 lines, both scripts": both(SECOND),
        "135 lines, transcript's script (session 2)": matched(SECOND),
        f"{len(LINES)} lines, both scripts": both(LINES),
        f"{len(LINES)} lines, transcript's script (shipped)": matched(LINES),
    }


def main(paths: list[Path]) -> None:
    settings = get_settings()
    encoder = load_encoder(settings)
    transcript = load_transcript(settings.transcript)
    sets = {p.name: load_questions(p) for p in paths}
    encoded: dict[str, list[Encoded]] = {
        name: encoder.encode_tokens([q.question for q in qs], query=True)
        for name, qs in sets.items()
    }
    print(
        f"{'background (AUC / abstention / false refusals)':44}" + "".join(f"{n:>24}" for n in sets)
    )
    for label, chooser in variants().items():
        qa.index.background_sentences = chooser  # type: ignore[assignment]
        with tempfile.TemporaryDirectory() as where:
            index = qa.index.build_index(transcript, encoder, Path(where))
            searcher = Searcher(index, encoder)
            row = f"{label:44}"
            for name, questions in sets.items():
                margins, best = [], []
                for question, query in zip(questions, encoded[name], strict=True):
                    scored = searcher.scores(query)
                    scores, background = scored.claims, scored.background
                    margins.append(float(scores.max() - background))
                    clues = searcher.clues(question.question)
                    best.append(float(confidences(scores, background, clues=clues).max()))
                m = np.array(margins)
                gold = np.array([bool(q.gold) for q in questions])
                refused = np.array(best) < DEFAULT_MIN_CONFIDENCE
                auc = float(np.mean(m[gold][:, None] > m[~gold][None, :]))
                row += f"{auc:>8.3f}{refused[~gold].mean():>8.3f}{refused[gold].mean():>8.3f}"
            print(row, flush=True)


if __name__ == "__main__":
    main(question_sets.from_argv([question_sets.DEV, question_sets.OWN]))
