"""Metrics: each definition of rag/metrics.txt computed from the rows of real filings (FinanceBench dev:
Amazon's, General Mills's, Johnson & Johnson's and Corning's statements as the PDF loader reads them), each
operand cited; the labels filings use for a line item; a metric the filing states is read, not recomputed."""

import json

import pytest

from rag.calculate import read_rows
from rag.metrics import MetricCalculator, Metrics, MetricsError, load_metrics
from rag.types import Hit
from tests.conftest import make_settings

# GENERALMILLS_2020_10K page 50 (balance sheet) and page 52 (cash flows), lines as loaded.
GIS_BALANCE = ("Consolidated Balance Sheets\nGENERAL MILLS, INC. AND SUBSIDIARIES\n(In Millions, Except Par Value)\n"
               "May 31, 2020 May 26, 2019\nASSETS\nCurrent assets:\nCash and cash equivalents $ 1,677.8 $ 450.0\n"
               "Inventories 1,426.3 1,559.3\nTotal current assets 5,121.3 4,186.5\n"
               "Land, buildings, and equipment 3,580.6 3,787.2\nTotal assets $ 30,806.7 $ 30,111.2\n"
               "Accounts payable $ 3,247.7 $ 2,854.1\nTotal current liabilities 7,491.5 7,087.1\n"
               "Total equity 8,349.5 7,367.7")
GIS_CASH_FLOWS = ("Consolidated Statements of Cash Flows\n(In Millions)\nFiscal Year\n2020 2019 2018\n"
                  "Net cash provided by operating activities 3,676.2 2,807.0 2,841.0\n"
                  "Purchases of land, buildings, and equipment (460.8) (537.6) (622.7)")
# JOHNSON_JOHNSON_2022_10K pages 46 and 47.
JNJ_BALANCE = ("CONSOLIDATED BALANCE SHEETS\n(Dollars in Millions Except Share and Per Share Amounts) (Note 1)\n"
               "2022 2021\nInventories (Notes 1 and 3) 12,483 10,387\nTotal current assets 55,294 60,979\n"
               "Property, plant and equipment, net (Notes 1 and 4) 19,803 18,962\nTotal assets $ 187,378 182,018")
JNJ_EARNINGS = ("CONSOLIDATED STATEMENTS OF EARNINGS\n(Dollars and Shares in Millions Except Per Share Amounts) "
                "(Note 1)\n2022 2021 2020\nSales to customers $ 94,943 93,775 82,584\n"
                "Cost of products sold 31,089 29,855 28,427\nGross profit 63,854 63,920 54,157\n"
                "Earnings before provision for taxes on income 21,725 22,776 16,497\n"
                "Provision for taxes on income (Note 8) 3,784 1,898 1,783\nNet earnings $ 17,941 20,878 14,714")
# AMAZON_2017_10K pages 38 and 40.
AMZN_OPERATIONS = ("CONSOLIDATED STATEMENTS OF OPERATIONS\n(in millions, except per share data)\nYear Ended December 31,\n"
                   "2015 2016 2017\nTotal net sales 107,006 135,987 177,866\nOperating income 2,233 4,186 4,106\n"
                   "Interest expense (459) (484) (848)\nNet income $ 596 $ 2,371 $ 3,033")
AMZN_BALANCE = ("CONSOLIDATED BALANCE SHEETS\n(in millions, except per share data)\nDecember 31,\n2016 2017\n"
                "Total assets $ 83,402 $ 131,310\nTotal stockholders’ equity 19,285 27,709")
# CORNING_2022_10K page 24: selected highlights, with a change column after the years.
GLW_HIGHLIGHTS = ("The following table presents selected highlights from our operations (in millions):\n"
                  "Year ended December 31, % change\n2022 2021 22 vs. 21\nNet sales $ 14,189 $ 14,082 1%\n"
                  "Income before income taxes $ 1,797 $ 2,426 (26%)\nProvision for income taxes $ (411) $ (491) 16%\n"
                  "Effective tax rate 23% 20%")


def hit(text: str, rank: int = 1, doc_id: str = "filing.pdf") -> Hit:
    return Hit(rank=rank, chunk_id=f"{doc_id}#{rank}", doc_id=doc_id, title=doc_id, source=doc_id, page=50,
               start=0, end=len(text), text=text, score=1.0, relevance=0.6)


@pytest.fixture(scope="module")
def metrics():
    return MetricCalculator()


@pytest.mark.parametrize(("question", "pages", "answer"), [
    ("What is General Mills's FY2020 working capital ratio?", [GIS_BALANCE], "0.68 = 5,121.3 / 7,491.5"),
    ("What was the current ratio in fiscal 2019?", [GIS_BALANCE], "0.59 = 4,186.5 / 7,087.1"),
    # FinanceBench asks, then defines: the definition's "total current assets" asks for no sum.
    ("What is the FY2020 working capital ratio? Define working capital ratio as total current assets divided by "
     "total current liabilities. Round your answer to two decimal places.", [GIS_BALANCE], "0.68 = 5,121.3 / 7,491.5"),
    ("What was working capital at the end of FY2020?", [GIS_BALANCE], "-2,370.2 = 5,121.3 - 7,491.5"),
    ("What is the FY2020 free cash flow?", [GIS_CASH_FLOWS], "3,215.4 = 3,676.2 - |(460.8)|"),
    ("What was the gross margin in 2022?", [JNJ_EARNINGS], "67.26% = 63,854 / 94,943 * 100"),
    ("What was the net profit margin in 2022?", [JNJ_EARNINGS], "18.90% = 17,941 / 94,943 * 100"),
    ("What was the effective tax rate in 2021?", [JNJ_EARNINGS], "8.33% = 1,898 / 22,776 * 100"),
    ("What was the inventory turnover ratio for FY2022?", [JNJ_EARNINGS, JNJ_BALANCE],
     "2.72 = 31,089 / ((12,483 + 10,387) / 2)"),
    ("What was the fixed asset turnover in 2022?", [JNJ_EARNINGS, JNJ_BALANCE],
     "4.90 = 94,943 / ((19,803 + 18,962) / 2)"),
    ("What was the operating margin in 2017?", [AMZN_OPERATIONS], "2.31% = 4,106 / 177,866 * 100"),
    ("What was the interest coverage ratio in 2017?", [AMZN_OPERATIONS], "4.84 = 4,106 / |(848)|"),
    ("What was the asset turnover in 2017?", [AMZN_OPERATIONS, AMZN_BALANCE],
     "1.66 = 177,866 / ((131,310 + 83,402) / 2)"),
    ("What was the return on assets (ROA) in 2017?", [AMZN_OPERATIONS, AMZN_BALANCE],
     "2.83% = 3,033 / ((131,310 + 83,402) / 2) * 100"),
    ("What was the return on equity in 2017?", [AMZN_OPERATIONS, AMZN_BALANCE],
     "12.91% = 3,033 / ((27,709 + 19,285) / 2) * 100"),
])
def test_each_metric_is_computed_from_a_real_filing_s_rows_and_every_operand_cited(metrics, question, pages, answer):
    hits = [hit(text, rank, f"page{rank}") for rank, text in enumerate(pages, start=1)]
    request = metrics.request(question)
    draft = metrics.answer(request, hits, "extractive", rows_of=read_rows)
    assert not draft.abstained, draft.warnings
    assert draft.text.startswith(answer)
    # Every row read is cited once, with its exact text.
    assert draft.citations and all(c.text in "\n".join(pages) for c in draft.citations)
    assert all(f"[{c.n}]" in draft.text for c in draft.citations)


def test_a_metric_the_filing_states_is_read_and_its_change_is_in_points(metrics):
    request = metrics.request("How much has the effective tax rate changed between FY2021 and FY2022?")
    assert (request.year, request.previous) == ("2022", "2021")
    draft = metrics.answer(request, [hit(GLW_HIGHLIGHTS)], "extractive", rows_of=read_rows)
    assert draft.text.startswith("3.00 percentage points = 23% - 20%")
    assert draft.citations[0].text == "Effective tax rate 23% 20%"


@pytest.mark.parametrize(("question", "pages", "answer"), [
    ("Does General Mills have positive working capital based on FY2020 data?", [GIS_BALANCE],
     "No: working capital in 2020 is -2,370.2. -2,370.2 = 5,121.3 - 7,491.5"),
    ("Does Johnson & Johnson have an improving gross margin as of FY2022?", [JNJ_EARNINGS],
     "No: gross margin fell from 68.16% in 2021 to 67.26% in 2022."),
    ("Is the gross margin declining in FY2022?", [JNJ_EARNINGS], "Yes: gross margin fell from 68.16%"),
])
def test_a_yes_no_judgement_of_a_metric_answers_yes_or_no_first_from_the_figures(metrics, question, pages, answer):
    judgement = metrics.judgement(question)
    draft = metrics.judge(judgement, [hit(text, rank) for rank, text in enumerate(pages, 1)], "extractive",
                          rows_of=read_rows)
    assert draft.text.startswith(answer), draft.text
    assert draft.citations


@pytest.mark.parametrize("question", [
    "Has the quick ratio improved or declined between FY2023 and FY2022?",  # which way, not whether
    "Does the company have positive free cash flow?",  # no year
    "Is the company capital-intensive in FY2022?",  # no metric named
])
def test_a_question_that_is_no_judgement_of_one_metric_in_one_year_is_not_judged(metrics, question):
    assert metrics.judgement(question) is None


def test_a_line_item_missing_from_the_passages_is_searched_for_in_the_same_filing(metrics):
    searched = []

    def search(query: str, best: Hit) -> list[Hit]:
        searched.append(query)
        return [hit(GIS_BALANCE, 2, "balance")] if "liabilities" in query else []

    only_assets = GIS_BALANCE.replace("Total current liabilities 7,491.5 7,087.1\n", "")
    draft = metrics.answer(metrics.request("What is the FY2020 current ratio?"), [hit(only_assets)], "extractive",
                           search=search, rows_of=read_rows)
    assert draft.text.startswith("0.68 = 5,121.3 / 7,491.5")
    assert searched == ["total current liabilities 2020"]


def test_a_missing_line_item_is_an_abstention_naming_it(metrics):
    draft = metrics.answer(metrics.request("What is the FY2020 current ratio?"), [hit(GIS_CASH_FLOWS)],
                           "extractive", rows_of=read_rows)
    assert draft.abstained and "total current assets (2020)" in draft.warnings[0]


@pytest.mark.parametrize("question", [
    "Does the company have an improving gross margin profile as of FY2023?",  # yes/no: a judgement
    "What drove the gross margin change in FY2022?",  # a cause
    "What was the gross margin?",  # no year
    "What is the 2019 average free cash flow?",  # an average of the metric over two years: a calculation
    "In 2019, why did the gross margin decrease?",  # a cause, asked after the year
    "What was the increase in free cash flow from 2018 to 2019 driven by?",  # the cause of a change
])
def test_questions_that_ask_no_metric_figure_are_left_to_the_readers(metrics, question):
    assert metrics.request(question) is None


def test_every_metric_and_line_item_in_the_packaged_file_is_shown_above():
    shown = {"current ratio", "working capital", "free cash flow", "gross margin", "net profit margin",
             "effective tax rate", "inventory turnover", "fixed asset turnover", "operating margin",
             "interest coverage", "asset turnover", "return on assets", "return on equity"}
    assert {m.names[0] for m in load_metrics().metrics} == shown


def test_a_malformed_metrics_file_names_its_line():
    with pytest.raises(MetricsError, match="m.txt:2"):
        Metrics.parse("item: revenue = net sales\nmetric: margin = revenue / ebitda\n", "m.txt")
    with pytest.raises(MetricsError, match="m.txt:1"):
        Metrics.parse("ratio = a / b\n", "m.txt")


def test_a_metric_through_the_assistant_reads_two_statements_of_one_filing(tmp_path):
    from rag.assistant import Assistant

    corpus = tmp_path / "gis.jsonl"
    corpus.write_text("".join(json.dumps(r) + "\n" for r in [
        {"doc_id": "gis-balance", "title": "General Mills 2020 10-K, balance sheet", "text": GIS_BALANCE},
        {"doc_id": "gis-cash", "title": "General Mills 2020 10-K, cash flows", "text": GIS_CASH_FLOWS}]),
        encoding="utf-8")
    assistant = Assistant.from_settings(make_settings(tmp_path / "home"))
    assistant.ingest([corpus])
    answer = assistant.ask("What is General Mills's FY2020 free cash flow?", answerer="extractive")
    assert answer.text.startswith("3,215.4 = 3,676.2 - |(460.8)|"), answer.warnings
    assert {c.doc_id for c in answer.citations} == {"gis-cash"}
    answer = assistant.ask("What is General Mills's working capital ratio for FY2020?", answerer="extractive")
    assert answer.text.startswith("0.68 = 5,121.3 / 7,491.5"), answer.warnings


def test_a_statement_cut_into_chunks_takes_its_years_from_the_column_line_above(tmp_path):
    from rag.assistant import Assistant

    # Amazon's 2017 10-K statement of operations, padded with further rows of the same statement as filed
    # often run, so that its last rows fall in a chunk below the column line.
    rows = "\n".join(f"Other operating item {n} {100 + n} {200 + n} {300 + n}" for n in range(40))
    text = AMZN_OPERATIONS.replace("Total net sales", rows + "\nTotal net sales")
    corpus = tmp_path / "amzn.jsonl"
    corpus.write_text(json.dumps({"doc_id": "amzn", "title": "Amazon 2017 10-K, statement of operations",
                                  "text": text}) + "\n", encoding="utf-8")
    assistant = Assistant.from_settings(make_settings(tmp_path / "home"))
    assistant.ingest([corpus])
    row_hits = [h for h in assistant.search("Amazon operating margin 2017 total net sales operating income")
                if "Operating income 2,233" in h.text]
    assert row_hits and "2015 2016 2017" not in row_hits[0].text and not row_hits[0].context
    answer = assistant.ask("What was Amazon's operating margin in 2017?", answerer="extractive")
    assert answer.text.startswith("2.31% = 4,106 / 177,866 * 100"), answer.warnings
