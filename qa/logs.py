"""Logging for `qa serve`: plain text lines or JSON lines on stderr."""

from __future__ import annotations

import json
import logging
import time
from typing import Any, Literal

LogFormat = Literal["text", "json"]

_TEXT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Attributes every LogRecord has; anything else was passed with `extra=` and is kept in JSON
# (but uvicorn's `color_message`, its message with terminal colours).
_SKIP = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}
_SKIP |= {"color_message"}


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, then the record's `extra` fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update((k, v) for k, v in record.__dict__.items() if k not in _SKIP)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure_logging(log_format: LogFormat, level: int = logging.INFO) -> None:
    """Send every logger's records (uvicorn's included) to stderr in `log_format`."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(_TEXT))
    logging.basicConfig(level=level, handlers=[handler], force=True)
