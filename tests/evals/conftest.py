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


@pytest.fixture(scope="session")
def benchmark_cache(tmp_path_factory):
    """A fresh cache for the benchmarks' own indexes, so the gate measures a clean clone's run."""
    import os

    folder = tmp_path_factory.mktemp("evals-cache")
    previous = os.environ.get("RAG_EVALS_CACHE")
    os.environ["RAG_EVALS_CACHE"] = str(folder)
    yield folder
    if previous is None:
        os.environ.pop("RAG_EVALS_CACHE", None)
    else:
        os.environ["RAG_EVALS_CACHE"] = previous


@pytest.fixture(scope="session")
def financebench_run(benchmark_cache):
    from evals.financebench import run_financebench
    from tests.conftest import make_settings

    # Answers only: indexing all 1,209 filing pages for page retrieval takes a 2-core machine half an hour.
    return run_financebench(make_settings(benchmark_cache / "unused"), answerer="extractive", page_retrieval=False)


@pytest.fixture(scope="session")
def financebench_local_run(benchmark_cache):
    """The same questions read by the packaged local model, on the same cached page index."""
    from evals.financebench import run_financebench
    from tests.conftest import make_settings

    return run_financebench(make_settings(benchmark_cache / "unused"), answerer="local", page_retrieval=False)


@pytest.fixture(scope="session")
def tatqa_run(benchmark_cache):
    from evals.tatqa import run_tatqa
    from tests.conftest import make_settings

    return run_tatqa(make_settings(benchmark_cache / "unused"), answerer="extractive", baselines=False)


@pytest.fixture(scope="session")
def fincuge_run(benchmark_cache):
    from evals.fincuge import run_fincuge
    from tests.conftest import make_settings

    return run_fincuge(make_settings(benchmark_cache / "unused"), answerer="extractive")


@pytest.fixture(scope="session")
def tatqa_arithmetic_run(benchmark_cache, tatqa_run):
    """The first questions of TAT-QA dev arithmetic over the TAT-QA index tatqa_run built (the whole set's 750
    questions, asked twice each, would add minutes: `rag eval --tatqa-arithmetic` measures them all)."""
    import json

    from evals.run import ROOT
    from evals.tatqa_arithmetic import run_tatqa_arithmetic
    from tests.conftest import make_settings

    limit = json.loads((ROOT / "evals" / "thresholds.json").read_text(encoding="utf-8"))["benchmarks"][
        "tatqa_arithmetic"]["questions"]
    return run_tatqa_arithmetic(make_settings(benchmark_cache / "unused"), limit=limit, answerer="extractive")
