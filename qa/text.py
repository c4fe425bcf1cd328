"""One script for Chinese text: the model compares questions and claims in simplified
characters, so a question typed in traditional ones (對話, 強化學習) meets the claims' tokens."""

from __future__ import annotations

from functools import cache

import opencc


@cache
def _to_simplified() -> opencc.OpenCC:
    # Character by character ("t2s"): the phrase-level Taiwan configuration also rewrites
    # simplified text (序列 → 串行, 程序 → 进程).
    return opencc.OpenCC("t2s")


def normalise(text: str) -> str:
    """`text` with traditional Chinese characters in their simplified form; all else unchanged."""
    return str(_to_simplified().convert(text))
