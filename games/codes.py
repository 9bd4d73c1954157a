"""Join codes: four pronounceable letters, unique among live sessions across processes.

Every code is built from syllables (SHON, ZOOT, NONA, AMOS, BANK …), so it can be read aloud in a
park. The whole space is enumerated once, minus a blocklist, so its size is exact (see
``CODE_COUNT``). A code is claimed with an atomic add-if-absent in the shared cache (Redis
``SET NX`` with a TTL when ``REDIS_URL`` is set, the local-memory cache in the embedded default);
the owner refreshes the TTL while the session lives and deletes it when the session is reaped.
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Iterable, Sequence
from functools import cache
from typing import Protocol

CONSONANTS = "BCDFGHJKLMNPRSTVWZ"
VOWELS = "AEIOU"
VOWEL_PAIRS = ("AI", "AU", "EA", "EE", "IE", "OA", "OO", "OU")
ONSETS = (
    "BL", "BR", "CH", "DR", "FL", "FR", "GL", "GR", "KL", "KR", "PL",
    "PR", "SH", "SK", "SL", "SN", "SP", "ST", "SW", "TH", "TR", "TW",
)  # fmt: skip
CODAS = "BDFGKLMNPRSTXZ"
CLUSTERS = ("LD", "LK", "LT", "MP", "ND", "NK", "NT", "RD", "RK", "RN", "RT", "SK", "ST")

# Whole words that may never be a code, and fragments that may appear nowhere in one.
BLOCKED_WORDS = frozenset(
    [
        "ANAL", "ANUS", "ARSE", "BANG", "BOOB", "BUTT", "CLIT", "COCK", "COON", "CRAP", "CUMS",
        "CUNT", "DAGO", "DAMN", "DICK", "DIKE", "DYKE", "FAGS", "FART", "FUCK", "FUKS", "GOOK",
        "GOOL", "HELL", "HOMO", "HOOR", "JAPS", "JIZZ", "KIKE", "KILL", "KUNT", "LUST", "MUFF",
        "NAZI", "NUDE", "PAKI", "PECK", "PEDO", "PIMP", "PISS", "POON", "POOP", "PORN", "PUBE",
        "PUSS", "PUTA", "RAPE", "SCUM", "SEXY", "SHAG", "SHAT", "SHIT", "SKAG", "SLAG", "SLUT",
        "SMUT", "SPAZ", "SPIC", "SUCK", "TARD", "TITS", "TURD", "TWAT", "VAGS", "WANK", "WHOR",
        "WOGS", "ZIGA",
    ]
)  # fmt: skip
BLOCKED_FRAGMENTS = ("FAG", "NIG", "NEG", "CUM", "FUK", "FUC", "SEX", "JEW", "KKK", "COK", "TIT")

ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ")


def _candidates() -> Iterable[str]:
    for c1 in CONSONANTS:
        for v1 in VOWELS:
            for c2 in CONSONANTS:
                for v2 in VOWELS:
                    yield c1 + v1 + c2 + v2  # NONA
            for cl in CLUSTERS:
                yield c1 + v1 + cl  # BANK
        for vv in VOWEL_PAIRS:
            for k in CODAS:
                yield c1 + vv + k  # ZOOT
    for on in ONSETS:
        for v in VOWELS:
            for k in CODAS:
                yield on + v + k  # SHON
    for v1 in VOWELS:
        for c in CONSONANTS:
            for v2 in VOWELS:
                for k in CODAS:
                    yield v1 + c + v2 + k  # AMOS


def is_blocked(code: str) -> bool:
    """Whether ``code`` is (or contains) an offensive word."""
    c = code.upper()
    return c in BLOCKED_WORDS or any(f in c for f in BLOCKED_FRAGMENTS)


@cache
def all_codes() -> tuple[str, ...]:
    """Every code the generator may hand out, sorted."""
    return tuple(sorted({c for c in _candidates() if not is_blocked(c)}))


@cache
def _code_set() -> frozenset[str]:
    return frozenset(all_codes())


CODE_COUNT = len(all_codes())


def normalise(raw: str) -> str | None:
    """The canonical (upper-case) code for user input, or None if it cannot be one."""
    c = raw.strip().upper()
    if len(c) != 4 or not set(c) <= ALPHABET:
        return None
    return c


def is_code(raw: str) -> bool:
    """Whether ``raw`` (any case) is a code the generator could have produced."""
    c = normalise(raw)
    return c is not None and c in _code_set()


class CodeSpaceExhausted(Exception):
    """No free code was found: nearly every code is held by a live session."""


class CodeStore(Protocol):
    """Where claims live: the shared cache (any Django cache backend fits)."""

    def add(self, key: str, value: str, timeout: int) -> bool: ...
    def get_many(self, keys: Sequence[str]) -> dict[str, str]: ...


KEY_PREFIX = "games:code:"

RANDOM_TRIES = 24  # enough while the space is at most ~half full (1 in 10^7 to miss)
SCAN_BATCH = 512


def key(code: str) -> str:
    """The cache key that holds a claimed code."""
    return KEY_PREFIX + code


def claim(store: CodeStore, value: str, ttl: int, rng: random.Random | None = None) -> str:
    """Claim a free code atomically and return it; ``value`` is stored (the owner's address).

    First a few random picks, each one atomic add. When those all collide the space is crowded,
    so the generator walks every code from a random offset in batches, asks which are taken in
    one round trip per batch and tries only the free ones: at most ``CODE_COUNT / SCAN_BATCH``
    round trips, then :class:`CodeSpaceExhausted`.
    """
    r = rng or random.Random(secrets.randbits(64))  # noqa: S311 - uniqueness, not secrecy
    codes = all_codes()
    n = len(codes)
    for _ in range(RANDOM_TRIES):
        code = codes[r.randrange(n)]
        if store.add(key(code), value, ttl):
            return code
    start = r.randrange(n)
    for offset in range(0, n, SCAN_BATCH):
        batch = [codes[(start + offset + i) % n] for i in range(min(SCAN_BATCH, n - offset))]
        taken = store.get_many([key(c) for c in batch])
        for code in batch:
            if key(code) not in taken and store.add(key(code), value, ttl):
                return code
    raise CodeSpaceExhausted(
        f"all {n} join codes are held by live sessions; end or wait for idle sessions to expire"
    )
