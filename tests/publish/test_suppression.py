import itertools

import numpy as np
import pandas as pd

from ridni.publish.suppression import leaking_groups, suppress

RELATIONS = [["category"], ["category", "region"], ["category", "sex"]]


def _cube(seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = [
        {"category": c, "region": r, "sex": s, "count_value": int(rng.choice([0, 1, 2, 3, 4, 7, 12, 40]))}
        for c, r, s in itertools.product(["missing", "captive_pow", "returned"], ["UA-14", "UA-09", "UA-23"],
                                         ["M", "F"])
    ]
    return pd.DataFrame(rows)


def test_every_count_below_the_threshold_is_hidden():
    out = suppress(_cube(1), RELATIONS)
    small = out[(out.count_value > 0) & (out.count_value < 5)]
    assert small.suppressed.all()
    assert (out[out.count_value == 0].suppression != "primary").all()  # a zero reveals nobody
    assert (out[out.count_value >= 5].suppression != "primary").all()


def test_no_hidden_cell_can_be_recovered_by_subtracting_from_a_published_total():
    for seed in range(30):
        out = suppress(_cube(seed), RELATIONS)
        assert leaking_groups(out, RELATIONS).empty, seed
        # the attack itself: in each published margin, total minus visible cells
        for keys in RELATIONS:
            for _, group in out.groupby(keys):
                hidden = group[group.suppressed]
                if len(hidden) == 1:
                    raise AssertionError(f"recoverable: {hidden.iloc[0].to_dict()}")


def test_a_single_small_cell_gets_a_complement():
    cells = pd.DataFrame({"category": ["a", "a", "a"], "count_value": [3, 10, 50]})
    out = suppress(cells, [["category"]])
    assert out.suppressed.tolist() == [True, True, False]
    assert out.suppression.tolist()[:2] == ["primary", "complementary"]
