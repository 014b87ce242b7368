"""CI gate: each sample-report suite with the extractive answerer must not fall below evals/thresholds.json.

guosen_qa.jsonl is the suite the answerer was developed against; each guosen_holdout*.jsonl was written before
any rule was tuned on it (the later ones by helpers that saw no code), so a rule that only fits one suite
shows up as a loss on another."""

import json

import pytest

from evals.run import ROOT

THRESHOLDS = json.loads((ROOT / "evals" / "thresholds.json").read_text(encoding="utf-8"))["suites"]
SUITES = sorted(THRESHOLDS)


def _not_passed(run: dict) -> str:
    return "\n".join(f"{q['id']} {q['status']}: {q['question']}" for q in run["questions"]
                     if q["status"] not in ("correct", "abstained"))


@pytest.mark.parametrize("suite", SUITES)
@pytest.mark.parametrize("metric", ["key_fact_accuracy", "citation_precision", "abstention_recall"])
def test_suite_metric_meets_threshold(suite_runs, suite, metric):
    run = suite_runs(suite)
    value, floor = run["metrics"][metric], THRESHOLDS[suite][metric]
    assert value is not None and value >= floor, (
        f"{suite}: {metric} {value} fell below {floor}; questions not passed:\n{_not_passed(run)}")


@pytest.mark.parametrize("suite", SUITES)
def test_false_abstentions_stay_at_most_the_measured_count(suite_runs, suite):
    false_abstentions = [q["id"] for q in suite_runs(suite)["questions"] if q["status"] == "false_abstention"]
    assert len(false_abstentions) <= THRESHOLDS[suite]["max_false_abstentions"], false_abstentions


def test_every_answerable_question_is_scored_for_retrieval(suite_run):
    m = suite_run["metrics"]
    assert m["errors"] == 0
    assert suite_run["retrieval"]["hybrid"]["n"] == m["answerable"] >= 50
    assert set(suite_run["retrieval"]) == {"hybrid"}  # baselines off in the gate


def test_report_keeps_every_question_outcome(suite_run):
    outcomes = suite_run["questions"]
    assert len(outcomes) == suite_run["metrics"]["questions"]
    for o in outcomes:
        assert o["status"] in ("correct", "wrong", "false_abstention", "abstained", "answered_unanswerable")
        if o["answerable"]:
            assert "hybrid" in o["ranks"] and o["timings"]["retrieve_ms"] >= 0
