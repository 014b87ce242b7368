"""Benchmark: ingest throughput on real filing PDFs, beside the raw encoder cost of the same chunks.
Run: .venv/bin/python benchmarks/pdf_ingest.py [--pages 400] [--files AMCOR_2023_10K BLOCK_2020_10K]

Reads the FinanceBench dev PDFs in place (../shared/data/financebench-dev/pdfs, never copied) and ingests them
three times into temp indexes with the packaged embedder, as `rag ingest` does: unit vectors (sentences, table
rows) made at ingest in fp32 (the earlier way), unit vectors left for questions in fp32 (what an AVX2-only CPU
runs), and left for questions in the automatic precision; after each, searches the FinanceBench questions about
those filings in turn (the first questions over a new index make the unit vectors of the chunks they find). Prints pages/min for each whole ingest (load, chunk, embed, write), the load and chunk
share, chunks and units per page and how many texts the encoder was given, then the raw fp32 encode time of the
chunk texts alone (one call, same model in fp32, same threads) and the ratio of each ingest's time to it: the
ratio says how much work beyond encoding each chunk once ingest costs.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Literal

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag.assistant import Assistant  # noqa: E402
from rag.embed import SentenceTransformerEmbedder, packaged_model_path  # noqa: E402
from rag.settings import Settings  # noqa: E402

PDFS = ROOT.parent / "shared" / "data" / "financebench-dev" / "pdfs"


class CountingEmbedder:
    """Counts the texts ingest hands the encoder and the seconds spent in it."""

    def __init__(self, inner) -> None:
        self.inner, self.name, self.dimension = inner, inner.name, inner.dimension
        self.texts, self.seconds = 0, 0.0

    def embed_documents(self, texts):
        started = time.perf_counter()
        try:
            return self.inner.embed_documents(texts)
        finally:
            self.texts += len(texts)
            self.seconds += time.perf_counter() - started

    def embed_query(self, text):
        return self.inner.embed_query(text)


def pick_files(names: list[str] | None, max_pages: int | None) -> list[tuple[Path, int]]:
    from pypdf import PdfReader

    files = sorted(PDFS.glob("*.pdf"))
    if names:
        files = [f for f in files if f.stem in names]
    picked: list[tuple[Path, int]] = []
    total = 0
    for path in files:
        pages = len(PdfReader(path).pages)
        if max_pages and picked and total + pages > max_pages:
            continue
        picked.append((path, pages))
        total += pages
    return picked


# The encoder precision and when unit vectors are made: settings.embed.precision and .unit_vectors.
Precision = Literal["auto", "fp32", "bf16"]
UnitVectors = Literal["question", "ingest"]


def ingest_once(folder: Path, home: Path, precision: Precision, unit_vectors: UnitVectors, pages: int,
                questions: list[str]) -> dict:
    settings = Settings(home=home)
    settings.embed.precision, settings.embed.unit_vectors = precision, unit_vectors
    assistant = Assistant.from_settings(settings)
    counting = CountingEmbedder(assistant.embedder)
    assistant.indexer.embedder = assistant.retriever.embedder = counting
    counting.inner.embed_documents(["warm up the encoder"] * 32)
    started = time.perf_counter()
    report = assistant.ingest([folder])
    ingest_s = time.perf_counter() - started
    if report.failed:
        print("failed:", report.failed)
    encoder_s, texts = counting.seconds, counting.texts
    # Where units wait for questions, the first questions pay for the units of the chunks they find.
    searches = []
    for question in questions:
        started = time.perf_counter()
        assistant.search(question)
        searches.append(time.perf_counter() - started)
    return {"label": f"{counting.inner.precision} ({precision}), unit vectors at {unit_vectors}", "s": ingest_s,
            "pages/min": pages / ingest_s * 60, "encoder_s": encoder_s, "texts": texts, "searches": searches}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--pages", type=int, default=None, help="stop adding files past this many pages")
    parser.add_argument("--files", nargs="*", default=None, help="file stems to use (default: all)")
    args = parser.parse_args()
    files = pick_files(args.files, args.pages)
    if not files:
        raise SystemExit(f"no PDFs found under {PDFS}")
    pages = sum(p for _, p in files)
    from rag.load import load_file

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        folder = work / "pdfs"
        folder.mkdir()
        for path, _ in files:
            (folder / path.name).symlink_to(path)
        chunker = Assistant.from_settings(Settings(home=work / "probe")).indexer.chunker
        started = time.perf_counter()
        docs = [doc for path, _ in files for doc in load_file(path, path.stem)]
        load_s = time.perf_counter() - started
        started = time.perf_counter()
        chunks = [c for doc in docs for c in chunker.chunk(doc)]
        chunk_s = time.perf_counter() - started
        # The earlier way first (every unit encoded on its own), then pooled units in fp32 (an AVX2-only CPU) and
        # in the automatic precision (bf16 where the CPU multiplies it), each into an index of its own.
        from evals.financebench import load_questions

        stems = {path.stem for path, _ in files}
        questions = [q["question"] for q in load_questions() if q["doc_name"] in stems]
        configs: list[tuple[Precision, UnitVectors]] = [("fp32", "ingest"), ("fp32", "question"), ("auto", "question")]
        runs = [ingest_once(folder, work / f"index-{n}", precision, units, pages, questions)
                for n, (precision, units) in enumerate(configs)]

        texts = [c.indexed_text for c in chunks]
        fp32 = SentenceTransformerEmbedder(packaged_model_path(), precision="fp32")
        fp32.embed_documents(["warm up the encoder"] * 32)
        started = time.perf_counter()
        fp32.embed_documents(texts)
        encode_s = time.perf_counter() - started

    units = sum(len(c.units) for c in chunks)
    unit_vectors = sum(len(c.unit_vector_ids) if c.unit_vector_ids is not None else len(c.units) for c in chunks)
    print(f"files {len(files)}, pages {pages}; load {load_s:.1f} s, chunk {chunk_s:.1f} s")
    print(f"chunks {len(chunks)} ({len(chunks) / pages:.2f}/page), units {units} ({units / pages:.2f}/page), "
          f"unit vectors {unit_vectors} ({unit_vectors / pages:.2f}/page)")
    print(f"raw fp32 encode of the {len(texts)} chunk texts: {encode_s:.1f} s = {pages / encode_s * 60:.0f} pages/min")
    for run in runs:
        print(f"ingest {run['label']}: {run['s']:.1f} s = {run['pages/min']:.0f} pages/min (encoder "
              f"{run['encoder_s']:.1f} s on {run['texts']} texts); ingest / raw fp32 encode = {run['s'] / encode_s:.2f}")
        if run["searches"]:
            took = sorted(run["searches"])
            print(f"  then {len(took)} FinanceBench questions about these filings searched in turn: first "
                  f"{run['searches'][0]:.2f} s, median {took[len(took) // 2]:.2f} s, max {took[-1]:.2f} s, "
                  f"all {sum(took):.1f} s")


if __name__ == "__main__":
    main()
