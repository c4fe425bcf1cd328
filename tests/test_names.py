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


def test_a_name_in_pinyin_is_known_when_the_transcript_has_its_characters() -> None:
    assert TRANSCRIPT.unknown_names("What did Li Jianzhong ask about memory?") == []
    assert TRANSCRIPT.unknown_names("什么是 Yiming 说的?") == ["Yiming"]


def test_a_capitalised_first_word_that_chinese_follows_is_a_name() -> None:
    assert names_in("Cursor 和 Sora 哪个好?") == ["Cursor", "Sora"]
    assert names_in("Cursor is a tool") == []  # an English sentence starts with it


def test_words_english_capitalises_by_habit_are_not_names_to_know() -> None:
    question = "Hi! In Dialogue 3, did Mr. Kaiser say the Internet has English and Chinese text?"
    assert TRANSCRIPT.unknown_names(question) == []


def test_title_case_in_english_is_no_name_but_in_chinese_it_is() -> None:
    assert TRANSCRIPT.unknown_names("Can Reinforcement Learning learn from few examples?") == []
    assert TRANSCRIPT.unknown_names("Kaiser 在 Google Brain 做过什么?") == ["Google", "Brain"]
    assert TRANSCRIPT.unknown_names("Does Kaiser think Mamba wins?") == ["Mamba"]
    # A possessive marks a name, not a term.
    assert TRANSCRIPT.unknown_names("Is Anthropic's Claude good?") == ["Anthropic", "Claude"]


def test_a_title_case_run_may_have_a_connector_but_names_joined_by_one_stay_names() -> None:
    assert TRANSCRIPT.unknown_names("Is natural language a new Tower of Babel?") == []
    assert TRANSCRIPT.unknown_names("Did they cover Mixture of Experts?") == []
    assert TRANSCRIPT.unknown_names("Why did he move from Google to Meta?") == ["Google", "Meta"]
    assert TRANSCRIPT.unknown_names("Is he the Kaiser of DeepSeek?") == ["DeepSeek"]
