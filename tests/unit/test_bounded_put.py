"""storefront/core/bounded.put: the one way a worker's memos stay within their size."""

from __future__ import annotations

import threading
from collections import OrderedDict

from storefront.core import bounded


def test_the_oldest_goes_first_and_the_limit_holds():
    held: dict[int, str] = {}
    for i in range(10):
        bounded.put(held, i, str(i), 3)
        assert len(held) == min(i + 1, 3)
    assert list(held) == [7, 8, 9] and held[9] == "9"


def test_a_key_put_again_keeps_its_place_and_evicts_nothing():
    held = {"a": 1, "b": 2}
    bounded.put(held, "a", 3, 2)
    assert held == {"a": 3, "b": 2} and list(held) == ["a", "b"]


def test_an_ordered_dict_read_with_move_to_end_is_least_recently_used():
    held: OrderedDict[str, int] = OrderedDict()
    for k in "abc":
        bounded.put(held, k, 0, 3)
    held.move_to_end("a")  # a read, as versioned.py and page_memo.py do
    bounded.put(held, "d", 0, 3)
    assert list(held) == ["c", "a", "d"]


def test_a_limit_of_zero_holds_nothing():
    held: dict[str, int] = {}
    bounded.put(held, "a", 1, 0)
    assert held == {}


def test_threads_putting_at_once_without_a_lock_never_raise():
    held: dict[tuple[int, int], int] = {}
    errors: list[BaseException] = []

    def work(t: int) -> None:
        try:
            for i in range(20_000):
                bounded.put(held, (t, i), i, 64)
        except BaseException as e:  # noqa: BLE001 - the test's point: none reaches here
            errors.append(e)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(held) <= 64 + len(threads)  # each thread's last put evicts down to the limit
