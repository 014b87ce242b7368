"""The sample-report suites, each run once per test session with the extractive answerer over the shared index."""

import pytest


@pytest.fixture(scope="session")
def suite_runs(assistant):
    """suite file name under evals/ -> its run report, computed on first use."""
    from evals.run import ROOT, load_suite, run_suite

    runs: dict[str, dict] = {}

    def run(name: str) -> dict:
        if name not in runs:
            runs[name] = run_suite(assistant, load_suite(ROOT / "evals" / name), answerer="extractive",
                                   baselines=False)
        return runs[name]

    return run


@pytest.fixture(scope="session")
def suite_run(suite_runs):
    from evals.run import DEFAULT_SUITE

    return suite_runs(DEFAULT_SUITE.name)
