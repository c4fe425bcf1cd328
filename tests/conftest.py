"""Shared fixtures: isolated `QA_*` settings, the real model, and a real index built once."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from qa.settings import Settings


@pytest.fixture(autouse=True)
def _isolate_qa_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # A developer's own QA_* variables must not change what the tests see.
    for name in list(os.environ):
        if name.startswith("QA_"):
            monkeypatch.delenv(name)
    yield


@pytest.fixture(scope="session")
def real_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings for the real default model (prepared by `make test`) and a private index."""
    return Settings(index_dir=tmp_path_factory.mktemp("index"))


@pytest.fixture(scope="session")
def real_encoder(real_settings: Settings):  # type: ignore[no-untyped-def]
    from qa.model import load_encoder, prepare_model

    prepare_model(real_settings)
    return load_encoder(real_settings)


@pytest.fixture(scope="session")
def real_searcher(real_settings: Settings, real_encoder):  # type: ignore[no-untyped-def]
    from qa.index import build_index
    from qa.search import Limits, Searcher
    from qa.transcript import load_transcript

    index = build_index(
        load_transcript(real_settings.transcript), real_encoder, real_settings.index_dir
    )
    return Searcher(index, real_encoder, Limits())


def seed_path() -> Path:
    return Path(__file__).resolve().parents[2] / "shared" / "seed" / "kaiser-2025-10-10.txt"
