"""Build, save atomically, load and verify the FAISS index of claim vectors and its manifest.

Layout: `index_dir/CURRENT` names the build directory in use (`index_dir/build-…/`), which holds
`manifest.json` and `claims.faiss`. A new build is written and fsynced in full before CURRENT
is replaced (an atomic rename), so a crash mid-build leaves the previous index in use.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import faiss
import numpy as np
from numpy.typing import NDArray

from qa.errors import IndexCorruptError, IndexNotFoundError, IndexStaleError
from qa.files import fsync_path, sha256_file, write_synced
from qa.model import Encoder
from qa.transcript import Claim, Section, Source, Transcript

FORMAT_VERSION = 1
_POINTER = "CURRENT"
_MANIFEST = "manifest.json"
_VECTORS = "claims.faiss"
_LATE = "late.npz"
_FIX = "run `qa index` to rebuild it"


@dataclass(frozen=True)
class Ragged:
    """Token vectors of several texts, stored end to end."""

    vectors: NDArray[np.float32]
    offsets: NDArray[np.int64]  # text i is vectors[offsets[i]:offsets[i + 1]]

    @classmethod
    def of(cls, parts: list[NDArray[np.float32]]) -> Ragged:
        offsets = np.cumsum([0, *(len(p) for p in parts)]).astype(np.int64)
        return cls(np.concatenate(parts).astype(np.float32), offsets)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, i: int) -> NDArray[np.float32]:
        return self.vectors[self.offsets[i] : self.offsets[i + 1]]


@dataclass(frozen=True)
class LateVectors:
    """What scoring needs beyond the FAISS index: token vectors for late interaction, the
    claims prefixed by their section title, and the background sentences that tell an
    answerable question from one the transcript does not answer."""

    claim_tokens: Ragged
    claim_token_ids: NDArray[np.int64]
    titled_tokens: Ragged
    titled: NDArray[np.float32]
    background_tokens: Ragged
    background: NDArray[np.float32]

    def save(self, path: Path) -> None:
        with path.open("wb") as f:
            np.savez(
                f,
                claim_tokens=self.claim_tokens.vectors,
                claim_offsets=self.claim_tokens.offsets,
                claim_token_ids=self.claim_token_ids,
                titled_tokens=self.titled_tokens.vectors,
                titled_offsets=self.titled_tokens.offsets,
                titled=self.titled,
                background_tokens=self.background_tokens.vectors,
                background_offsets=self.background_tokens.offsets,
                background=self.background,
            )

    @classmethod
    def load(cls, path: Path) -> LateVectors:
        with np.load(path) as z:
            return cls(
                Ragged(z["claim_tokens"], z["claim_offsets"]),
                z["claim_token_ids"],
                Ragged(z["titled_tokens"], z["titled_offsets"]),
                z["titled"],
                Ragged(z["background_tokens"], z["background_offsets"]),
                z["background"],
            )


@dataclass(frozen=True)
class ClaimIndex:
    """Claims, their sections and source, the FAISS index over their vectors, and the
    vectors for late interaction."""

    transcript: Transcript
    faiss_index: faiss.Index
    late: LateVectors
    model: str
    fingerprint: str
    path: Path

    def search(self, vectors: NDArray[np.float32], k: int) -> tuple[NDArray[Any], NDArray[Any]]:
        scores, ids = self.faiss_index.search(vectors, k)
        return scores, ids


def background_sentences() -> list[str]:
    """Generic questions no transcript about the subject answers (see the file's header)."""
    text = (Path(__file__).parent / "data" / "background.txt").read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and line[0] != "#"]


def build_index(
    transcript: Transcript, encoder: Encoder, index_dir: Path, *, show_progress: bool = False
) -> ClaimIndex:
    """Embed every claim and write the index under `index_dir`, replacing any previous one."""
    claims = [c.text for c in transcript.claims]
    titled = [f"{transcript.section(c.section).title}: {c.text}" for c in transcript.claims]
    background = background_sentences()
    texts = claims + titled + background
    encoded = encoder.encode_tokens(texts, query=False, show_progress=show_progress)
    n = len(claims)
    plain, with_title, generic = encoded[:n], encoded[n : 2 * n], encoded[2 * n :]
    vectors = np.stack([e.sentence for e in plain])
    flat = faiss.IndexFlatIP(vectors.shape[1])
    flat.add(vectors)
    late = LateVectors(
        claim_tokens=Ragged.of([e.tokens for e in plain]),
        claim_token_ids=np.concatenate([e.token_ids for e in plain]),
        titled_tokens=Ragged.of([e.tokens for e in with_title]),
        titled=np.stack([e.sentence for e in with_title]),
        background_tokens=Ragged.of([e.tokens for e in generic]),
        background=np.stack([e.sentence for e in generic]),
    )

    index_dir.mkdir(parents=True, exist_ok=True)
    build = Path(tempfile.mkdtemp(prefix=".build-", dir=index_dir))
    try:
        faiss.write_index(flat, str(build / _VECTORS))
        late.save(build / _LATE)
        manifest = {
            "format": FORMAT_VERSION,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "model": {
                "id": encoder.name,
                "fingerprint": encoder.fingerprint,
                "dimension": int(vectors.shape[1]),
                "query_prompt": encoder.query_prompt,
                "passage_prompt": encoder.passage_prompt,
            },
            "transcript": {"sha256": transcript.sha256},
            "count": len(transcript.claims),
            "files": {name: sha256_file(build / name) for name in (_VECTORS, _LATE)},
            "source": asdict(transcript.source),
            "sections": [asdict(s) for s in transcript.sections],
            "claims": [{**asdict(c), "citations": list(c.citations)} for c in transcript.claims],
        }
        write_synced(build / _MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=1).encode())
        fsync_path(build / _VECTORS)
        fsync_path(build / _LATE)
        final = index_dir / build.name.lstrip(".")
        build.rename(final)
        build = final
        fsync_path(index_dir)
        pointer = index_dir / f".{_POINTER}.tmp"
        write_synced(pointer, final.name.encode())
        os.replace(pointer, index_dir / _POINTER)
        fsync_path(index_dir)
    except BaseException:
        shutil.rmtree(build, ignore_errors=True)
        raise
    # Older builds, and any left by a crash before their pointer was written, are unused now.
    for old in index_dir.glob("build-*"):
        if old != final:
            shutil.rmtree(old, ignore_errors=True)
    return ClaimIndex(transcript, flat, late, encoder.name, encoder.fingerprint, final)


def load_index(
    index_dir: Path, encoder: Encoder, *, transcript_sha256: str | None = None
) -> ClaimIndex:
    """Load and verify the index: every file whole, and built with this model (and transcript).

    Raises `IndexNotFoundError`, `IndexCorruptError` or its subclass `IndexStaleError`."""
    build = _current_build(index_dir)
    if build is None:
        raise IndexNotFoundError(f"no index in {index_dir}: {_FIX}")
    try:
        manifest = json.loads((build / _MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise IndexCorruptError(
            f"index manifest {build / _MANIFEST} is unreadable: {_FIX}"
        ) from exc
    found = manifest.get("format") if isinstance(manifest, dict) else None
    if found != FORMAT_VERSION:
        raise IndexCorruptError(
            f"index in {build} has format {found}, this version reads {FORMAT_VERSION}: {_FIX}"
        )
    try:
        transcript = _transcript_from(manifest)
        model = manifest["model"]
        expected = {name: manifest["files"][name] for name in (_VECTORS, _LATE)}
    except (KeyError, TypeError, ValueError) as exc:
        raise IndexCorruptError(f"index manifest in {build} is incomplete ({exc}): {_FIX}") from exc
    for name, digest in expected.items():
        if not (build / name).is_file() or sha256_file(build / name) != digest:
            raise IndexCorruptError(f"index file {build / name} is missing or damaged: {_FIX}")
    flat = faiss.read_index(str(build / _VECTORS))
    late = LateVectors.load(build / _LATE)
    counts = {flat.ntotal, len(late.claim_tokens), len(late.titled), manifest.get("count")}
    if counts != {len(transcript.claims)}:
        raise IndexCorruptError(
            f"index in {build} holds {flat.ntotal} vectors for {len(transcript.claims)} claims: "
            f"{_FIX}"
        )
    if model.get("fingerprint") != encoder.fingerprint or flat.d != encoder.dimension:
        raise IndexCorruptError(
            f"index in {build} was built with model {model.get('id')} "
            f"(fingerprint {model.get('fingerprint')}), but the model loaded now is "
            f"{encoder.name} (fingerprint {encoder.fingerprint}): {_FIX}"
        )
    if transcript_sha256 is not None and transcript.sha256 != transcript_sha256:
        raise IndexStaleError(
            f"index in {build} was built from another transcript (or an older version of it): "
            f"{_FIX}"
        )
    return ClaimIndex(transcript, flat, late, str(model.get("id")), encoder.fingerprint, build)


def _transcript_from(manifest: dict[str, Any]) -> Transcript:
    return Transcript(
        source=Source(**manifest["source"]),
        sections=tuple(Section(**s) for s in manifest["sections"]),
        claims=tuple(
            Claim(**{**c, "citations": tuple(int(n) for n in c["citations"])})
            for c in manifest["claims"]
        ),
        sha256=str(manifest["transcript"]["sha256"]),
    )


def _current_build(index_dir: Path) -> Path | None:
    try:
        name = (index_dir / _POINTER).read_text(encoding="utf-8").strip()
    except OSError:
        return None
    if not name or "/" in name or name.startswith("."):
        return None
    return index_dir / name
