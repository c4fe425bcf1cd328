"""Build, save atomically, load and verify the FAISS index of claim vectors and its manifest.

Layout: `index_dir/CURRENT` names the build directory in use (`index_dir/build-…/`), which holds
`manifest.json` and `claims.faiss`. A new build is written and fsynced in full before CURRENT
is replaced (an atomic rename), so a crash mid-build leaves the previous index in use.
"""

from __future__ import annotations

import hashlib
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
from qa.names import latin_words, names_in
from qa.transcript import Claim, Section, Source, Transcript

# 2: the background sentences are chosen by the transcript's script and recorded;
# 3: token vectors of each whole section; 4: texts encoded with traditional characters simplified;
# 5: a text's first word kept among its tokens when it takes in the prompt's space ("▁Sor", "▁新").
FORMAT_VERSION = 5
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
    claims prefixed by their section title, each whole section (title and every claim, for
    questions about a whole dialogue), and the background sentences that tell an answerable
    question from one the transcript does not answer."""

    claim_tokens: Ragged
    claim_token_ids: NDArray[np.int64]
    titled_tokens: Ragged
    titled: NDArray[np.float32]
    section_tokens: Ragged
    claim_section: NDArray[np.int64]  # claim i belongs to section_tokens[claim_section[i]]
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
                section_tokens=self.section_tokens.vectors,
                section_offsets=self.section_tokens.offsets,
                claim_section=self.claim_section,
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
                Ragged(z["section_tokens"], z["section_offsets"]),
                z["claim_section"],
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


def script_of(texts: list[str]) -> str:
    """`"han"` when most letters of `texts` are Chinese characters, else `"latin"`."""
    han = sum(1 for t in texts for ch in t if _is_han(ch))
    other = sum(1 for t in texts for ch in t if ch.isalpha() and not _is_han(ch))
    return "han" if han >= other else "latin"


def background_lines() -> list[str]:
    """Every line of qa/data/background.txt: generic questions no transcript about the subject
    answers (see the file's header), in every script, in file order."""
    text = (Path(__file__).parent / "data" / "background.txt").read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and line[0] != "#"]


def background_sentences(script: str, lines: list[str] | None = None) -> list[str]:
    """The background lines (`lines`, by default all) in the transcript's script: a question
    is compared with claims and background alike, so a question in another language pays the
    same cross-lingual cost on both sides. A line with any Chinese character is Chinese:
    Chinese users write product names in Latin letters ("ChatGPT Team版多少钱"), and so do
    Chinese transcripts."""
    chinese = script == "han"
    pool = background_lines() if lines is None else lines
    return [line for line in pool if any(map(_is_han, line)) == chinese]


# Words of the background's own subject (its lines ask facts of the AI industry): a transcript
# using them does not make those lines about it.
_SUBJECT_WORDS = frozenset({"AI"})


def background_for(transcript: Transcript) -> list[str]:
    """The background sentences for `transcript`: those in its script, less those that name
    something it names (Sora, GPT-4, LoRA). Otherwise a question about that thing matches the
    background line ("Sora什么时候对公众开放") as well as the claim that answers it, and "What
    did he say about Sora?" is refused."""
    texts = [c.text for c in transcript.claims] + [s.title for s in transcript.sections]
    names = {w for text in texts for w in names_in(text)} - _SUBJECT_WORDS
    lines = background_sentences(script_of([c.text for c in transcript.claims]))
    return [line for line in lines if not names.intersection(latin_words(line))]


def _is_han(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf"


def build_index(
    transcript: Transcript, encoder: Encoder, index_dir: Path, *, show_progress: bool = False
) -> ClaimIndex:
    """Embed every claim and write the index under `index_dir`, replacing any previous one."""
    claims = [c.text for c in transcript.claims]
    titled = [f"{transcript.section(c.section).title}: {c.text}" for c in transcript.claims]
    sections = [
        f"{s.title}: " + " ".join(c.text for c in transcript.claims if c.section == s.number)
        for s in transcript.sections
    ]
    background = background_for(transcript)
    texts = claims + titled + sections + background
    encoded = encoder.encode_tokens(texts, query=False, show_progress=show_progress)
    n, m = len(claims), len(sections)
    plain, with_title = encoded[:n], encoded[n : 2 * n]
    whole, generic = encoded[2 * n : 2 * n + m], encoded[2 * n + m :]
    numbers = [s.number for s in transcript.sections]
    vectors = np.stack([e.sentence for e in plain])
    flat = faiss.IndexFlatIP(vectors.shape[1])
    flat.add(vectors)
    late = LateVectors(
        claim_tokens=Ragged.of([e.tokens for e in plain]),
        claim_token_ids=np.concatenate([e.token_ids for e in plain]),
        titled_tokens=Ragged.of([e.tokens for e in with_title]),
        titled=np.stack([e.sentence for e in with_title]),
        section_tokens=Ragged.of([e.tokens for e in whole]),
        claim_section=np.array([numbers.index(c.section) for c in transcript.claims]),
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
            "background": _digest(background),
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
        # Stale, not corrupt: an index from another version is rebuilt like an outdated one.
        raise IndexStaleError(
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
    counts = {
        flat.ntotal,
        len(late.claim_tokens),
        len(late.titled),
        len(late.claim_section),
        manifest.get("count"),
    }
    if counts != {len(transcript.claims)} or len(late.section_tokens) != len(transcript.sections):
        raise IndexCorruptError(
            f"index in {build} holds {flat.ntotal} vectors for {len(transcript.claims)} claims: "
            f"{_FIX}"
        )
    if model.get("fingerprint") != encoder.fingerprint and _same_model(model, encoder, flat.d):
        # Same model and prompts, other weights: `qa model prepare` made it again (a new
        # version's adaptation), so the index is outdated, not the configuration wrong.
        raise IndexStaleError(
            f"index in {build} was built with an earlier preparation of model {encoder.name} "
            f"(fingerprint {model.get('fingerprint')}, now {encoder.fingerprint}): {_FIX}"
        )
    if model.get("fingerprint") != encoder.fingerprint or flat.d != encoder.dimension:
        raise IndexCorruptError(
            f"index in {build} was built with model {model.get('id')} "
            f"(fingerprint {model.get('fingerprint')}), but the model loaded now is "
            f"{encoder.name} (fingerprint {encoder.fingerprint}): {_FIX}"
        )
    if manifest.get("background") != _digest(background_for(transcript)):
        raise IndexStaleError(f"index in {build} was built with other background sentences: {_FIX}")
    if transcript_sha256 is not None and transcript.sha256 != transcript_sha256:
        raise IndexStaleError(
            f"index in {build} was built from another transcript (or an older version of it): "
            f"{_FIX}"
        )
    return ClaimIndex(transcript, flat, late, str(model.get("id")), encoder.fingerprint, build)


def _same_model(model: dict[str, object], encoder: Encoder, dimension: int) -> bool:
    """Whether the index's manifest names the model `encoder` is (id, prompts, dimension)."""
    return (
        model.get("id") == encoder.name
        and model.get("query_prompt") == encoder.query_prompt
        and model.get("passage_prompt") == encoder.passage_prompt
        and dimension == encoder.dimension
    )


def _digest(lines: list[str]) -> str:
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


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
