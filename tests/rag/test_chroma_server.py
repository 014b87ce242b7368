"""The ingest and search tests again, against a real Chroma server (`chroma run` on 127.0.0.1) reached
through settings.chroma.url instead of the embedded store."""

from __future__ import annotations

import sys
import uuid
from pathlib import Path

import pytest

from rag.assistant import Assistant
from rag.errors import StoreError
from tests.conftest import CORPUS, free_port, make_settings, serve_on_loopback
from tests.rag.test_ingest import (  # noqa: F401 - collected again here, on the server
    mixed_folder,
    open_index,
    test_bad_files_are_reported_and_good_ones_still_ingested,
    test_changed_file_replaces_its_chunks,
    test_every_format_is_ingested_and_searchable,
    test_remove_deletes_one_document,
    test_unchanged_files_cost_no_embedding,
)


@pytest.fixture(scope="session")
def chroma_url(tmp_path_factory):
    port = free_port()
    data = tmp_path_factory.mktemp("chroma-server")
    chroma = Path(sys.executable).parent / "chroma"
    url = f"http://127.0.0.1:{port}"
    with serve_on_loopback(
            "chroma run", [str(chroma), "run", "--path", str(data / "db"), "--host", "127.0.0.1", "--port", str(port)],
            f"{url}/api/v2/heartbeat", data / "server.log", timeout_s=60):
        yield url


@pytest.fixture
def index_settings(tmp_path, chroma_url):
    # One collection per test: the server outlives the tests, each test's catalog does not.
    settings = make_settings(tmp_path / "index")
    settings.chroma.url = chroma_url
    settings.chroma.collection = f"test_{uuid.uuid4().hex[:12]}"
    return settings


def test_search_on_the_server(index_settings):
    assistant = Assistant.from_settings(index_settings)
    assistant.ingest([CORPUS])
    assert not index_settings.chroma_path.exists(), "the embedded store must not be used"
    hits = assistant.search("When will Huawei launch the Ascend 950PR?", k=3)
    assert "Ascend 950PR" in hits[0].text and "1Q26" in hits[0].text
    hits = assistant.search("AI server shipments growth 2026", k=5, filters={"publisher": "GMT Eight"})
    assert any("20.9%" in h.text for h in hits)


def test_unreachable_server_is_a_store_error(tmp_path):
    settings = make_settings(tmp_path / "index")
    settings.chroma.url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(StoreError, match="cannot open Chroma collection"):
        Assistant.from_settings(settings)


def test_bad_url_is_a_store_error(tmp_path):
    settings = make_settings(tmp_path / "index")
    settings.chroma.url = "ftp://example"
    with pytest.raises(StoreError, match="is not an http"):
        Assistant.from_settings(settings)
