"""Clusters of linked records, and person ids that stay the same from night to night.

A cluster is a connected component of the night's links. Each cluster takes the
id of the existing person that holds most of its records (the oldest on a tie);
any other existing person in it is merged into that one, and records that leave
a person for another cluster are a split. Both are logged.
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
