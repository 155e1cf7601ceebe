"""Process logging: readable lines in a terminal, JSON lines everywhere else."""

from __future__ import annotations

import json
import logging
import logging.config
import sys
from datetime import UTC, datetime
from typing import Any


class JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry)


def logging_config(*, json_lines: bool, level: str = "INFO") -> dict[str, Any]:
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "text": {"format": "%(asctime)s %(levelname)-7s %(name)s: %(message)s"},
            "json": {"()": JsonLines},
        },
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": "json" if json_lines else "text",
            }
        },
        # aiohttp's access log would repeat every webhook, aiosmtpd's every SMTP connection
        # (several lines a mail); their warnings and errors still show.
        "loggers": {"aiohttp.access": {"level": "WARNING"}, "mail.log": {"level": "WARNING"}},
        "root": {"level": level, "handlers": ["stderr"]},
    }


def configure(level: str = "INFO") -> None:
    logging.config.dictConfig(logging_config(json_lines=not sys.stderr.isatty(), level=level))
