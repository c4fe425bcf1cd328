"""Names in Latin script (GPT-4, Sora, DeepSeek, Mamba): the ones a transcript uses, and those
a question uses that the transcript never does. A transcript cannot answer what it says about
something it never names, so such a question is probably not answered."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable

_WORD = re.compile(r"[A-Za-z][A-Za-z0-9.+#'-]*[A-Za-z0-9+#]|[A-Za-z]")
_SENTENCE_END = ".?!:\u3002\uff1f\uff01\uff1a"  # and the full-width 。？！：
# A misspelt name (Kaizer, Transfromer) is still the transcript's name.
_SAME_NAME = 0.8


def latin_words(text: str) -> list[str]:
    """Every word in Latin letters ("GPT-4", "Scaling", "Law"), as written."""
    return _WORD.findall(text)


def names_in(text: str) -> list[str]:
    """Words spelled as names: with a capital or digit after the first letter (GPT-4, LoRA,
    DeepSeek), or capitalised where no English sentence starts (Sora, Mamba)."""
    found = []
    for match in _WORD.finditer(text):
        word = match.group(0).split("'")[0]
        if len(word) < 2:
            continue
        before = text[: match.start()].rstrip()
        after = text[match.end() : match.end() + 1]
        # An English sentence's first word ("Is", "Summarize"), not "Sora等模型…" in Chinese.
        starts_sentence = (not before or before[-1] in _SENTENCE_END) and not after.isalnum()
        inner = any(ch.isupper() or ch.isdigit() for ch in word[1:])
        if inner or (word[0].isupper() and not starts_sentence):
            found.append(word)
    return found


class KnownWords:
    """The Latin-script words of a transcript, to tell its names from names it never uses."""

    def __init__(self, texts: Iterable[str]) -> None:
        self._words = sorted({w.lower() for text in texts for w in latin_words(text)})
        self._squashed = {_squash(w) for w in self._words}

    def unknown_names(self, question: str) -> list[str]:
        """The names in `question` that the transcript never uses, even misspelt or written
        without hyphens (gpt4 for GPT-4)."""
        return [name for name in names_in(question) if not self._knows(name)]

    def _knows(self, name: str) -> bool:
        word = name.lower()
        squashed = _squash(word)
        if squashed in self._squashed or squashed.removesuffix("s") in self._squashed:
            return True
        if difflib.get_close_matches(word, self._words, n=1, cutoff=_SAME_NAME):
            return True
        # A compound of known names and ordinary words (AI-assisted, Sora-like) is no new name.
        parts = name.split("-")
        return len(parts) > 1 and all(p.islower() or not p or self._knows(p) for p in parts)


def _squash(word: str) -> str:
    return re.sub(r"[^a-z0-9]", "", word)
