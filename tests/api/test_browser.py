"""The web chat page in real headless Chromium (Debian's, via Playwright; no browser download)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.api.conftest import READER

CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture
def page(server):
    if not CHROMIUM.exists():
        pytest.skip("Debian chromium is not installed at /usr/bin/chromium (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--no-first-run"])
        page = browser.new_page()
        page.goto(server.url + "/")
        page.evaluate(f"localStorage.setItem('rag-api-key', {READER!r})")
        page.reload()
        yield page
        browser.close()


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
