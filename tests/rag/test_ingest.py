"""Incremental ingest on the real embedder and a real Chroma: every format, bad files, unchanged, changed,
pruned and removed documents. test_chroma_server.py runs these same tests against a `chroma run` server by
overriding the `index_settings` fixture."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag.assistant import Assistant
from rag.errors import LoadError, RagError
from rag.load import iter_files, load_file
from tests.conftest import SAMPLE_REPORT, make_settings
from tests.fixtures.documents import (
    make_bad_files,
    make_docx,
    make_filing_pdf,
    make_html,
    make_jsonl,
    make_markdown,
    make_pdf,
)


class CountingEmbedder:
    """The real embedder, counting the texts it is asked to encode."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.name = inner.name
        self.dimension = inner.dimension
        self.texts = 0

    def embed_documents(self, texts):
        self.texts += len(texts)
        return self.inner.embed_documents(texts)

    def embed_query(self, text):
        return self.inner.embed_query(text)


@pytest.fixture
def index_settings(tmp_path):
    return make_settings(tmp_path / "index")


@pytest.fixture
def open_index(index_settings):
    """Opens (or reopens, like a new process) the test's index with a counting embedder."""
    opened = []

    def _open() -> Assistant:
        assistant = Assistant.from_settings(index_settings)
        counting = CountingEmbedder(assistant.embedder)
        assistant.embedder = assistant.indexer.embedder = assistant.retriever.embedder = counting
        opened.append(assistant)
        return assistant

    yield _open
    for assistant in opened:
        assistant.catalog.close()


def assert_consistent(assistant: Assistant) -> None:
    """Chroma and the catalog hold exactly the same chunks and units, none twice, none of a half-written
    document."""
    chroma_ids = assistant.store.all_ids()
    catalog_ids = assistant.catalog.chunk_ids()
    assert len(chroma_ids) == len(set(chroma_ids))
    assert sorted(chroma_ids) == sorted(catalog_ids)
    unit_ids = assistant.store.all_unit_ids()
    units_per_chunk = dict(assistant.catalog._query("SELECT chunk_id, count(*) FROM units GROUP BY chunk_id"))
    # Only some units have vectors of their own (rows, long sentences); each names a unit the catalog holds.
    assert len(unit_ids) == len(set(unit_ids))
    assert set(unit_ids) <= {f"{c}/{n}" for c, count in units_per_chunk.items() for n in range(count)}
    assert set(units_per_chunk) <= set(catalog_ids)
    assert assistant.catalog.documents(status="pending") == []
    for record in assistant.catalog.documents():
        ids = assistant.catalog.chunk_ids(record.doc_id)
        assert len(ids) == record.chunk_count
        assert sorted(assistant.store.ids_for(record.doc_id)) == sorted(ids)


@pytest.fixture
def mixed_folder(tmp_path):
    folder = tmp_path / "reports"
    folder.mkdir()
    make_pdf(folder / "zephyr.pdf")
    make_docx(folder / "widgets.docx", rows=20)
    (folder / "sub").mkdir()
    make_html(folder / "sub" / "nimbus.html", rows=10)
    make_markdown(folder / "helios.md")
    make_jsonl(folder / "wire.jsonl", [
        {"doc_id": "wire-1", "title": "Lumen chips", "text": "Lumen Photonics ships optical modules in 2026.",
         "desk": "tech"},
        {"doc_id": "wire-2", "title": "Kestrel", "text": "Kestrel Motors recalls 4,200 vehicles."},
    ])
    return folder


def test_every_format_is_ingested_and_searchable(open_index, mixed_folder):
    assistant = open_index()
    report = assistant.ingest([mixed_folder])
    assert report.failed == []
    assert report.added == 6
    doc_ids = {d.doc_id for d in assistant.documents()}
    assert doc_ids == {"zephyr.pdf", "widgets.docx", "sub/nimbus.html", "helios.md",
                       "wire-1", "wire-2"}
    assert report.chunks == assistant.catalog.chunk_count() == assistant.store.count()
    assert_consistent(assistant)
    [hit] = assistant.search("Kestrel vehicle recall", k=1)
    assert hit.doc_id == "wire-2"
    [hit] = assistant.search("Orion accelerator shipping date", k=1, filters={"doc_id": "zephyr.pdf"})
    assert hit.page == 2
    meta = assistant.store._collection.get(where={"doc_id": "wire-1"}, include=["metadatas"])["metadatas"][0]
    assert meta["extra_desk"] == "tech"


def test_chunks_indexed_before_units_get_them_on_the_next_ingest(open_index, corpus_copy, tmp_path):
    """An index from before units existed: its chunks would rank below every new one until they get units,
    whatever path the next ingest names."""
    first = open_index()
    first.ingest([corpus_copy])
    question = "How much will global AI server shipments grow in 2026?"
    best_before = first.search(question, k=1)[0].chunk_id
    # Take the index back to its pre-units state.
    for record in first.catalog.documents():
        first.store._units.delete(where={"doc_id": record.doc_id})
    first.catalog.lexical.write({"units": []}, remove_chunk_ids=first.catalog.chunk_ids())
    first.catalog._conn.executescript("DELETE FROM units;")
    assert first.store.all_unit_ids() == [] and first.catalog.chunks_without_units()
    other = tmp_path / "other"
    other.mkdir()
    (other / "note.txt").write_text("A short unrelated note about shipping schedules.", encoding="utf-8")
    again = open_index()
    again.ingest([other])
    assert again.catalog.chunks_without_units() == []
    chunk_ids = again.catalog.chunk_ids()
    assert set(again.catalog.unit_texts(chunk_ids)) == set(chunk_ids)
    assert_consistent(again)
    assert again.search(question, k=1)[0].chunk_id == best_before


def test_a_catalog_without_the_section_column_opens_and_gains_it(tmp_path):
    import sqlite3

    from rag.catalog import Catalog

    path = tmp_path / "catalog.sqlite"
    old = sqlite3.connect(path)
    old.executescript("""CREATE TABLE chunks (rowid INTEGER PRIMARY KEY, chunk_id TEXT NOT NULL UNIQUE, doc_id TEXT NOT NULL,
        idx INTEGER NOT NULL, start INTEGER NOT NULL, "end" INTEGER NOT NULL, page INTEGER, text TEXT NOT NULL,
        context TEXT NOT NULL DEFAULT '');""")
    old.close()
    catalog = Catalog(path)
    assert "section" in {row[1] for row in catalog._query("PRAGMA table_info(chunks)")}
    assert catalog.chunks_without_units() == [] and catalog.lexical_search("anything", 5) == []
    catalog.close()
    Catalog(path).close()  # a second opening finds the column already there


def test_units_are_found_by_their_chunk_through_an_index(tmp_path):
    """Deleting a chunk (its foreign key) and the units backfill look units up by chunk: a scan of every unit
    for each would make re-ingesting a document quadratic in the corpus."""
    from rag.catalog import Catalog

    catalog = Catalog(tmp_path / "catalog.sqlite")
    plans = [" ".join(str(row[-1]) for row in catalog._query("EXPLAIN QUERY PLAN " + sql, params)) for sql, params in (
        ("SELECT 1 FROM units WHERE chunk_id = ?", ("c1",)),
        ('SELECT c.chunk_id FROM chunks c WHERE NOT EXISTS (SELECT 1 FROM units u WHERE u.chunk_id = c.chunk_id)', ()))]
    assert all("units_chunk" in plan for plan in plans), plans
    catalog.close()


def test_unchanged_files_cost_no_embedding(open_index, corpus_copy):
    first = open_index()
    report = first.ingest([corpus_copy])
    units = first.catalog._query("SELECT count(*) FROM units")[0][0]
    unit_vectors = len(first.store.all_unit_ids())
    # Every chunk is embedded once; its units (sentences, table rows) wait for a question that finds it.
    assert report.added == 1 and first.embedder.texts <= report.chunks
    assert units > report.chunks > 0 and unit_vectors == 0
    again = open_index()
    report = again.ingest([corpus_copy])
    assert report.to_dict() == {"added": 0, "updated": 0, "unchanged": 1, "removed": 0, "failed": [], "chunks": 0}
    assert again.embedder.texts == 0
    assert_consistent(again)


def test_unit_vectors_wait_for_the_question_that_finds_their_chunk(tmp_path, mixed_folder):
    """Ingest encodes each chunk once; a question makes the unit vectors of the chunks it finds, once, and keeps
    them; the ranking is the one an index with every unit vector made at ingest gives."""
    question = "What were the revenue and margin figures?"
    found = {}
    for mode in ("ingest", "question"):
        settings = make_settings(tmp_path / mode)
        # fp32 both ways: bf16 batches at ingest and small fp32 ones at question time differ by rounding.
        settings.embed.unit_vectors, settings.embed.precision = mode, "fp32"
        assistant = Assistant.from_settings(settings)
        counting = CountingEmbedder(assistant.embedder)
        assistant.embedder = assistant.indexer.embedder = assistant.retriever.embedder = counting
        report = assistant.ingest([mixed_folder])
        stored = len(assistant.store.all_unit_ids())
        if mode == "question":
            assert counting.texts <= report.chunks and stored == 0
        else:
            assert counting.texts > report.chunks and stored > 0
        before = counting.texts
        found[mode] = [h.chunk_id for h in assistant.search(question, k=3)]
        if mode == "question":
            made = len(assistant.store.all_unit_ids())
            assert counting.texts > before and made > 0
            assistant.retriever._query_vectors.clear()
            again = counting.texts
            assert [h.chunk_id for h in assistant.search(question, k=3)] == found[mode]
            # The second time only the question is encoded (embed_query, not counted): the units are stored.
            assert counting.texts == again and len(assistant.store.all_unit_ids()) == made
        else:
            assert counting.texts == before
        assert_consistent(assistant)
        assistant.catalog.close()
    assert found["question"] == found["ingest"]


def test_changed_file_replaces_its_chunks(open_index, corpus_copy):
    assistant = open_index()
    assistant.ingest([corpus_copy])
    path = corpus_copy / SAMPLE_REPORT.name
    old_ids = set(assistant.catalog.chunk_ids(path.name))
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("Ascend 950PR", "Ascend 960XT"), encoding="utf-8")
    report = assistant.ingest([corpus_copy])
    assert (report.added, report.updated, report.unchanged) == (0, 1, 0)
    new_ids = set(assistant.catalog.chunk_ids(path.name))
    assert new_ids != old_ids
    assert_consistent(assistant)
    texts = [h.text for h in assistant.search("Ascend 960XT", k=20)]
    assert any("960XT" in t for t in texts) and not any("950PR" in t for t in texts)


def test_bad_files_are_reported_and_good_ones_still_ingested(open_index, corpus_copy, tmp_path):
    assistant = open_index()
    assistant.ingest([corpus_copy])
    before = sorted(assistant.catalog.chunk_ids())
    bad = make_bad_files(corpus_copy / "bad")
    make_markdown(corpus_copy / "helios.md")
    report = assistant.ingest([corpus_copy])
    assert report.added == 1  # helios.md; a .jsonl with a malformed line is rejected whole
    failed = {f["path"]: f["error"] for f in report.failed}
    assert set(failed) == {str(p) for p in bad.values()}
    for path, error in failed.items():
        assert path in error
    assert "encrypted PDF" in failed[str(bad["encrypted_pdf"])]
    assert "empty file" in failed[str(bad["empty"])]
    assert set(before) <= set(assistant.catalog.chunk_ids())
    assert_consistent(assistant)


def test_a_file_that_turns_corrupt_keeps_its_indexed_chunks(open_index, corpus_copy):
    assistant = open_index()
    assistant.ingest([corpus_copy])
    before = assistant.catalog.chunk_ids()
    (corpus_copy / SAMPLE_REPORT.name).write_bytes(b"\x00\x01\x02" * 100)
    report = assistant.ingest([corpus_copy], prune=True)
    assert [f["path"] for f in report.failed] == [str(corpus_copy / SAMPLE_REPORT.name)]
    assert report.removed == 0
    assert assistant.catalog.chunk_ids() == before
    assert_consistent(assistant)


def test_prune_removes_documents_whose_files_are_gone(open_index, mixed_folder):
    assistant = open_index()
    assistant.ingest([mixed_folder])
    (mixed_folder / "helios.md").unlink()
    make_jsonl(mixed_folder / "wire.jsonl", [{"doc_id": "wire-1", "title": "Lumen chips",
                                              "text": "Lumen Photonics ships optical modules in 2026.",
                                              "desk": "tech"}])
    kept = assistant.ingest([mixed_folder])
    assert kept.removed == 0 and "helios.md" in {d.doc_id for d in assistant.documents()}
    report = assistant.ingest([mixed_folder], prune=True)
    assert report.removed == 2 and report.unchanged == 4
    doc_ids = {d.doc_id for d in assistant.documents()}
    assert "helios.md" not in doc_ids and "wire-2" not in doc_ids and "wire-1" in doc_ids
    assert_consistent(assistant)


def test_remove_deletes_one_document(open_index, mixed_folder):
    assistant = open_index()
    assistant.ingest([mixed_folder])
    assistant.remove("zephyr.pdf")
    assert "zephyr.pdf" not in {d.doc_id for d in assistant.documents()}
    assert assistant.store.ids_for("zephyr.pdf") == []
    assert_consistent(assistant)
    with pytest.raises(RagError, match="no indexed document has doc_id 'zephyr.pdf'"):
        assistant.remove("zephyr.pdf")


def test_missing_path_changes_nothing(open_index, corpus_copy, tmp_path):
    assistant = open_index()
    assistant.ingest([corpus_copy])
    before = assistant.catalog.chunk_ids()
    with pytest.raises(LoadError, match="no such file or directory"):
        assistant.ingest([corpus_copy, tmp_path / "missing"], prune=True)
    assert assistant.catalog.chunk_ids() == before


def test_progress_reports_files_and_chunks(open_index, mixed_folder):
    events = []
    assistant = open_index()
    pages = []

    def record(p) -> None:
        events.append((p.files_done, p.files_total, p.chunks_embedded))
        pages.append(p.pages_written)

    assistant.ingest([mixed_folder], on_progress=record)
    docs = [d for path in iter_files([mixed_folder]) for d in load_file(path, path.name)]
    assert events[-1][0] == events[-1][1] == 5
    assert max(e[2] for e in events) == assistant.catalog.chunk_count()
    # Pages written, for a rate in pages a minute: every page of a paged file, one for a text without pages.
    assert pages[-1] == sum(max(1, len(d.pages)) for d in docs) and pages == sorted(pages)


def test_a_file_keeps_its_doc_id_however_it_is_named(fresh_assistant, tmp_path):
    folder = tmp_path / "reports" / "sub"
    folder.mkdir(parents=True)
    report = folder / "note.txt"
    report.write_text("Acme Robotics expects revenue growth of 12% in 2026.\n", encoding="utf-8")
    fresh_assistant.ingest([tmp_path / "reports"])
    report.write_text("Acme Robotics expects revenue growth of 15% in 2026.\n", encoding="utf-8")
    summary = fresh_assistant.ingest([report])
    assert (summary.added, summary.updated) == (0, 1)
    assert [d.doc_id for d in fresh_assistant.documents()] == ["sub/note.txt"]


def test_a_second_writer_waits_for_the_first(tmp_path):
    """`rag ingest` in another process waits while this one holds the index's write lock, then finishes;
    otherwise its recovery step could take our pending documents for a crashed run's."""
    import fcntl
    import os
    import subprocess
    import sys
    import time

    home = tmp_path / "index"
    home.mkdir()
    with (home / "write.lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        process = subprocess.Popen([sys.executable, "-m", "rag.cli", "ingest", str(SAMPLE_REPORT), "--index", str(home)],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ})
        time.sleep(15)  # long enough to load the embedder and reach the lock
        assert process.poll() is None, "the second writer did not wait for the lock"
        fcntl.flock(handle, fcntl.LOCK_UN)
    assert process.wait(timeout=120) == 0


def test_owner_password_filings_are_read_and_only_the_unreadable_pdfs_fail(tmp_path):
    """Filings are often encrypted with an owner password only (RC4 or AES-256): any viewer opens them."""
    from typer.testing import CliRunner

    from rag.cli import app

    folder = tmp_path / "filings"
    folder.mkdir()
    make_pdf(folder / "aes.pdf", ["Helios Foods net sales rose 7% in fiscal 2024."], owner_only="AES-256")
    make_pdf(folder / "rc4.pdf", ["Helios Foods opened 12 stores in 2024."], owner_only="RC4-128")
    make_pdf(folder / "locked.pdf", ["Nobody reads this without the password."], password="s3cret")
    (folder / "corrupt.pdf").write_bytes(b"%PDF-1.7\n" + b"\x00garbage" * 50)
    make_markdown(folder / "good.md")
    result = CliRunner().invoke(app, ["ingest", str(folder), "--index", str(tmp_path / "index"), "--json"])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    import json

    report = json.loads(result.output)
    failed = {f["path"].rsplit("/", 1)[-1]: f["error"] for f in report["failed"]}
    assert set(failed) == {"locked.pdf", "corrupt.pdf"}
    assert "password required" in failed["locked.pdf"]
    assert report["added"] == 3
    assistant = Assistant.from_settings(make_settings(tmp_path / "index"))
    texts = " ".join(h.text for h in assistant.search("Helios Foods stores net sales", k=5))
    assert "7%" in texts and "12 stores" in texts


def test_an_unexpected_error_in_one_file_fails_that_file_only(open_index, corpus_copy, monkeypatch):
    from rag import ingest as ingest_module

    real_load = ingest_module.load_file

    def flaky(path, doc_id):
        if path.name == "boom.txt":
            raise RuntimeError("decoder crashed")
        return real_load(path, doc_id)

    monkeypatch.setattr(ingest_module, "load_file", flaky)
    (corpus_copy / "boom.txt").write_text("Anything at all.", encoding="utf-8")
    report = open_index().ingest([corpus_copy])
    assert report.added == 1
    assert [f["error"] for f in report.failed] == [f"{corpus_copy / 'boom.txt'}: RuntimeError: decoder crashed"]


def test_links_that_loop_and_fifos_are_reported_or_skipped_and_never_hang(tmp_path):
    import os

    folder = tmp_path / "odd"
    folder.mkdir()
    make_markdown(folder / "good.md")
    (folder / "loop").symlink_to(folder, target_is_directory=True)  # a folder link back to its parent
    (folder / "self.txt").symlink_to(folder / "self.txt")  # a file link to itself
    os.mkfifo(folder / "queue.txt")
    assistant = Assistant.from_settings(make_settings(tmp_path / "index"))
    report = assistant.ingest([folder])
    assert report.added == 1
    assert [f["path"] for f in report.failed] == [str(folder / "self.txt")]
    # A FIFO named on its own is refused without reading it.
    report = assistant.ingest([folder / "queue.txt"])
    assert "not a regular file" in report.failed[0]["error"]


def test_a_docx_of_repeated_paragraphs_encodes_each_distinct_text_once(open_index, tmp_path):
    import docx

    document = docx.Document()
    for _ in range(400):
        document.add_paragraph("Freight costs rose on higher fuel surcharges across all regions this quarter.")
    path = tmp_path / "memo.docx"
    document.save(path)
    assistant = open_index()
    report = assistant.ingest([path])
    assert report.failed == [] and report.chunks > 30
    # The chunks of a repeated paragraph are the same few texts, and its sentence is one text.
    assert assistant.embedder.texts < 10


def test_a_jsonl_line_reusing_an_indexed_files_doc_id_is_refused(open_index, tmp_path):
    assistant = open_index()
    folder = tmp_path / "reports"
    folder.mkdir()
    (folder / "kestrel.txt").write_text("Kestrel Motors recalls 4,200 vehicles over a brake fault.", encoding="utf-8")
    assert assistant.ingest([folder]).added == 1
    before = assistant.catalog.chunk_ids("kestrel.txt")
    corpus = tmp_path / "wire.jsonl"
    corpus.write_text(json.dumps({"doc_id": "kestrel.txt", "text": "Unrelated wire text about shipping."}) + "\n"
                      + json.dumps({"doc_id": "wire-7", "text": "Port volumes rose 3% in May."}) + "\n",
                      encoding="utf-8")
    report = assistant.ingest([corpus])
    assert [f["error"] for f in report.failed] == [
        f"{corpus}: doc_id 'kestrel.txt' is already indexed from {(folder / 'kestrel.txt').resolve()}; "
        "give this document another doc_id"]
    assert report.added == 1
    assert assistant.catalog.chunk_ids("kestrel.txt") == before
    [hit] = assistant.search("brake fault recall", k=1)
    assert hit.doc_id == "kestrel.txt" and "Kestrel" in hit.text


def test_a_question_about_one_pdf_table_row_finds_that_rows_page(open_index, tmp_path):
    assistant = open_index()
    folder = tmp_path / "filings"
    folder.mkdir()
    make_filing_pdf(folder / "halcyon.pdf")
    make_pdf(folder / "zephyr.pdf")
    assert assistant.ingest([folder]).failed == []
    [hit] = assistant.search("How much air freight revenue in 2023?", k=1)
    assert hit.doc_id == "halcyon.pdf" and hit.page == 3
    assert "Air freight 2,304 2,118 1,987" in hit.text


def test_a_catalog_without_unit_texts_rebuilds_them_from_its_chunks(open_index, mixed_folder):
    """Catalogs written before unit texts were kept: a question's unit vectors are made from the units rebuilt
    from each chunk's stored text and context."""
    from rag.chunk import stored_chunk_units

    first = open_index()
    first.ingest([mixed_folder])
    first.catalog._conn.execute("UPDATE units SET text = NULL")
    chunk_ids = first.catalog.chunk_ids()
    texts = first.catalog.unit_texts(chunk_ids)
    records = first.catalog.chunks(chunk_ids)
    assert texts and all(texts[cid] == stored_chunk_units(records[cid].text, records[cid].context) for cid in texts)
    assert first.search("Kestrel Motors recalls", k=1)[0].doc_id == "wire-2"
    assert first.store.all_unit_ids()


def test_only_the_chunks_the_other_rankings_found_get_unit_vectors(tmp_path, mixed_folder):
    """The unit ranking takes RAG_RETRIEVE__UNIT_CANDIDATES chunks from each other ranking: one each makes the
    vectors of a handful of chunks, the default of the many more those rankings found."""
    made = {}
    for candidates in (1, 40):
        settings = make_settings(tmp_path / str(candidates))
        settings.retrieve.unit_candidates = candidates
        assistant = Assistant.from_settings(settings)
        assistant.ingest([mixed_folder])
        assistant.search("What were the revenue and margin figures?", k=3)
        made[candidates] = {unit_id.rsplit("/", 1)[0] for unit_id in assistant.store.all_unit_ids()}
        assistant.catalog.close()
    # At most the first chunk of each of the other rankings (chunk dense, chunk BM25, unit BM25).
    assert 0 < len(made[1]) <= 3
    assert len(made[40]) > len(made[1])


def test_a_chinese_chunk_a_question_finds_gets_no_english_unit_vectors(fresh_assistant, tmp_path):
    """An English question over an index holding Chinese text also ranks the Chinese chunks (multilingual
    vectors), but their units are never given to the English encoder, which reads Hanzi as [UNK]."""
    folder = tmp_path / "reports"
    folder.mkdir()
    zh = Path(__file__).resolve().parent.parent / "fixtures" / "zh_fixture_report.txt"
    # With a table: a row (cells joined by " | ") is a unit that would get a vector of its own.
    rows = "\n\n收入构成（亿元） | 2025年 | 2026年\n服务器芯片收入 | 12.0 | 15.3\n存储芯片收入 | 8.1 | 9.4\n"
    (folder / zh.name).write_text(zh.read_text(encoding="utf-8") + rows, encoding="utf-8")
    (folder / "en.txt").write_text("Xinghe Semiconductor expects 2026 revenue to grow 18.5% on AI server demand. "
                                   "Its gross margin should reach 41% as new capacity ramps.", encoding="utf-8")
    fresh_assistant.ingest([folder])
    found = fresh_assistant.search("How fast will Xinghe Semiconductor's revenue grow in 2026?", k=5)
    assert zh.name in {h.doc_id for h in found}
    made = {unit_id.rsplit("/", 1)[0] for unit_id in fresh_assistant.store.all_unit_ids()}
    assert made and all(chunk_id.startswith("en.txt#") for chunk_id in made)
