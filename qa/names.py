"""Names in Latin script (GPT-4, Sora, DeepSeek, Mamba): the ones a transcript uses, and those
a question uses that the transcript never does. A transcript cannot answer what it says about
something it never names, so such a question is probably not answered."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from typing import NamedTuple

from pypinyin import lazy_pinyin

_WORD = re.compile(r"[A-Za-z][A-Za-z0-9.+#'-]*[A-Za-z0-9+#]|[A-Za-z]")
_SENTENCE_END = ".?!:\u3002\uff1f\uff01\uff1a"  # and the full-width 。？！：
# A misspelt name (Kaizer, Transfromer) is still the transcript's name.
_SAME_NAME = 0.8
# Words English capitalises that name nothing a transcript would have to mention: the
# transcript and its parts, forms of address, openers, and languages.
# fmt: off
_ORDINARY = frozenset((
    "dialogue", "dialog", "section", "part", "chapter", "interview", "conversation",
    "transcript", "summary", "talk", "podcast", "episode", "question", "answer", "host",
    "guest", "interviewer", "interviewee", "speaker", "internet", "web",
    "mr", "mrs", "ms", "dr", "prof", "professor", "sir", "madam",
    "hi", "hello", "hey", "ok", "okay", "thanks", "thank", "please", "btw",
    "english", "chinese", "mandarin", "cantonese", "japanese", "korean", "french",
    "german", "spanish", "portuguese", "italian", "russian", "arabic", "hindi",
))
# Lower-case words inside a Title Case run ("Tower of Babel", "Mixture of Experts"); not "and"
# or "to", which join names as often ("from Google to Meta").
_CONNECTORS = frozenset(("of", "for", "in", "on"))
# fmt: on
_HAN = re.compile(r"[\u4e00-\u9fff]+")
# The longest name in pinyin looked for, in syllables (Li Jianzhong is 1 + 2).
_PINYIN_SYLLABLES = 4


def latin_words(text: str) -> list[str]:
    """Every word in Latin letters ("GPT-4", "Scaling", "Law"), as written."""
    return _WORD.findall(text)


def names_in(text: str) -> list[str]:
    """Words spelled as names: with a capital or digit after the first letter (GPT-4, LoRA,
    DeepSeek), or capitalised where no English sentence starts (Sora, Mamba), except in a
    run of capitalised words in English text (Title Case: "Reinforcement Learning")."""
    words = [_Word.at(match, text) for match in _WORD.finditer(text)]
    # English writes terms in Title Case ("World Models"); in a Chinese question such a run
    # is a name or a title ("Google Brain", 《Attention Is All You Need》).
    english = not _HAN.search(text)
    titled = _title_case(words) if english else set()
    found = []
    for i, word in enumerate(words):
        if len(word.text) < 2:
            continue
        if word.inner or (word.capital and i not in titled):
            found.append(word.text)
    return found


def _title_case(words: list[_Word]) -> set[int]:
    """The places of the words in runs of two or more capitalised words, which may have a
    connector between two plain ones ("Tower of Babel", not "Kaiser of OpenAI")."""
    found: set[int] = set()
    for i, word in enumerate(words):
        if i > 0 and word.joins(words[i - 1]):
            found |= {i - 1, i}
        elif (
            i > 1
            and words[i - 1].text.lower() in _CONNECTORS
            and words[i - 1].spaced
            and word.joins(words[i - 2])
            and not (word.inner or words[i - 2].inner)
        ):
            found |= {i - 2, i}
    return found


class _Word(NamedTuple):
    text: str
    capital: bool  # capitalised where no English sentence starts
    inner: bool  # a capital or digit after the first letter
    possessive: bool  # "Google's": a name
    spaced: bool  # a space or hyphen before it

    @classmethod
    def at(cls, match: re.Match[str], text: str) -> _Word:
        word = match.group(0).split("'")[0]
        before = text[: match.start()].rstrip()
        after = text[match.end() :].lstrip()[:1]
        # An English sentence's first word ("Is", "Summarize"), not one that Chinese follows
        # ("Sora等模型…", "Cursor 和 Copilot…").
        chinese_follows = after.isalnum() and not after.isascii()
        starts_sentence = (not before or before[-1] in _SENTENCE_END) and not chinese_follows
        return cls(
            text=word,
            capital=word[0].isupper() and not starts_sentence,
            inner=any(ch.isupper() or ch.isdigit() for ch in word[1:]),
            possessive="'" in match.group(0),
            spaced=text[match.start() - 1 : match.start()] in (" ", "-"),
        )

    def joins(self, previous: _Word) -> bool:
        """Whether this word and the one before it are two words of one Title Case run."""
        return (
            self.spaced
            and self.capital
            and previous.capital
            and not (self.possessive or previous.possessive)
        )


class KnownWords:
    """The Latin-script words of a transcript, to tell its names from names it never uses."""

    def __init__(self, texts: Iterable[str]) -> None:
        texts = list(texts)
        self._words = sorted({w.lower() for text in texts for w in latin_words(text)})
        self._squashed = {_squash(w) for w in self._words}
        # A name written in pinyin (Li Jianzhong) is the transcript's when it has the
        # characters (李建忠).
        self._pinyin = {
            "".join(syllables[i : i + n])
            for text in texts
            for run in _HAN.findall(text)
            for syllables in [lazy_pinyin(run)]
            for n in range(1, _PINYIN_SYLLABLES + 1)
            for i in range(len(syllables) - n + 1)
        }

    def unknown_names(self, question: str) -> list[str]:
        """The names in `question` that the transcript never uses, even misspelt or written
        without hyphens (gpt4 for GPT-4)."""
        return [name for name in names_in(question) if not self._knows(name)]

    def _knows(self, name: str) -> bool:
        word = name.lower()
        squashed = _squash(word)
        if word in _ORDINARY or squashed in self._pinyin:
            return True
        if squashed in self._squashed or squashed.removesuffix("s") in self._squashed:
            return True
        if difflib.get_close_matches(word, self._words, n=1, cutoff=_SAME_NAME):
            return True
        # A compound of known names and ordinary words (AI-assisted, Sora-like) is no new name.
        parts = name.split("-")
        return len(parts) > 1 and all(p.islower() or not p or self._knows(p) for p in parts)


def _squash(word: str) -> str:
    return re.sub(r"[^a-z0-9]", "", word)
