"""HTTP Events mode end to end: signed requests to /slack/events on a real uvicorn, the real bolt app and
assistant (extractive answerer) behind it, and a fake Slack Web API recording what the bot posts."""

from __future__ import annotations

import json
import sqlite3
import time

import httpx
import pytest
from slack_fakes import blocks_text, free_port, mention, post_event, post_form, serve

GROWTH = "How much will global AI server shipments grow in 2026?"


def report_title(assistant) -> str:
    return assistant.documents()[0].title


def test_mention_is_answered_in_its_thread_with_sources(slack_http, fake_slack, assistant):
    event = mention(fake_slack, f"<@UBOT> {GROWTH}")
    started = time.monotonic()
    response = post_event(slack_http, event, "Ev-mention")
    assert response.status_code == 200
    # Slack's 3-second rule: the answer comes later, the acknowledgement at once.
    assert time.monotonic() - started < 3
    [post] = fake_slack.wait_for("chat.postMessage", channel="C1")
    assert post["thread_ts"] == event["ts"]
    text = blocks_text(post["blocks"])
    assert "20.9%" in text and "[1]" in text
    assert "*Sources*" in text
    assert report_title(assistant)[:40] in text
    assert "global AI server shipments will increase by 20.9%" in text
    actions = [b for b in post["blocks"] if b["type"] == "actions"]
    assert [e["action_id"] for e in actions[0]["elements"]] == ["rag_feedback_helpful", "rag_feedback_wrong"]


def test_direct_message_is_answered_in_the_dm(slack_http, fake_slack):
    ts = fake_slack.add_message("D1", "When will Huawei launch the Ascend 950PR?")
    event = {"type": "message", "channel_type": "im", "user": "U1", "channel": "D1", "ts": ts,
             "text": "When will Huawei launch the Ascend 950PR?", "event_ts": ts}
    assert post_event(slack_http, event, "Ev-dm").status_code == 200
    [post] = fake_slack.wait_for("chat.postMessage", channel="D1")
    assert post.get("thread_ts") is None
    assert "1Q26" in blocks_text(post["blocks"])


def test_slash_command_acks_ephemerally_then_answers_via_response_url(slack_http, fake_slack):
    response = post_form(slack_http, {
        "command": "/ask", "text": GROWTH, "user_id": "U1", "channel_id": "C9", "team_id": "T1",
        "trigger_id": "1.2.3", "response_url": f"{fake_slack.url}/response/cmd-1"})
    assert response.status_code == 200
    assert "Working on it" in response.json()["text"] and response.json()["response_type"] == "ephemeral"
    [answer] = fake_slack.wait_for("response_url", path="/response/cmd-1")
    assert "20.9%" in blocks_text(answer["blocks"])
    assert answer["response_type"] == "in_channel"
    assert not fake_slack.calls_to("chat.postMessage")


def test_follow_up_in_a_thread_is_asked_with_the_thread_as_context(slack_http, fake_slack):
    root = fake_slack.add_message("C1", "<@UBOT> How much will global AI server shipments grow in 2025?")
    fake_slack.add_message("C1", "The indexed reports do not cover this.", thread_ts=root, bot=True)
    follow_up = mention(fake_slack, "<@UBOT> And in 2026?", thread_ts=root)
    assert post_event(slack_http, follow_up, "Ev-follow").status_code == 200

    [post] = fake_slack.wait_for("chat.postMessage", channel="C1", thread_ts=root)
    assert fake_slack.calls_to("conversations.replies", channel="C1", ts=root)
    text = blocks_text(post["blocks"])
    assert "Answering: _How much will global AI server shipments grow in 2026?_" in text
    assert "20.9%" in text

    # The same words outside any thread carry no subject, so they do not get that answer.
    alone = mention(fake_slack, "<@UBOT> And in 2026?", channel="C2")
    post_event(slack_http, alone, "Ev-alone")
    [post] = fake_slack.wait_for("chat.postMessage", channel="C2")
    assert "20.9%" not in blocks_text(post["blocks"])


def test_slack_retry_of_an_event_gets_exactly_one_answer(slack_http, fake_slack):
    event = mention(fake_slack, f"<@UBOT> {GROWTH}", channel="C3")
    assert post_event(slack_http, event, "Ev-retry").status_code == 200
    retry = post_event(slack_http, event, "Ev-retry", headers={"X-Slack-Retry-Num": "1",
                                                               "X-Slack-Retry-Reason": "http_timeout"})
    assert retry.status_code == 200
    fake_slack.wait_for("chat.postMessage", channel="C3")
    # A later retry after the answer was posted is dropped too; a different event is still answered.
    post_event(slack_http, event, "Ev-retry", headers={"X-Slack-Retry-Num": "2"})
    post_event(slack_http, mention(fake_slack, f"<@UBOT> {GROWTH}", channel="C4"), "Ev-other")
    fake_slack.wait_for("chat.postMessage", channel="C4")
    time.sleep(0.5)
    assert len(fake_slack.calls_to("chat.postMessage", channel="C3")) == 1


def test_bad_signature_is_rejected_with_401(slack_http, fake_slack):
    event = mention(fake_slack, f"<@UBOT> {GROWTH}")
    forged = post_event(slack_http, event, "Ev-forged", secret="not-the-secret")
    stale = post_event(slack_http, event, "Ev-stale", timestamp=int(time.time()) - 3600)
    assert (forged.status_code, stale.status_code) == (401, 401)
    # Rejected requests leave no trace: the genuine event with the same id is still answered.
    assert post_event(slack_http, event, "Ev-forged").status_code == 200
    assert len(fake_slack.wait_for("chat.postMessage", channel="C1")) == 1


def test_question_the_reports_do_not_cover_gets_a_plain_abstention(slack_http, fake_slack):
    post_event(slack_http, mention(fake_slack, "<@UBOT> What is Cambricon's revenue in 2025?"), "Ev-abstain")
    [post] = fake_slack.wait_for("chat.postMessage", channel="C1")
    text = blocks_text(post["blocks"])
    assert "The indexed reports do not cover this." in text
    assert "*Sources*" not in text and "[1]" not in text


def test_mention_without_a_question_gets_a_usage_hint(slack_http, fake_slack):
    post_event(slack_http, mention(fake_slack, "<@UBOT>   "), "Ev-empty")
    [post] = fake_slack.wait_for("chat.postMessage", channel="C1")
    assert "Ask me a question about the indexed broker reports" in blocks_text(post["blocks"])
    assert not [b for b in post["blocks"] if b["type"] == "actions"]


def test_feedback_button_is_stored_with_question_answer_and_citations(slack_http, fake_slack, slack_settings):
    event = mention(fake_slack, f"<@UBOT> {GROWTH}")
    post_event(slack_http, event, "Ev-feedback")
    [post] = fake_slack.wait_for("chat.postMessage", channel="C1")
    [actions] = [b for b in post["blocks"] if b["type"] == "actions"]
    wrong = actions["elements"][1]
    payload = {"type": "block_actions", "user": {"id": "U7"}, "team": {"id": "T1"}, "api_app_id": "A1",
               "channel": {"id": "C1"}, "container": {"type": "message", "message_ts": "1", "channel_id": "C1"},
               "message": {"ts": "1", "thread_ts": event["ts"]}, "trigger_id": "1.2.3",
               "response_url": f"{fake_slack.url}/response/act-1",
               "actions": [{**wrong, "block_id": "rag_feedback", "action_ts": "1", "text": wrong["text"]}]}
    assert post_form(slack_http, {"payload": json.dumps(payload)}).status_code == 200
    [note] = fake_slack.wait_for("chat.postEphemeral", user="U7")
    assert "wrong" in note["text"]

    with sqlite3.connect(slack_settings.slack_db_path) as db:
        db.row_factory = sqlite3.Row
        [row] = db.execute("SELECT * FROM feedback").fetchall()
    assert (row["verdict"], row["user_id"], row["question"]) == ("wrong", "U7", GROWTH)
    assert "20.9%" in row["answer"]
    assert "20.9%" in json.loads(row["citations"])[0]["text"]


def test_events_endpoint_is_absent_without_slack_variables(assistant, slack_settings):
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from api.slack import mount_slack

    slack_settings.slack.bot_token = slack_settings.slack.signing_secret = None
    app = FastAPI()
    assert mount_slack(app, assistant, slack_settings) is None
    assert TestClient(app).post("/slack/events", content="{}").status_code == 404


def test_unreachable_slack_api_is_a_clear_start_up_error(assistant, slack_settings):
    from api.slack import build_slack_app
    from rag.errors import RagError

    slack_settings.slack.api_url = f"http://127.0.0.1:{free_port()}/api/"
    with pytest.raises(RagError, match="SLACK_BOT_TOKEN"):
        build_slack_app(assistant, slack_settings)


def test_request_with_no_signature_headers_is_401(slack_http):
    assert httpx.post(slack_http, content="{}", headers={"Content-Type": "application/json"}).status_code == 401


def test_chat_api_app_serves_slack_events_when_configured(assistant, slack_settings, fake_slack):
    from api.main import create_app

    with serve(create_app(assistant, slack_settings)) as base:
        assert post_event(f"{base}/slack/events", {}, "Ev-x", secret="wrong").status_code == 401
        post_event(f"{base}/slack/events", mention(fake_slack, f"<@UBOT> {GROWTH}", channel="C8"), "Ev-main")
        [post] = fake_slack.wait_for("chat.postMessage", channel="C8")
    assert "20.9%" in blocks_text(post["blocks"])
