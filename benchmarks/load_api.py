"""Load benchmark for the chat API (a script, not a test).

Starts `rag serve` on a free loopback port over an existing index, runs N concurrent clients (plain asyncio
streams, so that on 2 cores they leave the server its CPU) for S seconds
mixing search, extractive and LLM questions, then prints throughput, p50/p95/p99 per route, errors, the
answerers that actually answered (a busy LLM falls back to extractive) and the server's peak RSS.

    .venv/bin/python benchmarks/load_api.py --index .rag --clients 50 --seconds 60
    .venv/bin/python benchmarks/load_api.py --seconds 10 --llm-share 0     # no local LLM
    .venv/bin/python benchmarks/load_api.py --llm-share 0 --workers 2      # two processes on one `chroma run`

Targets (issue 5): 0 5xx, extractive p95 <= 500 ms on 2 cores, peak RSS <= 1.5 GB without the LLM,
<= 3.5 GB with it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import httpx

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = [
    "How much will global AI server shipments grow in 2026?",
    "When will Huawei launch the Ascend 950PR?",
    "What is Cambricon's revenue in 2025?",
    "What does Guosen expect for storage prices?",
    "Which domestic chips are being updated?",
]
SEARCHES = ["Ascend 950PR launch", "AI server shipments 2026", "storage shortage", "domestic computing chips"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_bytes(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


class Connection:
    """One keep-alive HTTP/1.1 connection over asyncio streams. httpx's AsyncClient spent about 7 ms of CPU a
    request here, more than the server's 5 ms: on 2 cores the clients took a whole core from the server they
    were measuring. This client parses only what it needs (status, Content-Length or chunked body)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, target: str, body: bytes = b"") -> tuple[int, bytes]:
        if self.reader is None or self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        reader, writer = self.reader, self.writer
        head = (f"{method} {target} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
                + (f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n" if body else "") + "\r\n")
        try:
            writer.write(head.encode() + body)
            await writer.drain()
            status_line = await reader.readline()
            if not status_line:
                raise ConnectionError("the server closed the connection")
            status = int(status_line.split()[1])
            length, chunked, closing = 0, False, False
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode("latin-1").partition(":")
                name, value = name.strip().lower(), value.strip().lower()
                if name == "content-length":
                    length = int(value)
                elif name == "transfer-encoding":
                    chunked = "chunked" in value
                elif name == "connection":
                    closing = value == "close"
            if chunked:
                parts = []
                while (size := int((await reader.readline()).split(b";")[0], 16)):
                    parts.append(await reader.readexactly(size))
                    await reader.readline()
                await reader.readline()
                payload = b"".join(parts)
            else:
                payload = await reader.readexactly(length)
        except (OSError, asyncio.IncompleteReadError, ValueError, IndexError):
            self.close()
            raise
        if closing:
            self.close()
        return status, payload

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def client_loop(host: str, port: int, until: float, llm_share: float, rng: random.Random,
                      results: dict, answerers: Counter) -> None:
    connection = Connection(host, port)
    while time.monotonic() < until:
        roll = rng.random()
        if roll < llm_share:
            route, method, target = "ask:local", "POST", "/v1/ask"
            body = json.dumps({"question": rng.choice(QUESTIONS), "answerer": "local"}).encode()
        elif roll < llm_share + (1 - llm_share) / 2:
            route, method, target = "ask:extractive", "POST", "/v1/ask"
            body = json.dumps({"question": rng.choice(QUESTIONS), "answerer": "extractive"}).encode()
        else:
            route, method, body = "search", "GET", b""
            target = "/v1/search?" + urlencode({"q": rng.choice(SEARCHES), "k": 5})
        started = time.perf_counter()
        status: int | str  # the HTTP status, or the name of the exception that took its place
        try:
            status, payload = await asyncio.wait_for(connection.request(method, target, body), timeout=120)
            if route.startswith("ask") and status == 200:
                answerers[f"{route} -> {json.loads(payload)['answerer']}"] += 1
        except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError, IndexError) as exc:
            status = type(exc).__name__
            connection.close()
        results[route].append((time.perf_counter() - started, status))
    connection.close()


async def run_load(url: str, clients: int, seconds: float, llm_share: float) -> tuple[dict, Counter, float]:
    results: dict = defaultdict(list)
    answerers: Counter = Counter()
    parts = urlsplit(url)
    if parts.hostname is None or parts.port is None:
        raise ValueError(f"{url}: the server's URL needs a host and a port")
    host, port = parts.hostname, parts.port
    started = time.monotonic()
    until = started + seconds
    await asyncio.gather(*(client_loop(host, port, until, llm_share, random.Random(i), results,
                                       answerers) for i in range(clients)))
    return results, answerers, time.monotonic() - started


def process_tree(pid: int) -> list[int]:
    """`pid` and its descendants (the worker processes of `rag serve --workers N`)."""
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        try:
            for task in Path(f"/proc/{current}/task").iterdir():
                queue += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return found


def cpu_seconds(pid: int) -> float:
    """User + system CPU time so far of a process and its descendants."""
    total = 0.0
    for member in process_tree(pid):
        try:
            fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def tree_rss_bytes(pid: int) -> int:
    return sum(rss_bytes(member) for member in process_tree(pid))


def became_ready(url: str, process: subprocess.Popen, seconds: float) -> bool:
    """Whether `url` answered 200 within `seconds`, while `process` kept running."""
    deadline = time.monotonic() + seconds
    while process.poll() is None and time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    return False


def start_chroma(folder: Path) -> tuple[subprocess.Popen, str]:
    """A `chroma run` server on a free loopback port, and the sample corpus indexed into it under `folder`:
    several `rag serve` workers share one index only through a Chroma server."""
    port = free_port()
    chroma = subprocess.Popen([str(Path(sys.executable).parent / "chroma"), "run", "--path", str(folder / "chroma"),
                               "--host", "127.0.0.1", "--port", str(port)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        if not became_ready(f"{url}/api/v2/heartbeat", chroma, 60):
            raise SystemExit("chroma run did not start")
        subprocess.run([sys.executable, "-m", "rag.cli", "ingest", str(ROOT / "corpus"), "--index",
                        str(folder / "index"), "--chroma-url", url], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    except BaseException:
        chroma.kill()
        raise
    return chroma, url


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index", type=Path, default=Path(os.environ.get("RAG_HOME", ".rag")))
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--llm-share", type=float, default=0.1, help="Share of requests asking the local LLM.")
    parser.add_argument("--workers", type=int, default=1,
                        help="Server processes (`rag serve --workers N`); above 1, over a fresh index in `chroma run`.")
    parser.add_argument("--chroma-server", action="store_true",
                        help="Serve a fresh index of corpus/ from a `chroma run` server, as --workers above 1 must "
                             "(to compare 1 and N workers on the same store).")
    args = parser.parse_args()
    args.chroma_server = args.chroma_server or args.workers > 1
    if not args.chroma_server and not (args.index / "catalog.sqlite").exists():
        print(f"no index at {args.index}: run `rag ingest corpus/` first", file=sys.stderr)
        return 2

    chroma, scratch = None, None
    command = [sys.executable, "-m", "rag.cli", "serve"]
    if args.chroma_server:
        scratch = tempfile.TemporaryDirectory(prefix="rag-load-")
        chroma, chroma_url = start_chroma(Path(scratch.name))
        args.index = Path(scratch.name) / "index"
        command += ["--workers", str(args.workers), "--chroma-url", chroma_url]
        print(f"{args.workers} worker(s) over a fresh index of corpus/ in a `chroma run` server (--index not used)")
    port = free_port()
    env = {**os.environ, "RAG_HOME": str(args.index), "RAG_API__RATE_LIMIT_PER_MINUTE": "100000000"}
    env.pop("RAG_API_KEYS", None)
    server = subprocess.Popen(command + ["--port", str(port)], cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    peak = [0]
    stop = threading.Event()

    def sample_rss() -> None:
        while not stop.wait(0.25):
            peak[0] = max(peak[0], tree_rss_bytes(server.pid))

    try:
        if not became_ready(f"{url}/readyz", server, 180):
            print(f"the server did not become ready:\n{server.stderr.read() if server.stderr else ''}",
                  file=sys.stderr)
            return 1
        threading.Thread(target=sample_rss, daemon=True).start()
        if args.workers > 1:
            time.sleep(10)  # /readyz answered by one worker; give the others time to load their embedders
        idle_rss = tree_rss_bytes(server.pid)
        server_cpu, client_cpu = cpu_seconds(server.pid), time.process_time()
        results, answerers, elapsed = asyncio.run(run_load(url, args.clients, args.seconds, args.llm_share))
        server_cpu, client_cpu = cpu_seconds(server.pid) - server_cpu, time.process_time() - client_cpu
    finally:
        stop.set()
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        if chroma is not None:
            chroma.terminate()
            chroma.wait(timeout=20)
        if scratch is not None:
            scratch.cleanup()

    total = sum(len(v) for v in results.values())
    print(f"{args.clients} clients, {elapsed:.1f} s, {total} requests, {total / elapsed:.1f} req/s")
    print(f"{'route':<16}{'n':>7}{'p50 ms':>10}{'p95 ms':>10}{'p99 ms':>10}{'mean ms':>10}  statuses")
    server_errors = 0
    for route in sorted(results):
        rows = results[route]
        ok = [s * 1000 for s, status in rows if status == 200]
        statuses = Counter(str(status) for _, status in rows)
        server_errors += sum(n for status, n in statuses.items() if not status.isdigit() or status.startswith("5"))
        print(f"{route:<16}{len(rows):>7}{percentile(ok, 50):>10.0f}{percentile(ok, 95):>10.0f}"
              f"{percentile(ok, 99):>10.0f}{(statistics.fmean(ok) if ok else float('nan')):>10.0f}  {dict(statuses)}")
    for label, n in sorted(answerers.items()):
        print(f"  {label}: {n}")
    print(f"5xx or transport errors: {server_errors}")
    print(f"server RSS: idle {idle_rss / 2**20:.0f} MiB, peak {peak[0] / 2**20:.0f} MiB")
    print(f"CPU during the load: server {server_cpu:.1f} s ({server_cpu / max(total, 1) * 1000:.1f} ms a request), "
          f"clients {client_cpu:.1f} s, over {elapsed:.1f} s on {os.cpu_count()} cores")
    return 1 if server_errors else 0


if __name__ == "__main__":
    sys.exit(main())
