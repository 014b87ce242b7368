"""The web page in real headless Chromium (Debian's, via Playwright; no browser download), against real uvicorn
servers on 127.0.0.1. Screenshots go to $RAG_TEST_ARTIFACTS/browser (default: test-artifacts/browser in the
repository, ignored by git), one per step an analyst sees."""

from __future__ import annotations

import base64
import json
import os
import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.api.conftest import READER, WRITER
from tests.api.test_chat import GROWTH
from tests.fixtures.documents import make_pdf

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("RAG_TEST_ARTIFACTS") or ROOT / "test-artifacts") / "browser"

# A broker note of three pages, one fact a page, so that the cited page can be told apart.
ORION_PAGES = [
    "Orion Semiconductor: 2026 outlook\nAcme Securities research, 12 March 2026\n\nOrion Semiconductor expects "
    "wafer output to rise 12.5% in 2026, as new capacity in Arizona comes on line.",
    "Product roadmap\n\nThe Orion accelerator ships in 3Q26 according to the company, after sampling to two cloud "
    "customers. Volume production follows in 4Q26.",
    "Margins\n\nGross margin guidance for Orion Semiconductor stays at 41.7% next year, helped by a richer product mix.",
]


@contextmanager
def browser_page(server, key: str):
    if not CHROMIUM.exists():
        pytest.skip("Debian chromium is not installed at /usr/bin/chromium (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--no-first-run"])
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(server.url + "/")
        page.evaluate(f"localStorage.setItem('rag-api-key', {key!r})")
        errors: list[str] = []
        # A Content-Security-Policy violation or a failed request is reported on the console: with its key
        # the page must cause none.
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.reload()
        page.errors = errors
        yield page
        browser.close()


@pytest.fixture
def page(server):
    with browser_page(server, READER) as page:
        yield page


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def test_ask_then_open_citation_passage(page, assistant):
    page.fill("#question", "How much will global AI server shipments grow in 2026?")
    page.click("#send")
    page.locator("a.cite").first.wait_for(timeout=30_000)
    assert "20.9%" in page.locator(".turn .answer").first.inner_text()
    page.locator("a.cite", has_text="[1]").first.click()
    assert page.locator("#passage").is_visible()
    assert "20.9%" in page.locator("#passage mark").inner_text()
    assert page.locator("#passage-title").inner_text() == assistant.documents()[0].title
    assert "[1]" in page.locator("#passage-where").inner_text()
    # The highlighted sentence sits inside the whole passage, not alone.
    assert len(page.locator("#passage-text").inner_text()) > len(page.locator("#passage mark").inner_text())
    assert not page.errors


def test_abstention_is_shown_plainly(page):
    page.fill("#question", "What is Cambricon's revenue in 2025?")
    page.click("#send")
    page.locator(".abstained").wait_for(timeout=30_000)
    assert page.locator(".abstained").inner_text() == "Not in the reports."


def test_sources_name_report_date_and_page_never_a_server_path(page, assistant):
    doc = assistant.documents()[0]
    page.fill("#question", "How much will global AI server shipments grow in 2026?")
    page.click("#send")
    page.locator(".sources li").first.wait_for(timeout=30_000)
    items = page.locator(".sources li").all_inner_texts()
    assert items and items[0].startswith("[1] " + doc.title) and doc.published in items[0]
    page.locator(".sources a.cite").first.click()
    where = page.locator("#passage-where").inner_text()
    assert doc.published and doc.published in where and "[1]" in where
    assert doc.source not in where and "/" not in where
    assert doc.source not in page.content()


def test_library_lists_the_indexed_reports(page, assistant):
    doc = assistant.documents()[0]
    row = page.locator(f'#documents tr[data-doc-id="{doc.doc_id}"]')
    row.wait_for(timeout=10_000)
    cells = row.locator("td").all_inner_texts()
    assert cells[0] == doc.title and cells[2] == doc.published and cells[4] == "ready"
    assert (doc.broker or doc.publisher) in cells[1]
    shot(page, "00-library")


def test_analyst_uploads_asks_within_it_opens_the_page_marks_wrong_and_finds_it_again(writable_server, tmp_path):
    pdf = make_pdf(tmp_path / "orion-outlook.pdf", pages=ORION_PAGES)
    question = "When does the Orion accelerator ship?"
    with browser_page(writable_server, WRITER) as page:
        # Dropped on the library, as a file dragged from the desktop arrives.
        page.evaluate("""([name, data]) => {
            const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
            const transfer = new DataTransfer();
            transfer.items.add(new File([bytes], name, {type: "application/pdf"}));
            const zone = document.getElementById("dropzone");
            for (const type of ["dragenter", "dragover", "drop"])
                zone.dispatchEvent(new DragEvent(type, {dataTransfer: transfer, bubbles: true, cancelable: true}));
        }""", [pdf.name, base64.b64encode(pdf.read_bytes()).decode()])
        page.locator("#uploads li.done", has_text="orion-outlook.pdf: indexed").wait_for(timeout=60_000)
        row = page.locator("#documents tr", has_text="Orion Semiconductor: 2026 outlook")
        row.wait_for(timeout=10_000)
        doc_id = row.get_attribute("data-doc-id")
        cells = row.locator("td").all_inner_texts()
        assert cells[2] == "2026-03-12" and cells[3] == "3" and cells[4] == "ready"
        shot(page, "01-uploaded-in-library")

        # Narrowed to the new report and its month.
        page.select_option("#f-doc", doc_id)
        page.fill("#f-from", "2026-03-01")
        page.fill("#f-to", "2026-03-31")
        page.dispatch_event("#f-to", "change")
        assert "Orion Semiconductor: 2026 outlook" in page.locator("#filter-summary").inner_text()
        page.fill("#question", question)
        with page.expect_request("**/v1/ask/stream") as request:
            page.click("#send")
        assert json.loads(request.value.post_data)["filters"] == {
            "doc_id": doc_id, "date_from": "2026-03-01", "date_to": "2026-03-31"}
        answer = page.locator(".turn .answer").first
        answer.locator("a.cite").first.wait_for(timeout=30_000)
        assert "3Q26" in answer.inner_text()
        assert "only" in page.locator(".turn .q .scope").inner_text()
        shot(page, "02-answer-filtered-to-the-report")

        # Copied with its sources, ready to paste into a note.
        page.context.grant_permissions(["clipboard-read", "clipboard-write"])
        answer.locator("button.copy").click()
        answer.locator(".actions .note", has_text="Copied").wait_for(timeout=5_000)
        copied = page.evaluate("navigator.clipboard.readText()")
        assert copied.startswith(f"Q: {question}\nA: The Orion accelerator ships in 3Q26")
        assert "Sources:\n[1] Orion Semiconductor: 2026 outlook · 2026-03-12 · p. 2: \"The Orion accelerator" in copied

        # The cited sentence highlighted beside the original PDF, opened at the cited page.
        answer.locator(".sources a.cite").first.click()
        assert "3Q26" in page.locator("#passage mark").inner_text()
        assert "p. 2" in page.locator("#passage-where").inner_text()
        frame = page.locator("#pdf")
        frame.wait_for(timeout=15_000)
        src = frame.get_attribute("src")
        assert src.startswith("blob:") and src.endswith("#page=2")
        # The frame shows the blob in the browser's own PDF viewer (an extension frame inside it).
        for _ in range(100):
            urls = [f.url for f in page.frames]
            if src in urls and any(u.startswith("chrome-extension://") for u in urls):
                break
            page.wait_for_timeout(100)
        else:
            pytest.fail(f"the PDF viewer did not open {src}: frames {urls}")
        page.wait_for_timeout(1500)  # the browser's PDF viewer draws the page
        shot(page, "03-cited-page-beside-the-sentence")
        page.click("#close")

        # Wrong: stored with the question, answer and citations, as Slack's buttons store it.
        page.locator(".turn button.wrong").click()
        page.locator('.turn button.wrong[aria-pressed="true"]').wait_for(timeout=10_000)
        assert "Marked wrong" in page.locator(".turn .actions .note").inner_text()
        with sqlite3.connect(writable_server.app.state.settings.slack_db_path) as db:
            rows = db.execute("SELECT verdict, question, citations FROM feedback WHERE question = ?",
                              (question,)).fetchall()
        assert len(rows) == 1 and rows[0][0] == "wrong" and "3Q26" in rows[0][2]
        shot(page, "04-marked-wrong")

        # After a reload the conversation is listed; opening it shows the answer with its sources again.
        page.reload()
        listed = page.locator("#conversations button", has_text=question)
        listed.wait_for(timeout=10_000)
        shot(page, "05-conversation-listed-after-reload")
        listed.click()
        resumed = page.locator(".turn .answer").first
        resumed.locator("a.cite").first.wait_for(timeout=10_000)
        assert page.locator(".turn .q").first.inner_text().startswith(question)
        assert "3Q26" in resumed.inner_text() and "[1] Orion Semiconductor: 2026 outlook" in resumed.inner_text()
        # As it was left: the verdict given and the filters it was asked with.
        assert resumed.locator("button.wrong").get_attribute("aria-pressed") == "true"
        assert "2026-03-01 to 2026-03-31" in page.locator(".turn .q .scope").first.inner_text()
        # It goes on: a follow-up continues the same conversation.
        page.fill("#question", "What about gross margin guidance?")
        with page.expect_request("**/v1/ask/stream") as request:
            page.click("#send")
        assert json.loads(request.value.post_data)["conversation_id"]
        page.locator(".turn").nth(1).locator(".answer").wait_for(timeout=30_000)
        shot(page, "06-conversation-resumed")

        # Removed from the library in two clicks.
        remove = page.locator(f'#documents tr[data-doc-id="{doc_id}"] button.remove')
        remove.click()
        remove.click()
        page.locator(f'#documents tr[data-doc-id="{doc_id}"]').wait_for(state="detached", timeout=30_000)
        assert not page.errors, page.errors


def test_what_the_answer_waits_on_is_shown_and_checks_stay_behind_details(slow_llm_server):
    with browser_page(slow_llm_server, READER) as page:
        # The page says what the answer waits on, as the server's status event words it, with the seconds spent
        # (the stand-in model is loaded already; the not-yet-loaded status is tested in test_llm_queue).
        page.fill("#question", GROWTH)
        page.click("#send")
        page.locator(".turn .state", has_text="the model then writes the answer").wait_for(timeout=10_000)
        shot(page, "07-model-answering")
        first = page.locator(".turn .answer").first
        first.locator("a.cite").first.wait_for(timeout=30_000)
        assert not page.locator(".turn .state").count()

        # Another request holds the model, so the next question is answered extractively with a note that
        # says so: a note for the details toggle, not for the answer's text.
        calls = slow_llm_server.model.calls
        holder = threading.Thread(target=lambda: slow_llm_server.client().post("/v1/ask", json={"question": GROWTH}))
        holder.start()
        while slow_llm_server.model.calls == calls:
            page.wait_for_timeout(20)
        page.fill("#question", GROWTH)
        page.click("#send")
        answer = page.locator(".turn").nth(1).locator(".answer")
        answer.locator("a.cite").first.wait_for(timeout=30_000)
        holder.join()
        notes = answer.locator("details.notes")
        assert "busy" not in answer.inner_text() and "busy" in notes.text_content()
        notes.locator("summary").click()
        assert "Answered by extractive" in notes.inner_text() and "busy" in notes.inner_text()
        shot(page, "08-details-opened")


def test_without_a_key_the_page_asks_for_one(server):
    with browser_page(server, "") as page:
        page.locator("#key-panel").wait_for(state="visible", timeout=10_000)
        assert "needs a valid API key" in page.locator("#key-note").inner_text()
        page.fill("#key", READER)
        page.click("#key-save")
        page.locator("#documents tbody tr[data-doc-id]").first.wait_for(timeout=10_000)
        # Not remembered unless asked: the key lives for this browser session only.
        assert page.evaluate("[localStorage.getItem('rag-api-key'), sessionStorage.getItem('rag-api-key')]") == [
            None, READER]


def test_a_read_only_key_is_told_it_may_not_upload(page, tmp_path):
    note = tmp_path / "note.txt"
    note.write_text("Acme Securities note: Zephyr Robotics expects 12,400 deliveries in 2026.\n", encoding="utf-8")
    page.set_input_files("#file-input", str(note))
    failed = page.locator("#uploads li.failed")
    failed.wait_for(timeout=10_000)
    assert "note.txt: this API key may read but not upload" in failed.inner_text()
