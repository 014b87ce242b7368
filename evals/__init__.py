"""Evaluation: the Guosen Q&A suite (evals/run.py), the TAT-QA dev retrieval benchmark (evals/tatqa.py), the
baselines they are compared with (evals/baselines.py) and the reports (evals/report.py).

`rag eval` is the front end; tests/evals/ holds the CI gate over evals/thresholds.json.
"""
