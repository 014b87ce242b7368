"""Batch questions: a file of questions -> one cited answer per question, in a file analysts can open.

In: .txt (one question per line), .csv / .xlsx (a `question` column, or another named by `column`; the other
columns are carried through), .jsonl ({"id"?, "question", ...} per line).
Out: .jsonl (the full Answer JSON per question, as `rag ask --json`), .csv / .xlsx (id, question, answer,
calculation, abstained, sources, cited text, error, then the carried columns), and always a Markdown report beside it,
OUTPUT.report.md. Every file is created as open() would create it (0666 less the umask).

Resumable: every finished answer is appended to a journal (OUTPUT itself when it is .jsonl, else the sidecar
OUTPUT.journal.jsonl) and fsynced before the next one starts, so a kill loses at most the question in flight.
A rerun with the same OUTPUT skips every question the journal already answered (keyed by id, or by a hash of
the question text). Tables and the report are rebuilt from the journal and swapped in atomically.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import json
import logging
import os
import re
import threading
import time
import uuid
import zipfile
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rag.errors import RagError

if TYPE_CHECKING:
    # For annotations only: importing rag.assistant loads every stage, which a front end defers.
    from rag.assistant import Assistant

log = logging.getLogger(__name__)

INPUT_FORMATS = (".txt", ".csv", ".xlsx", ".jsonl")
OUTPUT_FORMATS = (".jsonl", ".csv", ".xlsx")
TABLE_COLUMNS = ["id", "question", "answer", "calculation", "abstained", "sources", "cited_text", "error"]

ProgressCallback = Callable[["BatchProgress"], None]


@dataclass
class BatchItem:
    """One question of the input: `key` is its stable identity across reruns."""

    key: str
    question: str
    row: int  # line or row number in the input, for messages
    fields: dict[str, str] = field(default_factory=dict)  # the input's other columns, carried through


@dataclass
class BatchProgress:
    total: int  # questions in the input
    done: int  # finished, including those already in the journal before this run
    answered: int = 0
    abstained: int = 0
    failed: int = 0


@dataclass
class BatchSummary:
    total: int = 0
    skipped: int = 0  # already answered by an earlier run
    answered: int = 0  # answered in this run (abstentions included)
    abstained: int = 0
    failed: int = 0
    duplicates: int = 0  # copied from an identical question instead of answered again
    seconds: float = 0.0
    output: str = ""
    report: str = ""
    interrupted: bool = False

    @property
    def per_minute(self) -> float:
        return 60 * (self.answered + self.failed) / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"total": self.total, "skipped": self.skipped, "answered": self.answered, "abstained": self.abstained,
                "failed": self.failed, "duplicates": self.duplicates, "seconds": round(self.seconds, 2),
                "questions_per_minute": round(self.per_minute, 1), "output": self.output, "report": self.report,
                "interrupted": self.interrupted}


# Reading questions ------------------------------------------------------------------------------------------


def read_batch(path: Path, column: str = "question", encoding: str | None = None) -> list[BatchItem]:
    """The questions in `path`, blank ones skipped.

    Args:
        encoding: of a text input (.txt, .csv, .jsonl); default: detected, as for documents (rag.load).

    Raises:
        RagError: the file is missing, empty, unreadable, not in `encoding`, of an unknown type, lacks the
            question column (the message lists the columns found), or has a CSV row longer than its header.
    """
    path = Path(path)
    if not path.is_file():
        raise RagError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix not in INPUT_FORMATS:
        raise RagError(f"{path}: unsupported question file type {suffix or '(none)'!r}; use "
                       f"{', '.join(INPUT_FORMATS)}")
    if path.stat().st_size == 0:
        raise RagError(f"{path}: the file is empty")
    if suffix == ".txt":
        records = [(n, {column: line}) for n, line in enumerate(_decode(path, encoding).splitlines(), start=1)]
    elif suffix == ".jsonl":
        records = _jsonl_records(path, encoding)
    else:
        header, rows = _csv_rows(path, encoding) if suffix == ".csv" else _xlsx_rows(path)
        records = _table_records(path, header, rows, column)
    items = _items(records, column)
    if not items:
        raise RagError(f"{path}: no questions found (every {column!r} value is blank)")
    return items


def _decode(path: Path, encoding: str | None = None) -> str:
    """Text of a question file: in `encoding` when given, else detected by the decoder documents use, so a
    cp1252 CSV from Excel and a GBK one from Excel on Chinese Windows both read as written."""
    from rag.load import decode_text

    data = path.read_bytes()
    if encoding is None:
        return decode_text(data, path)
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise RagError(f"unknown encoding {encoding!r}; try utf-8, cp1252 or gb18030") from None
    try:
        return data.decode(encoding).removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise RagError(f"{path}:{line}: not {encoding} text (byte 0x{data[exc.start]:02x}); "
                       "pass the file's encoding with --encoding") from None


def _jsonl_records(path: Path, encoding: str | None = None) -> list[tuple[int, dict]]:
    records = []
    for number, line in enumerate(_decode(path, encoding).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise RagError(f"{path}:{number}: not valid JSON ({exc.msg})") from exc
        if not isinstance(record, dict):
            raise RagError(f"{path}:{number}: each line must be a JSON object with a 'question'")
        if not _is_text(record):
            # JSON can escape what no text file holds: "\u0000", or half of a surrogate pair ("\ud800").
            raise RagError(f"{path}:{number}: a value holds NUL or an unpaired surrogate, which is not text")
        records.append((number, record))
    return records


def _is_text(value: object) -> bool:
    if isinstance(value, str):
        try:
            value.encode("utf-8")  # only an unpaired surrogate fails
        except UnicodeEncodeError:
            return False
        return "\x00" not in value
    if isinstance(value, dict):
        return all(_is_text(k) and _is_text(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_is_text(v) for v in value)
    return True


def _csv_rows(path: Path, encoding: str | None = None) -> tuple[list[str], list[tuple[int, list[str]]]]:
    text = _decode(path, encoding)
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    # reader.line_num, not a count of rows: a quoted cell may span lines, and the message names the line.
    rows = [(reader.line_num, row) for row in reader]
    rows = [(n, row) for n, row in rows if any(cell.strip() for cell in row)]
    if not rows:
        raise RagError(f"{path}: the file is empty")
    header = rows[0][1]
    for number, row in rows[1:]:
        if len(row) > len(header) and any(cell.strip() for cell in row[len(header):]):
            # Cells past the header have no column to go in; dropping them would lose what the row says.
            raise RagError(f"{path}:{number}: {len(row)} cells but the header names {len(header)} columns; "
                           "quote cells that hold the delimiter, or name every column in the header")
    return header, rows[1:]


def _xlsx_rows(path: Path) -> tuple[list[str], list[tuple[int, list[str]]]]:
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as exc:
        raise RagError(f"{path}: not a readable .xlsx workbook ({type(exc).__name__}: {exc}); "
                       "open it in Excel and save it again as .xlsx") from exc
    try:
        sheet = book.worksheets[0]
        rows = [(n, [_cell(v) for v in values]) for n, values in enumerate(sheet.iter_rows(values_only=True), start=1)]
    finally:
        book.close()
    rows = [(n, row) for n, row in rows if any(cell.strip() for cell in row)]
    if not rows:
        raise RagError(f"{path}: the workbook's first sheet is empty")
    return rows[0][1], rows[1:]


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _table_records(path: Path, header: list[str], rows: list[tuple[int, list[str]]],
                   column: str) -> list[tuple[int, dict]]:
    names = [h.strip() for h in header]
    wanted = _find_column(names, column)
    if wanted is None:
        found = ", ".join(repr(n) for n in names if n) or "none"
        raise RagError(f"{path}: no {column!r} column; columns found: {found} (name one with --column)")
    records = []
    for number, row in rows:
        record = {name: (row[i] if i < len(row) else "") for i, name in enumerate(names) if name}
        # A cell under a blank header is still part of the row (a note, a tag): it is carried through under
        # its column's number rather than dropped.
        record.update({f"column {i + 1}": row[i] for i, name in enumerate(names)
                       if not name and i < len(row) and row[i].strip()})
        record[column] = record.pop(wanted)
        records.append((number, record))
    return records


def _find_column(names: list[str], column: str) -> str | None:
    for name in names:
        if name == column:
            return name
    for name in names:
        if name.casefold() == column.strip().casefold():
            return name
    return None


def _items(records: Iterable[tuple[int, dict]], column: str) -> list[BatchItem]:
    items: list[BatchItem] = []
    seen: dict[str, int] = {}
    for number, record in records:
        value = record.get(column)
        question = "" if value is None else str(value).strip()
        if not question:
            continue
        raw_id = next((record[k] for k in record if k.casefold() == "id" and k != column), None)
        given = "" if raw_id is None else str(raw_id).strip()
        key = given or "q" + question_hash(question)
        # Without ids, a repeated question would share its key; number the repeats so each row keeps a line.
        seen[key] = seen.get(key, 0) + 1
        if seen[key] > 1:
            key = f"{key}#{seen[key]}"
        fields = {k: _cell(v) if not isinstance(v, (dict, list)) else json.dumps(v, ensure_ascii=False)
                  for k, v in record.items() if k != column and k.casefold() != "id"}
        items.append(BatchItem(key=key, question=question, row=number, fields=fields))
    return items


def question_hash(question: str) -> str:
    return hashlib.sha256(normalize(question).encode()).hexdigest()[:12]


def normalize(question: str) -> str:
    """The form under which two questions count as the same: case and spacing do not matter."""
    return re.sub(r"\s+", " ", question).strip().casefold()


# The journal -------------------------------------------------------------------------------------------------


class Journal:
    """Append-only JSONL of finished questions, one fsynced line each; the last line for a key wins."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.records: dict[str, dict] = {}
        self.stale = 0  # lines a compaction would drop: superseded retries and fragments cut by a kill
        self._lock = threading.Lock()
        self._fd: int | None = None
        if path.exists():
            self._load()

    def _load(self) -> None:
        lines = self.path.read_bytes().split(b"\n")
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except (json.JSONDecodeError, UnicodeDecodeError):
                record = None
            if not (isinstance(record, dict) and isinstance(record.get("id"), str) and "question" in record):
                if line.startswith(b'{"id": "') and (number == len(lines) or record is None):
                    # A line cut short by a kill mid-write: its question is asked again, and the next
                    # compaction drops the fragment.
                    log.warning("%s:%d: ignoring an unfinished answer", self.path, number)
                    self.stale += 1
                    continue
                raise RagError(f"{self.path}:{number}: this file holds lines that are not batch answers; "
                               "choose another output file (nothing was changed)")
            if record["id"] in self.records:
                self.stale += 1
            self.records[record["id"]] = record

    def done(self, key: str) -> bool:
        record = self.records.get(key)
        return record is not None and "error" not in record

    def append(self, record: dict) -> None:
        line = (json.dumps(record, ensure_ascii=False) + "\n").encode()
        with self._lock:
            if self._fd is None:
                self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
                size = os.fstat(self._fd).st_size
                if size and not self._ends_with_newline():
                    os.write(self._fd, b"\n")
            os.write(self._fd, line)
            os.fsync(self._fd)
            if record["id"] in self.records:
                self.stale += 1
            self.records[record["id"]] = record

    def _ends_with_newline(self) -> bool:
        with open(self.path, "rb") as handle:
            handle.seek(-1, os.SEEK_END)
            return handle.read(1) == b"\n"

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None

    def compact(self, order: list[str]) -> None:
        """Rewrite the journal with one line per key (retried failures leave two), atomically."""
        self.close()
        rank = {key: i for i, key in enumerate(order)}
        records = sorted(self.records.values(), key=lambda r: rank.get(r["id"], len(rank)))
        atomic_write(self.path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode())
        self.stale = 0


def atomic_write(path: Path, data: bytes) -> None:
    """Write beside `path` and rename over it: a reader or a crash sees the old file or the new, never half."""
    temp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    # Not tempfile.mkstemp: its 0600 would leave the table and report unreadable to the colleagues the
    # journal beside them is readable to. O_EXCL still never opens a file someone else made.
    handle = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def journal_path(output: Path) -> Path:
    return output if output.suffix.lower() == ".jsonl" else output.with_name(output.name + ".journal.jsonl")


def report_path(output: Path) -> Path:
    # From the full name, as the journal's: answers.csv and answers.jsonl beside each other keep their own.
    return output.with_name(output.name + ".report.md")


# Running ---------------------------------------------------------------------------------------------------


class BatchRunner:
    """Answers a list of BatchItems into OUTPUT through `assistant.ask`, resuming from OUTPUT's journal."""

    def __init__(self, assistant: Assistant, output: Path, answerer: str | None = None,
                 filters: dict[str, str] | list[str] | None = None, k: int | None = None, workers: int = 1,
                 on_token: Callable[[str], None] | None = None) -> None:
        output = Path(output)
        if output.suffix.lower() not in OUTPUT_FORMATS:
            raise RagError(f"{output}: unsupported output type {output.suffix or '(none)'!r}; use "
                           f"{', '.join(OUTPUT_FORMATS)}")
        if workers < 1:
            raise RagError(f"workers must be at least 1, not {workers}")
        from rag.retrieve import parse_filters

        # A bad filter or answerer would fail every question, one row at a time: refuse it before the first.
        parse_filters(filters)
        if answerer:
            assistant.resolve_answerer(answerer)
        if not output.parent.is_dir():
            raise RagError(f"{output.parent}: no such folder for the output")
        journal = journal_path(output)
        if output != journal and output.exists() and not journal.exists():
            # The table is rebuilt from the journal; without one, rebuilding would drop what the file holds.
            raise RagError(f"{output} exists but its journal {journal.name} does not, so it was not written by "
                           "`rag batch`; choose another output file (nothing was changed)")
        self.assistant = assistant
        self.output = output
        self.answerer = answerer
        self.filters = filters
        self.k = k
        self.workers = workers
        self.on_token = on_token
        self.journal = Journal(journal)

    def run(self, items: list[BatchItem], on_progress: ProgressCallback | None = None) -> BatchSummary:
        started = time.perf_counter()
        summary = BatchSummary(total=len(items), output=str(self.output), report=str(report_path(self.output)))
        order = [item.key for item in items]
        pending = [item for item in items if not self.journal.done(item.key)]
        summary.skipped = len(items) - len(pending)
        progress = BatchProgress(total=len(items), done=summary.skipped)
        # Questions already answered, by their normalized text: a repeat is copied, not asked again.
        known = {normalize(r["question"]): r for r in self.journal.records.values() if "error" not in r}
        groups: dict[str, list[BatchItem]] = {}
        for item in pending:
            text = normalize(item.question)
            if text in known:
                self._record(item, known[text], summary, progress, copied=True)
                continue
            groups.setdefault(text, []).append(item)
        if on_progress:
            on_progress(progress)
        try:
            if self.workers == 1:
                for group in groups.values():
                    self._finish(group, self._ask(group[0]), summary, progress, on_progress)
            else:
                self._run_parallel(list(groups.values()), summary, progress, on_progress)
        except KeyboardInterrupt:
            summary.interrupted = True
        finally:
            summary.seconds = time.perf_counter() - started
            self.finalize(order)
        if summary.interrupted:
            raise BatchInterrupted(summary)
        return summary

    def _run_parallel(self, groups: list[list[BatchItem]], summary: BatchSummary, progress: BatchProgress,
                      on_progress: ProgressCallback | None) -> None:
        pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="batch")
        futures: dict[Future, list[BatchItem]] = {pool.submit(self._ask, group[0]): group for group in groups}
        try:
            remaining = set(futures)
            while remaining:
                finished, remaining = wait(remaining, timeout=0.5, return_when=FIRST_COMPLETED)
                for future in finished:
                    self._finish(futures[future], future.result(), summary, progress, on_progress)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def _ask(self, item: BatchItem) -> dict:
        """The journal record for `item`: its Answer JSON, or its error. Never raises for one question."""
        try:
            answer = self.assistant.ask(item.question, k=self.k, filters=self.filters, answerer=self.answerer,
                                        on_token=self.on_token, id=item.key)
            return answer.to_dict()
        except RagError as exc:
            return {"id": item.key, "question": item.question, "error": str(exc)}
        except Exception as exc:  # noqa: BLE001 - one broken question must not end a long run
            log.exception("question %s failed", item.key)
            return {"id": item.key, "question": item.question, "error": f"internal error: {type(exc).__name__}: {exc}"}

    def _finish(self, group: list[BatchItem], record: dict, summary: BatchSummary, progress: BatchProgress,
                on_progress: ProgressCallback | None) -> None:
        for i, item in enumerate(group):
            self._record(item, record, summary, progress, copied=i > 0)
        if on_progress:
            on_progress(progress)

    def _record(self, item: BatchItem, record: dict, summary: BatchSummary, progress: BatchProgress,
                copied: bool) -> None:
        line = {**record, "id": item.key, "question": item.question, "row": item.row, "fields": item.fields}
        if copied:
            line["copied_from"] = record["id"]
            summary.duplicates += 1
        self.journal.append(line)
        progress.done += 1
        if "error" in line:
            summary.failed += 1
            progress.failed += 1
        else:
            summary.answered += 1
            progress.answered += 1
            if line.get("abstained"):
                summary.abstained += 1
                progress.abstained += 1

    def finalize(self, order: list[str]) -> None:
        """Rebuild the table (for .csv/.xlsx) and the report from the journal, each swapped in atomically."""
        if self.journal.stale:
            self.journal.compact(order)
        self.journal.close()
        records = ordered_records(self.journal.records, order)
        suffix = self.output.suffix.lower()
        if suffix == ".csv":
            atomic_write(self.output, render_csv(records))
        elif suffix == ".xlsx":
            atomic_write(self.output, render_xlsx(records))
        atomic_write(report_path(self.output), render_report(records).encode())


class BatchInterrupted(RagError):
    """The run was stopped (Ctrl-C); what finished is saved and a rerun resumes."""

    def __init__(self, summary: BatchSummary) -> None:
        super().__init__(f"interrupted after {summary.answered + summary.failed} new answers; rerun the same "
                         "command to resume")
        self.summary = summary


def ordered_records(records: dict[str, dict], order: list[str]) -> list[dict]:
    rank = {key: i for i, key in enumerate(order)}
    return sorted(records.values(), key=lambda r: (rank.get(r["id"], len(rank)), r.get("row") or 0))


# Rendering ---------------------------------------------------------------------------------------------------


def read_journal(path: Path) -> list[dict]:
    journal = Journal(path)
    return sorted(journal.records.values(), key=lambda r: r.get("row") or 0)


def table_rows(records: list[dict]) -> tuple[list[str], list[list[str]]]:
    """One row per question: the fixed columns, then the input's carried columns in first-seen order."""
    extra: list[str] = []
    for record in records:
        for name in record.get("fields") or {}:
            if name not in extra and name not in TABLE_COLUMNS:
                extra.append(name)
    rows = []
    for r in records:
        citations = r.get("citations") or []
        sources = "; ".join(f"[{c['n']}] {c['title']}" + (f" p.{c['page']}" if c.get("page") else "")
                            for c in citations)
        cited = "\n".join(f"[{c['n']}] {c['text']}" for c in citations)
        abstained = "" if "error" in r else ("yes" if r.get("abstained") else "no")
        fields = r.get("fields") or {}
        rows.append([r["id"], r["question"], r.get("answer", ""), r.get("calculation", ""), abstained, sources, cited,
                     r.get("error", "")]
                    + [fields.get(name, "") for name in extra])
    return TABLE_COLUMNS + extra, rows


# A cell starting with one of these is a formula to Excel, LibreOffice and Sheets: "=HYPERLINK(...)" in a
# question would run when an analyst opens the answers (OWASP: CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _inert_csv(value: str) -> str:
    # The apostrophe is what spreadsheets themselves show for "this is text", and they hide it.
    return "'" + value if value.startswith(_FORMULA_START) else value


def render_csv(records: list[dict]) -> bytes:
    header, rows = table_rows(records)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows([_inert_csv(v) for v in row] for row in rows)
    # The BOM makes Excel read the file as UTF-8, so Chinese text shows as written.
    return buffer.getvalue().encode("utf-8-sig")


def render_xlsx(records: list[dict]) -> bytes:
    import openpyxl
    from openpyxl.styles import Alignment, Font

    header, rows = table_rows(records)
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "answers"
    sheet.append(header)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append([_excel_safe(v) for v in row])
        for cell in sheet[sheet.max_row]:
            if cell.data_type == "f":
                # openpyxl stores any string starting with "=" as a formula; typed as a string, the cell
                # shows the text exactly as asked and computes nothing.
                cell.data_type = "s"
    widths = {"id": 14, "question": 50, "answer": 70, "calculation": 50, "abstained": 10, "sources": 40,
              "cited_text": 80, "error": 30}
    for i, name in enumerate(header, start=1):
        sheet.column_dimensions[openpyxl.utils.get_column_letter(i)].width = widths.get(name, 20)
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


_ILLEGAL_XLSX = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _excel_safe(value: str) -> str:
    # openpyxl refuses control characters that PDFs sometimes leave in extracted text.
    return _ILLEGAL_XLSX.sub(" ", value)[:32767]


def render_jsonl(records: list[dict]) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode()


def render_report(records: list[dict]) -> str:
    """A Markdown report: each question, its answer and the passages it cites."""
    answered = sum(1 for r in records if "error" not in r and not r.get("abstained"))
    abstained = sum(1 for r in records if "error" not in r and r.get("abstained"))
    failed = sum(1 for r in records if "error" in r)
    lines = ["# Batch answers", "",
             f"{len(records)} questions: {answered} answered, {abstained} not answered by the reports, "
             f"{failed} failed.", ""]
    for i, r in enumerate(records, start=1):
        lines += [f"## {i}. {_md(r['question'])}", "", f"*id: {r['id']}*", ""]
        if "error" in r:
            lines += [f"**Failed:** {_md(r['error'])}", ""]
            continue
        lines += [_md(r.get("answer", "")), ""]
        if r.get("abstained"):
            continue
        for c in r.get("citations") or []:
            page = f", p. {c['page']}" if c.get("page") else ""
            lines += [f"[{c['n']}] **{_md(c['title'])}**{page} ({c['doc_id']}, chars {c['start']}-{c['end']})", "",
                      "> " + _md(c["text"]).replace("\n", "\n> "), ""]
    return "\n".join(lines)


def _md(text: str) -> str:
    # Keep report text from turning into headings or HTML when rendered.
    return str(text).replace("<", "&lt;").replace("\n#", "\n\\#")


def render(records: list[dict], fmt: str) -> bytes:
    """`records` as 'jsonl', 'csv' or 'xlsx' bytes."""
    if fmt == "jsonl":
        return render_jsonl(records)
    if fmt == "csv":
        return render_csv(records)
    if fmt == "xlsx":
        return render_xlsx(records)
    raise RagError(f"unknown result format {fmt!r}; choose csv, jsonl or xlsx")


def default_output(input_path: Path) -> Path:
    """Where INPUT's answers go by default: q.csv -> q.answers.csv (.xlsx and .jsonl alike), q.txt ->
    q.txt.answers.jsonl.

    A .txt input keeps its suffix in the name because its answers are JSONL: as q.answers.jsonl they would
    share a journal with q.jsonl's, and each rerun would resume the other's questions.
    """
    if input_path.suffix.lower() in OUTPUT_FORMATS:
        return input_path.with_name(input_path.stem + ".answers" + input_path.suffix)
    return input_path.with_name(input_path.name + ".answers.jsonl")
