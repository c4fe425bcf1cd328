"""The `qa` command end to end: a real process, the real model, a private index."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from qa.search import Searcher
from qa.settings import DEFAULT_MIN_CONFIDENCE


@pytest.fixture(scope="module")
def env(real_searcher: Searcher) -> dict[str, str]:
    # The session's index, already built with the real model: each command only loads it.
    clean = {k: v for k, v in os.environ.items() if not k.startswith("QA_")}
    index_dir = str(real_searcher.index.path.parent)
    return {**clean, "QA_INDEX_DIR": index_dir, "HF_HUB_OFFLINE": "1"}


def qa(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "qa.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_index_command_builds_the_index(env: dict[str, str], tmp_path: Path) -> None:
    done = qa({**env, "QA_INDEX_DIR": str(tmp_path)}, "index")
    assert done.returncode == 0, done.stderr
    assert "indexed 41 claims" in done.stdout
    assert (tmp_path / "CURRENT").is_file()


def test_ask_json_finds_a_chinese_paraphrase(env: dict[str, str]) -> None:
    done = qa(env, "ask", "--json", "只用一千道数学题训练,强化学习也能学会吗?")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert set(result) >= {"question", "answers", "model"}
    assert result["model"] == "intfloat/multilingual-e5-small"
    ids = [a["id"] for a in result["answers"]]
    # Up to the default 5, but only those at or above the default cut-off.
    assert 1 <= len(ids) <= 5
    assert all(a["confidence"] >= DEFAULT_MIN_CONFIDENCE for a in result["answers"])
    assert "d7c2" in ids[:3]
    first = result["answers"][0]
    assert set(first) >= {"rank", "id", "text", "citations", "section", "score"}
    assert first["rank"] == 1
    assert set(first["section"]) == {"number", "title"}
    d7c2 = next(a for a in result["answers"] if a["id"] == "d7c2")
    assert d7c2["citations"] == [33]
    assert d7c2["section"] == {"number": 7, "title": "强化学习:是超级优化器,还是科学发现的引擎"}
    scores = [a["score"] for a in result["answers"]]
    assert scores == sorted(scores, reverse=True)


def test_ask_finds_an_english_question_and_prints_citations(env: dict[str, str]) -> None:
    done = qa(env, "ask", "-k", "3", "Why is training on language cheaper than on video?")
    assert done.returncode == 0, done.stderr
    assert "[8]" in done.stdout
    assert "d1c3" in done.stdout
    assert "对话一 · 语言对于智能到底意味着什么" in done.stdout


def test_ask_says_which_name_the_transcript_never_mentions(env: dict[str, str]) -> None:
    done = qa(env, "ask", "Kaiser对Mamba架构怎么看?")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Not in the transcript: it never mentions Mamba.")
    as_json = json.loads(qa(env, "ask", "--json", "Kaiser对Mamba架构怎么看?").stdout)
    assert as_json["answered"] is False
    assert as_json["unknown_names"] == ["Mamba"]


def test_ask_within_a_section_returns_only_that_section(env: dict[str, str]) -> None:
    done = qa(env, "ask", "--json", "--section", "9", "-k", "10", "--min-confidence", "0", "memory")
    assert done.returncode == 0, done.stderr
    answers = json.loads(done.stdout)["answers"]
    assert [a["section"]["number"] for a in answers] == [9, 9, 9]


def test_claims_json_lists_every_claim(env: dict[str, str]) -> None:
    done = qa(env, "claims", "--json")
    assert done.returncode == 0, done.stderr
    claims = json.loads(done.stdout)
    assert len(claims) == 41
    assert claims[0] == {
        "id": "d1c1",
        "text": claims[0]["text"],
        "citations": [6, 7],
        "section": {"number": 1, "title": "语言对于智能到底意味着什么"},
    }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ask", ""], "the question is empty"),
        (["ask", "   \t "], "the question is empty"),
        (["ask", "问" * 1001], "the limit is 1000"),
        (["ask", "-k", "0", "语言"], "top_k must be between 1 and 50"),
        (["ask", "-k", "51", "语言"], "top_k must be between 1 and 50"),
        (["ask", "--section", "11", "语言"], "there is no section 11"),
    ],
)
def test_bad_questions_exit_non_zero_with_a_clear_message(
    env: dict[str, str], args: list[str], message: str
) -> None:
    done = qa(env, *args)
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""


def test_bad_transcript_is_a_one_line_error(env: dict[str, str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_text("对话一:标题 - 引用不是数字 [x]", encoding="utf-8")
    done = qa(env, "claims", "--transcript", str(bad))
    assert done.returncode == 1
    assert (
        done.stderr.strip()
        == f"qa: error: {bad}: claim d1c1 has a citation that is not a number: [x]"
    )


def test_mismatched_model_index_is_refused(env: dict[str, str]) -> None:
    other = {**env, "QA_QUERY_PROMPT": "question: "}
    done = qa(other, "ask", "语言")
    assert done.returncode == 1
    assert "qa index" in done.stderr
    assert "Traceback" not in done.stderr


def test_an_index_from_an_earlier_preparation_of_the_model_is_rebuilt(
    env: dict[str, str], tmp_path: Path
) -> None:
    # What an upgrade leaves: the same model adapted again to new weights since the index.
    index_dir = tmp_path / "index"
    shutil.copytree(env["QA_INDEX_DIR"], index_dir)
    manifest = index_dir / (index_dir / "CURRENT").read_text().strip() / "manifest.json"
    data = json.loads(manifest.read_text())
    data["model"]["fingerprint"] = "0" * 16
    manifest.write_text(json.dumps(data, ensure_ascii=False))
    done = qa({**env, "QA_INDEX_DIR": str(index_dir)}, "ask", "--json", "语言模型本质是什么?")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["answers"][0]["id"] == "d1c1"
    rebuilt = index_dir / (index_dir / "CURRENT").read_text().strip() / "manifest.json"
    assert json.loads(rebuilt.read_text())["model"]["fingerprint"] != "0" * 16


def test_invalid_setting_is_a_one_line_error(env: dict[str, str]) -> None:
    done = qa({**env, "QA_PORT": "abc"}, "claims")
    assert done.returncode == 2
    assert done.stderr.startswith("qa: error: invalid setting")
    assert "port" in done.stderr
    assert "Traceback" not in done.stderr
