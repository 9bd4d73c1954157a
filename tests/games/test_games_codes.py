"""Join codes: format, blocklist, uniqueness under concurrency, and behaviour when crowded."""

from __future__ import annotations

import random
import re
import threading
import time
from collections.abc import Sequence

import pytest
from django.core.cache import cache

from games import codes
from games.codes import CodeSpaceExhausted, all_codes, claim, is_blocked, is_code, normalise

SYLLABLES = re.compile(
    r"^(?:[BCDFGHJKLMNPRSTVWZ][AEIOU](?:[BCDFGHJKLMNPRSTVWZ][AEIOU]|LD|LK|LT|MP|ND|NK|NT|RD|RK|RN|RT|SK|ST)"
    r"|[BCDFGHJKLMNPRSTVWZ](?:AI|AU|EA|EE|IE|OA|OO|OU)[BDFGKLMNPRSTXZ]"
    r"|(?:BL|BR|CH|DR|FL|FR|GL|GR|KL|KR|PL|PR|SH|SK|SL|SN|SP|ST|SW|TH|TR|TW)[AEIOU][BDFGKLMNPRSTXZ]"
    r"|[AEIOU][BCDFGHJKLMNPRSTVWZ][AEIOU][BDFGKLMNPRSTXZ])$"
)


class DictStore:
    """A code store in a dict that counts round trips."""

    def __init__(self, taken: Sequence[str] = ()) -> None:
        self.data = {codes.key(c): "other" for c in taken}
        self.adds = 0
        self.batches = 0

    def add(self, key: str, value: str, timeout: int) -> bool:
        self.adds += 1
        if key in self.data:
            return False
        self.data[key] = value
        return True

    def get_many(self, keys: Sequence[str]) -> dict[str, str]:
        self.batches += 1
        return {k: self.data[k] for k in keys if k in self.data}


def test_every_code_is_four_letters_built_from_syllables() -> None:
    assert codes.CODE_COUNT == len(all_codes()) > 15_000
    for code in all_codes():
        assert len(code) == 4 and code.isalpha() and code.isupper()
        assert SYLLABLES.match(code), code
    assert {"SHON", "ZOOT", "NONA"} <= set(all_codes())


def test_no_code_is_or_contains_an_offensive_word() -> None:
    for code in all_codes():
        assert code not in codes.BLOCKED_WORDS
        assert not any(f in code for f in codes.BLOCKED_FRAGMENTS), code
    # The grammar would produce these; the blocklist removes them.
    for word in ("SHIT", "SLUT", "TWAT", "RAPE", "CUNT", "PORN", "NAZI", "HOMO", "FAGS"):
        assert is_blocked(word) and not is_code(word)
    assert is_blocked("bofag") and not is_blocked("NONA")


def test_codes_are_case_insensitive_and_letters_only() -> None:
    assert normalise(" shon ") == "SHON"
    assert is_code("zOoT")
    for bad in ("SHO", "SHONE", "SH0N", "SH N", "ÄBCD", ""):
        assert not is_code(bad)


def test_claimed_codes_are_unique_and_held_in_the_shared_cache() -> None:
    got = [claim(cache, "owner-1", 60) for _ in range(200)]
    try:
        assert len(set(got)) == 200
        assert all(cache.get(codes.key(c)) == "owner-1" for c in got)
    finally:
        cache.delete_many([codes.key(c) for c in got])


def test_concurrent_claims_never_hand_out_the_same_code() -> None:
    # A small pretend space makes collisions certain, so atomicity is what is tested.
    pool = all_codes()[:120]
    results: list[str] = []
    lock = threading.Lock()

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        for _ in range(20):
            code = pool[rng.randrange(len(pool))]
            if cache.add(codes.key(code), f"w{seed}", 60):
                with lock:
                    results.append(code)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(6)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(results) == len(set(results))
    finally:
        cache.delete_many([codes.key(c) for c in pool])


def test_crowded_space_still_finds_the_last_free_codes_quickly() -> None:
    free = {"SHON", "ZOOT", "NONA"}
    store = DictStore([c for c in all_codes() if c not in free])
    started = time.perf_counter()
    got = {claim(store, "me", 60, random.Random(seed)) for seed in range(3)}
    assert got == free
    assert time.perf_counter() - started < 2.0
    # At most one get_many per batch of the whole space, per claim.
    assert store.batches <= 3 * (codes.CODE_COUNT // codes.SCAN_BATCH + 1)


def test_full_space_fails_with_a_clear_error() -> None:
    store = DictStore(all_codes())
    with pytest.raises(CodeSpaceExhausted, match=f"all {codes.CODE_COUNT} join codes"):
        claim(store, "me", 60, random.Random(1))
    assert store.adds == codes.RANDOM_TRIES  # the scan asks in bulk instead of adding


def test_half_full_space_needs_only_random_picks() -> None:
    taken = random.Random(98765).sample(all_codes(), codes.CODE_COUNT // 2)
    store = DictStore(taken)
    for seed in range(1000, 1050):
        claim(store, "me", 60, random.Random(seed))
    assert store.batches == 0
