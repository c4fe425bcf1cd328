"""Finding the words of a question that say where to look, in the tokenizer's pieces."""

from __future__ import annotations

import pytest

from qa.scaffold import where_words


@pytest.mark.parametrize(
    ("pieces", "where"),
    [
        (["访", "谈", "里", "哪些", "地方", "提到", "了", "互联网"], [1, 1, 1, 1, 1, 1, 1, 0]),
        (
            ["▁Which", "▁parts", "▁of", "▁the", "▁interview", "▁mention", "▁reward", "s"],
            [1, 1, 1, 1, 1, 1, 0, 0],
        ),
        # "出现在" may not use up the 在 of "在哪", nor "在哪" the 哪 of "哪些地方".
        (["数据", "出现在", "哪些", "地方"], [0, 1, 1, 1]),
        # "somewhere" is not "where", nor "mentionable" "mention".
        (["▁some", "where", "▁mention", "able"], [0, 0, 0, 0]),
    ],
)
def test_where_words_are_the_tokens_inside_words_that_say_where_to_look(
    pieces: list[str], where: list[int]
) -> None:
    assert where_words(pieces).tolist() == [bool(w) for w in where]


def test_a_token_only_partly_inside_where_words_is_what_to_look_for() -> None:
    # "地方性" (local): its first two characters spell 地方, but the token is more than that.
    assert where_words(["哪", "些", "地方性", "法规"]).tolist() == [True, True, False, False]


def test_a_question_without_where_words_has_none() -> None:
    assert not where_words(["▁Why", "▁is", "▁RL", "▁data", "▁efficient"]).any()
    assert where_words([]).tolist() == []
