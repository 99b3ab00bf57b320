"""Pairwise precision, recall and F1 of a clustering against the truth, counted without listing pairs.

Two records form a predicted pair when they share a person, a true pair when they share a true
person. Counts come from group sizes (n choose 2), so scoring a million records is instant.
``cross_script`` restricts the count to pairs with one Latin-script and one Cyrillic record.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import pandas as pd


@dataclass
class Score:
    true_pairs: int
    predicted_pairs: int
    correct_pairs: int

    @property
    def precision(self) -> float:
        return self.correct_pairs / self.predicted_pairs if self.predicted_pairs else 1.0

    @property
    def recall(self) -> float:
        return self.correct_pairs / self.true_pairs if self.true_pairs else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def as_dict(self) -> dict:
        return {**asdict(self), "precision": round(self.precision, 5), "recall": round(self.recall, 5),
                "f1": round(self.f1, 5)}


def _pairs(sizes: pd.Series) -> int:
    return int((sizes * (sizes - 1) // 2).sum())


def _cross(frame: pd.DataFrame, keys: list[str]) -> int:
    counts = frame.groupby(keys + ["latin"]).size().unstack("latin", fill_value=0)
    if True not in counts or False not in counts:
        return 0
    return int((counts[True] * counts[False]).sum())


def score(predicted: pd.Series, truth: pd.Series, latin: pd.Series | None = None) -> dict[str, Score]:
    """``predicted`` and ``truth``: cluster ids per record (same index); ``latin``: record in Latin script."""
    frame = pd.DataFrame({"pred": predicted, "true": truth})
    result = {"all": Score(_pairs(frame.groupby("true").size()), _pairs(frame.groupby("pred").size()),
                           _pairs(frame.groupby(["pred", "true"]).size()))}
    if latin is not None:
        frame["latin"] = latin.astype(bool)
        result["cross_script"] = Score(_cross(frame, ["true"]), _cross(frame, ["pred"]),
                                       _cross(frame, ["pred", "true"]))
    return result
