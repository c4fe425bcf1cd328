"""Names a question uses that the transcript never does."""

from __future__ import annotations

import pytest

from qa.names import KnownWords, names_in

TRANSCRIPT = KnownWords(
    [
        "现代大语言模型如GPT-4已经是多模态模型",
        "Sora等模型显示正在取得重大进展",
        "新编程语言需求来自新计算架构,而非AI编程需求",
        "李建忠对话GPT-5与Transformer发明者Lukasz Kaiser实录",
    ]
)


def test_names_are_words_spelled_as_names_not_sentence_starts() -> None:
    text = "What does Kaiser think of DeepSeek? Overall, is GPT-4o better? 他用 Python 吗"
    assert names_in(text) == ["Kaiser", "DeepSeek", "GPT-4o", "Python"]
    assert names_in("Sora等模型") == ["Sora"]  # Chinese: no sentence starts with it


@pytest.mark.parametrize(
    ("question", "unknown"),
    [
        ("Kaiser怎么看DeepSeek R1?", ["DeepSeek", "R1"]),
        ("Is Mamba going to replace the Transformer?", ["Mamba"]),
        ("Does Kaiser prefer Python or Rust?", ["Python", "Rust"]),
        ("What does Kaizer say about Sora?", []),  # misspelt, still his name
        ("gpt4 多模态吗", []),  # GPT-4 without its hyphen
        ("Will AI-assisted coding need a new language?", []),  # a known name in a compound
        ("What did Lukasz say about multimodal models?", []),  # named in the title
        ("Summarize the second dialogue", []),
    ],
)
def test_names_the_transcript_never_uses_are_found(question: str, unknown: list[str]) -> None:
    assert TRANSCRIPT.unknown_names(question) == unknown
