"""Calculations: a question for a derived figure is read into an operation, periods and a line item; the item's
table row is found among the retrieved passages; the figure is computed by code and every operand cited.

Every table here is from a real annual report or filing (TAT-QA dev, FinanceBench dev), never from the sample
broker report; the questions are written for these tests."""

import json

import pytest

from rag.calculate import (
    Calculations,
    CalculationsError,
    Calculator,
    load_calculations,
    parse_figure,
    read_request,
    read_rows,
)
from rag.types import Hit
from tests.conftest import make_settings

# TAT-QA dev, context 3ffd9053 (an annual report's net sales by contract type, in millions).
SALES_BY_CONTRACT = ("Table: Years Ended September 30, | columns: 2019; 2018; 2017\n"
                     "Fixed Price | 2019: $ 1,452.4; 2018: $ 1,146.2; 2017: $ 1,036.9\n"
                     "Other | 2019: 44.1; 2018: 56.7; 2017: 70.8\n"
                     "Total sales | 2019: $1,496.5; 2018: $1,202.9; 2017: $1,107.7")
# FinanceBench dev, AMAZON_2017_10K page 38: the statement of operations as the PDF loader reads it.
AMAZON_OPERATIONS = ("CONSOLIDATED STATEMENTS OF OPERATIONS\n(in millions, except per share data)\n"
                     "Year Ended December 31,\n2015 2016 2017\n"
                     "Net product sales $ 79,268 $ 94,665 $ 118,573\n"
                     "Net service sales 27,738 41,322 59,293\n"
                     "Total net sales 107,006 135,987 177,866\n"
                     "Cost of sales 71,651 88,265 111,934\n"
                     "Interest expense (459) (484) (848)")


def hit(text: str, rank: int = 1, context: str = "", doc_id: str = "report.pdf") -> Hit:
    return Hit(rank=rank, chunk_id=f"{doc_id}#{rank}", doc_id=doc_id, title=doc_id, source=doc_id, page=38,
               start=1000, end=1000 + len(text), text=text, score=1.0, relevance=0.6, context=context)


@pytest.fixture(scope="module")
def calculator():
    return Calculator()


@pytest.mark.parametrize(("written", "value"), [
    ("(1,234)", -1234.0), ("$ 1,452.4", 1452.4), ("41.2%", 41.2), ("-2,085", -2085.0), ("(3.1)%", -3.1),
    ("—", None), ("n/a", None), ("", None),
])
def test_figures_are_read_as_reports_write_them(written, value):
    assert parse_figure(written) == value


@pytest.mark.parametrize(("question", "operation", "periods", "item"), [
    ("By how much did Other sales change between 2018 and 2019?", "change", ("2018", "2019"), ("other", "sale")),
    ("What was the percentage change in total sales from fiscal 2018 to fiscal 2019?", "percent change",
     ("2018", "2019"), ("total", "sale")),
    ("What were the average Fixed Price sales in 2017, 2018 and 2019?", "average", ("2017", "2018", "2019"),
     ("fixed", "pric", "sale")),
    ("What were Other sales altogether over FY2018 and FY2019?", "total", ("2018", "2019"), ("other", "sale")),
    # "change" is the longer phrase: the line item is "total sales", not a sum.
    ("What was the change in total sales in 2019 from 2018?", "change", ("2019", "2018"), ("total", "sale")),
    ("What were average total sales for 2017,2018 and 2019?", "average", ("2017", "2018", "2019"), ("total", "sale")),
    ("What is the ratio of Fixed Price sales in 2019 to 2018?", "ratio", ("2019", "2018"), ("fixed", "pric", "sale")),
])
def test_each_operation_is_read_from_the_question(question, operation, periods, item):
    request = read_request(question, load_calculations())
    assert (request.operation, request.periods, request.item) == (operation, periods, item)


@pytest.mark.parametrize("question", [
    "What were total sales in 2019?",  # one period: a figure to read, not to compute
    "What was the change in revenue in Q3 2019 from Q2 2019?",  # quarters are no column years here
    "Why did Other sales decrease?",
    # One year's increase is a stated figure (a forecast), and an average selling price is a price.
    "What is the expected increase in revenue in 2024?",
    "What average selling price did the company report for 2022 and 2023?",
    "How is the average selling price per unit calculated for 2022 and 2023?",
    # FinanceBench dev kinds: a cause, and a yes/no question, are not figures to compute.
    "What drove the increase in merchandise inventories from 2022 to 2023?",
    "Did wages expense as a percent of net sales increase or decrease from 2022 to 2023?",
])
def test_a_question_that_asks_for_no_calculation_is_left_to_the_readers(question):
    assert read_request(question, load_calculations()) is None


@pytest.mark.parametrize(("question", "answer"), [
    ("By how much did Other sales change between 2018 and 2019?", "-12.6 = 44.1 - 56.7"),
    # The later year less the earlier, whatever order the question names them in.
    ("What is the change in Other sales from 2019 to 2018?", "-12.6 = 44.1 - 56.7"),
    ("What was the percentage change in total sales from 2018 to 2019?", "24.41% = (1,496.5 - 1,202.9) / 1,202.9"),
    ("What were the average Fixed Price sales in 2018 and 2019?", "1,299.30 = (1,146.2 + 1,452.4) / 2"),
    ("What were Other sales altogether over 2017 and 2018?", "127.5 = 70.8 + 56.7"),
    ("What is the ratio of Fixed Price sales in 2019 to 2018?", "1.27 = 1,452.4 / 1,146.2"),
    # A difference is taken in the order the question names the years.
    ("What is the difference in Other sales between 2018 and 2019?", "12.6 = 56.7 - 44.1"),
    # One year's average is over its opening and closing figures.
    ("What was the 2018 average of Other sales?", "63.75 = (70.8 + 56.7) / 2"),
    # No year named: the average of every year the row gives.
    ("What were average Other sales?", "57.20 = (70.8 + 56.7 + 44.1) / 3"),
])
def test_the_answer_is_the_figure_then_its_calculation_citing_the_row(calculator, question, answer):
    passage = hit(SALES_BY_CONTRACT)
    draft = calculator.answer(calculator.request(question), [passage], "extractive")
    assert not draft.abstained
    assert draft.text.startswith(answer)
    assert draft.text.endswith("[1])")
    (cited,) = draft.citations
    row = cited.text.split(" | ")[0]
    assert row in draft.text and cited.text in SALES_BY_CONTRACT and cited.start >= passage.start


def test_a_pdf_row_takes_its_years_from_the_column_line_and_brackets_are_negative(calculator):
    passage = hit(AMAZON_OPERATIONS)
    rows = {r.label: r.cells for r in read_rows(passage)}
    assert rows["Cost of sales"] == {"2015": [("2015", "71,651")], "2016": [("2016", "88,265")],
                                     "2017": [("2017", "111,934")]}
    assert rows["Net product sales"]["2017"] == [("2017", "118,573")]
    draft = calculator.answer(calculator.request("What was the change in interest expense from 2016 to 2017?"),
                              [passage], "extractive")
    assert draft.text.startswith("-364 million = (848) - (484)")
    draft = calculator.answer(calculator.request(
        "What was the year-over-year percentage change in total net sales from 2016 to 2017? Round to one "
        "decimal place."), [passage], "extractive")
    assert draft.text.startswith("30.8% = (177,866 - 135,987) / 135,987")
    # Revenue is "Total net sales" here; "Cost of sales" says "sales" too, but is a cost.
    draft = calculator.answer(calculator.request(
        "What is the year-over-year change in revenue from FY2016 to FY2017 (in units of percents and round to one "
        "decimal place)?"), [passage], "extractive")
    assert draft.text.startswith("30.8% = (177,866 - 135,987) / 135,987")


def test_a_passage_cut_inside_a_table_takes_its_years_from_the_table_header(calculator):
    # The chunk starts below the column line; the chunker keeps the header as the passage's context.
    passage = hit("Net service sales 27,738 41,322 59,293\nCost of sales 71,651 88,265 111,934",
                  context="Table: CONSOLIDATED STATEMENTS OF OPERATIONS\nYear Ended December 31, 2015 2016 2017")
    draft = calculator.answer(calculator.request("What was the average cost of sales in 2016 and 2017?"),
                              [passage], "extractive")
    assert draft.text.startswith("100,099.50 = (88,265 + 111,934) / 2")


def test_a_year_with_an_amount_and_a_share_column_takes_the_one_the_question_asks_for(calculator):
    # TAT-QA dev: a software company's cost of revenue, each year as an amount and as a share of revenue.
    table = ("Table: Fiscal years ended July 31, | columns: 2019 Amount; 2019 % of total revenue; 2018 Amount; "
             "2018 % of total revenue\n(In thousands, except percentages)\nCost of revenue:\n"
             "Services | 2019 Amount: 243,053; 2019 % of total revenue: 34; 2018 Amount: 246,548; "
             "2018 % of total revenue: 38")
    draft = calculator.answer(calculator.request("What was the average cost of Services in 2018 and 2019?"),
                              [hit(table)], "extractive")
    assert draft.text.startswith("244,800.50 thousand = (246,548 + 243,053) / 2")
    # "total revenue" names the amount row "Total cost of revenue", not the column "% of total revenue".
    total = table + ("\nTotal cost of revenue | 2019 Amount: $ 324,350; 2019 % of total revenue: 45%; "
                     "2018 Amount: 296,783; 2018 % of total revenue: 45%")
    draft = calculator.answer(calculator.request("What is the average total cost of revenue for 2018 and 2019?"),
                              [hit(total)], "extractive")
    assert draft.text.startswith("310,566.50 thousand = (296,783 + 324,350) / 2")
    draft = calculator.answer(calculator.request(
        "What was the change in Services as a % of total revenue between 2018 and 2019?"), [hit(table)], "extractive")
    assert draft.text.startswith("-4 percentage points = 34 - 38")


def test_an_owner_named_by_a_possessive_is_not_required_of_the_row_and_spaced_years_are_years(calculator):
    # TAT-QA dev: a joint venture's balance sheet, and a tax note whose PDF spaced out the year's digits.
    table = "Table: Balance sheet | columns: 2019; 2018\nTotal assets | 2019: $2,664; 2018: $3,025"
    draft = calculator.answer(calculator.request("What is the change of IMFT’s total assets from 2018 to 2019?"),
                              [hit(table)], "extractive")
    assert draft.text.startswith("-361 = 2,664 - 3,025")
    spaced = "Net deferred tax asset | 2019: 795; 2 0 1 8: 772"
    draft = calculator.answer(calculator.request("What is the change in the net deferred tax asset from 2018 to "
                                                 "2019?"), [hit(spaced)], "extractive")
    assert draft.text.startswith("23 = 795 - 772")


def test_a_share_column_is_the_one_whose_words_the_question_says_most(calculator):
    # TAT-QA dev: net sales by region, each year as an amount and as a % of total.
    table = ("APAC | Fiscal Year 2018 Net Sales: $479,987; Fiscal Year 2018 % of Total: 40.0%; "
             "Fiscal Year 2017 Net Sales: $288,764; Fiscal Year 2017 % of Total: 38.1%")
    draft = calculator.answer(calculator.request(
        "What was the change in the percent of total sales from APAC between 2017 and 2018?"), [hit(table)],
        "extractive")
    assert draft.text.startswith("1.9 percentage points = 40.0% - 38.1%")
    draft = calculator.answer(calculator.request("What was the change in net sales from APAC between 2017 and 2018?"),
                              [hit(table)], "extractive")
    assert draft.text.startswith("191,223 = 479,987 - 288,764")


def test_an_average_over_a_range_of_years_takes_every_year(calculator):
    draft = calculator.answer(calculator.request("What were average Other sales from 2017 to 2019?"),
                              [hit(SALES_BY_CONTRACT)], "extractive")
    assert draft.text.startswith("57.20 = (70.8 + 56.7 + 44.1) / 3")


def test_a_missing_row_or_period_is_an_abstention_naming_it(calculator):
    draft = calculator.answer(calculator.request("What was the change in deferred revenue from 2018 to 2019?"),
                              [hit(SALES_BY_CONTRACT)], "extractive")
    assert draft.abstained and "deferr" in draft.warnings[0] and "2018 and 2019" in draft.warnings[0]
    # The table has no 2016 column: a figure is never taken from a neighbouring year.
    draft = calculator.answer(calculator.request("What was the change in Other sales from 2016 to 2017?"),
                              [hit(SALES_BY_CONTRACT)], "extractive")
    assert draft.abstained


def test_the_row_naming_the_item_with_fewest_other_words_wins_over_a_higher_ranked_passage(calculator):
    # TAT-QA dev: another report's statement of operations ranks first, with a row that names more than "Other".
    other_table = ("Table: Statements of operations | columns: 2019; 2018\n"
                   "Other income (expense), net | 2019: 12.0; 2018: 10.0")
    draft = calculator.answer(calculator.request("What was the change in Other from 2018 to 2019?"),
                              [hit(other_table, rank=1, doc_id="a.pdf"), hit(SALES_BY_CONTRACT, rank=2)],
                              "extractive")
    assert draft.text.startswith("-12.6 = 44.1 - 56.7")


@pytest.mark.parametrize(("text", "row"), [
    ("Other | 2019: 44.1; 2018: 56.7; 2017: 70.8", True),
    ("Cost of sales 71,651 88,265 111,934", True),
    ("Net sales increased 31% in 2017, compared to 2016.", False),
    ("We expect capital expenditures of about $1.2 billion in 2024.", False),
])
def test_a_quoted_table_row_is_told_from_a_sentence(text, row):
    from rag.calculate import is_table_row

    assert is_table_row(text) is row


def test_the_operation_is_read_from_the_sentence_that_asks():
    # FinanceBench dev asks in one sentence and says how to answer in the next.
    request = read_request("What is the year-over-year change in total net sales from FY2016 to FY2017 (in "
                           "units of percents)? Round to one decimal place. Use the income statement.",
                           load_calculations())
    assert request.operation == "percent change" and request.periods == ("2016", "2017")
    assert request.item == ("year", "total", "net", "sale") and request.decimals == 1


def test_a_sentence_naming_every_year_may_state_what_no_row_gives(tmp_path):
    from rag.calculate import names_periods

    # FinanceBench dev, Amazon's 2017 10-K (MD&A): a change stated in words, with both years.
    assert names_periods("Net sales increased 31% in 2017, compared to 2016.", ("2016", "2017"))
    assert not names_periods("Net sales increased 31% in 2017.", ("2016", "2017"))


@pytest.mark.parametrize(("question", "answer"), [
    ("What were Other sales as a percentage of total sales in 2019?", "2.95% = 44.1 / 1,496.5 * 100"),
    ("What is the ratio of Fixed Price sales to Other sales in 2018?", "20.22 = 1,146.2 / 56.7"),
    ("What is the difference between Fixed Price and Other sales in 2017?", "966.1 = 1,036.9 - 70.8"),
    ("What was the sum of Fixed Price sales and Other sales in 2019?", "1,496.5 = 1,452.4 + 44.1"),
])
def test_two_line_items_of_one_year_are_combined_and_both_rows_cited(calculator, question, answer):
    draft = calculator.answer_pair(calculator.pair_request(question), [hit(SALES_BY_CONTRACT)], "extractive")
    assert draft.text.startswith(answer), draft.text
    assert len(draft.citations) == 2 and "[2]" in draft.text


def test_two_line_items_come_from_one_document(calculator):
    # TAT-QA dev: another report's table holds "Other" alone; the share of total sales is not taken across them.
    other = hit("Table: Other income | columns: 2019; 2018\nOther | 2019: 5.0; 2018: 4.0", rank=1, doc_id="b.pdf")
    totals = hit("Table: Sales | columns: 2019; 2018\nTotal sales | 2019: $1,496.5; 2018: $1,202.9", rank=2)
    draft = calculator.answer_pair(calculator.pair_request("What were Other sales as a percentage of total sales "
                                                           "in 2019?"), [other, totals], "extractive")
    assert draft.abstained


def test_rows_of_two_documents_that_fit_alike_and_disagree_are_an_abstention(calculator):
    # TAT-QA dev contexts name no company: two reports' "Other" rows fit "the change in Other" alike.
    first = hit(SALES_BY_CONTRACT, rank=1, doc_id="a.pdf")
    second = hit("Table: Years Ended December 31, | columns: 2019; 2018\nOther | 2019: 12.0; 2018: 10.0", rank=2,
                 doc_id="b.pdf")
    draft = calculator.answer(calculator.request("What was the change in Other from 2018 to 2019?"),
                              [first, second], "extractive")
    assert draft.abstained and "two documents" in draft.warnings[0]
    # The same figures twice (a report quoted in another) are no disagreement.
    draft = calculator.answer(calculator.request("What was the change in Other from 2018 to 2019?"),
                              [first, hit(SALES_BY_CONTRACT, rank=2, doc_id="copy.pdf")], "extractive")
    assert draft.text.startswith("-12.6 = 44.1 - 56.7")


def test_a_row_whose_label_is_mostly_words_the_question_does_not_say_is_another_line_item(calculator):
    # TAT-QA dev: "Software and other services revenue" is not "Other".
    table = "Table: Revenue | columns: 2019; 2018\nSoftware and other services revenue | 2019: 3,788; 2018: 5,073"
    draft = calculator.answer(calculator.request("What was the change in Other from 2018 to 2019?"), [hit(table)],
                              "extractive")
    assert draft.abstained


def test_a_malformed_calculations_file_names_its_line():
    with pytest.raises(CalculationsError, match="f.txt:2"):
        Calculations.parse("change: change\nmedian: median\n", "f.txt")
    with pytest.raises(CalculationsError, match="no phrase"):
        Calculations.parse("average:\n", "f.txt")


def test_every_operation_in_the_packaged_file_has_phrases():
    phrases = load_calculations().phrases
    assert {name for _, name in phrases} == {"change", "percent change", "difference", "average", "total", "ratio",
                                             "share"}
    # Longest first: "percentage change" is found before "change".
    assert [p for p, _ in phrases].index("percentage change") < [p for p, _ in phrases].index("change")


def test_a_computed_answer_through_the_assistant_cites_the_row_it_read(tmp_path):
    from rag.assistant import Assistant

    corpus = tmp_path / "tables.jsonl"
    corpus.write_text(json.dumps({"doc_id": "contracts", "title": "Annual report 2019: sales by contract type",
                                  "text": "The table below presents total net sales disaggregated by contract type "
                                          "(in millions):\n" + SALES_BY_CONTRACT}) + "\n", encoding="utf-8")
    assistant = Assistant.from_settings(make_settings(tmp_path / "home"))
    assistant.ingest([corpus])
    answer = assistant.ask("What was the percentage change in Fixed Price sales from 2018 to 2019?",
                           answerer="extractive")
    assert not answer.abstained
    assert answer.text.startswith("26.71% = (1,452.4 - 1,146.2) / 1,146.2")
    assert answer.citations[0].text.startswith("Fixed Price | 2019: $ 1,452.4")
    assert answer.citations[0].doc_id == "contracts"


def test_a_sentence_stands_for_a_calculation_only_if_it_states_the_operation(tmp_path):
    from rag.assistant import Assistant

    # TAT-QA dev: a change stated in words stands; a sentence giving one year's figure does not answer a change.
    corpus = tmp_path / "notes.jsonl"
    corpus.write_text("".join(json.dumps(r) + "\n" for r in [
        {"doc_id": "ops", "title": "Annual report 2019, liquidity",
         "text": "Net cash provided by operating activities increased $224 million for fiscal 2019 compared to "
                 "fiscal 2018, mainly due to higher earnings."},
        {"doc_id": "psu", "title": "Annual report 2019, share-based compensation",
         "text": "In April 2019, we granted 346,453 PSUs with certain financial targets."}]), encoding="utf-8")
    assistant = Assistant.from_settings(make_settings(tmp_path / "home"))
    assistant.ingest([corpus])
    stated = assistant.ask("What was the change in net cash provided by operating activities from 2018 to 2019?",
                           answerer="extractive")
    assert not stated.abstained and "$224 million" in stated.text
    one_year = assistant.ask("What was the average number of PSUs granted in 2018 and 2019?", answerer="extractive")
    assert one_year.abstained, one_year.text


def test_a_yes_no_question_is_never_answered_by_a_bare_quote(tmp_path):
    from rag.assistant import Assistant

    # FinanceBench dev: Best Buy's 10-Q (Q2 FY2024) and Johnson & Johnson's 10-K (2022), sentences as filed.
    corpus = tmp_path / "filings.jsonl"
    corpus.write_text("".join(json.dumps(r) + "\n" for r in [
        {"doc_id": "bby-10q", "title": "Best Buy 10-Q, Q2 FY2024",
         "text": "The decrease in cash and cash equivalents from January 28, 2023, was primarily due to the timing "
                 "and volume of inventory purchases and payments, dividend payments and capital expenditures, "
                 "partially offset by earnings."},
        {"doc_id": "jnj-10k", "title": "Johnson & Johnson 2022 10-K",
         "text": "Research and development expense by segment of business was as follows: total research and "
                 "development expense was $14.6 billion in 2022 and $14.7 billion in 2021."}]), encoding="utf-8")
    assistant = Assistant.from_settings(make_settings(tmp_path / "home"))
    assistant.ingest([corpus])
    for question in ("Was there any drop in cash and cash equivalents between FY2023 and Q2 of FY2024?",
                     "Did Johnson & Johnson's research and development expense decline in 2022?"):
        answer = assistant.ask(question, answerer="extractive")
        assert answer.abstained or answer.text.split()[0].rstrip(":,.") in ("Yes", "No"), answer.text
        assert answer.abstained, answer.text  # the extractive reader quotes; it cannot say yes or no
        assert any("yes/no" in w for w in answer.warnings), answer.warnings


def test_a_company_s_other_name_in_parentheses_is_whose_line_item_not_its_words():
    """A renamed company asked about by both names (as TAT-QA dev's Sealed Air report names "Automated Packaging
    Systems, LLC, formerly Automated Packaging Systems, Inc."): the old name is an owner, not part of the item."""
    request = read_request("What was the percentage change in net sales from 2018 to 2019 for Sealed Air "
                           "(formerly known as Cryovac)?", load_calculations())
    assert request.item == ("net", "sale", "seal", "air") and "cryovac" in request.owners
    plain = read_request("What was the percentage change in net sales (excluding currency) from 2018 to 2019?",
                         load_calculations())
    assert "currency" in plain.item  # a parenthetical that is not another name stays


def test_a_label_one_table_gives_twice_with_different_figures_is_an_abstention(calculator):
    """TAT-QA dev (context c957de22): "Granted" is a row under RSUs and again under PSUs; the first one is not
    the answer to a question about the second."""
    table = hit("Table: ($ in millions); For the year ended December 31: | columns: 2019; 2018; 2017\nRSUs\n"
                "Granted | 2019: $674; 2018: $583; 2017: $484\nVested | 2019: 428; 2018: 381; 2017: 463\nPSUs\n"
                "Granted | 2019: $164; 2018: $118; 2017: $113\nVested | 2019: 118; 2018: 101; 2017: 51")
    draft = calculator.answer(calculator.request("What is the percentage change in PSUs granted from 2018 to 2019?"),
                              [table], "extractive")
    assert draft.abstained and "two rows 'Granted'" in draft.warnings[0], draft.text
    # The first "Granted" is no safer an answer for RSUs: the label alone does not say which table part it is.
    draft = calculator.answer(calculator.request("What is the change in RSUs granted from 2018 to 2019?"),
                              [table], "extractive")
    assert draft.abstained, draft.text


def test_a_computed_answer_carries_its_calculation_to_the_batch_table(tmp_path):
    """The answer, the API's JSON and a batch file's "calculation" column all hold the calculation with its
    operands (TAT-QA dev, context 3ffd9053); a quoted answer leaves the column empty."""
    from rag.assistant import Assistant
    from rag.batch import table_rows

    corpus = tmp_path / "sales.jsonl"
    corpus.write_text(json.dumps({"doc_id": "sales", "title": "Net sales by contract type",
                                  "text": SALES_BY_CONTRACT}) + "\n", encoding="utf-8")
    assistant = Assistant.from_settings(make_settings(tmp_path / "home"))
    assistant.ingest([corpus])
    answer = assistant.ask("What was the change in Other from 2018 to 2019?", answerer="extractive")
    assert answer.calculation.startswith("-12.6 = 44.1 - 56.7") and answer.to_dict()["calculation"] == answer.calculation
    header, rows = table_rows([{**answer.to_dict(), "id": "q1"}, {"id": "q2", "question": "Who?", "answer": "x"}])
    assert rows[0][header.index("calculation")] == answer.calculation and rows[1][header.index("calculation")] == ""
