"""Which dialogues a question names by number: "对话四讲了什么?", "第三段", "dialogue 6",
"the second section", "part 3". Readers see the transcript's numbered headings and ask about
them. And whether it asks what the whole transcript says ("这篇访谈讲了什么?", "Summarize the
interview") or what one part of it says ("具身智能那一段讲了什么?", "Summarize the part about
robots")."""

from __future__ import annotations

import re
from collections.abc import Collection

_DIGITS = {ch: i for i, ch in enumerate("零一二三四五六七八九")} | {"两": 2}
_ZH_NUMBER = r"[0-9]{1,2}|[一二两三四五六七八九十]{1,3}"
# After "对话一" these make a word with the numeral, not a reference: 对话一开始 (as the
# conversation begins), 对话一样, 对话一直, 对话一些, 对话三次, 对话两个 …
_NOT_AFTER = "开样直起般些下定切致点次个种位方面边同共旦再遍轮场"
_ZH = re.compile(
    rf"对话\s*(?P<a>{_ZH_NUMBER})(?![{_NOT_AFTER}])"
    rf"|第\s*(?P<b>{_ZH_NUMBER})\s*(?:(?:个|段|场|轮|次)?\s*(?:对话|部分|节|话题|主题)|段)"
)
# fmt: off
_EN_WORDS = ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"]
_EN_ORDINALS = [
    "first", "second", "third", "fourth", "fifth",
    "sixth", "seventh", "eighth", "ninth", "tenth",
]
# fmt: on
_EN_NUMBER = rf"[0-9]{{1,2}}|{'|'.join(_EN_WORDS)}"
_EN = re.compile(
    rf"\b(?:dialogue|dialog|section)s?\s*(?:#|no\.?\s*|number\s*)?(?P<n>{_EN_NUMBER})\b"
    r"|\bconversation\s*#?\s*(?P<d>[0-9]{1,2})\b"
    rf"|\b(?P<o>[0-9]{{1,2}}(?:st|nd|rd|th)|{'|'.join(_EN_ORDINALS)}|last|final)\s+"
    r"(?:dialogue|dialog|section|conversation|part|segment|chapter|topic)\b"
    rf"|\b(?:part|segment|chapter)\s*#?\s*(?P<p>{_EN_NUMBER})\b",
    re.IGNORECASE,
)


# The transcript as a whole, and asking what it says (a question needs both); one that names
# a part of it ("the section on robots") asks about that part.
_WHOLE = re.compile(
    r"(?:整篇|全篇|整个|整场|这篇|本篇|这次|本次|这场|这期|本期|所有|各个|每个)的?\s*"
    r"(?:访谈|对话|采访|文章|谈话|节目|播客|讨论|内容)|全文"
    r"|(?:他们|两人|两位|二人|和\S{1,12}?)都?(?:聊|谈|讨论)"
    r"|\b(?:the|this)\s+(?:whole\s+|entire\s+|full\s+)?"
    r"(?:interview|conversation|transcript|talk|discussion|podcast|episode|article)\b"
    r"(?!\s+(?:on|about|of|regarding|around)\s+\w)"
    r"|\ball\s+(?:the\s+)?(?:dialogues|sections)\b|\bdid\s+they\s+(?:talk|discuss|cover)\b",
    re.IGNORECASE,
)
_PART = re.compile(
    r"部分|段落|章节|这段|\b(?:section|part|dialogue|dialog|chapter)\b", re.IGNORECASE
)
_GIST = re.compile(
    # "讲了什么?" but not "讲了什么菜谱?"
    r"(?:讲|说|聊|谈)[了的]?些?(?:什么|啥)\s*(?:呢|啊|呀)?\s*[?？。.!！]*\s*$"
    r"|(?:讲|说|聊|谈|讨论|涉及)了?哪些|有哪些(?:话题|内容|观点|要点|主题)"
    r"|主要(?:观点|内容|话题|讲|说|结论|主题)|核心(?:观点|内容)|要点|重点|总结|概括|概述|梗概|大意"
    r"|\b(?:summari[sz]e|summary|overview|gist|takeaways?|recap)\b"
    r"|\b(?:main|key|core|central)\s+(?:points?|ideas?|topics?|themes?|claims?|arguments?)\b"
    r"|\b(?:what|which)\s+(?:topics|themes|subjects)\b"
    r"|\bwhat\s+(?:is|was|'s)\s+(?:it|the\s+\w+|this\s+\w+)\s+about\b"
    r"|\bwhat\s+(?:was|is|were|are|got)\s+(?:discussed|covered|talked\s+about)\b"
    r"|\bwhat\s+did\s+they\s+(?:talk|discuss|cover|say)\b",
    re.IGNORECASE,
)

# A part of it, named by its subject rather than its number: "具身智能那一段", "the section on
# memory", "the discussion about robots" ("这段时间" is a while, not a passage).
_A_PART = re.compile(
    r"部分|段落|章节|板块|[这那]一?(?:段(?!时间|日子|时期)|节)"
    r"|\b(?:section|part|dialogue|dialog|chapter|segment|portion)\b"
    r"|\b(?:discussion|conversation|talk|exchange)\s+(?:on|about|of|regarding|around)\s+\w",
    re.IGNORECASE,
)


def asks_overview(question: str) -> bool:
    """Whether `question` asks what the transcript as a whole says ("这篇访谈讲了什么?",
    "Summarize the interview", "What topics did they cover?")."""
    return bool(_WHOLE.search(question) and _GIST.search(question) and not _PART.search(question))


def asks_gist(question: str) -> bool:
    """Whether `question` asks what something says as a whole ("讲了什么?", "主要观点",
    "Summarize …"), whatever it names."""
    return bool(_GIST.search(question))


def asks_part(question: str) -> bool:
    """Whether `question` asks what one part of the transcript says, naming it by its subject
    ("具身智能那一段的主要观点有哪些?", "Summarize the part about embodied intelligence")."""
    return bool(_GIST.search(question) and _A_PART.search(question) and not asks_overview(question))


def named_sections(question: str, numbers: Collection[int]) -> tuple[int, ...]:
    """The section numbers among `numbers` that `question` names, in order of mention."""
    found: list[int] = []
    for match in _ZH.finditer(question):
        found.append(_zh_number(match["a"] or match["b"]))
    for match in _EN.finditer(question):
        found.append(_en_number(match["n"] or match["d"] or match["o"] or match["p"], numbers))
    return tuple(dict.fromkeys(n for n in found if n in numbers))


def _zh_number(text: str) -> int:
    if text.isdigit():
        return int(text)
    if "十" not in text:
        return _DIGITS.get(text, 0) if len(text) == 1 else 0
    tens, _, ones = text.partition("十")
    return (_DIGITS.get(tens, 0) if tens else 1) * 10 + (_DIGITS.get(ones, 0) if ones else 0)


def _en_number(text: str, numbers: Collection[int]) -> int:
    word = text.lower()
    if word in ("last", "final"):
        return max(numbers, default=0)
    if word in _EN_WORDS:
        return _EN_WORDS.index(word) + 1
    if word in _EN_ORDINALS:
        return _EN_ORDINALS.index(word) + 1
    return int(word.rstrip("stndrh"))
