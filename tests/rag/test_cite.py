"""Citation verification catches hand-made wrong answers."""

from rag.cite import figures, markers_in, verify

PASSAGES = [
    "TrendForce predicts that global AI server shipments will increase by 20.9% in 2026.",
    "Huawei plans to launch Ascend 950PR in 1Q26 and list the Atlas 950 SuperPoD in 4Q26.",
    "NVIDIA expects total shipments of Blackwell and Rubin series GPUs to reach 20 million by the end of 26.",
    "The bank forecasts a 21.2% CAGR in the global high-speed interconnect chip market from 2024 to 2030.",
]


def test_supported_answer_passes():
    check = verify("Global AI server shipments will grow 20.9% in 2026 [1].", PASSAGES)
    assert check.ok and check.cited == [1]


def test_figure_in_no_passage_is_caught():
    check = verify("Global AI server shipments will grow 25% in 2026 [1].", PASSAGES)
    assert not check.ok
    assert check.unsupported_figures == ["25"]


def test_figure_from_an_uncited_passage_is_caught():
    # 21.2% is in passage 4, but the sentence cites passage 1 only.
    check = verify("Shipments grow 21.2% [1].", PASSAGES)
    assert check.unsupported_figures == ["21.2"]


def test_marker_pointing_at_no_passage_is_removed_and_reported():
    check = verify("Ascend 950PR launches in 1Q26 [2][7].", PASSAGES)
    assert check.invalid_markers == [7]
    assert "[7]" not in check.text and check.text.endswith("[2].")
    assert any("[7]" in problem for problem in check.problems())


def test_prose_without_citation_is_not_supported():
    check = verify("Shipments will grow strongly next year.", PASSAGES)
    assert check.uncited and not check.ok


def test_quarter_and_year_forms_are_equivalent():
    assert verify("The launch is in Q1 2026 [2].", PASSAGES).ok
    assert verify("The launch is in the first quarter of 2026 [2].", PASSAGES).ok
    assert not verify("The launch is in Q2 2026 [2].", PASSAGES).ok


def test_number_formats_normalise():
    assert set(figures("1,496.50 and 20.9 % and 2Q25")) >= {"1496.5", "20.9", "2025Q2"}
    assert verify("Shipments of 20 million GPUs by the end of 2026 [3].", PASSAGES).ok


def test_markers_are_parsed_in_lists():
    assert markers_in("a [1, 3] b [2][3]") == [1, 3, 2]


def test_figures_glued_to_currency_or_cjk_are_checked():
    assert not verify("Revenue will reach RMB99.9bn [1].", ["Revenue will reach RMB12.5bn."]).ok
    assert not verify("Spreads widened 900bps [1].", ["Spreads widened 250bps."]).ok
    assert not verify("出货量增长99% [1]。", ["出货量增长35%。"]).ok
    assert verify("出货量增长35% [1]。", ["出货量增长35%。"]).ok
