import numpy as np
import pandas as pd

from ridni.linkage.clusters import assign_person_ids, components, constrained_components


def _ids(start):
    counter = iter(range(start, start + 1000))
    return lambda: next(counter)


def test_components_join_transitively():
    labels = components(5, np.array([0, 1]), np.array([1, 2]))
    assert labels[0] == labels[1] == labels[2]
    assert len({labels[0], labels[3], labels[4]}) == 3


def test_ids_are_stable_and_new_records_join_existing_persons():
    labels = np.array([0, 0, 1, 1])
    previous = pd.Series([10.0, np.nan, 11.0, np.nan])
    a = assign_person_ids(labels, previous, _ids(100))
    assert a.person_of_record.tolist() == [10, 10, 11, 11]
    assert a.new_persons == [] and a.merges == [] and a.splits == []


def test_merge_keeps_the_person_with_most_records_and_logs_the_other():
    labels = np.array([0, 0, 0])
    previous = pd.Series([10.0, 10.0, 11.0])
    a = assign_person_ids(labels, previous, _ids(100))
    assert a.person_of_record.tolist() == [10, 10, 10]
    assert a.merges == [(10, 11, 1)]


def test_split_keeps_the_larger_piece_and_gives_the_rest_a_new_id():
    labels = np.array([0, 0, 1])
    previous = pd.Series([10.0, 10.0, 10.0])
    a = assign_person_ids(labels, previous, _ids(100))
    assert a.person_of_record.tolist() == [10, 10, 100]
    assert a.new_persons == [100]
    assert a.splits == [(10, 100, 1)]


def test_first_night_everyone_is_new():
    a = assign_person_ids(np.array([0, 0, 1]), pd.Series([np.nan, np.nan, np.nan]), _ids(1))
    assert a.person_of_record.tolist() == [1, 1, 2]
    assert a.new_persons == [1, 2]


def _none():
    return np.array([], dtype=int), np.array([], dtype=int)


def test_a_different_decision_holds_across_a_chain_of_links():
    # 0 - 1 - 2 - 3 linked in a chain; a reviewer said 0 and 3 are different persons.
    # The weakest link on the path (1-2, order 9) is the one left out.
    left, right, order = np.array([0, 1, 2]), np.array([1, 2, 3]), np.array([1, 9, 2])
    labels = constrained_components(5, left, right, order, np.array([0]), np.array([3]))
    assert labels[0] == labels[1] and labels[2] == labels[3]
    assert labels[0] != labels[3]
    assert len(set(labels.tolist())) == 3  # {0,1}, {2,3}, {4}


def test_without_a_conflict_the_clusters_are_the_plain_components():
    left, right, order = np.array([0, 2]), np.array([1, 3]), np.array([0, 0])
    plain = components(4, left, right)
    assert (constrained_components(4, left, right, order, *_none()) == plain).all()
    # a cannot-link between two records already apart changes nothing
    assert (constrained_components(4, left, right, order, np.array([0]), np.array([2])) == plain).all()


def test_a_stronger_link_wins_over_a_weaker_one_into_the_same_conflict():
    # 0 and 2 are different; 1 links to both, strongly to 2 (rnokpp) and weakly to 0 (splink)
    labels = constrained_components(3, np.array([0, 1]), np.array([1, 2]), np.array([4, 1]),
                                    np.array([0]), np.array([2]))
    assert labels[1] == labels[2] != labels[0]



def test_equally_strong_links_into_a_conflict_give_the_same_clusters_in_any_order():
    """Splink returns its pairs in the order its threads finish: the clusters must not depend on it.
    1 links to 0 and to 2 equally strongly, and 0 and 2 are different persons; 3 links to 1 and 4 to 2."""
    left, right = np.array([0, 1, 1, 2, 3]), np.array([1, 2, 3, 4, 0])
    order = np.array([1.5, 1.5, 0.5, 0.5, 3.0])
    seen = set()
    for seed in range(20):
        shuffle = np.random.default_rng(seed).permutation(len(left))
        flip = np.random.default_rng(seed + 100).random(len(left)) < 0.5  # either end may come first
        a, b = np.where(flip, right, left)[shuffle], np.where(flip, left, right)[shuffle]
        labels = constrained_components(5, a, b, order[shuffle], np.array([0]), np.array([2]))
        seen.add(tuple(labels[[0, 1, 2, 3, 4]] == labels[0]))
    assert len(seen) == 1, seen
