"""Traditional Chinese is simplified before encoding; nothing else changes."""

from __future__ import annotations

from pathlib import Path

from qa.text import normalise

BUNDLED = Path(__file__).resolve().parents[1] / "qa" / "data" / "kaiser-2025-10-10.txt"


def test_traditional_characters_are_simplified() -> None:
    assert normalise("對話六講了什麼?強化學習的數據效率為什麼高?") == (
        "对话六讲了什么?强化学习的数据效率为什么高?"
    )


def test_simplified_and_latin_text_is_left_as_it_is() -> None:
    text = BUNDLED.read_text(encoding="utf-8")
    assert normalise(text) == text
    assert normalise("Why is RL data-efficient? ＧＰＴ-4") == "Why is RL data-efficient? ＧＰＴ-4"
