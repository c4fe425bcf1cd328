from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

import qa.index
from qa.errors import IndexCorruptError, IndexNotFoundError, IndexStaleError
from qa.index import build_index, load_index
from qa.model import Encoder
from qa.transcript import bundled_transcript, load_transcript, parse_jsonl, parse_text


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, real_encoder: Encoder) -> Path:
    path = tmp_path_factory.mktemp("built")
    build_index(load_transcript(bundled_transcript()), real_encoder, path)
    return path


@pytest.fixture
def index_dir(built: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "index"
    shutil.copytree(built, copy)
    return copy


def current(index_dir: Path) -> Path:
    return index_dir / (index_dir / "CURRENT").read_text().strip()


def test_index_round_trip_keeps_claims_and_vectors(index_dir: Path, real_encoder: Encoder) -> None:
    transcript = load_transcript(bundled_transcript())
    index = load_index(index_dir, real_encoder, transcript_sha256=transcript.sha256)
    assert index.transcript == transcript
    assert index.faiss_index.ntotal == 41
    (claim,) = real_encoder.encode_tokens([transcript.claims[7].text], query=False)
    vector = claim.sentence[None, :]
    scores, ids = index.search(vector, 1)
    assert ids[0][0] == 7
    assert scores[0][0] == pytest.approx(1.0, abs=1e-4)


@pytest.mark.parametrize("query", [True, False])
def test_a_text_keeps_its_first_word_among_its_token_vectors(
    real_encoder: Encoder, query: bool
) -> None:
    # "LoRA模块…" (d10c3) and the title "Agent的泛化…" had lost their first word: the prompt
    # ("passage: ") alone ends in a "▁" piece that the first word takes in.
    tokenizer = real_encoder.model.tokenizer
    for text, first in (("Sora 是什么", "▁Sor"), ("新编程语言", "▁新")):
        (encoded,) = real_encoder.encode_tokens([text], query=query)
        assert tokenizer.convert_ids_to_tokens(encoded.token_ids.tolist())[0] == first


def test_manifest_records_model_transcript_and_claims(
    index_dir: Path, real_encoder: Encoder
) -> None:
    manifest = json.loads((current(index_dir) / "manifest.json").read_text())
    assert manifest["format"] == qa.index.FORMAT_VERSION
    assert manifest["model"]["id"] == real_encoder.name
    assert manifest["model"]["fingerprint"] == real_encoder.fingerprint
    assert manifest["model"]["dimension"] == 384
    assert manifest["transcript"]["sha256"] == load_transcript(bundled_transcript()).sha256
    assert manifest["claims"][0] == {
        "id": "d1c1",
        "section": 1,
        "position": 1,
        "text": "语言在时间维度上对智能至关重要,语言模型本质是序列模型,"
        "处理时间序列是表达智能的重要组成部分",
        "citations": [6, 7],
    }


def test_missing_index_says_to_run_qa_index(tmp_path: Path, real_encoder: Encoder) -> None:
    with pytest.raises(IndexNotFoundError, match="qa index"):
        load_index(tmp_path / "nothing", real_encoder)


def test_truncated_vectors_are_detected(index_dir: Path, real_encoder: Encoder) -> None:
    vectors = current(index_dir) / "claims.faiss"
    vectors.write_bytes(vectors.read_bytes()[:1000])
    with pytest.raises(IndexCorruptError, match=r"missing or damaged.*qa index"):
        load_index(index_dir, real_encoder)


def test_missing_vectors_file_is_detected(index_dir: Path, real_encoder: Encoder) -> None:
    (current(index_dir) / "claims.faiss").unlink()
    with pytest.raises(IndexCorruptError, match="missing or damaged"):
        load_index(index_dir, real_encoder)


@pytest.mark.parametrize("damage", ["truncate", "delete", "not-an-object", "no-claims"])
def test_damaged_manifest_is_detected(index_dir: Path, real_encoder: Encoder, damage: str) -> None:
    manifest = current(index_dir) / "manifest.json"
    text = manifest.read_text()
    if damage == "truncate":
        manifest.write_text(text[: len(text) // 2])
    elif damage == "delete":
        manifest.unlink()
    elif damage == "not-an-object":
        manifest.write_text("[1, 2, 3]")
    else:
        data = json.loads(text)
        del data["claims"]
        manifest.write_text(json.dumps(data))
    with pytest.raises(IndexCorruptError, match="qa index"):
        load_index(index_dir, real_encoder)


def test_vector_count_must_match_the_claims(index_dir: Path, real_encoder: Encoder) -> None:
    manifest = current(index_dir) / "manifest.json"
    data = json.loads(manifest.read_text())
    data["claims"] = data["claims"][:-1]
    manifest.write_text(json.dumps(data, ensure_ascii=False))
    with pytest.raises(IndexCorruptError, match="41 vectors for 40 claims"):
        load_index(index_dir, real_encoder)


def test_index_from_another_model_is_refused(index_dir: Path, real_encoder: Encoder) -> None:
    other = Encoder(real_encoder.model, "other-model", "question: ", "passage: ")
    assert other.fingerprint != real_encoder.fingerprint
    with pytest.raises(IndexCorruptError, match=r"built with model .*other-model.*qa index") as e:
        load_index(index_dir, other)
    # Not merely outdated: rebuilding by itself would hide a configuration mistake.
    assert not isinstance(e.value, IndexStaleError)


def test_index_from_an_earlier_preparation_of_the_same_model_is_stale(
    index_dir: Path, real_encoder: Encoder
) -> None:
    # What an upgrade leaves: `qa model prepare` adapted the same model again, to new weights.
    manifest = current(index_dir) / "manifest.json"
    data = json.loads(manifest.read_text())
    data["model"]["fingerprint"] = "0" * 16
    manifest.write_text(json.dumps(data, ensure_ascii=False))
    with pytest.raises(IndexStaleError, match=r"earlier preparation of model .*qa index"):
        load_index(index_dir, real_encoder)


def test_index_from_another_transcript_is_stale(index_dir: Path, real_encoder: Encoder) -> None:
    with pytest.raises(IndexStaleError, match="another transcript"):
        load_index(index_dir, real_encoder, transcript_sha256="0" * 64)


def test_index_from_an_older_format_is_stale_so_it_is_rebuilt(
    index_dir: Path, real_encoder: Encoder
) -> None:
    manifest = current(index_dir) / "manifest.json"
    data = json.loads(manifest.read_text())
    data["format"] = qa.index.FORMAT_VERSION - 1
    manifest.write_text(json.dumps(data, ensure_ascii=False))
    with pytest.raises(IndexStaleError, match="format"):
        load_index(index_dir, real_encoder)


def test_index_built_with_other_background_sentences_is_stale(
    index_dir: Path, real_encoder: Encoder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(qa.index, "background_sentences", lambda script: ["今天天气怎么样?"])
    with pytest.raises(IndexStaleError, match="background"):
        load_index(index_dir, real_encoder)


def test_background_sentences_are_in_the_transcripts_script() -> None:
    chinese = qa.index.background_sentences("han")
    english = qa.index.background_sentences("latin")
    assert len(chinese) >= 40 and len(english) >= 40
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in line) for line in chinese)
    assert not any("\u4e00" <= ch <= "\u9fff" for line in english for ch in line)
    assert len(chinese) + len(english) == len(qa.index.background_lines())


def test_a_chinese_background_line_full_of_latin_names_is_still_chinese(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lines = ["ChatGPT Team版每月多少钱", "How much is ChatGPT Team?"]
    monkeypatch.setattr(qa.index, "background_lines", lambda: lines)
    assert qa.index.background_sentences("han") == lines[:1]
    assert qa.index.background_sentences("latin") == lines[1:]


def test_background_lines_naming_what_the_transcript_names_are_left_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    transcript = parse_jsonl(
        '{"id": "c1", "text": "Sora等模型显示世界模型正在取得进展", "citations": [1]}\n'
        '{"id": "c2", "text": "AI编程需要新的计算架构", "citations": [2]}\n'
    )
    lines = ["Sora什么时候开放?", "这家AI公司融资了多少?", "今天天气怎么样?"]
    monkeypatch.setattr(qa.index, "background_lines", lambda: lines)
    # "Sora" is a name the transcript uses; "AI" is the background's own subject.
    assert qa.index.background_for(transcript) == lines[1:]


def test_an_english_transcript_is_indexed_with_english_background(
    tmp_path: Path, real_encoder: Encoder
) -> None:
    english = parse_jsonl(
        '{"id": "c1", "text": "Reasoning models think longer to get better answers", '
        '"citations": [3]}\n'
        '{"id": "c2", "text": "Memory tools let models look up what they learned", '
        '"citations": [4]}\n'
    )
    index = build_index(english, real_encoder, tmp_path)
    assert len(index.late.background) == len(qa.index.background_for(english))
    assert len(index.late.background) > 0.9 * len(qa.index.background_sentences("latin"))
    assert len(index.late.section_tokens) == len(english.sections)


@pytest.mark.parametrize(
    ("texts", "script"),
    [
        (["语言模型本质是序列模型"], "han"),
        (["GPT-4已经是多模态模型", "LoRA模块等经济方式修改权重"], "han"),
        (["Language models are sequence models", "但是"], "latin"),
    ],
)
def test_script_of_counts_letters(texts: list[str], script: str) -> None:
    assert qa.index.script_of(texts) == script


def test_crash_mid_build_keeps_the_previous_index(
    index_dir: Path, real_encoder: Encoder, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = current(index_dir)
    small = parse_text("对话一:标题 - 只有一条 [1]")

    def crash(*args: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(qa.index.faiss, "write_index", crash)
    with pytest.raises(OSError, match="disk full"):
        build_index(small, real_encoder, index_dir)
    assert current(index_dir) == before
    assert sorted(p.name for p in index_dir.iterdir()) == ["CURRENT", before.name]
    assert load_index(index_dir, real_encoder).faiss_index.ntotal == 41


def test_rebuild_replaces_the_index_and_removes_the_old_build(
    index_dir: Path, real_encoder: Encoder
) -> None:
    before = current(index_dir)
    small = parse_text("对话一:标题 - 只有一条 [1] - 第二条 [2]")
    build_index(small, real_encoder, index_dir)
    assert not before.exists()
    index = load_index(index_dir, real_encoder, transcript_sha256=small.sha256)
    assert index.faiss_index.ntotal == 2
    assert np.isclose(np.linalg.norm(index.faiss_index.reconstruct(0)), 1.0, atol=1e-4), (
        "vectors are normalised for inner-product search"
    )
