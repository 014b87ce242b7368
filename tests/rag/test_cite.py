"""Claims are cut at the chunker's sentence ends, so "vs." and "Jan. 5" stay inside the claim they belong to and
each claim is checked against the passage it cites."""

from __future__ import annotations

from rag.chunk import sentence_spans
from rag.evidence import Cited, check_claims


def sentences(text: str) -> list[str]:
    return [text[s:e] for s, e in sentence_spans(text)]


def test_abbreviated_month_before_a_day_does_not_end_a_sentence():
    assert sentences("Shipments begin on Jan. 5, 2027 in Europe. Prices hold.") == [
        "Shipments begin on Jan. 5, 2027 in Europe.", "Prices hold."]


def test_figure_before_vs_is_checked_against_the_passage_the_claim_cites():
    evidence = [Cited(1, "Nvidia rose 20% in the quarter, and Intel fell 5%."), Cited(2, "AMD gained 15% in the quarter.")]
    check = check_claims("Nvidia rose 20% vs. AMD at 15% [2]. Intel fell 5% [1].", evidence)
    assert not check.ok and "figure 20 (not in [2])" in check.unsupported


def test_day_after_an_abbreviated_month_is_checked_with_its_claim():
    evidence = [Cited(1, "Revenue grew 5% in 2026."), Cited(2, "Shipments begin in January; revenue grew 12% in 2027.")]
    # Cut after "Jan.", the day would be checked alone against [1], which has a 5 in it.
    check = check_claims("Shipments begin on Jan. 5 [1]. Revenue grew 12% in 2027 [2].", evidence)
    assert not check.ok and any("(not in [1])" in p for p in check.unsupported)
