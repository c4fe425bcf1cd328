"""The core's errors: one small hierarchy, each with a message a user can act on.

Nothing here knows about HTTP or the command line; `qa.api` and `qa.cli` map these classes
to status codes and exit codes in one place each.
"""

from __future__ import annotations


class QAError(Exception):
    """Base class of every error the core raises on purpose."""


class InvalidInputError(QAError):
    """A question or a search parameter is not acceptable (empty, too long, out of range)."""


class TranscriptError(QAError):
    """A transcript or claims file cannot be read or parsed."""


class ModelError(QAError):
    """The embedding model cannot be found, prepared or loaded."""


class IndexNotFoundError(QAError):
    """No index has been built where one was expected."""


class IndexCorruptError(QAError):
    """An index exists but is incomplete, damaged or does not match the running model."""


class NotFoundError(QAError):
    """A claim or section that was asked for does not exist."""


class IndexStaleError(IndexCorruptError):
    """An index is outdated: built from another transcript than the one configured, with other
    background sentences, or by an older version. Rebuilding it fixes it."""
