"""`rag slack`: options and Slack's own variables are checked before anything loads or connects."""

from __future__ import annotations

from tests.api.test_serve_env import rag


def test_unknown_llm_is_refused_naming_the_option(tmp_path):
    result = rag(["slack", "--llm", "bogus", "--index", str(tmp_path)], tmp_path,
                 SLACK_BOT_TOKEN="xoxb-test", SLACK_APP_TOKEN="xapp-test")
    assert result.returncode == 2 and "--llm: unknown answerer 'bogus'" in result.stderr


def test_bot_token_is_read_from_dotenv(tmp_path):
    (tmp_path / ".env").write_text("SLACK_BOT_TOKEN=xoxb-from-dotenv\n")
    result = rag(["slack", "--index", str(tmp_path)], tmp_path)
    # The bot token was found: the first missing one is the app token.
    assert result.returncode == 1 and "SLACK_APP_TOKEN is not set" in result.stderr
    assert "SLACK_BOT_TOKEN" not in result.stderr


def test_rag_prefixed_slack_variable_wins_over_slacks_own(tmp_path, monkeypatch):
    from rag.settings import Settings

    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-plain")
    monkeypatch.setenv("RAG_SLACK__BOT_TOKEN", "xoxb-prefixed")
    monkeypatch.chdir(tmp_path)
    assert Settings().slack.bot_token == "xoxb-prefixed"
