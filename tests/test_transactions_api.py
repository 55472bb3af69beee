"""Transactions(customer_ids=...) and Transactions.lump_channels."""
import numpy as np
import pandas as pd
import pytest

import siyu


def _df(seed=0, n=400):
    rng = np.random.default_rng(seed)
    ids = np.array([f"{i:05d}" for i in rng.integers(0, 60, n)] + ["00007", "7"])
    n = ids.size
    return pd.DataFrame({"c": ids,
                         "t": np.datetime64("2024-01-01") + rng.integers(0, 200, n).astype("timedelta64[D]"),
                         "a": rng.gamma(2.0, 10.0, n),
                         "ch": rng.choice(["wx", "dy", "xhs", "tb", "jd"], n)})


@pytest.mark.parametrize("shuffle_ids", [False, True])
@pytest.mark.parametrize("arrow", [False, True])   # Arrow-backed ids: sorted-ness checked in Arrow
def test_customer_ids_codes_equal_the_text_path(shuffle_ids, arrow):
    df = _df()
    plain = siyu.Transactions(df, customer="c", time="t", amount="a")
    uniq = pd.unique(df["c"])
    if not shuffle_ids:
        uniq = np.sort(uniq)
    extra = np.array(["never-used"])              # an id no row refers to is not a customer
    ids = pd.Index(np.concatenate([uniq, extra]))
    codes = pd.Index(ids).get_indexer(df["c"])
    if arrow:
        ids = pd.Index(pd.array(list(ids), dtype="string[pyarrow]"))
    coded = siyu.Transactions({"c": codes, "t": df["t"], "a": df["a"]}, customer="c", time="t",
                              amount="a", customer_ids=ids)
    a, b = plain.summary(), coded.summary()
    assert list(a.index) == list(b.index)
    pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True))
    assert "never-used" not in set(coded.customer_ids)


def test_customer_ids_errors():
    t = ["2024-01-01"] * 3
    with pytest.raises(ValueError, match="codes must lie in 0..1"):
        siyu.Transactions(customer=[0, 1, 2], time=t, amount=[1., 2, 3], customer_ids=["a", "b"])
    with pytest.raises(ValueError, match="must be distinct; repeated: 'a'"):
        siyu.Transactions(customer=[0, 1, 0], time=t, amount=[1., 2, 3], customer_ids=["a", "a"])
    arrow = lambda v: pd.Index(pd.array(v, dtype="string[pyarrow]"))   # noqa: E731
    with pytest.raises(ValueError, match="must be distinct; repeated: 'a'"):
        siyu.Transactions(customer=[0, 1, 2], time=t, amount=[1., 2, 3],
                          customer_ids=arrow(["a", "a", "b"]))
    tx = siyu.Transactions(customer=[0, 1, 1], time=t, amount=[1., 2, 3],
                           customer_ids=arrow(["b", "a"]))       # unsorted: codes follow
    assert tx.lifecycle()["revenue"].to_dict() == {"a": 5.0, "b": 1.0}   # "a" is code 1
    with pytest.raises(TypeError, match="integer codes"):
        siyu.Transactions(customer=["a", "b", "a"], time=t, amount=[1., 2, 3],
                          customer_ids=["a", "b"])


def test_lump_channels_matches_relabelled_input():
    df = _df(1)
    tx = siyu.Transactions(df, customer="c", time="t", amount="a", channel="ch")
    lumped = tx.lump_channels(["wx", "dy"], other="其他")
    df2 = df.assign(ch=df["ch"].where(df["ch"].isin(["wx", "dy"]), "其他"))
    want = siyu.Transactions(df2, customer="c", time="t", amount="a", channel="ch")
    got_c = lumped.cohorts(period="M", by="ch")
    want_c = want.cohorts(period="M", by="ch")
    for lab in ("wx", "dy", "其他"):
        pd.testing.assert_frame_equal(got_c.active.loc[lab], want_c.active.loc[lab])
    assert list(lumped._log.channel_labels) == ["wx", "dy", "其他"]
    # the original is untouched
    assert sorted(tx._log.channel_labels) == ["dy", "jd", "tb", "wx", "xhs"]
    with pytest.raises(ValueError, match="unknown channel"):
        tx.lump_channels(["nope"])
    with pytest.raises(ValueError, match="also in keep"):
        tx.lump_channels(["wx"], other="wx")
