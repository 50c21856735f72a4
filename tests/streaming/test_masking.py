"""PII masking: contact details go, the numbers of finance stay."""

from __future__ import annotations

import pytest

from streaming.masking import mask_pii


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("Write to jane.doe+ir@acme-corp.com today", "Write to [email] today"),
        ("IR: ir@acme.co.uk or +44 20 7946 0958", "IR: [email] or [phone]"),
        ("Call (212) 555-0147 for details", "Call [phone] for details"),
        ("Hotline 212-555-0147.", "Hotline [phone]."),
        ("Ring +1 415 555 2671 now", "Ring [phone] now"),
        ("Call 030.1234.5678 in Berlin", "Call [phone] in Berlin"),
    ],
)
def test_contact_details_are_masked(text: str, masked: str) -> None:
    assert mask_pii(text) == masked


@pytest.mark.parametrize(
    "text",
    [
        "Oil at $81.25, up 2.5% on 2024-03-15",
        "Volume 12,345,678 shares; EPS 1.23 vs 1.10 est",
        "$AAPL 190.50 195.00 target; Q3 2025 guidance",
        "Fed hikes 25 bp to 5.25-5.50%",
        "Revenue 123456789 EUR in fiscal 2023",
        "Meeting at 10.30 on 12.05.2025",
    ],
)
def test_finance_numbers_and_dates_stay(text: str) -> None:
    assert mask_pii(text) == text
