"""Question → ranked, scored claims: the core's public entry point."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from qa.errors import IndexNotFoundError, IndexStaleError, InvalidInputError
from qa.index import ClaimIndex, build_index, load_index
from qa.model import Encoder, load_encoder
from qa.settings import Settings
from qa.transcript import Claim, Section, Transcript, load_transcript


def claim_dict(claim: Claim, section: Section) -> dict[str, Any]:
    """The JSON shape of one claim, shared by the CLI and the HTTP API."""
    return {
        "id": claim.id,
        "text": claim.text,
        "citations": list(claim.citations),
        "section": {"number": section.number, "title": section.title},
    }


@dataclass(frozen=True)
class Answer:
    rank: int
    claim: Claim
    section: Section
    score: float

    def to_dict(self) -> dict[str, Any]:
        return {"rank": self.rank, **claim_dict(self.claim, self.section), "score": self.score}


@dataclass(frozen=True)
class Limits:
    max_question_chars: int = 1000
    max_top_k: int = 50

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        return cls(settings.max_question_chars, settings.max_top_k)


def check_question(question: str, top_k: int, limits: Limits) -> str:
    """Checks that need no index (so callers can fail fast before loading the model)."""
    text = question.strip()
    if not text:
        raise InvalidInputError("the question is empty: write a question to ask")
    if len(text) > limits.max_question_chars:
        raise InvalidInputError(
            f"the question has {len(text)} characters; the limit is "
            f"{limits.max_question_chars}: shorten it"
        )
    if not 1 <= top_k <= limits.max_top_k:
        raise InvalidInputError(f"top_k must be between 1 and {limits.max_top_k}, not {top_k}")
    return text


class Searcher:
    """Answers questions from one loaded index with the model it was built with."""

    def __init__(self, index: ClaimIndex, encoder: Encoder, limits: Limits | None = None) -> None:
        self.index = index
        self.encoder = encoder
        self.limits = limits or Limits()

    @property
    def transcript(self) -> Transcript:
        return self.index.transcript

    def validate(self, question: str, top_k: int, section: int | None) -> str:
        """The question, stripped; `InvalidInputError` saying what to change if anything is off."""
        text = check_question(question, top_k, self.limits)
        numbers = [s.number for s in self.index.transcript.sections]
        if section is not None and section not in numbers:
            raise InvalidInputError(
                f"there is no section {section}; sections are {', '.join(map(str, numbers))}"
            )
        return text

    def ask(self, question: str, top_k: int = 5, section: int | None = None) -> list[Answer]:
        """The `top_k` claims that best answer `question`, best first (optionally one section)."""
        text = self.validate(question, top_k, section)
        vector = self.encoder.encode_queries([text])
        claims = self.index.transcript.claims
        scores, ids = self.index.search(vector, len(claims))
        answers: list[Answer] = []
        for score, i in zip(scores[0], ids[0], strict=True):
            if i < 0:
                continue
            claim = claims[int(i)]
            if section is not None and claim.section != section:
                continue
            answers.append(
                Answer(
                    rank=len(answers) + 1,
                    claim=claim,
                    section=self.index.transcript.section(claim.section),
                    score=float(np.clip(score, -1.0, 1.0)),
                )
            )
            if len(answers) == top_k:
                break
        return answers


def open_searcher(
    settings: Settings, *, build: bool = False, show_progress: bool = False
) -> Searcher:
    """Load the model and the index that `settings` name.

    With `build`, a missing index, or one built from another transcript, is built first; an
    index built with another model is always an error (rebuilding it silently would hide a
    configuration mistake)."""
    encoder = load_encoder(settings)
    transcript = load_transcript(settings.transcript)
    try:
        index = load_index(settings.index_dir, encoder, transcript_sha256=transcript.sha256)
    except (IndexNotFoundError, IndexStaleError):
        if not build:
            raise
        index = build_index(transcript, encoder, settings.index_dir, show_progress=show_progress)
    return Searcher(index, encoder, Limits.from_settings(settings))
