"""One `Settings` object, read from `QA_*` environment variables (and overridable by CLI flags)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from qa.transcript import bundled_transcript

DEFAULT_MODEL = "intfloat/multilingual-e5-small"


def _default_model_cache() -> Path:
    return Path.home() / ".cache" / "qa" / "models"


# The confidence cut-off: an answer is kept when it has at least a 35% chance of being right.
# Over the 3,828 held-out questions the best answer then clears it for 97% of the answerable
# ones and 14% of the others (docs/quality.md; scripts/tradeoff.py prints the trade-off).
DEFAULT_MIN_CONFIDENCE = 0.35


class Settings(BaseSettings):
    """Every knob of the service and the CLI; `QA_` + the field name in upper case."""

    model_config = SettingsConfigDict(env_prefix="QA_", extra="ignore")

    transcript: Path = Field(
        default_factory=bundled_transcript,
        description="Transcript to answer from: the summary text format or a .jsonl of claims.",
    )
    model: str = Field(
        default=DEFAULT_MODEL,
        description="A sentence-transformers model id or a local model directory.",
    )
    model_cache: Path = Field(
        default_factory=_default_model_cache,
        description="Where `qa model prepare` writes models (one sub-directory each).",
    )
    index_dir: Path = Field(default=Path("index"), description="Where the index is written.")
    query_prompt: str | None = Field(
        default=None,
        description="Prefix for questions; default: the model's own 'query' prompt, or "
        "'query: ' for e5 models.",
    )
    passage_prompt: str | None = Field(
        default=None,
        description="Prefix for claims; default: the model's own 'passage' prompt, or "
        "'passage: ' for e5 models.",
    )
    max_question_chars: int = Field(default=1000, ge=1, le=100_000)
    max_top_k: int = Field(default=50, ge=1, le=1000)
    default_top_k: int = Field(default=5, ge=1)
    min_confidence: float = Field(
        default=DEFAULT_MIN_CONFIDENCE,
        ge=0.0,
        le=1.0,
        description="Answers below this confidence are left out; 0 keeps the full ranking.",
    )

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    api_token: str | None = Field(default=None, description="Bearer token required when set.")
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Comma-separated origins allowed by CORS."
    )
    log_format: Literal["text", "json"] = "text"
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value

    @field_validator("api_token", mode="before")
    @classmethod
    def _empty_token_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value


def get_settings(**overrides: object) -> Settings:
    """Settings from the environment, with explicit overrides (e.g. CLI flags) on top."""
    return Settings(**{k: v for k, v in overrides.items() if v is not None})  # type: ignore[arg-type]
