"""FEBRL4 through ridni's own features and Splink model: F1 at least 0.998 (plain Splink: 0.9977)."""

from ridni_dev import febrl


def test_febrl4_f1_at_least_0_998():
    result = febrl.run()
    assert result["true_pairs"] == 5000
    assert result["f1"] >= 0.998, result
