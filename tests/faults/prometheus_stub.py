"""A local Prometheus stand-in that answers well, hangs or answers garbage."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

#: `query_range` answers by mode: `ok` one point per variant; `counts` one
#: point per step from `start` to `end` (both included, as Prometheus does), of
#: `counts[query][variant]` (the variant left out when absent; samples before
#: `history_until`, a timestamp, are `history[query][variant]` instead).
MODES = ("ok", "counts", "hang", "garbage")
#: Prometheus refuses a range of more points than this per series.
MAX_POINTS = 11_000


class PrometheusStub:
    """Serves `/api/v1/query_range` as `mode` says, on 127.0.0.1."""

    def __init__(self) -> None:
        self.mode = "ok"
        self.requests = 0
        self.counts: dict[str, dict[str, float]] = {}
        self.history: dict[str, dict[str, float]] = {}
        self.history_until = float("-inf")
        #: `counts` queries starting before this timestamp are refused (503).
        self.refuse_before = float("-inf")
        #: The (start, end, step) of each query asked, in order.
        self.ranges: list[tuple[float, float, float]] = []
        #: The `query` parameters asked, in order.
        self.queries: list[str] = []
        self.released = threading.Event()
        self.stopped = False
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                stub.requests += 1
                if stub.mode == "hang":
                    stub.released.wait(10)
                    return
                query = parse_qs(urlparse(self.path).query)
                start = float(query["start"][0])
                stub.queries.append(query["query"][0])
                status = 200
                if stub.mode == "garbage":
                    body = stub.garbage()
                elif stub.mode == "counts":
                    status, body = stub.answer(query)
                else:
                    body = stub.ok(start)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *_args: object) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    @staticmethod
    def ok(start: float) -> dict[str, object]:
        series = [
            {"metric": {"variant": v}, "values": [[start, "1"]]} for v in ("on", "off")
        ]
        return {"status": "success", "data": {"resultType": "matrix", "result": series}}

    def answer(self, query: dict[str, list[str]]) -> tuple[int, dict[str, object]]:
        """The HTTP status and body for a `counts` query: refused, as
        Prometheus does, past 11,000 points or before `refuse_before`."""
        start, end = float(query["start"][0]), float(query["end"][0])
        step = float(query["step"][0].removesuffix("s"))
        if (end - start) / step > MAX_POINTS:
            return 400, self.error(
                "exceeded maximum resolution of 11,000 points per timeseries. "
                "Try decreasing the query resolution (?step=XX)"
            )
        if start < self.refuse_before:
            return 503, self.error("the stub refuses ranges this old")
        return 200, self.matrix(query)

    @staticmethod
    def error(text: str) -> dict[str, object]:
        return {"status": "error", "errorType": "bad_data", "error": text}

    def matrix(self, query: dict[str, list[str]]) -> dict[str, object]:
        """`counts` for the query, one sample per step of [start, end]."""
        start, end = float(query["start"][0]), float(query["end"][0])
        step = float(query["step"][0].removesuffix("s"))
        steps = int((end - start) // step) + 1
        self.ranges.append((start, end, step))
        promql = query["query"][0]
        now, before = self.counts.get(promql, {}), self.history.get(promql, {})
        series = []
        for variant in sorted({*now, *before}):
            values = []
            for i in range(steps):
                at = start + i * step
                value = (before if at < self.history_until else now).get(variant)
                if value is not None:
                    values.append([at, f"{value:g}"])
            if values:
                series.append({"metric": {"variant": variant}, "values": values})
        return {"status": "success", "data": {"resultType": "matrix", "result": series}}

    @staticmethod
    def garbage() -> dict[str, object]:
        series = [{"metric": {"variant": "on"}, "values": [["soon", {"a": []}]]}]
        return {"status": "success", "data": {"resultType": "matrix", "result": series}}

    def stop(self) -> None:
        """Close the listening socket: from now on, connections are refused."""
        self.released.set()
        self._server.shutdown()
        self._server.server_close()
        self.stopped = True

    @contextmanager
    def running(self) -> Iterator[PrometheusStub]:
        thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            if not self.stopped:
                self.stop()
            thread.join(5)
