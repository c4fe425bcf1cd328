"""Asking the core: the real model over the bundled transcript."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import qa.search
from qa.errors import InvalidInputError
from qa.model import Encoded
from qa.search import Searcher

OWN = Path(__file__).resolve().parent / "data" / "own-questions.jsonl"


def ids(searcher: Searcher, question: str, top_k: int = 3) -> list[str]:
    return [a.claim.id for a in searcher.search(question, top_k, min_confidence=0).answers]


def test_chinese_paraphrase_finds_its_claim(real_searcher: Searcher) -> None:
    assert "d7c2" in ids(real_searcher, "只用一千道数学题训练,强化学习也能学会吗?")


def test_english_question_finds_a_chinese_claim(real_searcher: Searcher) -> None:
    assert "d1c3" in ids(real_searcher, "Why is training on language cheaper than on video?")


def test_mixed_language_question_with_a_typo_finds_its_claim(real_searcher: Searcher) -> None:
    assert "d10c3" in ids(real_searcher, "每个人都能 fine-tune 自己的 modle 吗?")


def test_answers_carry_citations_section_and_ordered_scores(real_searcher: Searcher) -> None:
    result = real_searcher.search("RL 的数据效率为什么高?", top_k=5, min_confidence=0)
    assert result.answered
    assert [a.rank for a in result.answers] == [1, 2, 3, 4, 5]
    scores = [a.score for a in result.answers]
    assert scores == sorted(scores, reverse=True)
    confidences = [a.confidence for a in result.answers]
    assert confidences == sorted(confidences, reverse=True)
    assert all(0.0 <= c <= 1.0 for c in confidences)
    top = result.answers[0].to_dict()
    assert top["id"] == "d7c2"
    assert top["citations"] == [33]
    assert top["section"] == {"number": 7, "title": "强化学习:是超级优化器,还是科学发现的引擎"}


def test_question_the_transcript_cannot_answer_is_not_answered(real_searcher: Searcher) -> None:
    for question in ("怎么给猫剪指甲?", "What is a good recipe for banana bread?"):
        result = real_searcher.search(question)
        assert not result.answered, question
        assert result.answers == ()


def test_background_shortlist_scores_like_every_background_line(
    real_searcher: Searcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = OWN.read_text(encoding="utf-8").splitlines()
    questions = [json.loads(line)["question"] for line in lines[::2]]
    encoded = real_searcher.encoder.encode_tokens(questions, query=True)
    assert len(real_searcher.index.late.background) > 4 * qa.search.BACKGROUND_SHORTLIST
    shortlisted = [real_searcher.scores(q).background for q in encoded]
    monkeypatch.setattr(qa.search, "BACKGROUND_SHORTLIST", 10**6)
    assert shortlisted == pytest.approx([real_searcher.scores(q).background for q in encoded])


@pytest.mark.parametrize(
    "question",
    ["RL 的数据效率为什么高?", "Does Kaiser think Mamba wins?", "蒸馏后的小模型性能掉了多少?"],
)
def test_service_confidence_is_the_calibrated_model_of_the_scripts_features(
    real_searcher: Searcher, question: str
) -> None:
    # scripts/calibrate.py fits the model on `confidence_features` with `Searcher.clues`: the
    # service must compute its confidences from exactly those, or the fit is of something else.
    result = real_searcher.search(question, top_k=41, min_confidence=0)
    (query,) = real_searcher.encoder.encode_tokens([question], query=True)
    scored = real_searcher.scores(query)
    scores, background = scored.claims, scored.background
    clues = real_searcher.clues(question)
    expected = qa.search.confidences(scores, background, clues=clues)
    claim_ids = [c.id for c in real_searcher.transcript.claims]
    served = {a.claim.id: a.confidence for a in result.answers}
    assert served == pytest.approx({i: float(c) for i, c in zip(claim_ids, expected, strict=True)})
    features = qa.search.confidence_features(scores, background, clues=clues)
    assert features.shape == (len(claim_ids), len(qa.search.CONFIDENCE_FEATURES))


def test_words_no_claim_uses_weigh_more_when_they_single_out_a_claim(
    real_searcher: Searcher,
) -> None:
    # Over a Chinese transcript every token of an English question has the same (highest) idf;
    # one that matches a claim far better than the rest must count for more than one that
    # matches all claims alike.
    vectors = real_searcher.index.late.claim_tokens.vectors
    pointed = vectors[0]
    vague = vectors.mean(axis=0) / np.linalg.norm(vectors.mean(axis=0))
    tokenizer = real_searcher.encoder.model.tokenizer
    query = Encoded(
        sentence=np.zeros(vectors.shape[1], dtype=np.float32),
        tokens=np.stack([pointed, vague]).astype(np.float32),
        token_ids=np.array(tokenizer.convert_tokens_to_ids(["▁future", "▁pictures"])),
    )
    claim_best = qa.search._best_matches(query.tokens, real_searcher.index.late.claim_tokens)
    pointed_weight, vague_weight = real_searcher.token_weights(query, claim_best)
    assert pointed_weight > 1.5 * vague_weight


def test_a_question_sharing_no_word_with_the_claims_is_ranked_by_its_token_matches_alone(
    real_searcher: Searcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Across languages the sentence cosine ranked the claims worse than the token match: it
    # counts as much as the question shares the claims' words.
    english, chinese = real_searcher.encoder.encode_tokens(
        ["Will robots end up thinking the way chatbots do?", "具身智能会不会更接近现在的大模型?"],
        query=True,
    )
    assert real_searcher._shared(english) == 0 < real_searcher._shared(chinese)
    before = [real_searcher.scores(q) for q in (english, chinese)]
    monkeypatch.setattr(qa.search, "W_DENSE_CLAIM", 50.0)
    monkeypatch.setattr(qa.search, "W_DENSE_TITLED", 50.0)
    after = [real_searcher.scores(q) for q in (english, chinese)]
    assert after[0].claims == pytest.approx(before[0].claims)
    assert not np.allclose(after[1].claims, before[1].claims)

    # Whether it is answered at all still weighs the sentence cosine, which tells a question
    # the transcript answers from a generic one.
    def margin(scored: qa.search.Scores) -> float:
        return float(scored.claims.max()) - scored.background

    assert margin(after[0]) != pytest.approx(margin(before[0]), abs=1e-4)


def test_words_the_claims_use_weigh_by_idf_alone(real_searcher: Searcher) -> None:
    (query,) = real_searcher.encoder.encode_tokens(["强化学习的数据效率"], query=True)
    idf = [real_searcher._idf(int(i)) for i in query.token_ids]
    claim_best = qa.search._best_matches(query.tokens, real_searcher.index.late.claim_tokens)
    assert real_searcher.token_weights(query, claim_best).tolist() == pytest.approx(idf)


@pytest.mark.parametrize(
    ("question", "word"),
    [
        ("访谈里哪些地方提到了互联网?", "互联网"),
        ("Where in the interview is the internet mentioned?", "互联网"),
    ],
)
def test_a_question_asking_where_a_theme_comes_up_ranks_the_claims_that_say_it_first(
    real_searcher: Searcher, question: str, word: str
) -> None:
    # Ranked by its "where" words (访谈, 提到, interview: no claim uses them), the question
    # had claims that never say the theme above those that do.
    saying = {c.id for c in real_searcher.transcript.claims if word in c.text}
    assert len(saying) >= 2
    assert set(ids(real_searcher, question, top_k=len(saying))) == saying


def test_where_words_weigh_nothing_unless_they_are_the_whole_question(
    real_searcher: Searcher,
) -> None:
    def weights(question: str) -> dict[str, float]:
        (query,) = real_searcher.encoder.encode_tokens([question], query=True)
        claim_best = qa.search._best_matches(query.tokens, real_searcher.index.late.claim_tokens)
        found = real_searcher.token_weights(query, claim_best)
        return dict(zip(query.pieces, found.tolist(), strict=True))

    themed = weights("访谈里哪些地方提到了互联网?")
    assert [piece for piece, weight in themed.items() if weight > 0] == ["互联网"]
    assert all(weight > 0 for weight in weights("访谈里哪些地方提到了?").values())


def test_clues_carry_unknown_names_and_figures_asked_for(real_searcher: Searcher) -> None:
    plain = real_searcher.clues("RL 的数据效率为什么高?")
    assert plain.unknown_names == ()
    assert plain.no_figure is not None and not plain.no_figure.any()
    named = real_searcher.clues("Does Kaiser think Mamba wins?")
    assert named.unknown_names == ("Mamba",)
    figure = real_searcher.clues("蒸馏后的小模型性能掉了多少?")
    assert figure.no_figure is not None and 0 < figure.no_figure.sum() < len(figure.no_figure)


@pytest.mark.parametrize(
    ("question", "claim"),
    [("Sora", "d2c5"), ("Copilot", "d3c3"), ("gpt-4", "d2c1"), ("LoRA 微调", "d10c3")],
)
def test_a_few_words_the_transcript_uses_are_answered_by_the_claim_using_them(
    real_searcher: Searcher, question: str, claim: str
) -> None:
    # Background lines that name the same products ("Sora什么时候对公众开放") outscore
    # the claim for a bare name; the transcript saying the words is evidence enough.
    result = real_searcher.search(question, top_k=3)
    assert result.answered
    assert result.answers[0].claim.id == claim


def test_only_whole_latin_words_count_as_the_transcripts_words(real_searcher: Searcher) -> None:
    # "ora" is inside "Sora", "in" inside "Scaling": neither is a word the transcript uses.
    assert real_searcher._quoting("Sora").any()
    assert not real_searcher._quoting("ora").any()
    assert not real_searcher._quoting("in").any()
    assert real_searcher._quoting("具身智能").any()  # Chinese words are matched inside text
    # ... even right after a Latin word: d7c2 says "RL数据效率", d6c1 "但数据效率".
    assert real_searcher._quoting("数据效率").sum() == 2
    assert not real_searcher._quoted('what does "ora" mean').any()


@pytest.mark.parametrize(
    ("question", "claims"),
    [
        # Unquoted, d6c4 outranks d6c1, and d1c5 outranks d3c4.
        ("“数据效率”这个说法在访谈里是在什么背景下出现的?", {"d6c1", "d7c2"}),
        ("In which contexts does the word “抽象” appear?", {"d1c4", "d3c4"}),
    ],
)
def test_claims_with_a_phrase_the_reader_quotes_come_first(
    real_searcher: Searcher, question: str, claims: set[str]
) -> None:
    result = real_searcher.search(question, top_k=2, min_confidence=0)
    assert {a.claim.id for a in result.answers} == claims
    # Quotes around a paraphrase, words no claim has, pick out nothing.
    assert not real_searcher._quoted("图像里的东西之所以“有意义”,靠什么?").any()


@pytest.mark.parametrize(
    ("question", "claims"),
    [
        # Its wording ("where does it appear") matches background lines better than any claim.
        ("“可行”这个词在访谈里出现在哪些地方?", {"d7c1", "d9c3", "d10c3"}),
        # d3c4 says 抽象 too, but far below d1c4 for an English question.
        ("In which contexts does the word “抽象” appear?", {"d1c4", "d3c4"}),
    ],
)
def test_every_claim_that_says_the_quoted_words_answers_where_they_are_used(
    real_searcher: Searcher, question: str, claims: set[str]
) -> None:
    result = real_searcher.search(question, top_k=5)
    assert result.answered
    said = [a for a in result.answers if a.claim.id in claims]
    assert {a.claim.id for a in said} == claims
    assert [a.rank for a in said] == list(range(1, len(claims) + 1))
    assert len({a.confidence for a in said}) == 1


@pytest.mark.parametrize("question", ["iPhone", "Tesla Optimus", "Python 3.12"])
def test_words_the_transcript_does_not_use_together_are_not_enough(
    real_searcher: Searcher, question: str
) -> None:
    assert not real_searcher.search(question).answered


@pytest.mark.parametrize(
    ("unknown", "known"),
    [
        ("Kaiser对Mamba架构怎么看?", "Kaiser对Transformer架构怎么看?"),
        ("What does Kaiser say about Mamba and world models?",
         "What does Kaiser say about Sora and world models?"),
    ],
)  # fmt: skip
def test_a_question_naming_what_the_transcript_never_names_is_not_answered(
    real_searcher: Searcher, unknown: str, known: str
) -> None:
    assert real_searcher.unknown_names(unknown) == ["Mamba"]
    assert not real_searcher.search(unknown).answered
    assert real_searcher.search(known).answered


@pytest.mark.parametrize(
    "question",
    ["How many attention heads did the original Transformer use?", "VQ-VAE的码本大小设多少"],
)
def test_a_question_asking_for_a_figure_no_claim_states_is_not_answered(
    real_searcher: Searcher, question: str
) -> None:
    assert not real_searcher.search(question).answered


def test_a_question_asking_for_a_figure_a_claim_states_is_answered_by_it(
    real_searcher: Searcher,
) -> None:
    result = real_searcher.search("强化学习大概用多少道数学题就能学会?")
    assert result.answered
    assert result.answers[0].claim.id == "d7c2"


@pytest.mark.parametrize(
    ("question", "gold"),
    [
        ("What did Li Jianzhong ask Kaiser about memory?", "d9"),
        ("Can Reinforcement Learning learn from a thousand math problems?", "d7c2"),
        ("In Dialogue 3, what does Mr. Kaiser say about programming languages?", "d3"),
        ("Does a model trained on English and Chinese think in one language?", "d1c4"),
    ],
)
def test_english_capitalisation_habits_are_not_names_the_transcript_lacks(
    real_searcher: Searcher, question: str, gold: str
) -> None:
    assert real_searcher.unknown_names(question) == []
    result = real_searcher.search(question)
    assert result.answered
    assert result.answers[0].claim.id.startswith(gold)


@pytest.mark.parametrize("question", ["这篇访谈讲了什么?", "Summarize the whole interview"])
def test_a_question_about_the_whole_transcript_gets_a_claim_of_each_dialogue(
    real_searcher: Searcher, question: str
) -> None:
    result = real_searcher.search(question, top_k=10)
    assert result.answered
    sections = [a.section.number for a in result.answers]
    assert len(sections) >= 5
    assert len(set(sections)) == len(sections)
    assert [a.rank for a in result.answers] == list(range(1, len(sections) + 1))
    # min_confidence 0 still asks for the plain ranking.
    plain = real_searcher.search(question, top_k=10, min_confidence=0)
    assert [a.score for a in plain.answers] == sorted(
        (a.score for a in plain.answers), reverse=True
    )
    assert len({a.section.number for a in plain.answers}) < 10


def test_an_overview_question_about_one_topic_stays_on_it(real_searcher: Searcher) -> None:
    result = real_searcher.search("这篇访谈里关于强化学习的主要观点是什么?")
    assert [a.section.number for a in result.answers[:2]] == [7, 7]  # no overview
    assert not real_searcher.search("这篇访谈讲了什么菜谱?").answered


@pytest.mark.parametrize(
    "question", ["AI编程那一部分的主要观点有哪些?", "Summarize the part about AI and programming"]
)
def test_a_question_about_a_part_gets_the_whole_of_that_dialogue_first(
    real_searcher: Searcher, question: str
) -> None:
    answers = real_searcher.search(question, top_k=5).answers
    assert [a.section.number for a in answers] == [3] * 5  # dialogue 3 has five claims
    assert len({a.confidence for a in answers}) == 1


def test_zero_min_confidence_returns_the_full_ranking(real_searcher: Searcher) -> None:
    result = real_searcher.search("怎么给猫剪指甲?", top_k=7, min_confidence=0)
    assert len(result.answers) == 7


def test_answers_below_the_cut_off_are_left_out(real_searcher: Searcher) -> None:
    question = "推理模型是不是一种新架构?"
    full = real_searcher.search(question, top_k=10, min_confidence=0).answers
    cut = sorted(a.confidence for a in full)[len(full) // 2]
    kept = real_searcher.search(question, top_k=10, min_confidence=cut).answers
    assert [a.claim.id for a in kept] == [a.claim.id for a in full if a.confidence >= cut]
    assert 0 < len(kept) < len(full)


def test_section_filter_judges_confidence_within_that_dialogue(real_searcher: Searcher) -> None:
    # The best claim overall is d7c2; within dialogue 4, d4c3 (RL generalising) is the answer
    # and must not be refused for being below a claim of another dialogue.
    question = "强化学习的数据效率为什么高?"
    assert real_searcher.search(question, top_k=1).answers[0].claim.id == "d7c2"
    within = real_searcher.search(question, top_k=3, section=4)
    assert within.answered
    assert within.answers[0].claim.id == "d4c3"
    assert all(a.claim.section == 4 for a in within.answers)


def test_section_filter_keeps_one_dialogue(real_searcher: Searcher) -> None:
    result = real_searcher.search("memory", top_k=10, section=9, min_confidence=0)
    assert [a.section.number for a in result.answers] == [9, 9, 9]
    assert [a.rank for a in result.answers] == [1, 2, 3]


def test_whole_dialogue_question_gathers_that_dialogue(real_searcher: Searcher) -> None:
    top = real_searcher.search("具身智能面临哪些挑战?", top_k=5, min_confidence=0).answers
    assert top[0].section.number == 6
    assert sum(a.section.number == 6 for a in top) >= 3


@pytest.mark.parametrize("question", ["对话六讲了什么?", "Summarize dialogue 6"])
def test_asking_what_a_named_dialogue_says_gets_all_its_claims(
    real_searcher: Searcher, question: str
) -> None:
    # Its gist is every claim of it, however well each matches "讲了什么".
    result = real_searcher.search(question, top_k=5)
    assert result.answered
    assert sorted(a.claim.id for a in result.answers) == ["d6c1", "d6c2", "d6c3", "d6c4"]
    assert len({a.confidence for a in result.answers}) == 1


def test_asking_what_the_section_asked_about_says_gets_all_its_claims(
    real_searcher: Searcher,
) -> None:
    result = real_searcher.search("这一段主要讲了什么?", top_k=10, section=9)
    assert sorted(a.claim.id for a in result.answers) == ["d9c1", "d9c2", "d9c3"]


def test_a_question_naming_a_dialogue_is_answered_from_its_best_claims(
    real_searcher: Searcher,
) -> None:
    answers = real_searcher.search("对话九里说模型能区分哪两种记忆?", top_k=5).answers
    assert answers[0].claim.id == "d9c2"
    assert {a.section.number for a in answers} == {9}
    assert len(answers) < 3


def test_a_question_in_traditional_characters_is_answered_like_its_simplified_form(
    real_searcher: Searcher,
) -> None:
    simplified = real_searcher.search("模型在抽象空间里解决问题吗?", top_k=5, min_confidence=0)
    traditional = real_searcher.search("模型在抽象空間裡解決問題嗎?", top_k=5, min_confidence=0)
    assert [a.claim.id for a in traditional.answers] == [a.claim.id for a in simplified.answers]
    assert [a.score for a in traditional.answers] == pytest.approx(
        [a.score for a in simplified.answers], abs=1e-4
    )
    assert ids(real_searcher, "對話六講了什麼?", top_k=5)[0].startswith("d6")


def test_the_section_field_wins_over_a_dialogue_named_in_the_question(
    real_searcher: Searcher,
) -> None:
    result = real_searcher.search("对话六讲了什么?", top_k=5, section=4, min_confidence=0)
    assert {a.section.number for a in result.answers} == {4}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"question": ""}, "the question is empty"),
        ({"question": " \n\t"}, "the question is empty"),
        ({"question": "问" * 1001}, "the limit is 1000"),
        ({"question": "语言", "top_k": 0}, "top_k must be between 1 and 50"),
        ({"question": "语言", "top_k": 51}, "top_k must be between 1 and 50"),
        ({"question": "语言", "section": 0}, "there is no section 0"),
        ({"question": "语言", "min_confidence": 1.5}, "min_confidence must be between 0 and 1"),
        ({"question": "语言", "min_confidence": float("nan")}, "min_confidence must be"),
    ],
)
def test_bad_input_is_refused_with_what_to_change(
    real_searcher: Searcher, kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidInputError, match=message):
        real_searcher.search(**kwargs)  # type: ignore[arg-type]
