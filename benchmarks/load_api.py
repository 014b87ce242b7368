"""Load benchmark for the chat API (a script, not a test).

Starts `rag serve` on a free loopback port over an existing index, runs N concurrent clients for S seconds
mixing search, extractive and LLM questions, then prints throughput, p50/p95/p99 per route, errors, the
answerers that actually answered (a busy LLM falls back to extractive) and the server's peak RSS.

    .venv/bin/python benchmarks/load_api.py --index .rag --clients 50 --seconds 60
    .venv/bin/python benchmarks/load_api.py --seconds 10 --llm-share 0     # no local LLM

Targets (issue 5): 0 5xx, extractive p95 <= 500 ms on 2 cores, peak RSS <= 1.5 GB without the LLM,
<= 3.5 GB with it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path

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


async def client_loop(client: httpx.AsyncClient, until: float, llm_share: float, rng: random.Random,
                      results: dict, answerers: Counter) -> None:
    while time.monotonic() < until:
        roll = rng.random()
        if roll < llm_share:
            route, call = "ask:local", client.post("/v1/ask", json={"question": rng.choice(QUESTIONS),
                                                                    "answerer": "local"})
        elif roll < llm_share + (1 - llm_share) / 2:
            route, call = "ask:extractive", client.post("/v1/ask", json={"question": rng.choice(QUESTIONS),
                                                                         "answerer": "extractive"})
        else:
            route, call = "search", client.get("/v1/search", params={"q": rng.choice(SEARCHES), "k": 5})
        started = time.perf_counter()
        try:
            response = await call
            status = response.status_code
            if route.startswith("ask") and status == 200:
                answerers[f"{route} -> {response.json()['answerer']}"] += 1
        except httpx.HTTPError as exc:
            status = type(exc).__name__
        results[route].append((time.perf_counter() - started, status))


async def run_load(url: str, clients: int, seconds: float, llm_share: float) -> tuple[dict, Counter, float]:
    results: dict = defaultdict(list)
    answerers: Counter = Counter()
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as client:
        started = time.monotonic()
        until = started + seconds
        await asyncio.gather(*(client_loop(client, until, llm_share, random.Random(i), results, answerers)
                               for i in range(clients)))
        elapsed = time.monotonic() - started
    return results, answerers, elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index", type=Path, default=Path(os.environ.get("RAG_HOME", ".rag")))
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--llm-share", type=float, default=0.1, help="Share of requests asking the local LLM.")
    args = parser.parse_args()
    if not (args.index / "catalog.sqlite").exists():
        print(f"no index at {args.index}: run `rag ingest corpus/` first", file=sys.stderr)
        return 2

    port = free_port()
    env = {**os.environ, "RAG_HOME": str(args.index), "RAG_API__RATE_LIMIT_PER_MINUTE": "100000000"}
    env.pop("RAG_API_KEYS", None)
    server = subprocess.Popen([sys.executable, "-m", "rag.cli", "serve", "--port", str(port)], cwd=ROOT, env=env,
                              stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    peak = [0]
    stop = threading.Event()

    def sample_rss() -> None:
        while not stop.wait(0.25):
            peak[0] = max(peak[0], rss_bytes(server.pid))

    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                print(f"the server did not become ready:\n{server.stderr.read() if server.stderr else ''}",
                      file=sys.stderr)
                return 1
            time.sleep(0.3)
        threading.Thread(target=sample_rss, daemon=True).start()
        idle_rss = rss_bytes(server.pid)
        results, answerers, elapsed = asyncio.run(run_load(url, args.clients, args.seconds, args.llm_share))
    finally:
        stop.set()
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()

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
    return 1 if server_errors else 0


if __name__ == "__main__":
    sys.exit(main())
