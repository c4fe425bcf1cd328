"""Dialogues named by number in a question."""

from __future__ import annotations

import pytest

from qa.references import asks_gist, asks_overview, asks_part, named_sections

TEN = range(1, 11)


@pytest.mark.parametrize(
    ("question", "sections"),
    [
        ("对话六讲了什么?", (6,)),
        ("对话 4 说了什么", (4,)),
        ("对话十讲了什么", (10,)),
        ("第三个对话的主要观点是什么", (3,)),
        ("第4段对话", (4,)),
        ("第二部分讲什么", (2,)),
        ("对话四和对话九都提到工具吗", (4, 9)),
        ("Summarize dialogue 6", (6,)),
        ("what does Dialog three say", (3,)),
        ("section #2, please", (2,)),
        ("What does the second dialogue say?", (2,)),
        ("the 7th section", (7,)),
        ("the last section", (10,)),
        ("conversation 3", (3,)),
        ("第六段关于具身智能都聊了哪些观点", (6,)),
        ("第八个话题讲了什么", (8,)),
        ("Can you summarize the third part of the conversation?", (3,)),
        ("What is part 5 about?", (5,)),
        ("the second segment", (2,)),
    ],
)
def test_a_named_dialogue_is_found(question: str, sections: tuple[int, ...]) -> None:
    assert named_sections(question, TEN) == sections


@pytest.mark.parametrize(
    "question",
    [
        "Kaiser在对话一开始说了什么?",  # 一开始: as the conversation begins
        "这段对话一直在讨论什么?",
        "具身智能的第一个版本会是什么样?",
        "第一次听说这个观点",
        "What's the hardest part of getting agents to work together?",
        "Was writing software part of the original motivation?",
        "How does the first version work?",
        "in the conversation one thing stood out",
        "对话十一讲了什么?",  # there is no dialogue 11
        "dialogue 12",
        "推理模型还处于RNN的阶段吗?",
    ],
)
def test_words_that_only_look_like_a_reference_name_nothing(question: str) -> None:
    assert named_sections(question, TEN) == ()


@pytest.mark.parametrize(
    "question",
    [
        "这篇访谈讲了什么?",
        "这次对话的主要观点是什么?",
        "Kaiser 和李建忠聊了哪些话题?",
        "总结一下整篇对话",
        "Summarize the whole interview",
        "What is the interview about?",
        "What topics did they cover?",
        "Key takeaways from this talk?",
    ],
)
def test_a_question_about_the_whole_transcript_asks_for_an_overview(question: str) -> None:
    assert asks_overview(question)


@pytest.mark.parametrize(
    "question",
    [
        "这篇访谈讲了什么菜谱?",  # asks about something in it
        "这篇访谈的完整视频在哪里可以看到?",
        "强化学习部分讲了什么?",  # a part of it
        "Summarize the discussion on robots",
        "What does the conversation say about RL?",
        "What is reinforcement learning about?",
    ],
)
def test_a_question_about_something_in_it_asks_for_no_overview(question: str) -> None:
    assert not asks_overview(question)


@pytest.mark.parametrize(
    "question",
    [
        "具身智能那一段的主要观点有哪些?",
        "AI记忆瓶颈那节都说了啥？",
        "强化学习部分讲了什么?",
        "Summarize the part about embodied intelligence",
        "Give me the key points of the memory section.",
        "Summarize the discussion on robots",
    ],
)
def test_a_question_about_a_part_named_by_its_subject_asks_for_that_part(question: str) -> None:
    assert asks_part(question)


@pytest.mark.parametrize(
    "question",
    [
        "这篇访谈讲了什么?",  # the whole of it
        "Summarize the interview",
        "强化学习的数据效率为什么高?",  # something in it
        "这段时间强化学习讲了什么新进展?",  # a while, not a passage
        "What part does language play in intelligence?",
        "What are the main points on why RL needs so little data?",
    ],
)
def test_a_question_about_the_whole_or_about_a_detail_asks_for_no_part(question: str) -> None:
    assert not asks_part(question)


@pytest.mark.parametrize(
    ("question", "gist"),
    [
        ("对话六讲了什么?", True),
        ("第三个对话的主要观点", True),
        ("Summarize dialogue 6", True),
        ("What are the key points of part 2?", True),
        ("对话四讲了什么菜谱?", False),
        ("对话九里说模型能区分哪两种记忆?", False),
        ("What does dialogue 7 say about data efficiency?", False),
    ],
)
def test_a_question_asks_for_the_gist_only_when_it_asks_what_is_said_as_a_whole(
    question: str, gist: bool
) -> None:
    assert asks_gist(question) is gist
