"""api/errors.py: a RagError's HTTP status comes from its class (STATUS_BY_ERROR), never from its message."""

from __future__ import annotations

import inspect

import rag.errors
from api.errors import status_for
from api.main import create_app
from rag.errors import NotFoundError, RagError
from tests.api.conftest import WRITER, api_settings, start_server


def test_a_status_comes_from_the_class_whatever_the_message():
    assert status_for(NotFoundError("that report was withdrawn")) == 404
    assert status_for(RagError("no indexed document has doc_id 'q1.pdf'")) == 400


def test_every_error_class_of_rag_errors_has_its_own_status():
    classes = [c for _, c in inspect.getmembers(rag.errors, inspect.isclass) if issubclass(c, RagError)]
    statuses = {c.__name__: status_for(c("any words")) for c in classes}
    assert statuses == {"AnswererError": 503, "BadQuestionError": 422, "EmbedError": 503, "EmptyIndexError": 409,
                        "FilterError": 400, "LoadError": 422, "NotFoundError": 404, "RagError": 400,
                        "StoreError": 503}


def test_the_assistant_removing_an_unknown_document_is_a_404_on_a_real_server(assistant, tmp_path):
    """The delete route checks the doc_id itself; this route reaches Assistant.remove, as a document deleted by
    another process between that check and the removal does."""
    app = create_app(assistant, api_settings(tmp_path))

    def remove(doc_id: str) -> dict:
        assistant.remove(doc_id)
        return {"removed": doc_id}

    app.add_api_route("/v1/remove-unchecked/{doc_id}", remove, methods=["DELETE"])
    srv = start_server(app)
    try:
        with srv.client(WRITER) as client:
            response = client.delete("/v1/remove-unchecked/zephyr.pdf")
        assert response.status_code == 404
        assert response.json()["error"] == {"type": "NotFoundError", "code": "not_found", "status": 404,
                                            "message": "no indexed document has doc_id 'zephyr.pdf'", "param": None}
    finally:
        srv.stop()
