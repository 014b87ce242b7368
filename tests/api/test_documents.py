"""Document routes: list, upload (415, 413, ../ names), delete, and write permission."""

from __future__ import annotations

from tests.api.conftest import READER, WRITER

REPORT = (b"Acme Securities research note, 3 March 2026.\n\nZephyr Robotics expects its humanoid robot deliveries "
          b"to reach 12,400 units in 2026, up from 3,100 units in 2025, driven by automotive factory orders.\n")


def test_documents_lists_the_sample_report(server):
    with server.client() as client:
        docs = client.get("/v1/documents").json()["documents"]
    assert len(docs) == 1 and docs[0]["chunks"] > 0


def test_upload_is_indexed_answered_then_deleted(writable_server):
    with writable_server.client(WRITER) as client:
        response = client.post("/v1/documents", files={"file": ("zephyr.txt", REPORT, "text/plain")})
        assert response.status_code == 201, response.text
        doc_id = response.json()["documents"][0]["doc_id"]
        answer = client.post("/v1/ask", json={"question": "How many humanoid robots will Zephyr Robotics deliver "
                                                          "in 2026?"}).json()
        assert "12,400" in answer["answer"] and answer["citations"][0]["doc_id"] == doc_id
        assert client.delete(f"/v1/documents/{doc_id}").json() == {"removed": doc_id}
        remaining = [d["doc_id"] for d in client.get("/v1/documents").json()["documents"]]
        assert doc_id not in remaining and len(remaining) == 1
        assert client.delete(f"/v1/documents/{doc_id}").status_code == 404


def test_path_in_filename_is_stored_inside_uploads(writable_server):
    uploads = writable_server.app.state.settings.uploads_path
    with writable_server.client(WRITER) as client:
        response = client.post("/v1/documents", files={"file": ("../../escape.txt", REPORT, "text/plain")})
    assert response.status_code == 201 and response.json()["filename"] == "escape.txt"
    assert (uploads / "escape.txt").exists() and not (uploads.parent.parent / "escape.txt").exists()


def test_unsupported_type_is_415(writable_server):
    with writable_server.client(WRITER) as client:
        response = client.post("/v1/documents", files={"file": ("model.exe", b"MZ\x90\x00", "application/octet-stream")})
    assert response.status_code == 415 and ".exe" in response.json()["error"]["message"]


def test_oversize_upload_is_413_and_keeps_the_index(writable_server):
    with writable_server.client(WRITER) as client:
        before = client.get("/v1/documents").json()["documents"]
        response = client.post("/v1/documents", files={"file": ("big.txt", b"a" * (80 * 1024), "text/plain")})
        assert response.status_code == 413 and "limit" in response.json()["error"]["message"]
        assert client.get("/v1/documents").json()["documents"] == before


def test_unreadable_upload_is_422_and_not_kept(writable_server):
    uploads = writable_server.app.state.settings.uploads_path
    with writable_server.client(WRITER) as client:
        response = client.post("/v1/documents", files={"file": ("broken.pdf", b"%PDF-1.4 not really", "application/pdf")})
    assert response.status_code == 422 and response.json()["error"]["type"] == "LoadError"
    assert not (uploads / "broken.pdf").exists()


def test_reader_key_cannot_upload_or_delete(writable_server):
    with writable_server.client(READER) as client:
        upload = client.post("/v1/documents", files={"file": ("x.txt", REPORT, "text/plain")})
        delete = client.delete("/v1/documents/anything")
    assert upload.status_code == 403 and delete.status_code == 403
    assert "may read but not" in upload.json()["error"]["message"]


def test_the_original_pdf_is_served_by_doc_id_with_its_pages(writable_server, tmp_path):
    from tests.fixtures.documents import make_pdf

    pdf = make_pdf(tmp_path / "orion.pdf").read_bytes()
    with writable_server.client(WRITER) as client:
        uploaded = client.post("/v1/documents", files={"file": ("orion.pdf", pdf, "application/pdf")}).json()
        doc = uploaded["documents"][0]
        served = client.get(f"/v1/documents/{doc['doc_id']}/file")
        listed = next(d for d in client.get("/v1/documents").json()["documents"] if d["doc_id"] == doc["doc_id"])
        client.delete(f"/v1/documents/{doc['doc_id']}")
    assert served.status_code == 200 and served.content == pdf
    assert served.headers["content-type"] == "application/pdf"
    assert served.headers["content-disposition"].startswith("inline")
    assert served.headers["x-content-type-options"] == "nosniff"
    assert doc["pages"] == 3 and listed["pages"] == 3 and listed["filename"] == "orion.pdf"


def test_an_uploaded_html_report_is_served_as_a_download_never_as_a_page(writable_server):
    html = (b"<html><head><title>Acme note</title></head><body><p>Zephyr Robotics expects 12,400 deliveries in "
            b"2026.</p><script>alert(1)</script></body></html>")
    with writable_server.client(WRITER) as client:
        doc_id = client.post("/v1/documents", files={"file": ("note.html", html, "text/html")}).json()["documents"][0]["doc_id"]
        served = client.get(f"/v1/documents/{doc_id}/file")
        client.delete(f"/v1/documents/{doc_id}")
    assert served.status_code == 200 and served.headers["content-type"] == "application/octet-stream"
    assert served.headers["content-disposition"].startswith("attachment")
    assert "sandbox" in served.headers["content-security-policy"]


def test_the_file_of_an_unknown_document_is_404(server):
    with server.client() as client:
        response = client.get("/v1/documents/no-such.pdf/file")
        traversal = client.get("/v1/documents/../../etc/passwd/file")
    assert response.status_code == 404 and "no-such.pdf" in response.json()["error"]["message"]
    assert traversal.status_code == 404
