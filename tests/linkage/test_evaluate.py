import itertools

import pandas as pd

from ridni_dev.evaluate import score


def _brute(pred, true, latin=None):
    idx = range(len(pred))
    pairs = [(i, j) for i, j in itertools.combinations(idx, 2) if latin is None or latin[i] != latin[j]]
    p = {(i, j) for i, j in pairs if pred[i] == pred[j]}
    t = {(i, j) for i, j in pairs if true[i] == true[j]}
    return len(t), len(p), len(p & t)


def test_counts_equal_a_brute_force_pair_listing():
    pred = [1, 1, 1, 2, 2, 3, 4, 4]
    true = [1, 1, 2, 2, 2, 3, 4, 5]
    latin = [True, False, False, True, False, False, True, False]
    s = score(pd.Series(pred), pd.Series(true), pd.Series(latin))
    a, c = s["all"], s["cross_script"]
    assert (a.true_pairs, a.predicted_pairs, a.correct_pairs) == _brute(pred, true)
    assert (c.true_pairs, c.predicted_pairs, c.correct_pairs) == _brute(pred, true, latin)
    assert 0 < a.f1 < 1


def test_perfect_clustering_scores_one():
    s = score(pd.Series([5, 5, 6]), pd.Series([1, 1, 2]))["all"]
    assert s.precision == s.recall == s.f1 == 1.0
