"""Command line front end: `rag ingest`, `rag search`, `rag ask`, `rag batch`, `rag remove`, `rag documents`.

Prints for people by default and JSON with --json. Errors are one line on stderr and a non-zero exit.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import logging
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console

from rag.errors import RagError
from rag.settings import Settings

if TYPE_CHECKING:
    # For annotations only: importing rag.assistant loads every stage, which a front end defers.
    from rag.assistant import Assistant

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Ask questions of broker research reports; every answer cites its passages.")
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

IndexOption = Annotated[Path | None, typer.Option("--index", help="Index directory (env RAG_HOME, default .rag/).")]
ChromaOption = Annotated[str | None, typer.Option("--chroma-url", help="Chroma server, e.g. http://127.0.0.1:8001.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]
FilterOption = Annotated[list[str] | None, typer.Option(
    "--filter", help="key=value: doc_id, source, publisher, broker, company, ticker, date_from, date_to.")]

# The distribution's name in pyproject.toml [project]: `rag --version` reports what is installed.
DISTRIBUTION = "rag"


def front_end(module: str) -> ModuleType:
    """`api.main`, `evals.run`, ... wherever this install keeps them. The wheel installs api/ and evals/ inside
    rag (rag.api, rag.evals): top-level packages named `api` or `evals` would clash with other distributions'.
    A checkout keeps them beside rag/, where the tests import them as `api` and `evals`; this imports them
    under that name too, since one file imported under two names is two modules (two ApiError classes)."""
    package = module.split(".")[0]
    here = Path(__file__).resolve().parent
    # NOTE: in site-packages another distribution's api/ lies beside rag/ too; the wheel's own is rag/api/.
    if not (here / package).is_dir():
        spec = importlib.util.find_spec(package)
        if spec is not None and spec.origin and Path(spec.origin).resolve() == here.parent / package / "__init__.py":
            return importlib.import_module(module)
    return importlib.import_module(f"rag.{module}")


def check_answerer(value: str | None) -> str | None:
    """--llm checked as it is parsed, against the settings' own list, so a typo exits 2 at once instead of
    after the index and models have loaded."""
    from pydantic import ValidationError

    from rag.settings import LLMSettings

    if value is not None:
        try:
            LLMSettings(answerer=value)
        except ValidationError as exc:
            fail(f"--llm: {exc.errors()[0]['msg'].removeprefix('Value error, ')}", code=2)
    return value


LlmOption = Annotated[str | None, typer.Option("--llm", callback=check_answerer,
                                                  help="auto | extractive | local | openai")]


# The command-line option that sets each LLM settings field, to name it in an error.
_LLM_OPTIONS = {"answerer": "--llm"}


def make_settings(index: Path | None = None, chroma_url: str | None = None, **llm: object) -> Settings:
    """Settings from the environment and .env, with the options given; a bad value exits 2 naming it."""
    from pydantic import ValidationError
    from pydantic_settings import SettingsError

    from rag.settings import LLMSettings, describe_settings_error

    try:
        settings = Settings()
    except (ValidationError, SettingsError) as exc:
        fail(describe_settings_error(exc), code=2)
    if index is not None:
        settings.home = index
    if chroma_url:
        settings.chroma.url = chroma_url
    given = {key: value for key, value in llm.items() if value is not None}
    if given:
        # Validated as a whole section: a plain setattr would accept `--llm bogus`.
        try:
            settings.llm = LLMSettings.model_validate({**settings.llm.model_dump(), **given})
        except ValidationError as exc:
            fail("; ".join(f"{_LLM_OPTIONS.get(str(e['loc'][0]), e['loc'][0])}: "
                           f"{e['msg'].removeprefix('Value error, ')}" for e in exc.errors()), code=2)
    return settings


def require_index(settings: Settings) -> None:
    if not settings.chroma.url and not settings.catalog_path.exists():
        raise RagError(f"no index at {settings.home}: run `rag ingest corpus/` first (or pass --index DIR)")


def open_assistant(settings: Settings, must_exist: bool = False) -> Assistant:
    if must_exist:
        require_index(settings)
    from rag.assistant import Assistant

    return Assistant.from_settings(settings)


def fail(exc: Exception | str, code: int = 1) -> NoReturn:
    # soft_wrap: Rich would otherwise break a long message into several lines when stderr is not a terminal.
    err.print(f"error: {exc}", markup=False, soft_wrap=True)
    raise typer.Exit(code)


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders (recursively); .jsonl = one document per line.")],
    prune: Annotated[bool, typer.Option("--prune", help="Remove indexed documents whose files are gone.")] = False,
    index: IndexOption = None,
    chroma_url: ChromaOption = None,
    as_json: JsonOption = False,
) -> None:
    """Index reports (incremental: unchanged files cost nothing).

    Example: rag ingest corpus/ --prune
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    try:
        assistant = open_assistant(make_settings(index, chroma_url))
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                      TextColumn("{task.fields[chunks]} chunks, {task.fields[pages]} pages, {task.fields[rate]}"),
                      TimeRemainingColumn(), console=err, transient=True, disable=as_json or not err.is_terminal) as bar:
            task = bar.add_task("files", total=None, chunks=0, pages=0, rate="")

            def on_progress(p) -> None:
                elapsed = bar.tasks[task].elapsed or 0.0
                rate = f"{p.pages_written / elapsed * 60:.0f} pages/min" if p.pages_written and elapsed > 1 else ""
                bar.update(task, total=p.files_total, completed=p.files_done, chunks=p.chunks_embedded,
                           pages=p.pages_written, rate=rate)

            report = assistant.ingest(paths, prune=prune, on_progress=on_progress)
    except RagError as exc:
        fail(exc)
    if as_json:
        out.print(json.dumps(report.to_dict(), ensure_ascii=False), markup=False)
    else:
        out.print(f"added {report.added}, updated {report.updated}, unchanged {report.unchanged}, "
                  f"removed {report.removed}, failed {len(report.failed)}; {report.chunks} chunks written")
        for failure in report.failed:
            err.print(f"failed: {failure['error']}", markup=False, soft_wrap=True)
    if report.failed:
        raise typer.Exit(2)


@app.command()
def search(
    query: Annotated[str | None, typer.Argument(help="What to look for.")] = None,
    k: Annotated[int, typer.Option("-k", help="Passages to return.")] = 5,
    file: Annotated[Path | None, typer.Option("--file", help='JSONL of {"id", "question"} lines.')] = None,
    filters: FilterOption = None,
    index: IndexOption = None,
    chroma_url: ChromaOption = None,
    as_json: JsonOption = False,
) -> None:
    """Find passages by meaning and exact words.

    Example: rag search "Ascend 950PR launch" -k 3 --filter publisher="GMT Eight"
    """
    try:
        assistant = open_assistant(make_settings(index, chroma_url), must_exist=True)
        if file is not None:
            for line_id, question in read_questions(file):
                hits = assistant.search(question, k=k, filters=filters)
                out.print(json.dumps({"id": line_id, "hits": [h.to_dict() for h in hits]}, ensure_ascii=False), markup=False)
            return
        if query is None:
            raise RagError("give a QUERY or --file QUERIES.jsonl")
        hits = assistant.search(query, k=k, filters=filters)
    except RagError as exc:
        fail(exc)
    if as_json:
        out.print(json.dumps({"query": query, "hits": [h.to_dict() for h in hits]}, ensure_ascii=False), markup=False)
        return
    for hit in hits:
        page = f", p. {hit.page}" if hit.page else ""
        out.print(f"[bold]{hit.rank}.[/bold] {hit.title}{page}  [dim]{hit.doc_id} {hit.start}-{hit.end} score {hit.score:.4f}[/dim]")
        out.print(f"   {hit.text[:400]}", markup=False)


def read_questions(path: Path) -> list[tuple[str | None, str]]:
    """(id, question) pairs from a JSONL file; a malformed line names the file and line number."""
    if not path.exists():
        raise RagError(f"{path}: no such file")
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise RagError(f"{path}:{number}: not valid JSON ({exc.msg})") from exc
        if not isinstance(record, dict) or not isinstance(record.get("question"), str):
            raise RagError(f"{path}:{number}: each line needs a string 'question'")
        rows.append((None if record.get("id") is None else str(record["id"]), record["question"]))
    return rows


@app.command()
def ask(
    question: Annotated[str | None, typer.Argument(help="The question.")] = None,
    llm: LlmOption = None,
    k: Annotated[int | None, typer.Option("-k", help="Passages to retrieve.")] = None,
    file: Annotated[Path | None, typer.Option("--file", help='JSONL of {"id", "question"} lines.')] = None,
    filters: FilterOption = None,
    index: IndexOption = None,
    chroma_url: ChromaOption = None,
    as_json: JsonOption = False,
) -> None:
    """Answer a question with cited passages, or say the reports do not answer it.

    Example: rag ask "How much will global AI server shipments grow in 2026?" --llm extractive
    """
    try:
        assistant = open_assistant(make_settings(index, chroma_url), must_exist=True)
        if file is not None:
            for line_id, text in read_questions(file):
                try:
                    answer = assistant.ask(text, k=k, filters=filters, answerer=llm, id=line_id)
                    out.print(json.dumps(answer.to_dict(), ensure_ascii=False), markup=False)
                except RagError as exc:
                    out.print(json.dumps({"id": line_id, "question": text, "error": str(exc)}, ensure_ascii=False),
                              markup=False)
            return
        if question is None:
            raise RagError("give a QUESTION or --file QUESTIONS.jsonl")
        streaming = not as_json and out.is_terminal
        answer = assistant.ask(question, k=k, filters=filters, answerer=llm,
                               on_token=(lambda t: out.print(t, end="", markup=False)) if streaming else None)
    except RagError as exc:
        fail(exc)
    if as_json:
        out.print(json.dumps(answer.to_dict(), ensure_ascii=False), markup=False)
        return
    if streaming and answer.answerer != "extractive":
        out.print("\n[dim]verified answer:[/dim]")
    print_answer(answer)


def print_answer(answer) -> None:
    out.print(answer.text, markup=False)
    for warning in answer.warnings:
        err.print(f"[yellow]note:[/yellow] {warning}")
    if answer.abstained:
        if answer.hits:
            out.print("\n[dim]Closest matches (not citations):[/dim]")
            for hit in answer.hits[:3]:
                out.print(f"  - {hit.title[:80]} ({hit.doc_id}): {hit.text[:160]}...", markup=False)
        return
    out.print("\n[bold]Sources[/bold]")
    for c in answer.citations:
        page = f", p. {c.page}" if c.page else ""
        out.print(f"[{c.n}] {c.title}{page} ({c.doc_id}, chars {c.start}-{c.end})", markup=False)
        out.print(f'    "{c.text}"', markup=False)
    out.print(f"[dim]answered by {answer.answerer} in {sum(answer.timings.values()):.0f} ms[/dim]")


@app.command()
def remove(
    doc_id: Annotated[str, typer.Argument(help="The document to remove (see `rag documents`).")],
    index: IndexOption = None,
    chroma_url: ChromaOption = None,
) -> None:
    """Remove one document and its chunks from the index."""
    try:
        open_assistant(make_settings(index, chroma_url), must_exist=True).remove(doc_id)
    except RagError as exc:
        fail(exc)
    out.print(f"removed {doc_id}", markup=False)


@app.command()
def documents(index: IndexOption = None, chroma_url: ChromaOption = None, as_json: JsonOption = False) -> None:
    """List indexed documents with their metadata."""
    from rag.catalog import Catalog

    try:
        settings = make_settings(index, chroma_url)
        require_index(settings)
        # The catalog alone, as Assistant.documents() reads it: an Assistant would first load the embedders,
        # tens of seconds, to list rows of one SQLite table.
        catalog = Catalog(settings.catalog_path)
        try:
            docs = catalog.documents(status="ready")
        finally:
            catalog.close()
    except RagError as exc:
        fail(exc)
    for doc in docs:
        if as_json:
            out.print(json.dumps(doc.to_dict(), ensure_ascii=False), markup=False)
        else:
            out.print(f"{doc.doc_id}  {doc.chunk_count} chunks  {doc.publisher or '-'}  {doc.published or '-'}  "
                      f"{doc.title[:70]}", markup=False)


@app.command()
def batch(
    input_path: Annotated[Path, typer.Argument(metavar="INPUT", help="Questions: .txt (one per line), .csv/.xlsx (a question column), .jsonl.")],
    output: Annotated[Path | None, typer.Option(
        "--out", help="Answers: .jsonl, .csv or .xlsx (default: q.csv -> q.answers.csv, .xlsx and .jsonl alike; "
                      "q.txt -> q.txt.answers.jsonl). Rerun to resume.")] = None,
    llm: LlmOption = None,
    k: Annotated[int | None, typer.Option("-k", help="Passages to retrieve.")] = None,
    column: Annotated[str, typer.Option("--column", help="The column (or JSON key) holding the questions.")] = "question",
    workers: Annotated[int, typer.Option("--workers", min=1, max=32, help="Questions answered at once.")] = 1,
    encoding: Annotated[str | None, typer.Option(
        "--encoding", help="Text encoding of a .txt/.csv/.jsonl INPUT, e.g. cp1252 (default: detected).")] = None,
    filters: FilterOption = None,
    index: IndexOption = None,
    chroma_url: ChromaOption = None,
    as_json: JsonOption = False,
) -> None:
    """Answer a file of questions into a table plus a readable Markdown report; rerun to resume.

    Example: rag batch checklist.xlsx --out answers.xlsx --llm extractive
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from rag.batch import BatchInterrupted, BatchRunner, default_output, read_batch

    output = output or default_output(input_path)
    try:
        items = read_batch(input_path, column=column, encoding=encoding)
        runner = BatchRunner(open_assistant(make_settings(index, chroma_url), must_exist=True), output,
                             answerer=llm, filters=filters, k=k, workers=workers)
        with Progress(TextColumn("questions"), BarColumn(), MofNCompleteColumn(),
                      TextColumn("{task.fields[rate]}/min"), TimeRemainingColumn(), console=err,
                      disable=as_json) as bar:
            task = bar.add_task("batch", total=len(items), rate="-")

            def on_progress(p) -> None:
                speed = bar.tasks[0].speed
                bar.update(task, completed=p.done, rate=f"{speed * 60:.0f}" if speed else "-")

            summary = runner.run(items, on_progress=on_progress)
    except BatchInterrupted as exc:
        err.print(f"stopped: {exc}", markup=False)
        raise typer.Exit(130) from None
    except RagError as exc:
        fail(exc)
    if as_json:
        out.print(json.dumps(summary.to_dict(), ensure_ascii=False), markup=False)
    else:
        out.print(f"{summary.total} questions: {summary.answered} answered ({summary.abstained} not in the reports, "
                  f"{summary.duplicates} duplicates copied), {summary.failed} failed, {summary.skipped} already done; "
                  f"{summary.seconds:.1f} s ({summary.per_minute:.0f}/min)", markup=False)
        out.print(f"answers: {summary.output}\nreport:  {summary.report}", markup=False)
    if summary.failed:
        raise typer.Exit(2)


@app.command()
def serve(
    host: Annotated[str, typer.Option("--host", help="Address to bind (loopback only unless RAG_API_KEYS is set).")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port to listen on.")] = 8000,
    ingest_paths: Annotated[list[Path] | None, typer.Option(
        "--ingest", help="Index these files or folders (incrementally) before serving; repeatable.")] = None,
    index: IndexOption = None,
    chroma_url: ChromaOption = None,
    workers: Annotated[int, typer.Option(
        "--workers", min=1, help="Server processes sharing the port; more than 1 needs --chroma-url.")] = 1,
) -> None:
    """Serve the chat API and the web chat page.

    Example: RAG_API_KEYS=k1,k2 rag serve --host 0.0.0.0 --port 8000 --ingest corpus/

    Example: rag serve --workers 4 --chroma-url http://127.0.0.1:8001 (see docs/scaling.md)
    """
    import ipaddress

    import uvicorn

    settings = make_settings(index, chroma_url)
    if workers > 1 and not settings.chroma.url:
        # The embedded store (Chroma's PersistentClient) belongs to one process: several writing its SQLite
        # and HNSW files at once would lose or corrupt vectors.
        fail(RagError(f"--workers {workers}: processes cannot share the embedded Chroma store "
                      f"({settings.chroma_path}); start a Chroma server (chroma run --path DIR --port 8001) and "
                      "pass --chroma-url http://127.0.0.1:8001"), code=2)
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not settings.api.key_list:
        # Without keys anyone who can reach the port could upload and delete documents.
        err.print("no API keys configured (RAG_API_KEYS): serving without auth, on loopback only")
        if not loopback:
            err.print(f"refusing to bind {host} without API keys; binding 127.0.0.1 instead")
            host = "127.0.0.1"
    try:
        if workers == 1 or ingest_paths:
            assistant = open_assistant(settings)
        else:
            # Checked here, once, so a bad index or Chroma URL is one line, not a traceback from every worker.
            from rag.catalog import Catalog
            from rag.store import ChromaStore

            Catalog(settings.catalog_path).close()
            ChromaStore(settings.chroma.collection, url=settings.chroma.url)
        if ingest_paths:
            report = assistant.ingest(ingest_paths)
            err.print(f"indexed: added {report.added}, updated {report.updated}, unchanged {report.unchanged}, "
                      f"failed {len(report.failed)}", markup=False)
    except RagError as exc:
        fail(exc)
    create_app = front_end("api.main").create_app
    from rag.models import llama_runtime_installed, qwen_parts_installed

    if settings.llm.answerer == "auto" and qwen_parts_installed() and not llama_runtime_installed():
        # `make run` builds llama.cpp in the background rather than keep a new user waiting for it.
        err.print("llama.cpp is not installed yet (make run builds it in the background: .venv/llm-build.log): "
                  "answers are extractive until it is, then the local model answers", markup=False)

    err.print(f"serving on http://{host}:{port}/ (API docs at /docs)"
              + (f" with {workers} worker processes" if workers > 1 else ""), markup=False)
    # Keep-alive longer than clients' (httpx: 5 s), so a client never reuses a connection the server is closing.
    options: dict[str, Any] = {"host": host, "port": port, "log_level": "warning", "timeout_keep_alive": 75}
    if workers == 1:
        uvicorn.run(create_app(assistant, settings), **options)
        return
    # Each worker is a fresh (spawned) process that builds its own app with create_app() from the environment,
    # so the environment must name the index and the Chroma server this command was given.
    os.environ["RAG_HOME"] = str(settings.home.resolve())
    os.environ["RAG_CHROMA__URL"] = settings.chroma.url or ""  # never empty: refused above without a URL
    uvicorn.run(f"{front_end('api.main').__name__}:create_app", factory=True, workers=workers, **options)


@app.command("eval")
def eval_(
    suite: Annotated[Path, typer.Option("--suite", help="JSONL of known Q&A pairs.")] = Path("evals/guosen_qa.jsonl"),
    llm: Annotated[str, typer.Option("--llm", callback=check_answerer,
                                     help="Answerer to evaluate: extractive | local | openai | auto")] = "extractive",
    tatqa: Annotated[bool, typer.Option("--tatqa", help="Also run the TAT-QA dev benchmark (its own cached index).")] = False,
    tatqa_arithmetic: Annotated[bool, typer.Option("--tatqa-arithmetic", help="Also ask TAT-QA dev's 750 computed questions (right / wrong / abstained; the TAT-QA index).")] = False,
    financebench: Annotated[bool, typer.Option("--financebench", help="Also answer the FinanceBench dev questions over their filings' pages (own cached index).")] = False,
    financebench_suite: Annotated[Path | None, typer.Option("--financebench-suite", help="Also answer a question file of our own written from the FinanceBench dev pages (e.g. evals/financebench_blind1.jsonl).")] = None,
    fincuge: Annotated[bool, typer.Option("--fincuge", help="Also run the FinCUGE dev benchmark: Chinese questions over Chinese news (own cached index).")] = False,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="Only the first N questions of each set.")] = None,
    compare: Annotated[Path | None, typer.Option("--compare", help="An earlier JSON report: name the questions whose outcome changed.")] = None,
    baselines: Annotated[bool, typer.Option("--baselines/--no-baselines", help="Also score BM25 alone, dense alone and naive LangChain.")] = True,
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the Markdown, JSON and PNG report.")] = Path("evals/reports"),
    index: IndexOption = None,
    chroma_url: ChromaOption = None,
    as_json: JsonOption = False,
) -> None:
    """Score the assistant on a Q&A suite (and TAT-QA) beside baselines; write a report under evals/reports/.

    Example: rag eval --llm extractive --tatqa --financebench --fincuge --compare evals/reports/eval-OLD.json
    """
    report, evals = front_end("evals.report"), front_end("evals.run")

    def progress(stage: str, done: int, total: int) -> None:
        if not as_json and err.is_terminal:
            err.print(f"\r{stage}: {done}/{total}", end="", markup=False)

    try:
        settings = make_settings(index, chroma_url)
        old = evals.load_report(compare) if compare else None
        items = evals.load_suite(suite)[:limit]
        run = {"suite": evals.run_suite(open_assistant(settings, must_exist=True), items, answerer=llm,
                                        baselines=baselines, on_progress=progress)}
        if tatqa:
            run_tatqa = front_end("evals.tatqa").run_tatqa
            run["tatqa"] = run_tatqa(settings, limit=limit, answerer=llm, baselines=baselines, on_progress=progress)
        if tatqa_arithmetic:
            run_tatqa_arithmetic = front_end("evals.tatqa_arithmetic").run_tatqa_arithmetic
            run["tatqa_arithmetic"] = run_tatqa_arithmetic(settings, limit=limit, answerer=llm, on_progress=progress)
        if fincuge:
            run_fincuge = front_end("evals.fincuge").run_fincuge
            run["fincuge"] = run_fincuge(settings, limit=limit, answerer=llm, baselines=baselines, on_progress=progress)
        if financebench:
            run_financebench = front_end("evals.financebench").run_financebench
            run["financebench"] = run_financebench(settings, answerer=llm, on_progress=progress)
        if financebench_suite:
            run_financebench_suite = front_end("evals.financebench").run_financebench_suite
            run["financebench_suite"] = run_financebench_suite(settings, financebench_suite, answerer=llm)
        paths = report.write_report(run, out_dir)
    except RagError as exc:
        fail(exc)
    changes = evals.compare_outcomes(old["suite"]["questions"], run["suite"]["questions"]) if old else None
    if as_json:
        out.print(json.dumps({"reports": {k: str(p) for k, p in paths.items()}, "changes": changes,
                              **{k: {n: v for n, v in part.items() if n not in ("questions", "rows")}
                                 for k, part in run.items()}}, ensure_ascii=False), markup=False)
        return
    if err.is_terminal:
        err.print()
    report.print_table(run, out)
    if changes is not None:
        out.print(f"{len(changes)} question(s) changed since {compare}:", markup=False)
        for change in changes:
            out.print(f"  {change['id']}: {change['detail']}  ({change['question']})", markup=False)
    out.print(f"report: {paths['md']}  ({paths['json'].name}, {paths['png'].name})", markup=False)


@app.command()
def slack(
    llm: LlmOption = None,
    index: IndexOption = None,
    chroma_url: ChromaOption = None,
) -> None:
    """Run the Slack bot in Socket Mode (no public URL needed; see manifest.yaml).

    Needs SLACK_BOT_TOKEN (xoxb-...) and SLACK_APP_TOKEN (xapp-..., scope connections:write).

    Example: SLACK_BOT_TOKEN=xoxb-... SLACK_APP_TOKEN=xapp-... rag slack --llm local
    """
    settings = make_settings(index, chroma_url, answerer=llm)
    try:
        bot = front_end("api.slack")

        # Name a missing token before the minutes-long work of loading the index and models.
        bot.require(settings.slack, "bot_token", "app_token")
        handler = bot.socket_mode_handler(bot.build_slack_app(open_assistant(settings, must_exist=True), settings),
                                          settings)
    except RagError as exc:
        fail(exc)
    err.print("Slack bot connected in Socket Mode; Ctrl-C stops it", markup=False)
    handler.start()


def print_version(value: bool) -> None:
    if not value:
        return
    from importlib.metadata import PackageNotFoundError, version

    try:
        out.print(f"{DISTRIBUTION} {version(DISTRIBUTION)}", markup=False)
    except PackageNotFoundError:
        fail(RagError(f"the {DISTRIBUTION} package is not installed (pip install -e .)"))
    raise typer.Exit()


@app.callback()
def main(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log progress details.")] = False,
    version: Annotated[bool, typer.Option("--version", callback=print_version, is_eager=True,
                                          help="Print the installed version and exit.")] = False,
) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # Libraries print progress bars and load reports to stderr; keep the terminal for answers.
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("TQDM_DISABLE", "1")


if __name__ == "__main__":
    sys.exit(app())
