"""Crash safety: kill -9 a real `rag ingest` process at several points, rerun, and compare the index with a
clean run's: the same chunk ids in Chroma and in the catalog, no orphans, no duplicates."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from rag.assistant import Assistant
from tests.conftest import ROOT, make_settings

DRIVER = ROOT / "tests" / "fixtures" / "crash_ingest.py"
BATCH_CHUNKS = 4
TOPICS = ["memory chips", "optical modules", "AI servers", "power semiconductors", "PCB substrates",
          "foundry capacity", "edge devices", "storage controllers"]


def write_corpus(folder: Path, version: int) -> None:
    folder.mkdir(exist_ok=True)
    for i, topic in enumerate(TOPICS):
        path = folder / f"note_{i}.txt"
        if version == 2 and i == 7:
            path.unlink(missing_ok=True)
            continue
        changed = version == 2 and i in (1, 4)
        sentences = [f"Note {i} ({'revised' if changed else 'first'} edition) covers {topic}."]
        sentences += [f"Point {j}: demand for {topic} grows {j * 3 + i}% as supply stays tight." for j in range(12)]
        path.write_text(" ".join(sentences), encoding="utf-8")


def snapshot(home: Path) -> dict:
    assistant = Assistant.from_settings(make_settings(home))
    try:
        chroma_ids = assistant.store.all_ids()
        rows = assistant.catalog._query('SELECT chunk_id, doc_id, idx, start, "end", text FROM chunks ORDER BY chunk_id')
        docs = [(d.doc_id, d.content_hash, d.status, d.chunk_count) for d in assistant.catalog.documents()]
        fts = assistant.catalog.lexical.count("chunks")
        vectors = assistant.store.vectors(sorted(chroma_ids))
        unit_ids = assistant.store.all_unit_ids()
        units = assistant.catalog._query("SELECT chunk_id, count(*) FROM units GROUP BY chunk_id ORDER BY chunk_id")
        unit_fts = assistant.catalog.lexical.count("units")
    finally:
        assistant.catalog.close()
    assert len(chroma_ids) == len(set(chroma_ids)), "duplicate ids in Chroma"
    assert len(unit_ids) == len(set(unit_ids)), "duplicate unit ids in Chroma"
    return {"chroma": sorted(chroma_ids), "chunks": rows, "documents": docs, "fts": fts, "vectors": vectors,
            "unit_ids": sorted(unit_ids), "units": units, "unit_fts": unit_fts}


def assert_same_index(actual: dict, expected: dict) -> None:
    assert actual["chroma"] == expected["chroma"]
    assert [r[0] for r in actual["chunks"]] == actual["chroma"], "catalog and Chroma disagree"
    assert actual["chunks"] == expected["chunks"]
    assert actual["documents"] == expected["documents"]
    assert actual["fts"] == len(actual["chunks"])
    assert actual["unit_ids"] == expected["unit_ids"] and actual["units"] == expected["units"]
    # Every unit is in BM25; only rows and long sentences have a vector of their own (rag/chunk.py).
    assert actual["unit_fts"] == sum(n for _, n in actual["units"]) >= len(actual["unit_ids"]) > 0
    assert {u.rsplit("/", 1)[0] for u in actual["unit_ids"]} <= set(actual["chroma"]), "orphan unit vectors"
    # Each chunk keeps its own text's vector: nearest to the clean run's vector for that chunk, and equal to it
    # within rounding (bf16 batches round differently with the batch a text was encoded in: cosine >= 0.999).
    def cosine(a, b):
        return sum(x * y for x, y in zip(a, b))
    for chunk_id, got in actual["vectors"].items():
        nearest = max(expected["vectors"], key=lambda other: cosine(got, expected["vectors"][other]))
        assert nearest == chunk_id and cosine(got, expected["vectors"][chunk_id]) > 0.999, chunk_id


def ingest_in_process(home: Path, folder: Path, prune: bool = False) -> None:
    assistant = Assistant.from_settings(make_settings(home))
    try:
        report = assistant.ingest([folder], prune=prune)
        assert report.failed == []
    finally:
        assistant.catalog.close()


def kill_ingest_at(home: Path, folder: Path, event_number: int, *extra: str) -> list[str]:
    """Run `rag ingest` and kill -9 it right after its `event_number`-th index write; returns the events."""
    process = subprocess.Popen(
        [sys.executable, str(DRIVER), str(BATCH_CHUNKS), "ingest", str(folder), "--index", str(home), "--json",
         *extra],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
    )
    events: list[str] = []
    try:
        for line in process.stdout:
            if not line.startswith("EVENT "):
                continue
            events.append(line.split()[1])
            if len(events) == event_number:
                os.kill(process.pid, signal.SIGKILL)
                break
            process.stdin.write("\n")
            process.stdin.flush()
        assert process.wait(timeout=120) == -signal.SIGKILL, process.stderr.read()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert len(events) == event_number, f"the run ended after {events} before event {event_number}"
    return events


@pytest.fixture(scope="module", autouse=True)
def units_at_ingest():
    """Unit vectors written at ingest, in this process and the CLI's: writes a kill must never leave half done.
    (By default they wait for the first question that finds their chunk, and an ingest writes none.)"""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RAG_EMBED__UNIT_VECTORS", "ingest")
        yield


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    """Snapshots of clean runs over version 1 and version 2 of the corpus."""
    base = tmp_path_factory.mktemp("clean")
    folder = base / "corpus"
    write_corpus(folder, 1)
    ingest_in_process(base / "v1", folder)
    v1 = snapshot(base / "v1")
    write_corpus(folder, 2)
    ingest_in_process(base / "v2", folder)
    return {"folder": folder, "v1": v1, "v2": snapshot(base / "v2")}


def test_killed_first_ingest_then_killed_recovery_then_rerun_equals_clean_run(tmp_path, clean):
    folder = tmp_path / "corpus"
    write_corpus(folder, 1)
    home = tmp_path / "index"
    # Batch 2's vectors are in Chroma but its chunks are not committed: the worst window.
    events = kill_ingest_at(home, folder, 7)
    assert events[-1] == "ChromaStore.upsert"
    # The next run dies too: after cleaning up (event 1) and committing its first batch (events 2-5).
    events = kill_ingest_at(home, folder, 5)
    assert events[0] == "ChromaStore.delete_documents" and events[-1] == "Catalog.write_ready"
    ingest_in_process(home, folder)
    assert_same_index(snapshot(home), clean["v1"])


def test_killed_update_with_prune_then_rerun_equals_clean_run(tmp_path, clean):
    folder = tmp_path / "corpus"
    write_corpus(folder, 1)
    home = tmp_path / "index"
    ingest_in_process(home, folder)
    write_corpus(folder, 2)
    # Old vectors of the changed notes are deleted, the new ones not yet written.
    events = kill_ingest_at(home, folder, 2, "--prune")
    assert events == ["Catalog.mark_pending", "ChromaStore.delete_documents"]
    ingest_in_process(home, folder, prune=True)
    assert_same_index(snapshot(home), clean["v2"])
