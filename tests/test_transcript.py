from __future__ import annotations

import json
from pathlib import Path

import pytest

from qa.errors import NotFoundError, TranscriptError
from qa.transcript import (
    bundled_transcript,
    load_transcript,
    parse_jsonl,
    parse_text,
    section_label,
)

SEED = Path(__file__).resolve().parents[2] / "shared" / "seed" / "kaiser-2025-10-10.txt"

# Citation lists of the 41 claims, in order, read off the transcript by hand.
CITATIONS = [
    [6, 7], [7], [8], [9], [10],
    [12], [13], [14], [14], [15],
    [17], [19], [20], [20], [20],
    [21], [22], [22], [23],
    [25], [25], [27], [28],
    [29], [30], [30], [31],
    [32], [33], [33], [34],
    [35], [36], [36],
    [37], [37], [38],
    [39], [40], [40], [41],
]  # fmt: skip
PER_SECTION = [5, 5, 5, 4, 4, 4, 4, 3, 3, 4]


@pytest.fixture(scope="module")
def seed_text() -> str:
    return bundled_transcript().read_text(encoding="utf-8")


def test_bundled_copy_is_the_shared_seed() -> None:
    if SEED.exists():
        assert bundled_transcript().read_bytes() == SEED.read_bytes()


def test_bundled_transcript_has_41_claims_in_10_sections() -> None:
    t = load_transcript(bundled_transcript())
    assert [s.number for s in t.sections] == list(range(1, 11))
    assert [sum(c.section == n for c in t.claims) for n in range(1, 11)] == PER_SECTION
    assert len(t.claims) == 41
    assert [list(c.citations) for c in t.claims] == CITATIONS


def test_claim_ids_name_section_and_position() -> None:
    t = load_transcript(bundled_transcript())
    assert t.claim("d7c2").text == "RL数据效率高得多,可从有限数据中学习,如1000道数学题"
    assert t.claim("d7c2").citations == (33,)
    assert t.claims[0].id == "d1c1" and t.claims[-1].id == "d10c4"
    assert t.claim("d1c1").citations == (6, 7)
    assert not any("[" in c.text or c.text != c.text.strip() for c in t.claims)


def test_section_titles_keep_colons_and_quotes() -> None:
    t = load_transcript(bundled_transcript())
    assert t.section(3).title == 'AI编程:自然语言是终极目标,还是新的"巴别塔"'
    assert t.section(5).title == "算力与算法:Scaling Law是信仰还是路径依赖"
    assert t.section(10).title == "大模型如何摆脱瞬时学习,而像人类一样持续学习"


def test_unknown_claim_or_section_is_a_not_found_error_naming_what_exists() -> None:
    t = load_transcript(bundled_transcript())
    with pytest.raises(NotFoundError, match="no claim 'd99c1'; claims are d1c1 to d10c4"):
        t.claim("d99c1")
    with pytest.raises(NotFoundError, match="no section 11; sections are 1, 2, 3"):
        t.section(11)


def test_source_comes_from_the_last_two_lines() -> None:
    source = load_transcript(bundled_transcript()).source
    assert source.title.startswith("“推理模型还处于RNN的阶段”")
    assert source.title.endswith("Lukasz Kaiser实录")
    assert source.publisher == "AI科技大本营"
    assert source.published == "2025-10-10T17:52"


def test_one_bullet_per_line_with_arabic_numbers_and_other_bullets(seed_text: str) -> None:
    body, title, dateline = seed_text.splitlines()
    digits = ["一", "二", "三", "四", "五", "六", "七", "八", "九", "十"]
    lines = []
    for i, chunk in enumerate(body.split(" 对话")):
        head, *bullets = chunk.removeprefix("对话").split(" - ")
        numeral, _, rest = head.partition(":")
        assert numeral == digits[i]
        colon = ":" if i % 2 else "："
        lines.append(f"对话{i + 1}{colon}{rest}")
        lines += [f"{'-•*'[j % 3]} {b}" for j, b in enumerate(bullets)]
    reflowed = parse_text("\n".join([*lines, title, dateline]) + "\n")
    original = parse_text(seed_text)
    assert reflowed.claims == original.claims
    assert reflowed.sections == original.sections
    assert reflowed.source == original.source


def test_hyphen_inside_words_is_not_a_bullet() -> None:
    t = parse_text("对话一:GPT-4 与 Sora - GPT-4已经是多模态模型 [12] - X-ray 不是要点 [13]")
    assert t.section(1).title == "GPT-4 与 Sora"
    assert [c.text for c in t.claims] == ["GPT-4已经是多模态模型", "X-ray 不是要点"]


def test_source_defaults_without_trailer_lines() -> None:
    t = parse_text("对话十一:标题 - 一条 [1]", name="talk.txt")
    assert t.sections[0].number == 11
    assert t.source.title == "talk" and t.source.publisher == "" and t.source.published == ""


def test_jsonl_claims_are_read_with_optional_sections(tmp_path: Path) -> None:
    rows = [
        {"id": "a", "text": "first", "citations": [1, 2], "section": {"number": 2, "title": "T"}},
        {"id": "b", "text": "second", "citations": [3], "section": 2},
        {"id": "c", "text": "third", "citations": [4]},
    ]
    path = tmp_path / "claims.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n\n", encoding="utf-8")
    t = load_transcript(path)
    assert [(c.id, c.section, c.position, c.citations) for c in t.claims] == [
        ("a", 2, 1, (1, 2)),
        ("b", 2, 2, (3,)),
        ("c", 0, 1, (4,)),
    ]
    assert [(s.number, s.title) for s in t.sections] == [(0, ""), (2, "T")]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("not json", "not valid JSON"),
        ("[1, 2]", "expected a JSON object"),
        ('{"text": "t", "citations": [1]}', "'id' must be"),
        ('{"id": "a", "text": " ", "citations": [1]}', "'text' must be"),
        ('{"id": "a", "text": "t", "citations": []}', "'citations' must be"),
        ('{"id": "a", "text": "t", "citations": ["6"]}', "not a number"),
        ('{"id": "a", "text": "t", "citations": [true]}', "not a number"),
        ('{"id": "a", "text": "t", "citations": [1], "section": "x"}', "'section' must be"),
    ],
)
def test_bad_jsonl_lines_are_reported_with_file_and_line(line: str, message: str) -> None:
    good = '{"id": "z", "text": "ok", "citations": [1]}'
    with pytest.raises(TranscriptError, match=message) as info:
        parse_jsonl(f"{good}\n{line}\n", name="mine.jsonl")
    assert "mine.jsonl:2" in str(info.value)


def test_duplicate_jsonl_ids_are_rejected() -> None:
    row = '{"id": "a", "text": "t", "citations": [1]}'
    with pytest.raises(TranscriptError, match="appears twice"):
        parse_jsonl(f"{row}\n{row}\n")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "no claims found"),
        ("just some prose without any structure", "no claims found"),
        ("前言 对话一:标题 - 一条 [1]", "before the first section"),
        ("对话一:标题 - 一条 [1] 对话一:再来 - 两条 [2]", "appears twice"),
        ("对话一:标题", "has no claims"),
        ("对话一:标题 - 没有引用的论断", "no citation marks"),
        ("对话一:标题 - 引用不是数字 [6][a]", "not a number: \\[a\\]"),
        ("对话一:标题 - [6]", "no text"),
        ("对话一: - 一条 [1]", "no title"),
        ("对话一:标题 - 一条 [1]\n甲\n乙\n丙", "at most two lines"),
    ],
)
def test_bad_text_is_reported_with_what_was_expected(text: str, message: str) -> None:
    with pytest.raises(TranscriptError, match=message) as info:
        parse_text(text, name="talk.txt")
    assert "talk.txt" in str(info.value)


def test_non_utf8_file_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "gbk.txt"
    path.write_bytes("对话一:标题 - 一条 [1]".encode("gbk"))
    with pytest.raises(TranscriptError, match="not UTF-8") as info:
        load_transcript(path)
    assert str(path) in str(info.value)


def test_missing_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(TranscriptError, match="cannot read"):
        load_transcript(tmp_path / "nope.txt")


def test_transcript_hash_follows_the_bytes(tmp_path: Path) -> None:
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("对话一:标题 - 一条 [1]", encoding="utf-8")
    b.write_text("对话一:标题 - 一条 [2]", encoding="utf-8")
    assert load_transcript(a).sha256 != load_transcript(b).sha256


def test_section_label_is_written_in_chinese_numerals() -> None:
    assert [section_label(n) for n in (1, 7, 10, 11, 20, 23)] == [
        "对话一", "对话七", "对话十", "对话十一", "对话二十", "对话二十三",
    ]  # fmt: skip
