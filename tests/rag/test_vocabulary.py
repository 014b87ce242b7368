"""The vocabulary: how rag/vocabulary.txt is read, and each of its entries shown doing what it is there for on a
question about, or a sentence of, a filing or an annual report (TAT-QA dev, FinanceBench dev), Chinese
financial news (FinCUGE dev) or a public web page quoted with its address (an earnings release, an investor
presentation, a broker's note, market research, energy or data-centre news), never on the sample broker
report."""

import re

import pytest

from rag.lexical import fold, lexical_tokens
from rag.vocabulary import SECTIONS, Vocabulary, VocabularyError, vocabulary


def test_sections_of_words_and_of_pairs_are_read_in_order():
    parsed = Vocabulary.parse("[qualifiers]\nyoy  ytd # to date\nttm\n[table scales]\nthousands = thousand\n", "v.txt")
    assert list(parsed.entries["qualifiers"]) == ["yoy", "ytd", "ttm"]
    assert parsed.meanings("table scales") == {"thousands": "thousand"}
    assert parsed.words("metric words") == frozenset()


@pytest.mark.parametrize(("text", "message"), [
    ("yoy\n", "v.txt:1: an entry before any [section]"),
    ("# words\n[metric word]\nrevenue\n", "v.txt:2: unknown section '[metric word]'"),
    ("[qualifiers\nyoy\n", "v.txt:1: unknown section"),
    ("[qualifiers]\nyoy = year on year\n", "v.txt:2: [qualifiers] holds words apart by spaces"),
    ("[table scales]\nthousands\n", "v.txt:2: expected 'word = "),
    ("[counting scales]\n万 = ten thousand\n", "v.txt:2: expected 'word = "),
    ("[qualifiers]\nyoy ttm\n\nyoy\n", "v.txt:4: 'yoy' is already in [qualifiers]"),
])
def test_malformed_lines_name_the_file_and_line(text, message):
    with pytest.raises(VocabularyError, match=message.replace("[", r"\[").replace("(", r"\(")):
        Vocabulary.parse(text, "v.txt")


def test_the_packaged_vocabulary_fills_every_section_and_a_missing_file_is_a_clear_error(tmp_path):
    assert all(vocabulary().entries[section] for section in SECTIONS)
    with pytest.raises(VocabularyError, match="cannot read the vocabulary file .*nope.txt"):
        vocabulary(str(tmp_path / "nope.txt"))


# Each entry, on a filing, an annual report, Chinese financial news or a public web page whose address is given
# beside its words. A question is TAT-QA's or FinanceBench's where one says the word; otherwise it asks about a
# sentence of such a document, quoted beside it. Every test
# below also takes the entry out and shows the behaviour gone, so an example shows what its entry does.

METRIC_WORDS = [  # TAT-QA dev questions unless named
    ("revenue", "What is the total revenue for 2019?"),
    ("sales", "What were the sales in 2019?"),
    ("profit", "What is the average Gross profit?"),
    ("earnings", "What is the total earnings in 2019?"),
    ("income", "What was the net income in 2019?"),
    ("margin", "What is the gross margin for F19?"),
    ("price", "What is the average quarterly low price in 2018?"),
    ("capex", "What is the FY2020 free cash flow (FCF) for General Mills? FCF here is defined as: (cash from "
              "operations - capex)."),  # FinanceBench dev
    ("expenditure", "What was the capital expenditures recorded in accounts payable in 2019 and 2018 respectively?"),
    ("consumption", "How much was the total energy consumption (MWh) for year ended 31 December 2019?"),
    ("dividend", "What was the cash dividend per share in 2019?"),
    ("yield", "What is the average dividend yield in 2018 and 2019?"),
    ("eps", "How is Earning Per Share (EPS) calculated?"),
    ("valuation", "What was the valuation allowance in 2019 and 2018 respectively?"),
    ("cost", "What was the service cost in 2019?"),
    ("backlog", "What is the average fair value of Order backlog?"),
    ("inventory", "What is the average inventory for 2018 and 2019?"),
    ("inventories", "What was the percentage change in net inventories between 2018 and 2019?"),
    ("assets", "What is the Total assets for 2019?"),
    ("liabilities", "What were the total liabilities of IMFT in 2018?"),
    ("debt", "What was the bad debt expense in 2019?"),
    ("cash", "What is the Free Cash Flow in 2018?"),
    ("equity", "What is the total equity in 2019?"),
    ("orders", "What was the average orders for 2019 and 2018?"),
    ("employees", "What was the total number of company employees in 2018?"),
    ("ebitda", "How is EBITDA calculated?"),
    ("ebit", "What was the change in Earnings before interest and taxes EBIT in 2018/2019 from 2017/2018?"),
    # JPMorgan's 2021 Q1 10-Q: "Card Services ... sales volume up 9%".
    ("volume", "How much was sales volume up?"),
    # TAT-QA (an egg producer): "Historically, demand for shell eggs increases in line with overall population
    # growth."
    ("demand", "How much does demand for shell eggs increase?"),
    # JPMorgan's 2021 Q1 10-Q: "Employees (headcount) 2021 2020 Change".
    ("headcount", "What was the headcount in 2021?"),
    # TAT-QA (an airline's report): "Adjusted EBITDAR".
    ("ebitdar", "What was the adjusted EBITDAR in 2019?"),
    # Counterpoint Research's forecast, https://www.itiger.com/hans/news/1197685857: "the global smartphone market
    # ASP is projected to increase from $357 in 2024 to $370 in 2025, reaching $412 by 2029, representing a 3%
    # compound annual growth rate (CAGR)".
    ("asp", "What is the global smartphone market ASP projected to be in 2029?"),
    ("cagr", "What is the CAGR of the global smartphone ASP from 2024 to 2029?"),
    # DIGITIMES Research, https://apps.digitimes.com/news/a20241023RS400/smartphone-2025-shipments-market-supply-chain.html:
    # "forecasts that global smartphone shipments will reach 1,181.4 million units in 2024".
    ("shipments", "What will global smartphone shipments reach in 2024?"),
]


@pytest.mark.parametrize(("word", "question"), METRIC_WORDS)
def test_a_metric_word_says_what_the_asked_figure_measures(monkeypatch, word, question):
    from rag import question as q

    assert fold(word) in q.QuestionProfile.read(question).metrics
    monkeypatch.setattr(q, "METRICS", q.METRICS - {fold(word)})
    assert fold(word) not in q.QuestionProfile.read(question).metrics


NOT_FIGURE_HEADS = [
    # General Mills's 2020 10-K: "COMMODITY PRICE RISK"; Block's 2020 10-K: "Equity Price Risk".
    ("risk", "What commodity price risk does General Mills have?"),
    # General Mills's 2020 10-K: "Due to the offsetting impact of these demand trends, ..."
    ("trend", "What demand trends offset each other?"),
    # TAT-QA: "qualitative factors to consider include cost factors".
    ("factor", "What cost factors are considered in the qualitative assessment?"),
    # TAT-QA (a cable operator): "a changing video consumption environment".
    ("environment", "What video consumption environment does the company face?"),
]


@pytest.mark.parametrize(("head", "question"), NOT_FIGURE_HEADS)
def test_a_metric_word_before_a_head_that_is_no_figure_asks_for_no_figure(monkeypatch, head, question):
    from rag import question as q

    metric = fold(re.search(rf"(\w+) {head}", question).group(1))
    assert metric not in q.QuestionProfile.read(question).metrics
    monkeypatch.setattr(q, "_NOT_FIGURE_HEADS", q._NOT_FIGURE_HEADS - {fold(head)})
    assert metric in q.QuestionProfile.read(question).metrics


GENERIC_SUBJECTS = [  # TAT-QA dev questions, else a phrase of the filing named
    ("company", "What is the company's main cost of revenue?"),
    ("current", "What was the expected loss rate for current receivables?"),
    ("total", "What is the fair value of total debt as of December 31, 2019"),
    ("segment", "What were the net sales of reportable segments in 2022?"),  # Corning 2022 10-K, the same words
    ("quarter", "What was the net sales in the third quarter?"),
    ("year", "What is the net sales for year ended December 31, 2019?"),
    ("business", "What is the growth rate of the business?"),  # Block 2020 10-K: "The growth of our business"
    ("companies", "What is the size of the competing companies involved?"),  # J&J 2022 10-K, the same words
    ("firm", "What was the firm's reported revenue?"),  # JPMorgan 2021 Q1 10-Q: "the Firm's reported revenue"
    ("group", "What is the fair value of the asset group?"),  # Corning 2022 10-K, the same words
    ("industry", "What is the food industry's growth rate?"),  # General Mills 2020 10-K: "industry's growth"
    ("market", "What is the quoted price in the market for Level 2 securities?"),  # J&J 2022 10-K
    ("new", "What was the carrying value of new TDRs?"),  # JPMorgan 2021 Q1 10-Q, the same words
    ("next", "What is the health care cost trend rate for next year?"),  # General Mills 2020 10-K
    ("overall", "What is the rate of overall volatility?"),  # J&J 2022 10-K: "overall volatility rate"
    ("sector", "What is the turnover rate in the retail sector?"),  # Best Buy 2023 10-K, the same words
    ("bank", "What is the share of central banks' actions?"),  # Best Buy 2023 10-K: "central banks' actions"
    ("broker", "What is the value of broker's price opinions?"),  # JPMorgan 2021 Q1 10-Q, the same words
]


@pytest.mark.parametrize(("word", "question"), GENERIC_SUBJECTS)
def test_a_generic_word_of_a_figures_subject_is_not_asked_of_the_sentence(monkeypatch, word, question):
    from rag import question as q

    assert fold(word) not in q.QuestionProfile.read(question).subject
    monkeypatch.setattr(q, "_GENERIC_SUBJECT", q._GENERIC_SUBJECT - {fold(word)})
    assert fold(word) in q.QuestionProfile.read(question).subject


QUALIFIERS = [
    # Johnson & Johnson's 2022 Q4 earnings release heads a column "% Change YoY".
    ("yoy", "What was the % change YoY of worldwide sales?"),
    # Amcor's 2023 Q4 earnings release: "Q4 YTD - Income Before Tax by Segment".
    ("ytd", "What was the YTD income before tax by segment?"),
    # DIGITIMES Research, https://apps.digitimes.com/news/a20241023RS400/smartphone-2025-shipments-market-supply-chain.html:
    # "Chart 7: Foldable smartphone Y/Y shipment growth, 2021-2025 (m units)".
    ("y/y", "What was the foldable smartphone Y/Y shipment growth in 2025?"),
    # La-Z-Boy's margins, https://retail-index.emarketer.com/company/data/5374f24b4d4afd2bb4446592/5374f2844d4afd824cc15a26/lfy/false/la-z-boy-margins:
    # a "TTM" column beside the years, its row "Gross margin".
    ("ttm", "What was La-Z-Boy's TTM gross margin?"),
    # An investor presentation's net leverage slide, https://pitchsend.com/slides/4a308665-f82c-4f93-b80e-a3e158d65149:
    # "LTM Adjusted EBITDA (b) $ 96.8".
    ("ltm", "What was the LTM Adjusted EBITDA?"),
]


@pytest.mark.parametrize(("word", "question"), QUALIFIERS)
def test_a_qualifier_figures_carry_unsaid_is_not_a_name_to_find(monkeypatch, word, question):
    from rag import question as q

    # "Y/Y" would be found as its words ("y"), "YoY" as itself.
    assert not set(lexical_tokens(word)) & set(q.QuestionProfile.read(question).names)
    monkeypatch.setattr(q, "QUALIFIERS", q.QUALIFIERS - {word})
    assert set(lexical_tokens(word)) & set(q.QuestionProfile.read(question).names)


# (entry, question, a sentence of a filing that shares only the question's name and period with it).
PERIOD_WORDS = [
    *((word, "What were Amcor's net sales in the fiscal year ended June 30, 2022?",
       "Annual Report on Form 10-K for the fiscal year ended June 30, 2022") for word in ("fiscal", "year", "ended")),
    ("years", "What was Amazon's net income for the years ended December 31, 2017?",
     "Consolidated Statements of Operations for each of the three years ended December 31, 2017"),
    ("ending", "What does Amcor expect its net sales to be for the fiscal year ending June 30, 2024?",
     "annual periods beginning with the Company's fiscal year ending June 30, 2024."),
    ("period", "What was Best Buy's revenue for the period ended July 29, 2023?",
     "For the quarterly period ended July 29, 2023"),
    ("quarter", "What was Johnson & Johnson's revenue for the quarter ended March 29, 2015?",
     "Quarterly Report for the quarter ended March 29, 2015."),  # J&J 2022 10-K, its list of exhibits
    ("end", "What was Best Buy's revenue at the end of fiscal 2023?",
     "We had 1,138 stores at the end of fiscal 2023"),
]


@pytest.mark.parametrize(("word", "question", "cover"), PERIOD_WORDS)
def test_a_period_word_is_not_what_a_question_shares_with_a_filings_cover(monkeypatch, word, question, cover):
    from rag import answer
    from rag.question import QuestionProfile

    assert not answer.says_more_than_names(QuestionProfile.read(question), cover)
    monkeypatch.setattr(answer, "PERIOD_WORDS", answer.PERIOD_WORDS - {word})
    assert answer.says_more_than_names(QuestionProfile.read(question), cover)


GENERIC_UNITS = [
    ("year", "Are Best Buy's gross margins historically consistent (not fluctuating more than roughly 2% each "
             "year)?"),  # FinanceBench dev
    ("day", "What is the TCE rate per day?"),  # TAT-QA dev: "How is TCE rate Per day derived?"
    # TAT-QA: "long-term rate of improvement of 1.5% per annum".
    ("annum", "What is the long-term rate of improvement per annum?"),
    # TAT-QA: "to provide up to $75,000 per quarter of miscellaneous permitted tax services".
    ("quarter", "How much may the auditor provide per quarter of permitted tax services?"),
    # TAT-QA: "such costs are typically incurred each time a customer upgrades".
    ("time", "How much cost is incurred each time a customer upgrades?"),
]


@pytest.mark.parametrize(("word", "question"), GENERIC_UNITS)
def test_a_rate_per_period_names_no_unit_a_sentence_must_say(monkeypatch, word, question):
    from rag import question as q

    assert q.QuestionProfile.read(question).per_unit == ()
    monkeypatch.setattr(q, "_GENERIC_UNITS", q._GENERIC_UNITS - {word})
    assert q.QuestionProfile.read(question).per_unit == (word,)


AMOUNT_WORDS = [  # TAT-QA dev questions, else a table heading of the filing named
    ("million", "How many million of trade accounts receivable were sold without recourse in 2019?"),
    ("percent", "How many percent did the weighted average hedged rate for the year change by from 2018 to 2019?"),
    ("thousands", "How many thousands of dollars were the total revenues in 2019?"),  # "(in thousands of U.S.
    ("millions", "How many millions of euros was the revenue in 2019?"),  # dollars)", "(in millions of €)"
    ("billions", "How many billions of daily emails are analysed?"),  # "the analysis of billions of daily emails"
    ("hundreds", "How many hundreds of bonds are the yields taken from?"),  # Corning 2022 10-K, the same words
    ("dollars", "How many dollars in millions were sales to customers in 2022?"),  # J&J 2022 Q4: "Dollars in Millions"
]


@pytest.mark.parametrize(("word", "question"), AMOUNT_WORDS)
def test_the_words_an_amount_is_given_in_are_not_what_is_counted(monkeypatch, word, question):
    from rag import question as q

    assert q.QuestionProfile.read(question).quantity_noun != fold(word)
    monkeypatch.setattr(q, "_NOT_QUANTITY_NOUNS", q._NOT_QUANTITY_NOUNS - {word})
    assert q.QuestionProfile.read(question).quantity_noun == fold(word)


FIGURE_UNITS = [  # (unit, sentence, the figure read)
    ("mw", "青海丰茂能源发展有限公司茫崖50MW风电项目建设地点位于青海省海西州茫崖镇", "50"),  # FinCUGE dev
    ("km", "总长约3.634km，全部采用沥青路面铺装。", "3.634"),  # FinCUGE dev
    ("t", "施工内容主要包括：炼钢系统主要建设内容为新建1个铁水脱硫站，1座150t转炉", "150"),  # FinCUGE dev
    ("x", "预计2019-2021年公司EPS为1.10、1.38、1.67元，PE为7x、6x、5x。", "7"),  # FinCUGE dev
    ("m", "for the period ended 30 March 2019 is £nil (2017/18: £1.1m).", "1.1"),  # TAT-QA dev
    ("st", "The interest rate profile of the financial assets of the Group as at 31st December was as follows",
     "31"),  # TAT-QA dev
    ("rd", "53rd week 2 pts", "53"),  # TAT-QA dev
    ("s", "In the early 1970s, we developed an economical, high-performance process", "1970"),  # Corning 2022 10-K
    ("th", "on the 13th day of February, 2023.", "13"),  # Corning 2022 10-K
    # https://michaelbommarito.com/wiki/datacenters/technology/rack-density
    ("w", "Servers: Single-socket 1U servers, 100-200W each", "200"),
    # https://disintermediate.global/glossary/power-density
    ("kw", "The DGX B200 system draws 14.3kW for 8 GPUs", "14.3"),
    # https://www.energy-storage.news/market-segments/connected-technologies/page/88
    ("gw", "Swedish-based developer OX2 has acquired a proposed 1GW onshore wind farm in Western Australia, which "
           "includes plans for a 100MW co-located battery energy storage system (BESS).", "1"),
    # https://www.energy-storage.news/subjects/business
    ("mwh", "TagEnergy has commissioned a 240MW/480MWh project in France", "480"),
    # https://greenercities.org/global-demand-for-electricity-soaring/
    ("twh", "Data centers consumed 460TWh in 2022, a figure that could rise to more than 1,000TWh by 2026", "460"),
    # TSMC's 2025 Q3 results, https://particle.news/story/tsmc-lifts-2025-outlook-after-q3-beat-sets-2nm-for-volume-production-this-quarter
    ("nm", "Advanced processes accounted for 74% of wafer revenue, with 3nm at 23%, 5nm at 37%, and 7nm at 14%.", "3"),
    # Micron's HBM3E, https://www.sipoch.com/en/article/300330018546245
    ("gb", "we can increase the memory capacity by 50% from 24GB to 36GB.", "24"),
    # https://factsaday.com/en/fact/5487/vertical-memory-stacks-can-transfer-data-twenty-times-faster-than-high-end
    ("tb", "HBM4 achieves data rates over 2TB/s per stack.", "2"),
    # Motilal Oswal's results review, https://trendlyne.com/posts/1888409/operating-leverage-kicks-in-earnings-growth-set-to-revive
    ("bp", "Gross margin (GM) shrank 280bp YoY to 53.5%.", "280"),
    # Gateway's 2002 Q1, http://www.theregister.co.uk/Alert/2002/04/19/gateway_claws_back_market_share/
    ("bn", "And it ended the quarter with $1.2bn cash and marketable securities", "1.2"),
    # Rémy Cointreau's income statement, https://tracenable.com/company/remy-cointreau/income-statement
    ("a", "| Sales | 984.6a | 1,194.1a |", "984.6"),
    # https://blog.jessfraz.com/post/battery-day (its footnote mark after the year left out)
    ("nd", "Tesla had its first Battery Day on September 22nd, 2020", "22"),
]


@pytest.mark.parametrize(("unit", "sentence", "figure"), FIGURE_UNITS)
def test_a_number_with_its_unit_glued_on_is_a_figure(monkeypatch, unit, sentence, figure):
    from rag import cite

    assert figure in cite.figures(sentence)
    monkeypatch.setattr(cite, "_UNITS", cite._UNITS - {unit})
    assert figure not in cite.figures(sentence)


TABLE_SCALES = [
    ("thousands", "Table: (in thousands of U.S. dollars)"),  # TAT-QA dev
    ("millions", "Consolidated Statements of Operations (in millions, except per share data)"),  # Amazon 2017 10-K
    ("billions", "In Billions"),  # General Mills 2020 10-K
    ("000", "Comparison of Year Ended December 31, 2019 to Year Ended December 31, 2018 (in 000’s)"),  # TAT-QA dev
]


@pytest.mark.parametrize(("word", "heading"), TABLE_SCALES)
def test_a_table_heading_gives_the_scale_of_its_figures(word, heading):
    from rag.calculate import _scale

    assert _scale(heading) == vocabulary().meanings("table scales")[word]


COUNTING_SCALES = [  # FinCUGE dev
    ("亿", "原标题：1.9亿元！金风科技预中标青海茫崖50MW风电项目", {"0.19", "190"}),
    ("万", "合计持有5013万股（占公司总股本18.", {"50.13", "50130"}),
]


@pytest.mark.parametrize(("word", "sentence", "figures"), COUNTING_SCALES)
def test_a_chinese_count_supports_the_same_figure_in_english_scales(word, sentence, figures):
    from rag.evidence import _figure_keys

    assert figures <= _figure_keys(sentence)


def test_every_entry_of_the_packaged_vocabulary_has_an_example_above():
    """A new entry comes with its example from a document other than the sample report; folded sections are
    compared as the code folds them ("revenues" is "revenue")."""
    shown = {
        "metric words": {fold(w) for w, _ in METRIC_WORDS},
        "not figure heads": {fold(w) for w, _ in NOT_FIGURE_HEADS},
        "generic subjects": {fold(w) for w, _ in GENERIC_SUBJECTS},
        "qualifiers": {w for w, _ in QUALIFIERS},
        "period words": {w for w, _, _ in PERIOD_WORDS},
        "generic units": {w for w, _ in GENERIC_UNITS},
        "amount words": {w for w, _ in AMOUNT_WORDS},
        "figure units": {w for w, _, _ in FIGURE_UNITS},
        "table scales": {w for w, _ in TABLE_SCALES},
        "counting scales": {w for w, _, _ in COUNTING_SCALES},
    }
    assert set(shown) == set(SECTIONS)
    folded = {"metric words", "not figure heads", "generic subjects"}
    without = {section: sorted({fold(w) if section in folded else w for w in entries} - shown[section])
               for section, entries in vocabulary().entries.items()}
    assert not {section: words for section, words in without.items() if words}, "entries without an example"
