"""A search result as a block of text a chatbot pastes into its prompt (no HTTP, no model).

One line per claim, its citation numbers first, then which dialogue it is from:

    [33] RL数据效率高得多,可从有限数据中学习,如1000道数学题 (对话七 · 强化学习:…)

and one line that tells the model to cite with those numbers. When nothing clears the
confidence cut-off, the block says the transcript does not answer the question, so the model
does not make an answer up.
"""

from __future__ import annotations

from qa.search import Answer, Result
from qa.transcript import Source, section_label


def citation_marks(citations: tuple[int, ...] | list[int]) -> str:
    """`[6][7]` for citations 6 and 7."""
    return "".join(f"[{n}]" for n in citations)


def context_line(answer: Answer) -> str:
    """One claim: citations, text, and its dialogue's number and title."""
    where = f"{section_label(answer.section.number)} · {answer.section.title}"
    marks = citation_marks(answer.claim.citations)
    return f"{marks} {answer.claim.text} ({where})" if marks else f"{answer.claim.text} ({where})"


def render_context(result: Result, source: Source) -> str:
    """The prompt-ready block for `result`: the claims that answer it and how to cite them, or
    a plain statement that the transcript does not answer it."""
    title = f"{source.title} ({source.publisher}, {source.published})"
    if not result.answered:
        why = (
            f"it never mentions {', '.join(result.unknown_names)}"
            if result.unknown_names
            else "no claim in it is relevant enough"
        )
        return (
            f"The transcript {title} does not answer the question “{result.question}”: "
            f"{why}. Say so rather than answer from the transcript."
        )
    lines = [f"Claims from the transcript {title} relevant to “{result.question}”:"]
    lines += [context_line(a) for a in result.answers]
    cited = next((a.claim.citations for a in result.answers if a.claim.citations), (6, 7))
    lines.append(
        "Answer from these claims only and cite them with their citation numbers, "
        f"e.g. {citation_marks(cited)}."
    )
    return "\n".join(lines)
