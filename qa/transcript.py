"""Read a transcript (the summary text format or JSON Lines) into sections and claims.

Pure: no model, no index. Every problem is a `TranscriptError` that names the file and says
what was expected, so nothing is silently dropped.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

from qa.errors import NotFoundError, TranscriptError

_NUMERALS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5}
_NUMERALS |= {"六": 6, "七": 7, "八": 8, "九": 9}
_NUMERAL_CHARS = "零〇一二两三四五六七八九十百"

# A header such as `对话七:` or `对话7：`, at the start of the text or after white space.
_HEADER = re.compile(rf"(?:^|(?<=\s))对话\s*([0-9０-９{_NUMERAL_CHARS}]+)\s*[:：]")
# A bullet is `-`, `•` or `*` with white space on both sides (so `GPT-4` is not one).
_BULLET = re.compile(r"(?:^|\s+)[-•*]\s+")
_CITATIONS = re.compile(r"((?:\s*[\[［][^\]］]*[\]］])+)\s*$")
_CITATION = re.compile(r"[\[［]([^\]］]*)[\]］]")
_DATE = re.compile(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?(?:\s*(\d{1,2}):(\d{2}))?")


@dataclass(frozen=True)
class Section:
    number: int
    title: str


@dataclass(frozen=True)
class Claim:
    id: str
    section: int
    position: int
    text: str
    citations: tuple[int, ...]


@dataclass(frozen=True)
class Source:
    title: str
    publisher: str
    published: str


@dataclass(frozen=True)
class Transcript:
    source: Source
    sections: tuple[Section, ...]
    claims: tuple[Claim, ...]
    sha256: str

    def section(self, number: int) -> Section:
        for section in self.sections:
            if section.number == number:
                return section
        numbers = ", ".join(str(s.number) for s in self.sections)
        raise NotFoundError(f"there is no section {number}; sections are {numbers}")

    def claim(self, claim_id: str) -> Claim:
        for claim in self.claims:
            if claim.id == claim_id:
                return claim
        first, last = self.claims[0].id, self.claims[-1].id
        raise NotFoundError(f"there is no claim {claim_id!r}; claims are {first} to {last}")


def bundled_transcript() -> Path:
    """The transcript the product ships with."""
    return Path(__file__).parent / "data" / "kaiser-2025-10-10.txt"


def load_transcript(path: Path) -> Transcript:
    """Read `path`: `.jsonl` files as claims, one JSON object a line; anything else as text."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise TranscriptError(f"{path}: cannot read the transcript ({exc.strerror})") from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise TranscriptError(
            f"{path}: not UTF-8 text (byte {exc.start} cannot be decoded); save it as UTF-8"
        ) from exc
    digest = hashlib.sha256(raw).hexdigest()
    if path.suffix.lower() == ".jsonl":
        return parse_jsonl(text, name=str(path), sha256=digest)
    return parse_text(text, name=str(path), sha256=digest)


def parse_text(text: str, *, name: str = "<text>", sha256: str | None = None) -> Transcript:
    """Parse the summary format: `对话一:title - claim [6][7] - claim [8] 对话二:…`,
    all on one line or one bullet a line, followed by a title line and a `publisher·date` line."""
    digest = sha256 or hashlib.sha256(text.encode("utf-8")).hexdigest()
    lines = [line.strip() for line in text.splitlines()]
    lines = [line for line in lines if line]
    trailer: list[str] = []
    while lines and not _HEADER.search(lines[-1]) and not _BULLET.match(lines[-1]):
        trailer.insert(0, lines.pop())
    body = "\n".join(lines)
    headers = list(_HEADER.finditer(body))
    if not headers:
        raise TranscriptError(
            f"{name}: no claims found: expected sections such as '对话一:title' followed by "
            "bullets such as ' - claim [6][7]'"
        )
    preface = body[: headers[0].start()].strip()
    if preface:
        raise TranscriptError(
            f"{name}: unexpected text before the first section header: {preface[:60]!r}"
        )
    if len(trailer) > 2:
        raise TranscriptError(
            f"{name}: expected at most two lines after the last claim (title, publisher·date), "
            f"found {len(trailer)}: {trailer[0][:60]!r}"
        )

    sections: list[Section] = []
    claims: list[Claim] = []
    for i, header in enumerate(headers):
        end = headers[i + 1].start() if i + 1 < len(headers) else len(body)
        number = _section_number(header.group(1), name)
        if any(s.number == number for s in sections):
            raise TranscriptError(f"{name}: section {number} ({header.group(0)}) appears twice")
        title, *bullets = _BULLET.split(body[header.end() : end].strip())
        title = title.strip()
        if not title:
            raise TranscriptError(f"{name}: section {header.group(0)} has no title")
        if not bullets:
            raise TranscriptError(
                f"{name}: section {header.group(0)}{title} has no claims "
                "(expected bullets such as ' - claim [6]')"
            )
        sections.append(Section(number, title))
        for position, bullet in enumerate(bullets, start=1):
            claims.append(_claim(bullet, number, position, name))
    return Transcript(_source(trailer, name), tuple(sections), tuple(claims), digest)


def parse_jsonl(text: str, *, name: str = "<jsonl>", sha256: str | None = None) -> Transcript:
    """Parse claims given as JSON Lines: `{"id", "text", "citations": [int], "section"?}`.

    `section` is optional: a number, or `{"number": int, "title": str}`."""
    digest = sha256 or hashlib.sha256(text.encode("utf-8")).hexdigest()
    sections: dict[int, Section] = {}
    claims: list[Claim] = []
    seen: set[str] = set()
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{name}:{lineno}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise TranscriptError(f"{where}: not valid JSON ({exc.msg})") from exc
        if not isinstance(row, dict):
            raise TranscriptError(f"{where}: expected a JSON object with id, text and citations")
        claim_id, text_, citations = row.get("id"), row.get("text"), row.get("citations")
        if not isinstance(claim_id, str) or not claim_id.strip():
            raise TranscriptError(f"{where}: 'id' must be a non-empty string")
        if claim_id in seen:
            raise TranscriptError(f"{where}: claim id {claim_id!r} appears twice")
        if not isinstance(text_, str) or not text_.strip():
            raise TranscriptError(f"{where}: 'text' must be a non-empty string")
        if not isinstance(citations, list) or not citations:
            raise TranscriptError(f"{where}: 'citations' must be a non-empty list of numbers")
        if not all(isinstance(c, int) and not isinstance(c, bool) for c in citations):
            raise TranscriptError(f"{where}: a citation is not a number: {citations!r}")
        section = _jsonl_section(row.get("section"), where)
        known = sections.setdefault(section.number, section)
        if section.title and known.title != section.title:
            if known.title:
                raise TranscriptError(
                    f"{where}: section {section.number} has two titles: "
                    f"{known.title!r} and {section.title!r}"
                )
            sections[section.number] = section
        position = 1 + sum(c.section == section.number for c in claims)
        seen.add(claim_id)
        claims.append(Claim(claim_id, section.number, position, text_.strip(), tuple(citations)))
    if not claims:
        raise TranscriptError(f"{name}: no claims found (expected one JSON object a line)")
    stem = Path(name).stem
    return Transcript(
        Source(title=stem, publisher="", published=""),
        tuple(sorted(sections.values(), key=lambda s: s.number)),
        tuple(claims),
        digest,
    )


def _jsonl_section(value: object, where: str) -> Section:
    if value is None:
        return Section(0, "")
    if isinstance(value, int) and not isinstance(value, bool):
        return Section(value, "")
    if isinstance(value, dict):
        number, title = value.get("number"), value.get("title", "")
        if isinstance(number, int) and not isinstance(number, bool) and isinstance(title, str):
            return Section(number, title.strip())
    raise TranscriptError(
        f'{where}: \'section\' must be a number or {{"number": int, "title": str}}, not {value!r}'
    )


def _claim(bullet: str, section: int, position: int, name: str) -> Claim:
    claim_id = f"d{section}c{position}"
    marks = _CITATIONS.search(bullet)
    if not marks:
        raise TranscriptError(
            f"{name}: claim {claim_id} has no citation marks such as [6] at its end: "
            f"{bullet[:60]!r}"
        )
    citations: list[int] = []
    for mark in _CITATION.finditer(marks.group(1)):
        value = mark.group(1).strip()
        if not value.isascii() or not value.isdigit():
            raise TranscriptError(
                f"{name}: claim {claim_id} has a citation that is not a number: [{mark.group(1)}]"
            )
        citations.append(int(value))
    text = bullet[: marks.start()].strip()
    if not text:
        raise TranscriptError(f"{name}: claim {claim_id} has citations but no text")
    return Claim(claim_id, section, position, text, tuple(citations))


def _section_number(numeral: str, name: str) -> int:
    digits = numeral.translate(str.maketrans("０１２３４５６７８９", "0123456789"))
    if digits.isdigit():
        return int(digits)
    value = _chinese_number(numeral)
    if value is None:
        raise TranscriptError(f"{name}: cannot read the section number in '对话{numeral}'")
    return value


def _chinese_number(numeral: str) -> int | None:
    # Enough for section numbers: 一 … 九十九 and 一百.
    if numeral == "一百" or numeral == "百":
        return 100
    if "十" in numeral:
        tens, _, units = numeral.partition("十")
        if "十" in units:
            return None
        t = _NUMERALS.get(tens, -1) if tens else 1
        u = _NUMERALS.get(units, -1) if units else 0
        return None if t < 0 or u < 0 else t * 10 + u
    return _NUMERALS.get(numeral) if len(numeral) == 1 else None


def _source(trailer: list[str], name: str) -> Source:
    title = trailer[0] if trailer else Path(name).stem
    publisher, published = "", ""
    if len(trailer) == 2:
        line = trailer[1]
        date = _DATE.search(line)
        if date:
            year, month, day, hour, minute = date.groups()
            published = f"{int(year):04d}-{int(month):02d}-{int(day):02d}"
            if hour is not None:
                published += f"T{int(hour):02d}:{minute}"
            line = line[: date.start()] + line[date.end() :]
        publisher = line.strip(" ·•|,，-—\t")
    return Source(title=title, publisher=publisher, published=published)


def section_label(number: int) -> str:
    """`对话七` for 7: how the transcript names its sections."""
    digits = "零一二三四五六七八九"
    if not 0 < number < 100:
        return f"对话{number}"
    tens, units = divmod(number, 10)
    text = ("" if tens < 2 else digits[tens]) + ("十" if tens else "")
    return f"对话{text}{digits[units] if units else ''}"
