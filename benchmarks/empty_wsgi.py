"""A WSGI app that reads the request and answers 201 without doing anything.

`benchmarks/intake.py --ceiling` serves it with the same gunicorn settings as Yingji, to measure
how many requests per second this machine can carry through gunicorn at all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

BODY = b'{"id": 1, "number": "YJ20261122-001", "report": "R20261122-0001", "status": "reported", "merged": true}'


def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    start_response("201 Created", [("Content-Type", "application/json"), ("Content-Length", str(len(BODY)))])
    return [BODY]
