"""Erlang B / C against published and hand-computed values."""

from __future__ import annotations

import math

import pytest

from optimizer.queueing import (
    erlang_b,
    erlang_c,
    expected_wait_min,
    offered_load_erlang,
    required_counters,
    service_level,
)


def test_erlang_b_table_values() -> None:
    # standard Erlang B tables: B(10 lines, 10 E) = 0.2146, B(5, 2 E) = 0.0367
    assert erlang_b(10, 10.0) == pytest.approx(0.2146, abs=5e-5)
    assert erlang_b(5, 2.0) == pytest.approx(0.0367, abs=5e-5)
    assert erlang_b(0, 3.0) == 1.0
    assert erlang_b(3, 0.0) == 0.0


def test_erlang_c_exact_small_case() -> None:
    # M/M/3 with A = 2 E: B = 4/19, C = 3B / (3 - 2(1 - B)) = 4/9 exactly
    assert erlang_c(3, 2.0) == pytest.approx(4 / 9, rel=1e-12)
    # M/M/1: C = rho
    assert erlang_c(1, 0.7) == pytest.approx(0.7, rel=1e-12)


def test_call_centre_worked_example() -> None:
    # Published worked example (callcentrehelper.com, "Erlang C formula made simple"):
    # 100 calls per 30 min, 180 s handling, answer target 20 s, 80 % service level.
    # A = 10 E; 11 agents: Pw 68.21 %; 13 agents: SL 79.56 %; 14 agents: Pw 17.41 %, SL 88.84 %.
    arrivals_per_hour, service_min, target_min = 200.0, 3.0, 20 / 60
    assert offered_load_erlang(arrivals_per_hour, service_min) == pytest.approx(10.0)
    assert erlang_c(11, 10.0) == pytest.approx(0.6821, abs=5e-5)
    assert erlang_c(14, 10.0) == pytest.approx(0.1741, abs=5e-5)
    assert service_level(13, arrivals_per_hour, service_min, target_min) == pytest.approx(0.7956, abs=5e-5)
    assert service_level(14, arrivals_per_hour, service_min, target_min) == pytest.approx(0.8884, abs=5e-5)
    assert required_counters(arrivals_per_hour, service_min, target_min, 0.8) == 14
    # average speed of answer with 14 agents: 7.8 s
    assert expected_wait_min(14, arrivals_per_hour, service_min) * 60 == pytest.approx(7.84, abs=0.01)


def test_overloaded_and_empty_queues() -> None:
    assert erlang_c(2, 2.0) == 1.0
    assert expected_wait_min(2, 60.0, 2.0) == math.inf
    assert service_level(2, 60.0, 2.0, 15.0) == 0.0
    assert required_counters(0.0, 20.0, 15.0, 0.8) == 0
    assert expected_wait_min(1, 0.0, 20.0) == 0.0


def test_large_systems_stay_stable() -> None:
    # a naive A**n / n! overflows long before n = 2000; the recursion does not
    c = erlang_c(2000, 1950.0)
    assert 0.0 < c < 1.0
    n = required_counters(60 * 1950.0, 1.0, 0.25, 0.9)
    assert n > 1950
    assert service_level(n, 60 * 1950.0, 1.0, 0.25) >= 0.9 > service_level(n - 1, 60 * 1950.0, 1.0, 0.25)


def test_service_level_monotone_in_counters() -> None:
    levels = [service_level(n, 12.0, 20.0, 15.0) for n in range(4, 12)]
    assert levels == sorted(levels)


def test_bad_arguments_raise() -> None:
    with pytest.raises(ValueError, match="arrivals_per_hour"):
        offered_load_erlang(-1.0, 3.0)
    with pytest.raises(ValueError, match="target_service_level"):
        required_counters(10.0, 3.0, 1.0, 1.5)
    with pytest.raises(ValueError, match="servers"):
        erlang_b(-1, 2.0)
