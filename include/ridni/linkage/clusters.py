"""Clusters of linked records, and person ids that stay the same from night to night.

A cluster is a connected component of the night's links, except that two records a reviewer declared
different never end up in one cluster, however many links lead from one to the other: such a
component is rebuilt from its strongest links down, skipping any link that would join them. Each cluster takes the
id of the existing person that holds most of its records (the oldest on a tie);
any other existing person in it is merged into that one, and records that leave
a person for another cluster are a split. Both are logged.

Two records with different valid RNOKPPs are two persons: a chain of name matches that would join
them (a namesake without a birth date between them) is cut the same way as a reviewer's "different".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components


def components(n_records: int, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Component label of each record 0..n-1 given edges (left[i], right[i])."""
    graph = coo_matrix((np.ones(len(left), dtype=np.int8), (left, right)), shape=(n_records, n_records))
    _, labels = connected_components(graph, directed=False)
    return labels


def constrained_components(n_records: int, left: np.ndarray, right: np.ndarray, order: np.ndarray,
                           cannot_left: np.ndarray, cannot_right: np.ndarray) -> np.ndarray:
    """Like :func:`components`, but records ``cannot_left[i]`` and ``cannot_right[i]`` stay apart.

    ``order``: the strength rank of each edge (lower is stronger); in a component that holds a
    cannot-link pair, edges are added strongest first and an edge that would unite a cannot-link pair
    is left out (greedy constrained clustering; components without a conflict are untouched).
    """
    labels = components(n_records, left, right)
    conflicting = {int(labels[a]) for a, b in zip(cannot_left, cannot_right, strict=True) if labels[a] == labels[b]}
    if not conflicting:
        return labels
    cannot: dict[int, set[int]] = {}
    for a, b in zip(cannot_left.tolist(), cannot_right.tolist(), strict=True):
        cannot.setdefault(a, set()).add(b)
        cannot.setdefault(b, set()).add(a)
    parent = list(range(n_records))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    members: dict[int, set[int]] = {}
    candidates = np.flatnonzero(np.isin(labels[left], list(conflicting)))
    # strongest first, ties by the records' positions: the same clusters whatever order the edges came in
    # (Splink returns its pairs in the order its threads finish)
    low, high = np.minimum(left, right)[candidates], np.maximum(left, right)[candidates]
    for i in candidates[np.lexsort((high, low, order[candidates]))]:
        ra, rb = find(int(left[i])), find(int(right[i]))
        if ra == rb:
            continue
        a_set, b_set = members.setdefault(ra, {ra}), members.setdefault(rb, {rb})
        small, other = (a_set, rb) if len(a_set) <= len(b_set) else (b_set, ra)
        if any(find(y) == other for x in small for y in cannot.get(x, ())):
            continue  # a reviewer said these two groups are different persons
        parent[rb] = ra
        members[ra] = a_set | b_set
        members.pop(rb, None)
    out = labels.copy()
    next_label = int(labels.max()) + 1
    roots: dict[int, int] = {}
    for node in np.flatnonzero(np.isin(labels, list(conflicting))).tolist():
        root = find(node)
        if root not in roots:
            roots[root] = next_label
            next_label += 1
        out[node] = roots[root]
    return out


def different_keys(labels: np.ndarray, keys: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Pairs of records (positions) in one component whose ``keys`` differ, both present: one record
    per key value (records sharing a key are linked by it already)."""
    frame = pd.DataFrame({"label": labels, "key": keys.to_numpy(), "pos": np.arange(len(labels))}).dropna()
    frame = frame.drop_duplicates(["label", "key"])
    frame = frame[frame["label"].duplicated(keep=False)]
    pairs = frame.merge(frame, on="label")
    pairs = pairs[pairs["key_x"] < pairs["key_y"]]
    return pairs["pos_x"].to_numpy(), pairs["pos_y"].to_numpy()


@dataclass
class Assignment:
    person_of_record: pd.Series  # record index -> person_id
    new_persons: list[int]
    merges: list[tuple[int, int, int]]  # (kept person, absorbed person, records moved)
    splits: list[tuple[int, int, int]]  # (original person, new person, records moved)


def assign_person_ids(labels: np.ndarray, previous: pd.Series, next_id) -> Assignment:
    """Give each cluster a person id, keeping yesterday's ids.

    ``labels``: cluster label per record (position = record index); ``previous``: yesterday's person id
    per record (NaN for a new record); ``next_id()``: a fresh id.
    """
    frame = pd.DataFrame({"cluster": labels, "old": previous.to_numpy()}, index=previous.index)
    known = frame.dropna(subset=["old"]).astype({"old": "int64"})
    # the existing person holding most of each cluster's records keeps its id (oldest id on a tie)
    votes = known.groupby(["cluster", "old"]).size().rename("n").reset_index()
    votes = votes.sort_values(["cluster", "n", "old"], ascending=[True, False, True])
    owner = votes.drop_duplicates("cluster").set_index("cluster")["old"]
    # one old person can win only one cluster: the piece with most of its records keeps the id
    owner_votes = votes.merge(owner.rename("owner").reset_index(), on="cluster")
    owner_votes = owner_votes[owner_votes["old"] == owner_votes["owner"]]
    owner_votes = owner_votes.sort_values(["old", "n", "cluster"], ascending=[True, False, True])
    keeps = owner_votes.drop_duplicates("old").set_index("cluster")["old"]

    cluster_person: dict[int, int] = keeps.to_dict()
    new_persons: list[int] = []
    for cluster in np.unique(labels):
        if cluster not in cluster_person:
            cluster_person[cluster] = next_id()
            new_persons.append(cluster_person[cluster])
    person = frame["cluster"].map(cluster_person)

    moved = known.assign(new=person[known.index]).query("old != new")
    moved_counts = moved.groupby(["old", "new"]).size()
    merges, splits = [], []
    surviving_old = set(keeps.to_numpy())
    for (old, new), n in moved_counts.items():
        if old in surviving_old:
            splits.append((int(old), int(new), int(n)))  # the old person lives on; these records left it
        else:
            merges.append((int(new), int(old), int(n)))  # the old person is absorbed entirely
    return Assignment(person, new_persons, merges, splits)
