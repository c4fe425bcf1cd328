"""The words of a question that say where to look, not what to look for: "访谈里哪些地方提到了
互联网?", "Which parts of the interview mention rewards?". No claim uses them, so by idf over
the claims they weighed most (访谈, 提到: 4.5 and 5.6 against 2.5 for 互联网) and a question
gathering a theme from across the transcript was ranked by its "where" words. Found in the
question's tokens as the tokenizer cut them, so that the search can weigh them for nothing."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

_ZH = (
    # the transcript itself: 访谈里, 整场对话中, 他的论述里
    r"(?:这次|这场|这期|这篇|整场|整个|整篇|全场|全篇)?"
    r"(?:访谈|采访|对话|节目|播客|聊天|谈话|文章|全文|文中|原文|论述|发言)"
    r"(?:里面|里|中间|当中|中|内|上)?"
    # where in it: 哪些地方, 哪几处, 在哪
    r"|(?:哪些|哪个|哪几个|哪几|什么)(?:地方|部分|段落|段|处|场合|时候|内容|方面|话题|环节)"
    r"|哪里|哪儿|几处|几次|在哪|都在|各处|多处|分别"
    # saying it: 提到过, 说到了, 涉及到
    r"|(?:提到|提及|说到|讲到|谈到|聊到|涉及到?|出现|讨论|说起|讲起|谈起|论及|触及)(?:过|了|到|在)?"
    r"|(?:说|讲|谈|聊|提)(?:过|了)"
)
_EN = (
    r"\b(?:where|which\s+parts?|what\s+parts?|anywhere|anything|any\s+place|places?"
    r"|everywhere|every\s+place)\b"
    r"|\b(?:in|of|throughout|across)\s+(?:the|this)\s+(?:whole\s+|entire\s+)?"
    r"(?:interview|conversation|podcast|talk|transcript|discussion|dialogues?)\b"
    r"|\b(?:interview|conversation|podcast|transcript)\b"
    r"|\b(?:mention(?:s|ed)?|talk(?:s|ed)?\s+about|brings?\s+up|brought\s+up|comes?\s+up"
    r"|came\s+up|discuss(?:es|ed)?|touch(?:es|ed)?\s+on|refer(?:s|red)?\s+to)\b"
)
# A lookahead matches at every position, not one match after another: "出现在哪些地方" would
# otherwise spend 在 on "出现在" and leave "哪些地方" unmatched.
_WHERE = re.compile(f"(?=({_ZH}|{_EN}))", re.IGNORECASE)


def where_words(pieces: Sequence[str]) -> NDArray[np.bool_]:
    """Which of a question's tokens (`pieces`: their text as the tokenizer writes it) lie
    wholly inside words that say where to look. A piece starting with "▁" starts a word, as
    SentencePiece (the default model's XLM-R tokenizer) writes it; from a tokenizer that marks
    words otherwise, English words run together and only the Chinese ones are found."""
    text, spans = "", []
    for piece in pieces:
        if piece.startswith("▁"):
            text, piece = text + " ", piece[1:]
        spans.append((len(text), len(text) + len(piece)))
        text += piece
    covered = np.zeros(len(text), dtype=bool)
    for match in _WHERE.finditer(text):
        covered[match.start(1) : match.end(1)] = True
    return np.array([end > start and covered[start:end].all() for start, end in spans], dtype=bool)
