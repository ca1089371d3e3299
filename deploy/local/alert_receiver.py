"""The local stack's alert receiver: where Alertmanager delivers on this machine.

The local stack must never reach outside hosts (no Telegram API, no SMTP server), yet
its Alertmanager has to deliver somewhere real so that routing, grouping and
inhibition can be seen and tested. This receiver takes Alertmanager's webhook
notifications on 127.0.0.1 and keeps them:

- ``POST <any path>``: one notification (Alertmanager's webhook JSON); appended, with
  the path and the receive time, to ``notifications.jsonl`` in ``--data-dir``.
  A body that is not a JSON object is answered 400 and not kept.
- ``GET /notifications``: every notification kept so far, as a JSON list (what the
  tests and ``curl`` read). ``?receiver=NAME`` keeps one receiver's.
- ``GET /-/ready``: 200 once it listens (the stack scripts' health check).

Standard library only, so it runs with any Python 3.11, before or without the venv.
Usage: ``python deploy/local/alert_receiver.py --port 9095 --data-dir DIR``.
"""

from __future__ import annotations

import argparse
import json
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

MAX_BODY_BYTES = 4 * 1024 * 1024
"""Alertmanager truncates its own payloads far below this; anything bigger is not it."""


class Store:
    """Notifications in memory and, line by line, in a JSON Lines file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock = threading.Lock()
        self.items: list[dict[str, Any]] = []
        if path.exists():  # a restart keeps what was received before
            self.items = self._load()

    def _load(self) -> list[dict[str, Any]]:
        # A kill in the middle of an append leaves a torn last line: cut it off (the next
        # append would otherwise glue a good line to it), say so, and start.
        data = self.path.read_bytes()
        kept = data[: data.rfind(b"\n") + 1]
        if len(kept) < len(data):
            print(f"dropping a torn last line of {len(data) - len(kept)} bytes", flush=True)
            self.path.write_bytes(kept)
        return [json.loads(line) for line in kept.decode().splitlines() if line.strip()]

    def add(self, item: dict[str, Any]) -> None:
        """Keep one notification (memory first, then one line of the file)."""
        line = json.dumps(item, ensure_ascii=False)
        with self.lock:
            self.items.append(item)
            with self.path.open("a", encoding="utf-8") as out:
                out.write(line + "\n")

    def list(self, receiver: str | None) -> list[dict[str, Any]]:
        """Every notification kept, or one receiver's."""
        with self.lock:
            items = list(self.items)
        return [i for i in items if receiver is None or i.get("receiver") == receiver]


def handler_for(store: Store) -> type[BaseHTTPRequestHandler]:
    """The request handler class, bound to ``store``."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY_BYTES:
                self.reply(413, {"error": f"body over {MAX_BODY_BYTES} bytes"})
                return
            try:
                body = json.loads(self.rfile.read(length))
            except (ValueError, RecursionError) as exc:  # bad UTF-8 or JSON, deep nesting
                self.reply(400, {"error": f"not JSON: {exc}"})
                return
            if not isinstance(body, dict):
                self.reply(400, {"error": "a notification is a JSON object"})
                return
            received = datetime.now(UTC).isoformat()
            store.add({**body, "path": urlsplit(self.path).path, "received_at": received})
            self.reply(200, {"status": "kept"})

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            if url.path == "/-/ready":
                self.reply(200, {"status": "ready"})
            elif url.path == "/notifications":
                receiver = parse_qs(url.query).get("receiver", [None])[0]
                self.reply(200, store.list(receiver))
            else:
                self.reply(404, {"error": "GET /notifications or /-/ready"})

        def reply(self, status: int, payload: object) -> None:
            data = json.dumps(payload, ensure_ascii=False).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the kept notifications are the log

    return Handler


def main() -> None:
    """Serve until killed (the stack scripts stop it with SIGTERM)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--data-dir", type=Path, required=True)
    args = parser.parse_args()
    args.data_dir.mkdir(parents=True, exist_ok=True)
    store = Store(args.data_dir / "notifications.jsonl")
    server = ThreadingHTTPServer(("127.0.0.1", args.port), handler_for(store))
    print(f"alert receiver on http://127.0.0.1:{args.port}, keeping {store.path}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
