"""Socket Mode end to end: a local websocket server plays Slack (apps.connections.open on the fake Web API
points at it; it says hello, sends envelopes and records the acks), and `rag slack` start-up errors."""

from __future__ import annotations

import time

import pytest
from slack_fakes import BOT_USER, FakeSocketModeServer, blocks_text
from typer.testing import CliRunner

from api.slack import build_slack_app, socket_mode_handler
from rag.errors import RagError

GROWTH = "How much will global AI server shipments grow in 2026?"


def events_envelope(envelope_id: str, event_id: str, retry_attempt: int = 0) -> dict:
    event = {"type": "app_mention", "user": "U1", "text": f"<@{BOT_USER}> {GROWTH}", "ts": "1700000500.000100",
             "channel": "C5", "event_ts": "1700000500.000100"}
    return {"envelope_id": envelope_id, "type": "events_api", "accepts_response_payload": False,
            "retry_attempt": retry_attempt, "retry_reason": "timeout" if retry_attempt else "",
            "payload": {"token": "legacy", "team_id": "T1", "api_app_id": "A1", "type": "event_callback",
                        "event": event, "event_id": event_id, "event_time": int(time.time()),
                        "authorizations": [{"team_id": "T1", "user_id": BOT_USER, "is_bot": True}]}}


@pytest.fixture
def socket_server(fake_slack):
    envelopes = [
        events_envelope("env-1", "Ev-socket"),
        events_envelope("env-2", "Ev-socket", retry_attempt=1),
        {"envelope_id": "env-3", "type": "slash_commands", "accepts_response_payload": True,
         "payload": {"command": "/ask", "text": "When will Huawei launch the Ascend 950PR?", "user_id": "U1",
                     "channel_id": "C6", "team_id": "T1", "trigger_id": "1.2.3",
                     "response_url": f"{fake_slack.url}/response/socket-cmd"}},
    ]
    server = FakeSocketModeServer(envelopes)
    fake_slack.ws_url = server.url
    yield server
    server.close()


def test_socket_mode_acks_envelopes_and_answers_once(assistant, slack_settings, fake_slack, socket_server):
    handler = socket_mode_handler(build_slack_app(assistant, slack_settings), slack_settings)
    handler.connect()
    try:
        assert socket_server.wait_for_ack("env-1") == {"envelope_id": "env-1"}
        socket_server.wait_for_ack("env-2")
        command_ack = socket_server.wait_for_ack("env-3")
        assert "Working on it" in command_ack["payload"]["text"]
        [post] = fake_slack.wait_for("chat.postMessage", channel="C5")
        assert post["thread_ts"] == "1700000500.000100" and "20.9%" in blocks_text(post["blocks"])
        [answer] = fake_slack.wait_for("response_url", path="/response/socket-cmd")
        assert "1Q26" in blocks_text(answer["blocks"])
        time.sleep(0.3)
        assert len(fake_slack.calls_to("chat.postMessage", channel="C5")) == 1
        [opened] = fake_slack.calls_to("apps.connections.open")
        assert opened is not None
    finally:
        handler.close()


def test_socket_mode_without_app_token_names_the_variable(assistant, slack_settings):
    slack_settings.slack.app_token = None
    with pytest.raises(RagError, match="SLACK_APP_TOKEN is not set"):
        socket_mode_handler(build_slack_app(assistant, slack_settings), slack_settings)


@pytest.mark.parametrize("present, missing", [({}, "SLACK_BOT_TOKEN"), ({"SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_APP_TOKEN")])
def test_rag_slack_without_a_token_fails_at_start_naming_it(monkeypatch, tmp_path, present, missing):
    from rag.cli import app

    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "RAG_SLACK__BOT_TOKEN", "RAG_SLACK__APP_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    result = CliRunner().invoke(app, ["slack", "--index", str(tmp_path)], env=present)
    assert result.exit_code == 1
    assert f"{missing} is not set" in result.output


def test_build_without_bot_token_names_the_variable(assistant, slack_settings):
    slack_settings.slack.bot_token = None
    with pytest.raises(RagError, match="SLACK_BOT_TOKEN is not set"):
        build_slack_app(assistant, slack_settings)


def test_mount_with_only_the_bot_token_names_the_signing_secret(assistant, slack_settings):
    from fastapi import FastAPI

    from api.slack import mount_slack

    slack_settings.slack.signing_secret = None
    with pytest.raises(RagError, match="SLACK_SIGNING_SECRET is not set"):
        mount_slack(FastAPI(), assistant, slack_settings)
