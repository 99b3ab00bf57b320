"""Deciding each person's category from the evidence of their linked source records (docs/domain.md)."""
