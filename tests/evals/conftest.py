"""The sample-report suite, run once per test session with the extractive answerer over the shared index."""

import pytest


@pytest.fixture(scope="session")
def suite_run(assistant):
    from evals.run import DEFAULT_SUITE, load_suite, run_suite

    return run_suite(assistant, load_suite(DEFAULT_SUITE), answerer="extractive", baselines=False)
