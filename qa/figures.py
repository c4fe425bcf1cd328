"""Whether a question asks for a figure (an amount, a count, a share, a year or a length of
time: "蒸馏后性能掉多少?", "How many GPUs?", "哪一年发布的?") and whether a text states one.
A claim that states no figure cannot answer such a question, however close its words are."""

from __future__ import annotations

import re

# Counted things and units after a Chinese numeral: 几倍, 三年, 1000道.
_UNITS = "个种倍年天周月小时分钟秒步层道题成亿万千百十元美元块张卡"
_ASKS = re.compile(
    # 多少, 百分之几 … but not 多多少少 (more or less), nor "提到了多少次" (counting mentions,
    # which a list of claims answers).
    r"(?<!多)多少(?!次)|百分之几|多大比例|哪一?年|多久|多长时间|何时"
    r"|\bhow\s+(?:many|long)\b(?!\s+times\b)"
    # "How much does language matter?" asks how far, not how much.
    r"|\bhow\s+much\b(?![^?？.]{0,40}?\b(?:matters?|helps?|improves?|affects?|depends?|"
    r"relies?|differs?|influences?|changes?|cares?|contributes?)\b)"
    r"|\b(?:what|which)\s+(?:percentage|share|fraction|proportion|year|date|number)\b"
    r"|\bin\s+what\s+year\b|\bby\s+how\s+much\b",
    re.IGNORECASE,
)
# 几倍, 几年: a number asked for; not 好几 (several), 几乎 (almost), nor 几次 (as in "提到了几次",
# counting mentions), as 次 is not among the units.
_HOW_MANY = re.compile(rf"(?<!好)几[{_UNITS}]")
# In a yes-or-no question 几 is "a few": "是不是得分几层来做?" asks whether, not how many.
_YES_OR_NO = re.compile(r"是不是|是否|吗|能不能|有没有|会不会|要不要|可不可以")
# A number that is not part of a name (GPT-4, v1.5), a Chinese numeral with its unit, or a word
# for an amount ("互联网有海量语言数据" answers "how much data is there?").
_STATES = re.compile(
    rf"(?<![A-Za-z0-9.\-])[0-9]+(?:\.[0-9]+)?|[一二两三四五六七八九十百千万亿半][{_UNITS}]"
    r"|海量|大量|少量|很多|许多|不少|有限|无数|几乎没有"
    r"|\b(?:hundreds?|thousands?|millions?|billions?|trillions?|dozens?|lots|plenty|few)\b",
    re.IGNORECASE,
)


def asks_figure(question: str) -> bool:
    """Whether `question` (simplified Chinese, as qa/text.py makes it) asks for a figure."""
    if _ASKS.search(question):
        return True
    return bool(_HOW_MANY.search(question)) and not _YES_OR_NO.search(question)


def states_figure(text: str) -> bool:
    """Whether `text` states a figure: a number that is not part of a name, a Chinese numeral
    with its unit, or a word for an amount."""
    return bool(_STATES.search(text))
