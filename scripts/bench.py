"""Query latency on this machine: the forward pass, the scoring that late interaction adds,
and the whole `Searcher.search` call, over the questions of a JSON Lines file.

    .venv/bin/python scripts/bench.py [QUESTIONS.jsonl] [--repeat N]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np
import question_sets

from qa.evaluate import load_questions
from qa.search import open_searcher
from qa.settings import get_settings


def _ms(samples: list[float]) -> str:
    p50 = statistics.median(samples) * 1000
    p95 = float(np.percentile(samples, 95)) * 1000
    return f"p50 {p50:7.2f} ms   p95 {p95:7.2f} ms"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("questions", nargs="?", type=Path, default=question_sets.DEV)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    searcher = open_searcher(get_settings(), build=True)
    texts = [q.question for q in load_questions(args.questions)] * args.repeat
    searcher.search(texts[0])  # warm-up
    encode, dense_only, score, total = [], [], [], []
    for text in texts:
        t0 = time.perf_counter()
        (query,) = searcher.encoder.encode_tokens([text], query=True)
        t1 = time.perf_counter()
        searcher.scores(query)
        t2 = time.perf_counter()
        searcher.index.search(query.sentence[None, :], len(searcher.transcript.claims))
        t3 = time.perf_counter()
        searcher.search(text)
        t4 = time.perf_counter()
        encode.append(t1 - t0)
        score.append(t2 - t1)
        dense_only.append(t3 - t2)
        total.append(t4 - t3)
    print(f"{len(texts)} questions, {len(searcher.transcript.claims)} claims")
    print(f"forward pass (encode)          {_ms(encode)}")
    print(f"dense FAISS search alone       {_ms(dense_only)}")
    print(f"full scoring (late + dense)    {_ms(score)}")
    print(f"whole search() call            {_ms(total)}")


if __name__ == "__main__":
    main()
