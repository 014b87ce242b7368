"""Question analysis: what a question asks for, read the way analysts write questions about any report.
Examples come from annual reports and filings (TAT-QA dev, FinanceBench dev), not from the sample report."""

import pytest

from rag.evidence import fits, has_count, has_percent, names_stated
from rag.lexical import fold
from rag.normalise import normalise_periods
from rag.question import QuestionProfile


@pytest.mark.parametrize(("question", "measured", "percent"), [
    ("By how much did operating expenses rise in 2019?", ["expens"], False),
    ("How much had the adjusted EBITDA margin increased by Q4 2019?", ["margin"], False),
    ("How fast is the market for packaging expected to grow?", ["market"], True),
    ("What exact growth rate does management guide for FY2023?", [], True),
    ("How much does management think net sales will grow?", ["sale"], False),
    ("How much will shipments to Europe fall?", ["shipment"], False),
    ("Which segment has the largest share of net revenue?", [], False),  # a name, not a percentage
    ("Since when has the company paid a dividend?", [], False),  # a date
    ("What is the current ratio?", [], False),  # 1.2, not a percentage
])
def test_question_profile_names_what_is_measured(question, measured, percent):
    profile = QuestionProfile.read(question)
    assert list(profile.measured) == measured
    assert profile.wants_percent is percent


@pytest.mark.parametrize(("text", "expected"), [
    ("margins widened 25bps", True), ("a 50bp cut", True), ("up 3pp", True), ("up 2 ppt", True),
    ("增长15％", True), ("增长百分之五", True), ("trades at 1.2x", True), ("20.9%", True),
    ("double-digit growth in 2026", False), ("shipments of 20 million", False),
])
def test_percentages_in_their_usual_forms(text, expected):
    assert has_percent(text) is expected


def test_product_codes_are_not_folded_into_their_predecessors():
    assert fold("hbm3e") != fold("hbm3") and fold("fy25e") == "fy25e"
    assert fold("prices") == fold("price") and fold("increases") == fold("increased")


@pytest.mark.parametrize(("question", "noun", "count"), [
    ("How many stores did Best Buy operate at the end of fiscal 2023?", "stor", True),
    ("How many employees did the company have in 2019?", "employ", True),
    ("How many shares were repurchased in Q4?", "shar", True),
    ("How much inventory was written down in fiscal 2020?", "inventory", False),
    ("How much cash will each store need?", "cash", False),
    ("How many of its brands were sold?", "", False),  # the count of a part: no noun
    ("How much higher is the gross margin than in 2021?", "", False),
])
def test_question_profile_names_what_is_counted_or_measured(question, noun, count):
    profile = QuestionProfile.read(question)
    assert (profile.quantity_noun, profile.wants_count) == (noun, count)


@pytest.mark.parametrize(("text", "expected"), [
    ("the company operated 1,138 stores", True), ("to reach 20 million by the end of 26", True),
    ("growth for eight consecutive quarters", True), ("sold 1,200 units", True),
    ("net sales increased 6.2%", False), ("over $600 billion in 2026", False),
    ("in 1Q26 and 4Q26", False), ("by the end of 26, with", False), ("trades at 3 times book", False),
])
def test_counts_are_told_from_rates_money_and_dates(text, expected):
    assert has_count(text) is expected


@pytest.mark.parametrize(("question", "per_unit", "metrics", "subject"), [
    ("What were the earnings per share in 2019?", ["shar"], ["earning"], []),
    ("How much cash does each store generate?", ["stor"], ["cash"], []),
    ("Where should one look for information on notes payable?", [], [], []),  # "one" is a pronoun here
    ("How fast will sales grow each year?", [], ["sale"], []),  # a yearly rate, not a figure per year
    ("What is MGM's revenue forecast for 2023?", [], ["revenu"], []),
    ("What is the rate of return on plan assets?", [], ["asset"], ["return"]),
    ("What was the consumer segment's full-year gain in 2022?", [], [], ["consumer"]),
    ("Which product category's recovery drove the quarter?", [], [], []),  # a name is asked for
    ("What demand trends sit behind the capex jump?", [], ["capex"], []),  # trends are asked for, not demand
])
def test_question_profile_names_the_unit_metric_and_subject_of_a_figure(question, per_unit, metrics, subject):
    profile = QuestionProfile.read(question)
    assert (list(profile.per_unit), list(profile.metrics), list(profile.subject)) == (per_unit, metrics, subject)


def test_a_misspelt_subject_still_finds_its_sentence():
    profile = QuestionProfile.read("What is the value of the assumed liabilites from the acquisition?")
    assert names_stated(profile, "The balance sheet includes $58.2 million of assumed liabilities.")
    assert not names_stated(profile, "The balance sheet includes $58.2 million of assumed leases.")


@pytest.mark.parametrize(("written", "short"), [
    ("in Q4 2026?", "in 4Q26?"), ("3Q 2025", "3Q25"), ("Q3'25", "3Q25"), ("Q2 FY25", "2Q25"),
    ("the third quarter of 2025", "the 3Q25"), ("1Q26", "1Q26"), ("Q3 results", "Q3 results"),
    ("FY26 capex", "2026 capex"), ("CY2025", "2025"), ("fiscal 2019", "2019"), ("Sep–Dec '25", "September–December 2025"),
])
def test_periods_are_read_in_the_short_form_reports_use(written, short):
    assert normalise_periods(written) == short


def test_names_are_found_as_plurals_as_quarters_and_through_the_glossary():
    profile = QuestionProfile.read("Which Ulta Beauty expense rose in Q4 2023?")
    assert profile.years == ("4q23",)
    assert names_stated(profile, "Ulta Beauty's SG&A expenses increased in the fourth quarter of 2023.")
    assert QuestionProfile.read("How many ADRs were issued?").holds("adrs", {"adr"})
    # The country and its adjective are one name; another country is not.
    assert names_stated(QuestionProfile.read("How did China's casinos perform in 2022?"),
                        "Chinese gaming revenues fell 50% in 2022.")
    assert not names_stated(QuestionProfile.read("How did Japan's casinos perform in 2022?"),
                            "Chinese gaming revenues fell 50% in 2022.")


@pytest.mark.parametrize(("question", "number", "percent", "reason"), [
    ("What's the expected gross margin of the segment in 2023?", True, False, False),  # "What's" is "What is"
    ("What was net sales growth YoY in fiscal 2022, in %?", True, True, False),
    ("Why did SG&A as a percent of net sales fall in FY2023?", False, False, True),
    ("What reason does management give for the inventory build?", False, False, True),
    ("What caused the increase in interest income?", False, False, True),
    ("What is the interest income?", True, False, False),
])
def test_question_profile_reads_figure_percent_and_reason_questions(question, number, percent, reason):
    profile = QuestionProfile.read(question)
    assert (profile.wants_number, profile.wants_percent, profile.wants_reason) == (number, percent, reason)


def test_a_reason_is_answered_by_a_sentence_that_gives_one():
    # FinanceBench dev, Ulta Beauty's fiscal 2023 fourth-quarter release.
    profile = QuestionProfile.read("What reason does the company give for the lower SG&A ratio?")
    assert not fits(profile, "SG&A expenses increased 16.2% to $2.4 billion compared to $2.1 billion in fiscal 2021.")
    assert fits(profile, "As a percentage of net sales, SG&A expenses decreased to 23.5%, primarily due to lower "
                         "marketing expenses.")


def test_a_fiscal_year_finds_the_calendar_year_and_the_report_s_fy():
    profile = QuestionProfile.read("What capex does management expect for FY26?")
    assert profile.years == ("2026",)
    assert fits(profile, "capital expenditures will reach over $600 million in 2026")
    assert fits(profile, "FY26 capex is set at $600 million")
    assert not fits(profile, "capital expenditures reached $450 million in 2025")


def test_a_quarter_in_words_is_the_same_quarter_in_short_form():
    profile = QuestionProfile.read("What was the goodwill impairment charge in the fourth quarter of 2019?")
    assert fits(profile, "We recorded a goodwill impairment charge of $1.9 million in the fourth quarter of 2019.")
    assert fits(profile, "We recorded a goodwill impairment charge of $1.9 million in 4Q19.")
    assert not fits(profile, "We recorded a goodwill impairment charge of $14.7 million in the third quarter of 2019.")


def test_qualifiers_most_figures_carry_unsaid_are_not_anchors():
    profile = QuestionProfile.read("What's TCS' YoY revenue growth in FY 2019?")
    assert "yoy" not in profile.anchors and "2019" in profile.years
    # TAT-QA dev (context e8877535): annual growth is year on year without saying so.
    assert fits(profile, "On a reported basis, TCS' revenue grew 19% in FY 2019, compared to 4.4% in the prior year.")


def test_a_growth_question_is_not_answered_by_a_level_or_a_share():
    # TAT-QA dev (context d670b78b): Apple's share of revenues is no growth rate.
    profile = QuestionProfile.read("What was Apple's revenue growth in 2019?")
    assert not fits(profile, "In 2019, the Company's largest customer, Apple represented 17.6% of consolidated net "
                             "revenues.")
    # TAT-QA dev (context e8877535).
    assert fits(QuestionProfile.read("What was TCS' revenue growth in FY 2019?"),
                "On a reported basis, TCS' revenue grew 19% in FY 2019, compared to 4.4% in the prior year.")


def test_words_that_open_a_sentence_of_the_question_are_not_names():
    # FinanceBench dev questions carry instructions after the question itself.
    profile = QuestionProfile.read("Does Corning have positive working capital based on FY2022 data? If working capital "
                              "is not a useful metric, state that and explain. Round your answer to two decimals.")
    assert "corning" in profile.names and not {"if", "round", "state"} & set(profile.anchors)


@pytest.mark.parametrize(("written", "short"), [
    ("between FY 2023 and Q2 of FY2024", "between 2023 and 2Q24"), ("in 2021 Q1", "in 1Q21"),
])
def test_a_quarter_written_apart_from_its_year_is_one_period(written, short):
    assert normalise_periods(written) == short


# FinCUGE dev (Chinese financial news): the ways Chinese reports write a quarter and its year.
@pytest.mark.parametrize(("written", "short"), [
    ("华孚时尚（002042）近日发布2020年第一季度业绩报告", "华孚时尚（002042）近日发布1Q20业绩报告"),
    ("截至2019年一季度末", "截至1Q19末"),
    ("2019年3季度收入破2亿元", "3Q19收入破2亿元"),
    ("浙江永安(08211.HK)披露了2019第三季度报告", "浙江永安(08211.HK)披露了3Q19报告"),
    ("根据2020年二季度业绩", "根据2Q20业绩"),
    ("19年四季度", "4Q19"),
    ("2020年Q1营收", "1Q20营收"),
    # The first three quarters are no one quarter, and a quarter without its year is left alone.
    ("苏宁环球前三季度回购2.83亿股", "苏宁环球前三季度回购2.83亿股"),
    ("公司第三季度营收", "公司第三季度营收"),
])
def test_a_chinese_quarter_is_the_same_quarter_in_short_form(written, short):
    assert normalise_periods(written) == short


def test_a_chinese_question_keeps_its_quarter():
    # FinCUGE dev: 卓翼科技's first-quarter 2020 report. A question in Chinese asks about that quarter, over a
    # Chinese sentence or an English one, and a full-year figure does not answer it.
    profile = QuestionProfile.read("卓翼科技2020年一季度营收是多少？")
    assert profile.years == ("1q20",)
    assert fits(profile, "2020年第一季度实现营收647,729,880.41元，同比增长14.21%")
    assert fits(profile, "Zhuoyi Technology's revenue in Q1 2020 was RMB 647.7 million, up 14.21% year on year.")
    assert not fits(profile, "Zhuoyi Technology's revenue in 2020 was RMB 2.9 billion.")


def test_a_title_case_question_s_function_words_name_nothing():
    """Title case capitalizes "Was" and "For"; the names are still Best Buy's (FinanceBench dev's Best Buy 10-K),
    and an acronym in capitals that is also a word ("IT spending") stays a name."""
    profile = QuestionProfile.read("What Was Best Buy's Revenue For Fiscal 2023?")
    assert "was" not in profile.names and "for" not in profile.names and {"best", "buy"} <= set(profile.names)
    assert "it" in QuestionProfile.read("How much did IT spending grow in 2019?").names
