from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.services.otp import OtpCheck, OtpState, check, issue, normalize

PEPPER = b"pepper-for-tests"
NOW = 1_730_000_000


class FixedRandom:
    def __init__(self, digits: list[int]) -> None:
        self.digits = list(digits)

    def randbelow(self, exclusive_upper_bound: int, /) -> int:
        assert exclusive_upper_bound == 10
        return self.digits.pop(0)


def fixed(code: str) -> FixedRandom:
    return FixedRandom([int(d) for d in code])


def test_issue_returns_digits_and_a_state_without_the_code() -> None:
    code, state = issue(now=NOW, pepper=PEPPER)
    assert len(code) == 6 and code.isdigit()
    assert state.expires_at == NOW + 300 and state.attempts_left == 3
    assert code not in json.dumps(state.to_dict())
    assert len(state.code_mac) == 64


def test_length_ttl_and_attempts() -> None:
    code, state = issue(length=8, ttl_s=60, max_attempts=5, now=NOW, pepper=PEPPER, rng=fixed("01234567"))
    assert code == "01234567"
    assert (state.expires_at, state.attempts_left) == (NOW + 60, 5)


def test_ok_then_single_use() -> None:
    code, state = issue(now=NOW, pepper=PEPPER, rng=fixed("042137"))
    result, state = check(state, "042137", now=NOW + 10, pepper=PEPPER)
    assert result == OtpCheck("ok", 0) and result.ok
    result, _ = check(state, "042137", now=NOW + 11, pepper=PEPPER)
    assert result.kind == "locked"


def test_wrong_attempts_then_locked() -> None:
    _, state = issue(now=NOW, pepper=PEPPER, rng=fixed("111111"))
    kinds = []
    for typed in ("222222", "abc", "1111111"):
        result, state = check(state, typed, now=NOW, pepper=PEPPER)
        kinds.append((result.kind, result.attempts_left))
    assert kinds == [("wrong", 2), ("wrong", 1), ("wrong", 0)]
    result, state2 = check(state, "111111", now=NOW, pepper=PEPPER)
    assert result == OtpCheck("locked", 0) and state2 == state


def test_expired_does_not_spend_attempts() -> None:
    _, state = issue(ttl_s=300, now=NOW, pepper=PEPPER, rng=fixed("123456"))
    result, after = check(state, "123456", now=NOW + 300, pepper=PEPPER)
    assert result == OtpCheck("expired", 3) and after == state
    assert check(state, "123456", now=NOW + 299, pepper=PEPPER)[0].ok


def test_other_pepper_does_not_match() -> None:
    _, state = issue(now=NOW, pepper=PEPPER, rng=fixed("123456"))
    assert check(state, "123456", now=NOW, pepper=b"other")[0].kind == "wrong"


def test_state_round_trips_through_json() -> None:
    _, state = issue(now=NOW, pepper=PEPPER, rng=fixed("987654"))
    restored = OtpState.from_dict(json.loads(json.dumps(state.to_dict())))
    assert restored == state
    assert check(restored, "987654", now=NOW, pepper=PEPPER)[0].ok


@pytest.mark.parametrize("data", [
    {}, {"code_mac": "x", "expires_at": 1, "attempts_left": 1},
    {"code_mac": "a" * 64, "expires_at": "1", "attempts_left": 1},
    {"code_mac": "a" * 64, "expires_at": 1, "attempts_left": True},
    {"v": 2, "code_mac": "a" * 64, "expires_at": 1, "attempts_left": 1},
])
def test_from_dict_rejects_garbage(data: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        OtpState.from_dict(data)


@pytest.mark.parametrize("kwargs", [{"length": 3}, {"length": 13}, {"ttl_s": 0}, {"max_attempts": 0}])
def test_issue_argument_errors(kwargs: dict[str, int]) -> None:
    with pytest.raises(ValueError):
        issue(now=NOW, pepper=PEPPER, **kwargs)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        issue(now=NOW, pepper=b"")


def test_normalize() -> None:
    assert normalize(" 123 456 ") == "123456"
    assert normalize("123-456") == "123456"
    assert normalize("12\u201334\u00a056") == "123456"


separators = st.text(alphabet=" -\t\u2013\u2014\u00a0", max_size=3)


@given(code=st.text(alphabet="0123456789", min_size=6, max_size=6), seps=st.lists(separators, min_size=7, max_size=7))
def test_separators_anywhere_are_ignored(code: str, seps: list[str]) -> None:
    _, state = issue(now=NOW, pepper=PEPPER, rng=fixed(code))
    typed = "".join(sep + digit for sep, digit in zip(seps, code, strict=False)) + seps[-1]
    result, _ = check(state, typed, now=NOW, pepper=PEPPER)
    assert result.ok


@given(code=st.text(alphabet="0123456789", min_size=6, max_size=6),
       typed=st.text(alphabet="0123456789 -", max_size=10))
def test_only_the_same_digits_match(code: str, typed: str) -> None:
    _, state = issue(now=NOW, pepper=PEPPER, rng=fixed(code))
    result, _ = check(state, typed, now=NOW, pepper=PEPPER)
    assert result.ok == (typed.replace(" ", "").replace("-", "") == code)


@given(length=st.integers(min_value=4, max_value=12))
def test_codes_have_the_requested_length(length: int) -> None:
    code, _ = issue(length=length, now=NOW, pepper=PEPPER)
    assert len(code) == length and code.isdigit()
