"""Questions that ask for a figure, and texts that state one."""

from __future__ import annotations

import pytest

from qa.figures import asks_figure, states_figure


@pytest.mark.parametrize(
    "question",
    [
        "蒸馏出来的小模型能保留大模型百分之多少的能力?",
        "训练GPT-5花了多少钱",
        "具身智能还要几年才能落地?",
        "Sora是哪一年发布的?",
        "RL要训练多久才有效果",
        "How many GPUs did they use?",
        "How much does it cost to fine-tune with LoRA?",
        "how long can Sora's videos be",
        "What percentage of coding will AI do?",
        "In what year was the Transformer paper published?",
    ],
)
def test_a_question_asking_for_an_amount_a_count_or_a_date_asks_for_a_figure(
    question: str,
) -> None:
    assert asks_figure(question)


@pytest.mark.parametrize(
    "question",
    [
        "用好几种语言训练的模型是怎么想问题的?",
        "模型几乎不需要新的编程语言吗?",
        "Transformer在对话里被提到了几次?",
        "机器人动作太慢,是不是得分几层来做?",
        "多多少少有点道理吧?",
        "How many times is memory mentioned?",
        "How much does language matter for intelligence?",
        "为什么用语言训练比用视频便宜?",
        "What does Kaiser think about world models?",
    ],
)
def test_a_question_about_reasons_degrees_mentions_or_a_few_asks_for_no_figure(
    question: str,
) -> None:
    assert not asks_figure(question)


@pytest.mark.parametrize(
    ("text", "states"),
    [
        ("RL数据效率高得多,可从有限数据中学习,如1000道数学题", True),
        ("不能等模型思考一周才得到奖励", True),
        ("互联网有海量语言数据", True),
        ("trained on 5 tasks", True),
        ("现代大语言模型如GPT-4已经是多模态模型", False),
        ("通过VQ-VAE编码器,感觉不令人满意", False),
        ("预训练Scaling Law存在经济限制,离经济极限不远", False),
    ],
)
def test_a_text_states_a_figure_unless_its_number_is_part_of_a_name(
    text: str, states: bool
) -> None:
    assert states_figure(text) is states
