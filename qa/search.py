"""Question → ranked, scored claims with a calibrated confidence: the core's public entry point.

Scoring (measured in docs/quality.md):
- late interaction: each content token of the question finds its best-matching token in a
  claim (cosine), averaged with idf weights from the claims, so rare words count more, and
  the words that say where to look ("访谈里哪些地方提到了…", qa/scaffold.py) not at all;
  once over the claim alone and once over "section title: claim";
- plus the dense sentence cosines (FAISS, exact inner product) of both;
- plus the late-interaction match of the claim's whole section (title and all its claims).
A question that names dialogues by number is searched within them (qa/references.py); one
that is a few words a claim uses ("Sora") counts as answered; the claims with a phrase it quotes
(“数据效率”) come first, and answer it; one that asks what a part says
("具身智能那一段讲了什么?") gets the dialogue that matches it best as a whole first;
traditional Chinese is simplified.
A claim's confidence compares its score with the best score over background sentences that
no transcript answers (is this answered at all?) and with the best claim's (is it this claim?);
a logistic model fitted on our own questions (`scripts/calibrate.py`, never on the dev set)
turns the two into the probability that the claim answers the question, lower when the question
names what the transcript never does (qa/names.py) or asks for a figure the claim does not give
("蒸馏后性能掉多少?", qa/figures.py).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from threadpoolctl import ThreadpoolController

from qa.errors import IndexNotFoundError, IndexStaleError, InvalidInputError
from qa.figures import asks_figure, states_figure
from qa.index import ClaimIndex, Ragged, build_index, load_index
from qa.model import Encoded, Encoder, load_encoder
from qa.names import KnownWords
from qa.references import asks_gist, asks_overview, asks_part, named_sections
from qa.scaffold import where_words
from qa.settings import DEFAULT_MIN_CONFIDENCE, Settings
from qa.text import normalise
from qa.transcript import Claim, Section, Transcript, load_transcript

# Weights of the score's parts; chosen on our own questions (tests/data/own-questions.jsonl),
# cross-checked on dev (docs/quality.md).
W_LATE_CLAIM = 0.7
W_LATE_TITLED = 0.65
W_DENSE_CLAIM = 0.45
W_DENSE_TITLED = 0.3
W_LATE_SECTION = 0.3
W_BACKGROUND_DENSE = 0.3
# Background lines given the costly late match: those with the best sentence cosines. The best
# line by the full measure was always among the best 32 by cosine on our 644 test questions;
# all ~370 lines would cost a millisecond more per question.
BACKGROUND_SHORTLIST = 64
# A claim's confidence, the probability that it answers the question:
# sigmoid(MARGIN * (score - best background score) + GAP * (score - best claim's score)
#         + UNKNOWN_NAME * (the question names something the transcript never does)
#         + NO_FIGURE * (the question asks for a figure and the claim states none) + OFFSET),
# fitted on the ten best claims of each of our own questions (scripts/calibrate.py), for the
# default model as `qa model prepare` adapts it (qa/adapt.py).
CONFIDENCE_MARGIN = 16.75
CONFIDENCE_GAP = 41.3
CONFIDENCE_UNKNOWN_NAME = -2.87
CONFIDENCE_NO_FIGURE = -1.50
CONFIDENCE_OFFSET = -0.47
# The features in the order of their weights (scripts/calibrate.py prints CONFIDENCE_ + each
# name in capitals); `confidence_features` computes them.
CONFIDENCE_FEATURES = ("margin", "gap", "unknown_name", "no_figure")
# A question that is only words the transcript uses ("Sora", "LoRA 微调") is answered, even when
# background lines name the same product: the best claim using them counts as at least this far
# above the background (the median margin of the best claim of own's answerable questions).
LITERAL_MARGIN = 0.127
LITERAL_MAX_WORDS = 4
# A phrase in quotation marks: “…”, "…", 「…」, 『…』 (not '…', which English uses as apostrophes).
_QUOTED = re.compile(r'[“"「『]([^“”"「」『』]{1,60})[”"」』]')
# "这篇访谈讲了什么?" gets the best claim of each dialogue when its best claim is more likely
# not to answer it than to answer it.
OVERVIEW_BELOW = 0.5


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
    confidence: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "rank": self.rank,
            **claim_dict(self.claim, self.section),
            "score": round(self.score, 4),
            "confidence": round(self.confidence, 4),
        }


@dataclass(frozen=True)
class Result:
    """The answers that clear the confidence cut-off, best first; `answered` is False when
    none does (the transcript probably does not answer the question)."""

    question: str
    answers: tuple[Answer, ...]
    answered: bool
    # Names in the question (DeepSeek, Mamba) that the transcript never uses: it can say
    # nothing about them, which is why such a question is seldom answered.
    unknown_names: tuple[str, ...] = ()


@dataclass(frozen=True)
class Scores:
    """How one encoded question matches the transcript (`Searcher.scores`)."""

    claims: NDArray[np.float64]  # each claim's score
    # The best background line's, as far below the best claim as it is by the measure that
    # weighs the sentence cosine fully (`Searcher.scores`).
    background: float
    # Each section's late-interaction match as one text (its title and all its claims), in
    # the transcript's order of sections (`index.late.claim_section` maps claims to them).
    sections: NDArray[np.float64]


@dataclass(frozen=True)
class Question:
    """One question of a batch for `Searcher.search_many`, with `search`'s options."""

    text: str
    top_k: int = 5
    section: int | None = None
    min_confidence: float | None = None


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


def check_confidence(min_confidence: float) -> float:
    if not 0.0 <= min_confidence <= 1.0 or math.isnan(min_confidence):
        raise InvalidInputError(f"min_confidence must be between 0 and 1, not {min_confidence}")
    return min_confidence


class Searcher:
    """Answers questions from one loaded index with the model it was built with."""

    def __init__(
        self,
        index: ClaimIndex,
        encoder: Encoder,
        limits: Limits | None = None,
        min_confidence: float = DEFAULT_MIN_CONFIDENCE,
    ) -> None:
        self.index = index
        self.encoder = encoder
        self.limits = limits or Limits()
        self.min_confidence = check_confidence(min_confidence)
        claims = index.transcript.claims
        # Each claim's token ids, cut where its token vectors are cut.
        per_claim = np.split(index.late.claim_token_ids, index.late.claim_tokens.offsets[1:-1])
        self._df = Counter(int(i) for ids in per_claim for i in set(ids.tolist()))
        self._n = len(claims)
        transcript = index.transcript
        self._known = KnownWords(
            [c.text for c in claims]
            + [s.title for s in transcript.sections]
            + [transcript.source.title]
        )
        self._figures = np.array([states_figure(c.text) for c in claims])
        self._section_of = np.array([c.section for c in claims])  # each claim's section number
        self._literal = [
            normalise(f"{transcript.section(c.section).title} {c.text}").casefold() for c in claims
        ]

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

    def search(
        self,
        question: str,
        top_k: int = 5,
        section: int | None = None,
        min_confidence: float | None = None,
    ) -> Result:
        """The `top_k` claims that best answer `question`, best first, optionally within one
        section, leaving out those below `min_confidence` (default: the searcher's cut-off;
        0 returns the full ranking)."""
        (result,) = self.search_many([Question(question, top_k, section, min_confidence)])
        return result

    def search_many(self, questions: Sequence[Question]) -> list[Result]:
        """`search` for several questions, encoded in one batch; every question is checked
        before any is encoded, so one bad question fails the whole batch."""
        texts = [self.validate(q.text, q.top_k, q.section) for q in questions]
        cuts = [
            self.min_confidence if q.min_confidence is None else check_confidence(q.min_confidence)
            for q in questions
        ]
        if not questions:
            return []
        numbers = [s.number for s in self.index.transcript.sections]
        # The text checks read simplified characters, as the model does.
        plain = [normalise(t) for t in texts]
        # The dialogues each question is about: its `section`, else those its text names.
        scopes = [
            (q.section,) if q.section is not None else named_sections(p, numbers)
            for p, q in zip(plain, questions, strict=True)
        ]
        # "对话四" means nothing to the model; the dialogue's title says what the reader means.
        encoded = self.encoder.encode_tokens(
            [
                t if q.section is not None else self._with_titles(t, scope)
                for t, q, scope in zip(texts, questions, scopes, strict=True)
            ],
            query=True,
        )
        return [
            self._rank(text, p, q, cut, query, scope)
            for text, p, q, cut, query, scope in zip(
                texts, plain, questions, cuts, encoded, scopes, strict=True
            )
        ]

    def _with_titles(self, text: str, sections: tuple[int, ...]) -> str:
        titles = [self.index.transcript.section(n).title for n in sections]
        return f"{text} ({'; '.join(titles)})" if titles else text

    def _rank(
        self,
        text: str,
        plain: str,
        question: Question,
        cut: float,
        query: Encoded,
        scope: tuple[int, ...],
    ) -> Result:
        """`text` as asked, `plain` simplified (qa/text.py)."""
        scored = self.scores(query)
        scores, background = scored.claims, scored.background
        quoting = self._quoting(plain)
        if quoting.any():
            background = _answered(background, float(scores[quoting].max()))
        clues = self.clues(text)
        unknown = bool(clues.unknown_names)
        # Asked about some dialogues: the question is which of *their* claims answers, so the
        # gap is to the best claim there, not to a better one elsewhere.
        inside = np.isin(self._section_of, scope) if scope else np.ones(self._n, dtype=bool)
        best: float | NDArray[np.float64] = float(scores[inside].max())
        order = [int(i) for i in np.argsort(-scores, kind="stable") if inside[i]]
        # "“数据效率”出现在哪些语境?": the claims with a phrase the reader quoted come first,
        # each judged against the best of them.
        quoted = self._quoted(plain) & inside
        if quoted.any():
            best = np.where(quoted, float(scores[quoted].max()), best)
            order = [i for i in order if quoted[i]] + [i for i in order if not quoted[i]]
        # "对话六讲了什么?": the gist of a dialogue named is all its claims, however generic the
        # question; like a keyword question it counts as answered, each claim as sure as the
        # best of its dialogue.
        gist = bool(scope) and not quoted.any() and asks_gist(plain)
        if gist:
            background = _answered(background, float(scores[inside].max()))
        confidence = confidences(scores, background, best, clues)
        if quoted.any():
            # "“进展”这个词用在哪?": every claim that says the words asked about answers, as
            # surely as the best of them, and like a keyword question's claim counts as
            # answered; the others still need their own margin.
            said = confidences(
                scores, _answered(background, float(scores[quoted].max())), best, clues
            )
            confidence = np.where(quoted, said[quoted].max(), confidence)
        if gist:
            for number in scope:
                mine = self._section_of == number
                confidence = np.where(mine, confidence[mine].max(), confidence)
        if not scope and not quoted.any() and asks_part(plain):
            # "具身智能那一段讲了什么?": the dialogue that matches best as a whole (title and all
            # its claims) answers as a whole, first, and as surely as its best claim.
            part = self.index.late.claim_section == int(np.argmax(scored.sections))
            order = [i for i in order if part[i]] + [i for i in order if not part[i]]
            confidence = np.where(part, confidence[order[0]], confidence)
        answers = self._answers(order, scores, confidence, question.top_k, cut)
        # A question about the whole transcript that no claim is likely to answer by itself.
        # (`min_confidence` 0 asks for the plain ranking.)
        if (
            cut > 0
            and float(confidence.max()) < OVERVIEW_BELOW
            and not scope
            and not unknown
            and asks_overview(plain)
        ):
            answers = self._overview(scores, background, question.top_k, cut)
        return Result(text, tuple(answers), bool(answers), clues.unknown_names)

    def _overview(
        self, scores: NDArray[np.float64], background: float, top_k: int, cut: float
    ) -> list[Answer]:
        """The best claim of each dialogue, best first: the answer to "这篇访谈讲了什么?", which
        no single claim matches better than generic questions do. Like a keyword question it
        counts as answered; each claim is judged against the best claim of its own dialogue."""
        section = self.index.late.claim_section
        best_in_section = np.full(int(section.max()) + 1, -np.inf)
        np.maximum.at(best_in_section, section, scores)
        best = best_in_section[section]
        confidence = confidences(scores, _answered(background, float(scores.max())), best=best)
        order = [int(i) for i in np.argsort(-scores, kind="stable") if scores[i] >= best[i]]
        return self._answers(order, scores, confidence, top_k, cut)

    def _answers(
        self,
        order: Sequence[int],
        scores: NDArray[np.float64],
        confidence: NDArray[np.float64],
        top_k: int,
        cut: float,
    ) -> list[Answer]:
        """The claims in `order` whose confidence clears `cut`, ranked, at most `top_k`."""
        transcript = self.index.transcript
        answers: list[Answer] = []
        for i in order:
            if confidence[i] < cut:
                continue
            claim = transcript.claims[i]
            answers.append(
                Answer(
                    rank=len(answers) + 1,
                    claim=claim,
                    section=transcript.section(claim.section),
                    score=float(scores[i]),
                    confidence=float(confidence[i]),
                )
            )
            if len(answers) == top_k:
                break
        return answers

    def clues(self, question: str) -> Clues:
        """What `question`'s wording tells the confidence model: the service's and the
        calibration's one source, so that the model is fitted on what the service computes."""
        return Clues(tuple(self.unknown_names(question)), self.no_figure(normalise(question)))

    def unknown_names(self, question: str) -> list[str]:
        """Names in `question` (DeepSeek, Mamba) that the transcript never uses."""
        return self._known.unknown_names(question)

    def no_figure(self, plain: str) -> NDArray[np.bool_]:
        """Which claims cannot answer `plain` (simplified) for want of a figure: all that
        state none when it asks for one ("蒸馏后性能掉多少?"), else none."""
        return ~self._figures if asks_figure(plain) else np.zeros(self._n, dtype=bool)

    def _quoting(self, plain: str) -> NDArray[np.bool_]:
        """Which claims (with their section titles) contain every word of a question (`plain`:
        simplified) that is a few words and nothing else; none for a question in sentences."""
        words = [w for w in re.split(r"[^\w.+#-]+", plain.casefold()) if w]
        if not 0 < len(words) <= LITERAL_MAX_WORDS or min(map(len, words)) < 2:
            return np.zeros(self._n, dtype=bool)
        patterns = [_whole(w) for w in words]
        return np.array([all(p.search(claim) for p in patterns) for claim in self._literal])

    def _quoted(self, plain: str) -> NDArray[np.bool_]:
        """Which claims (with their section titles) contain a phrase that the question (`plain`:
        simplified) puts in quotation marks; quotes around a paraphrase match nothing."""
        phrases = [p.strip().casefold() for p in _QUOTED.findall(plain)]
        patterns = [_whole(p) for p in phrases if len(p) >= 2]
        if not patterns:
            return np.zeros(self._n, dtype=bool)
        return np.array([any(p.search(claim) for p in patterns) for claim in self._literal])

    def scores(self, query: Encoded) -> Scores:
        """Every claim's score, the best background score and each section's match, for one
        encoded question."""
        with _BLAS.limit(limits=1, user_api="blas"):
            return self._scores(query)

    def _scores(self, query: Encoded) -> Scores:
        late = self.index.late
        claim_best = _best_matches(query.tokens, late.claim_tokens)
        weights = self.token_weights(query, claim_best)
        dense_scores, order = self.index.search(query.sentence[None, :], self._n)
        dense = np.empty(self._n)
        dense[order[0]] = dense_scores[0]
        dense_titled = late.titled @ query.sentence
        # A claim shares its section's match, so a question about a whole dialogue lifts all
        # of its claims together.
        sections = _maxsim(query.tokens, weights, late.section_tokens)
        section = sections[late.claim_section]
        matched = (
            W_LATE_CLAIM * (weights @ claim_best) / weights.sum()
            + W_LATE_TITLED * _maxsim(query.tokens, weights, late.titled_tokens)
            + W_LATE_SECTION * section
        )
        cosine = W_DENSE_CLAIM * dense + W_DENSE_TITLED * dense_titled
        late_weight = W_LATE_CLAIM + W_LATE_TITLED + W_LATE_SECTION
        dense_weight = W_DENSE_CLAIM + W_DENSE_TITLED
        # Each score is a weighted mean of cosines, so it stays in [-1, 1]. The ranking weighs
        # the sentence cosine by the share of the question's tokens that the claims use: across
        # languages (an English question, Chinese claims) it tells the claims apart worse than
        # the token match alone, and mixed in, it made the ranking worse. But it does tell a
        # question the transcript answers from a generic one, so whether the question is
        # answered at all (the best claim's margin over the background) is judged with it
        # weighed fully, as the confidence model was fitted (docs/quality.md, session 13).
        shared = self._shared(query)
        scores = (matched + shared * cosine) / (late_weight + shared * dense_weight)
        full = (matched + cosine) / (late_weight + dense_weight)
        margin = float(full.max()) - self._background(query, weights)
        return Scores(scores, float(scores.max()) - margin, sections)

    def _shared(self, query: Encoded) -> float:
        """The share of the question's tokens that some claim uses."""
        return float(self._used(query).mean()) if len(query.token_ids) else 0.0

    def _used(self, query: Encoded) -> NDArray[np.bool_]:
        """Which of the question's tokens some claim uses."""
        return np.array([self._df.get(int(i), 0) > 0 for i in query.token_ids], dtype=bool)

    def token_weights(self, query: Encoded, claim_best: NDArray[np.float32]) -> NDArray[np.float64]:
        """Each question token's weight: its idf over the claims; for the tokens no claim uses
        (all of an English question's, over a Chinese transcript), which idf cannot tell apart,
        also how much better it matches its best claim than the average one, so that a token
        that singles out a claim counts for more than one that matches all claims alike.
        `claim_best`: each token's best cosine in each claim (`_best_matches`)."""
        weights = np.array([self._idf(int(i)) for i in query.token_ids])
        unused = ~self._used(query)
        if unused.sum() >= 2:
            spread = (claim_best.max(axis=1) - claim_best.mean(axis=1))[unused]
            weights[unused] *= np.sqrt(spread / max(float(spread.mean()), 1e-9))
        # "访谈里哪些地方提到了互联网?": the words that say where to look weigh nothing, unless
        # they are all the question says (qa/scaffold.py).
        if len(query.pieces) == len(weights):
            where = where_words(query.pieces)
            if where.any() and not where.all():
                weights[where] = 0.0
        return weights

    def _background(self, query: Encoded, weights: NDArray[np.float64]) -> float:
        late = self.index.late
        cosines = late.background @ query.sentence
        shortlist = np.argsort(-cosines, kind="stable")[:BACKGROUND_SHORTLIST]
        lines = Ragged.of([late.background_tokens[int(i)] for i in shortlist])
        generic = (
            _maxsim(query.tokens, weights, lines) + W_BACKGROUND_DENSE * cosines[shortlist]
        ) / (1 + W_BACKGROUND_DENSE)
        return float(generic.max())

    def _idf(self, token_id: int) -> float:
        return math.log((self._n + 1) / (self._df.get(token_id, 0) + 0.5))


def _whole(text: str) -> re.Pattern[str]:
    """`text` (casefolded) where it stands whole: a Latin letter or digit at its edge must not run
    on ("in" is not in "Scaling"); Chinese has no spaces to match on ("RL数据效率" has 数据效率)."""
    before = r"(?<![a-z0-9])" if re.match(r"[a-z0-9]", text) else ""
    after = r"(?![a-z0-9])" if re.search(r"[a-z0-9]$", text) else ""
    return re.compile(before + re.escape(text) + after)


def _answered(background: float, best: float) -> float:
    """The background score that makes a claim scoring `best` count as answered (a keyword
    question, a question about the whole transcript): at most `LITERAL_MARGIN` below it."""
    return min(background, best - LITERAL_MARGIN)


@dataclass(frozen=True)
class Clues:
    """What a question's wording alone tells the confidence model (`Searcher.clues`)."""

    # Names in the question (DeepSeek, Mamba) that the transcript never uses.
    unknown_names: tuple[str, ...] = ()
    # Per claim: it states no figure, and the question asks for one ("蒸馏后性能掉多少?").
    no_figure: NDArray[np.bool_] | None = None


def confidence_features(
    scores: NDArray[np.float64],
    background: float,
    best: float | NDArray[np.float64] | None = None,
    clues: Clues | None = None,
) -> NDArray[np.float64]:
    """One row per claim, one column per `CONFIDENCE_FEATURES`: the claim's margin over the
    background questions (is this answered at all?), its gap to `best` (the best score among
    the claims searched, by default all; is it this claim?), and the question's clues."""
    clues = clues or Clues()
    top = float(scores.max()) if best is None else best  # per claim, if an array
    n = len(scores)
    return np.column_stack(
        [
            scores - background,
            np.minimum(scores - top, 0.0),
            np.full(n, float(bool(clues.unknown_names))),
            np.zeros(n) if clues.no_figure is None else clues.no_figure.astype(np.float64),
        ]
    )


def confidences(
    scores: NDArray[np.float64],
    background: float,
    best: float | NDArray[np.float64] | None = None,
    clues: Clues | None = None,
) -> NDArray[np.float64]:
    """Each claim's probability of answering the question: high when it beats the background
    questions clearly and is close to the best claim; lower when the question names something
    the transcript never does, and for the claims that state no figure when it asks for one."""
    # Read at each call, so that scripts can try other values.
    weights = np.array([globals()[f"CONFIDENCE_{name.upper()}"] for name in CONFIDENCE_FEATURES])
    z = confidence_features(scores, background, best, clues) @ weights + CONFIDENCE_OFFSET
    return np.asarray(1.0 / (1.0 + np.exp(-z)), dtype=np.float64)


# Products of a dozen question tokens with a few thousand token vectors: waking several BLAS
# threads costs more than the work (and they contend with torch's), so use one.
_BLAS = ThreadpoolController()


def _best_matches(tokens: NDArray[np.float32], docs: Ragged) -> NDArray[np.float32]:
    """Each question token's best cosine in each document (tokens × documents), from one matrix
    product for all documents."""
    sims = tokens @ docs.vectors.T
    return np.asarray(np.maximum.reduceat(sims, docs.offsets[:-1], axis=1), dtype=np.float32)


def _maxsim(
    tokens: NDArray[np.float32], weights: NDArray[np.float64], docs: Ragged
) -> NDArray[np.float64]:
    return np.asarray((weights @ _best_matches(tokens, docs)) / weights.sum(), dtype=np.float64)


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
    return Searcher(index, encoder, Limits.from_settings(settings), settings.min_confidence)
