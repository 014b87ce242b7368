"""Fixtures for the Slack front end: the fake Slack Web API, Slack settings, the app served by uvicorn."""

from __future__ import annotations

from pathlib import Path

import pytest
from slack_fakes import SIGNING_SECRET, FakeSlack, serve


@pytest.fixture
def fake_slack():
    fake = FakeSlack()
    yield fake
    fake.close()


@pytest.fixture
def slack_settings(tmp_path: Path, fake_slack: FakeSlack):
    """Settings for the Slack front end: its own home (the feedback database) and the fake Web API."""
    from rag.settings import Settings

    settings = Settings(home=tmp_path / "slack-home")
    # Extractive answers are fast and deterministic; the model paths are tested elsewhere.
    settings.llm.answerer = "extractive"
    settings.slack.bot_token = "xoxb-test"
    settings.slack.app_token = "xapp-test"
    settings.slack.signing_secret = SIGNING_SECRET
    settings.slack.api_url = fake_slack.api_url
    return settings


@pytest.fixture
def slack_http(assistant, slack_settings):
    """The FastAPI app with mount_slack, served by uvicorn: yields the /slack/events URL."""
    from fastapi import FastAPI

    from api.slack import mount_slack

    app = FastAPI()
    assert mount_slack(app, assistant, slack_settings) is not None
    with serve(app) as base:
        yield f"{base}/slack/events"
