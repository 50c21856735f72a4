"""The label sets of the two heads, in the order of the model's outputs."""

from __future__ import annotations

SENTIMENT_LABELS: tuple[str, ...] = ("negative", "neutral", "positive")

# Order of the original integer ids of the Twitter financial news topic set (ids 0..19).
TOPIC_LABELS: tuple[str, ...] = (
    "Analyst Update",
    "Fed | Central Banks",
    "Company | Product News",
    "Treasuries | Corporate Debt",
    "Dividend",
    "Earnings",
    "Energy | Oil",
    "Financials",
    "Currencies",
    "General News | Opinion",
    "Gold | Metals | Materials",
    "IPO",
    "Legal | Regulation",
    "M&A | Investments",
    "Macro",
    "Markets",
    "Politics",
    "Personnel Change",
    "Stock Commentary",
    "Stock Movement",
)

TASKS: dict[str, tuple[str, ...]] = {"sentiment": SENTIMENT_LABELS, "topic": TOPIC_LABELS}
