"""A misbehaving tlog-witness for tests, as a real HTTP server: ``python -m tests.bad_witness
PORT``. ``POST /500/add-checkpoint`` answers 500; ``/garbage/...`` 200 with a line that is no
cosignature; ``/hang/...`` never answers (for a minute); ``/huge/...`` streams 1 MiB."""

from __future__ import annotations

import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self._reply(200, b"bad witness\n")

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length", "0"))
        self.rfile.read(length)
        mode = self.path.strip("/").split("/")[0]
        if mode == "hang":
            time.sleep(60)
        elif mode == "garbage":
            self._reply(200, b"\xe2\x80\x94 nobody AAAA\x00\xff garbage\n")
        elif mode == "huge":
            self._reply(200, b"x" * (1 << 20))
        else:
            self._reply(500, b"internal error\n")

    def _reply(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


if __name__ == "__main__":
    ThreadingHTTPServer.daemon_threads = True
    ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
