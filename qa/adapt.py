"""Adapt the default model to questions about AI interviews, asked in English, Chinese or both.

multilingual-e5-small (and more so its 4-bit form) matches a Chinese claim with a question that
shares its words, but seldom with an English or Chinese question that says the same thing in
other words ("reward-based training" for 强化学习); and it matches a question that uses a
statement's words but asks what the statement does not say ("which optimiser does he use for
RL?") almost as well as one it answers. `qa/data/adaptation-pairs.jsonl` holds 660 short Chinese
statements of experts' views on AI, technology, business and science, each with five questions
it answers (two indirect English ones, a direct English one, a Chinese paraphrase and a
code-switched one) and three it does not answer though they share its subject and words (in
Chinese, English and both), written for this purpose without sight of any transcript or test
question. Adapting:

- trains the transformer layers (not the 250k-row vocabulary) contrastively on those pairs, the
  other statements of a batch being the negatives, for both ways the search compares texts: the
  sentence vectors' cosine and the late interaction over token vectors; each statement's longest
  clause is a sixth question, so matching by shared words is kept, not traded away;
- and keeps each statement nearer a question it answers than a question it does not answer, by
  a margin, both ways again: what the confidence needs to say "not in the transcript";
- and, alongside, matches the field's English terms and plain descriptions with their Chinese
  term (`qa/data/adaptation-terms.jsonl`: 550 terms with 2,370 English names such as "embodied
  AI" for 具身智能 or "small model learns from big model" for 蒸馏, written without sight of any
  transcript or question), so that an English question finds the word a Chinese claim uses;
- then averages the trained weights with the original ones (WiSE-FT, Wortsman et al. 2022),
  which keeps most of the gain on paraphrases and little of the loss on what the model already
  did well (docs/quality.md).

It is deterministic for a given machine (fixed seed and order) and takes about 15 minutes on two
cores; `qa model prepare` runs it once, for the default model only.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any, TypeVar, cast

from qa.errors import ModelError

if TYPE_CHECKING:
    import torch
    from sentence_transformers import SentenceTransformer

BATCH = 32
LEARNING_RATE = 2e-5
WARMUP = 0.1  # share of the steps with a rising learning rate
WEIGHT_DECAY = 0.01
TEMPERATURE = 0.05
EPOCHS = 1  # each question of each statement once
KEEP = 0.5  # share of the original weights in the result (WiSE-FT's 1 - alpha)
# A statement is kept at least UNANSWERED_MARGIN (cosine) nearer a question it answers than
# one it does not. Weighted 10 or 20 it refused a little more but ranked worse (docs/quality.md).
UNANSWERED_MARGIN = 0.1
UNANSWERED_WEIGHT = 5.0
TERM_WEIGHT = 1.0  # English terms to their Chinese term, next to the statements' loss
SEED = 0
# Changing the recipe or the pairs changes the model: `recipe_digest` names both, and
# `qa model prepare` adapts again when it changes.
RECIPE = (
    f"b{BATCH}-lr{LEARNING_RATE}-w{WARMUP}-t{TEMPERATURE}-e{EPOCHS}-keep{KEEP}"
    f"-u{UNANSWERED_MARGIN}x{UNANSWERED_WEIGHT}-terms{TERM_WEIGHT}-s{SEED}-v3"
)
_PAIRS = "adaptation-pairs.jsonl"
_TERMS = "adaptation-terms.jsonl"
_CLAUSE = re.compile(r"[,，;；]")
_Row = TypeVar("_Row")


@dataclass(frozen=True)
class Pair:
    statement: str
    questions: tuple[str, ...]
    # On its subject, in its words, but not answered by it.
    unanswered: tuple[str, ...] = ()


def load_pairs() -> list[Pair]:
    """The bundled statements with their questions, plus each statement's longest clause, and
    the questions they do not answer."""
    return _bundled(_PAIRS, _pair)


def _pair(row: Any) -> Pair:
    statement = str(row["statement"])
    questions = [str(q["q"]) for q in row["questions"]]
    clauses = [c for c in _CLAUSE.split(statement) if c.strip()]
    questions.append(max(clauses, key=len) if clauses else statement)
    unanswered = tuple(str(q["q"]) for q in row.get("unanswered", ()))
    return Pair(statement, tuple(questions), unanswered)


@dataclass(frozen=True)
class Term:
    chinese: str
    english: tuple[str, ...]  # the English term, its variants, and plain descriptions of it


def load_terms() -> list[Term]:
    """The bundled Chinese terms of the field with their English names."""
    return _bundled(_TERMS, lambda row: Term(str(row["zh"]), tuple(str(e) for e in row["en"])))


def _bundled(name: str, parse: Callable[[Any], _Row]) -> list[_Row]:
    """Each line of the bundled JSON-lines file `name`, parsed; a malformed one says so."""
    text = resources.files("qa").joinpath("data", name).read_text(encoding="utf-8")
    rows = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            rows.append(parse(json.loads(line)))
        except (ValueError, KeyError, TypeError) as exc:
            raise ModelError(f"{name} line {number} is malformed ({exc}): reinstall qa") from exc
    return rows


def recipe_digest() -> str:
    """Names this adaptation: the recipe and the pairs and terms it learns from."""
    digest = hashlib.sha256(RECIPE.encode())
    for name in (_PAIRS, _TERMS):
        digest.update(b"\0" + resources.files("qa").joinpath("data", name).read_bytes())
    return digest.hexdigest()[:12]


def batches(
    pairs: Sequence[Pair], batch: int = BATCH, seed: int = SEED
) -> list[list[tuple[int, str]]]:
    """(statement index, question) batches: every question once, and within a batch each
    statement at most once (another question of the same statement would be a false negative)."""
    rng = random.Random(seed)
    rounds = max(len(p.questions) for p in pairs) * EPOCHS
    order: list[tuple[int, str]] = []
    for r in range(rounds):
        statements = list(range(len(pairs)))
        rng.shuffle(statements)
        order += [(i, pairs[i].questions[(r + i) % len(pairs[i].questions)]) for i in statements]
    # Consecutive rounds can meet at a batch border: push a repeated statement to the next batch.
    out: list[list[tuple[int, str]]] = []
    pending = order
    while pending:
        taken: list[tuple[int, str]] = []
        rest: list[tuple[int, str]] = []
        seen: set[int] = set()
        for item in pending:
            if len(taken) < batch and item[0] not in seen:
                taken.append(item)
                seen.add(item[0])
            else:
                rest.append(item)
        out.append(taken)
        pending = rest
    return out


def term_batches(
    terms: Sequence[Term], steps: int, batch: int = BATCH, seed: int = SEED
) -> list[list[tuple[str, str]]]:
    """`steps` batches of (English, Chinese) pairs, taken in turn from all pairs in a shuffled
    order, again from the start when all are used; within a batch each Chinese term at most once
    (its other English names would be false negatives): a pair that would repeat one waits for
    the next batch."""
    rng = random.Random(seed)
    order = [(english, t.chinese) for t in terms for english in t.english]
    rng.shuffle(order)
    size = min(batch, len({t.chinese for t in terms}))
    out: list[list[tuple[str, str]]] = []
    at = 0
    waiting: list[tuple[str, str]] = []
    for _ in range(steps if order else 0):
        taken: list[tuple[str, str]] = []
        seen: set[str] = set()
        passed: list[tuple[str, str]] = []
        while len(taken) < size:
            if waiting:
                item = waiting.pop(0)
            else:
                item = order[at % len(order)]
                at += 1
            if item[1] in seen:
                passed.append(item)
            else:
                seen.add(item[1])
                taken.append(item)
        waiting += passed
        out.append(taken)
    return out


def adapt(
    model: SentenceTransformer,
    query_prompt: str,
    passage_prompt: str,
    *,
    show_progress: bool = False,
) -> None:
    """Adapt `model` in place (see the module's docstring)."""
    import torch
    from tqdm import tqdm  # type: ignore[import-untyped]  # tqdm ships no type stubs

    pairs = load_pairs()
    plan = batches(pairs)
    term_plan = term_batches(load_terms(), len(plan))
    torch.manual_seed(SEED)
    original = {k: v.detach().clone() for k, v in model.state_dict().items()}
    # The vocabulary's 250k rows stay as they are: most words are in no pair.
    transformer = cast("torch.nn.Module", model[0].auto_model)
    embeddings = cast("torch.nn.Module", transformer.embeddings)
    for p in embeddings.parameters():
        p.requires_grad = False
    trained = [p for p in model.parameters() if p.requires_grad]
    optimiser = torch.optim.AdamW(trained, lr=LEARNING_RATE, weight_decay=WEIGHT_DECAY)
    steps = len(plan)
    warmup = max(1, int(WARMUP * steps))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda s: min(1.0, (s + 1) / warmup) * max(0.0, (steps - s) / steps)
    )
    used = [0] * len(pairs)  # each statement's unanswered questions, taken in turn
    model.train()
    try:
        for step, batch in enumerate(
            tqdm(plan, desc="adapting the model", unit="batch", disable=not show_progress)
        ):
            questions = _encode(model, [q for _, q in batch], query_prompt)
            statements = _encode(model, [pairs[i].statement for i, _ in batch], passage_prompt)
            loss, dense, late = _in_batch(questions, statements)
            having = [k for k, (i, _) in enumerate(batch) if pairs[i].unanswered]
            if having:
                others = []
                for k in having:
                    i = batch[k][0]
                    others.append(pairs[i].unanswered[used[i] % len(pairs[i].unanswered)])
                    used[i] += 1
                loss = loss + UNANSWERED_WEIGHT * _unanswered_loss(
                    _encode(model, others, query_prompt), statements, dense, late, having
                )
            if TERM_WEIGHT > 0 and step < len(term_plan):
                english = _encode(model, [e for e, _ in term_plan[step]], query_prompt)
                chinese = _encode(model, [c for _, c in term_plan[step]], passage_prompt)
                loss = loss + TERM_WEIGHT * _in_batch(english, chinese)[0]
            optimiser.zero_grad()
            loss.backward()  # type: ignore[no-untyped-call]  # torch leaves it untyped
            optimiser.step()
            schedule.step()
    finally:
        model.eval()
        for p in embeddings.parameters():
            p.requires_grad = True
    tuned = model.state_dict()
    model.load_state_dict(
        {
            k: KEEP * original[k] + (1 - KEEP) * tuned[k]
            if original[k].is_floating_point()
            else original[k]
            for k in original
        }
    )


def _in_batch(queries: _Batch, passages: _Batch) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Each query against its own passage, the batch's other passages the negatives (InfoNCE),
    for both measures; with the (B, B) sentence cosines and late-interaction matches."""
    import torch

    target = torch.arange(len(passages.sentence))
    dense = queries.sentence @ passages.sentence.T
    late = _maxsim(queries, passages)
    loss = torch.nn.functional.cross_entropy(dense / TEMPERATURE, target)
    loss = loss + torch.nn.functional.cross_entropy(late / TEMPERATURE, target)
    return loss, dense, late


def _unanswered_loss(
    others: _Batch, statements: _Batch, dense: torch.Tensor, late: torch.Tensor, having: list[int]
) -> torch.Tensor:
    """How far each statement in `having` falls short of being UNANSWERED_MARGIN nearer its
    batch question than its unanswered one (`others`, in the same order), for both measures."""
    import torch

    rows = torch.tensor(having)
    dense_no = (others.sentence * statements.sentence[rows]).sum(-1)
    late_no = _maxsim(others, statements)[torch.arange(len(having)), rows]
    shortfall = torch.nn.functional.relu
    return (
        shortfall(UNANSWERED_MARGIN - (dense[rows, rows] - dense_no)).mean()
        + shortfall(UNANSWERED_MARGIN - (late[rows, rows] - late_no)).mean()
    )


@dataclass(frozen=True)
class _Batch:
    sentence: torch.Tensor  # (B, D), normalised
    tokens: torch.Tensor  # (B, L, D), normalised
    mask: torch.Tensor  # (B, L): 1 for the text's own tokens, 0 for prompt, specials, padding


def _encode(model: SentenceTransformer, texts: list[str], prompt: str) -> _Batch:
    import torch

    # sentence-transformers 6 renamed `tokenize` to `preprocess`; 5 has only the old name.
    prepare = getattr(model, "preprocess", None) or model.tokenize
    features = prepare([prompt + t for t in texts])
    out = model(features)
    attention = features["attention_mask"]
    mask = attention.clone().float()
    # `<s>` and the prompt's pieces, and the closing `</s>`: as the search leaves them out.
    mask[:, : len(model.tokenizer(prompt)["input_ids"]) - 1] = 0
    mask[torch.arange(len(texts)), attention.sum(1) - 1] = 0
    sentence = torch.nn.functional.normalize(out["sentence_embedding"], dim=-1)
    tokens = torch.nn.functional.normalize(out["token_embeddings"], dim=-1)
    return _Batch(sentence, tokens, mask)


def _maxsim(questions: _Batch, statements: _Batch) -> torch.Tensor:
    """Each question token's best cosine in each statement, averaged over the question: (B, B)."""
    import torch

    sims = torch.einsum("aid,bjd->abij", questions.tokens, statements.tokens)
    sims = sims.masked_fill(statements.mask[None, :, None, :] == 0, -1.0)
    best = sims.max(dim=-1).values
    weights = questions.mask[:, None, :]
    return (best * weights).sum(-1) / weights.sum(-1).clamp(min=1.0)
