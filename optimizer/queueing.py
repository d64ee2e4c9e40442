"""Erlang B / Erlang C queueing formulas for reception counters.

A reception site in its peak hour is modelled as an M/M/n queue: visitors
arrive at random (Poisson, ``arrivals_per_hour``), each takes on average
``service_min`` minutes at a counter, and ``n`` counters serve one common
queue.  The offered load is ``A = arrivals_per_hour * service_min / 60``
erlangs.

Why our own implementation: the one maintained PyPI package that offers
Erlang C (``pyworkforce`` 0.5.1) rejects zero arrivals, pulls in ``joblib``
and returns a meaningless waiting probability when ``n <= A`` instead of 1.
The formulas are short; we use the numerically stable recursion of Erlang B,
which stays in [0, 1] and never forms ``A**n / n!``:

.. math::

    B(0, A) = 1, \\qquad B(k, A) = \\frac{A\\,B(k-1, A)}{k + A\\,B(k-1, A)}

    C(n, A) = \\frac{n\\,B(n, A)}{n - A\\,(1 - B(n, A))} \\quad (n > A),
    \\qquad C(n, A) = 1 \\quad (n \\le A)

The share of visitors waiting less than ``t`` minutes is
``1 - C exp(-(n - A) t / s)`` and the mean wait is ``C s / (n - A)``.
"""

from __future__ import annotations

import math

__all__ = [
    "erlang_b",
    "erlang_c",
    "expected_wait_min",
    "offered_load_erlang",
    "required_counters",
    "service_level",
]


def offered_load_erlang(arrivals_per_hour: float, service_min: float) -> float:
    """Offered load in erlangs: arrivals per hour times service hours per arrival.

    Parameters
    ----------
    arrivals_per_hour
        Mean arrivals per hour (>= 0).
    service_min
        Mean service time per arrival, in minutes (>= 0).

    Returns
    -------
    float
        ``arrivals_per_hour * service_min / 60``.

    Raises
    ------
    ValueError
        If either argument is negative or not finite.
    """
    if not (math.isfinite(arrivals_per_hour) and arrivals_per_hour >= 0):
        msg = f"arrivals_per_hour must be a finite number >= 0, got {arrivals_per_hour!r}"
        raise ValueError(msg)
    if not (math.isfinite(service_min) and service_min >= 0):
        msg = f"service_min must be a finite number >= 0, got {service_min!r}"
        raise ValueError(msg)
    return arrivals_per_hour * service_min / 60.0


def _check_servers(servers: int, load_erlang: float) -> None:
    if servers < 0:
        msg = f"servers must be >= 0, got {servers!r}"
        raise ValueError(msg)
    if not (math.isfinite(load_erlang) and load_erlang >= 0):
        msg = f"load_erlang must be a finite number >= 0, got {load_erlang!r}"
        raise ValueError(msg)


def erlang_b(servers: int, load_erlang: float) -> float:
    """Blocking probability of an M/M/n/n loss system (Erlang B).

    Parameters
    ----------
    servers
        Number of servers ``n`` (>= 0).
    load_erlang
        Offered load ``A`` in erlangs (>= 0).

    Returns
    -------
    float
        ``B(n, A)`` in [0, 1]; 1 when ``n == 0``, 0 when ``A == 0 < n``.
    """
    _check_servers(servers, load_erlang)
    b = 1.0
    for k in range(1, servers + 1):
        b = load_erlang * b / (k + load_erlang * b)
    return b


def erlang_c(servers: int, load_erlang: float) -> float:
    """Probability that an arrival has to wait in an M/M/n queue (Erlang C).

    Parameters
    ----------
    servers
        Number of counters ``n`` (>= 0).
    load_erlang
        Offered load ``A`` in erlangs (>= 0).

    Returns
    -------
    float
        ``C(n, A)`` in [0, 1]; 1 when ``n <= A`` (the queue grows without
        bound), 0 when ``A == 0 < n``.
    """
    _check_servers(servers, load_erlang)
    if load_erlang == 0.0 and servers > 0:
        return 0.0
    if servers <= load_erlang:
        return 1.0
    b = erlang_b(servers, load_erlang)
    return min(1.0, servers * b / (servers - load_erlang * (1.0 - b)))


def service_level(
    servers: int, arrivals_per_hour: float, service_min: float, target_wait_min: float
) -> float:
    """Share of arrivals that wait less than ``target_wait_min`` minutes.

    Parameters
    ----------
    servers
        Number of counters.
    arrivals_per_hour
        Mean arrivals per hour.
    service_min
        Mean service time in minutes.
    target_wait_min
        Waiting-time target in minutes (>= 0).

    Returns
    -------
    float
        ``1 - C(n, A) exp(-(n - A) t / s)`` in [0, 1]; 1 with no arrivals,
        0 when ``n <= A``.
    """
    load = offered_load_erlang(arrivals_per_hour, service_min)
    _check_servers(servers, load)
    if load == 0.0:
        return 1.0
    if servers <= load:
        return 0.0
    c = erlang_c(servers, load)
    return max(0.0, 1.0 - c * math.exp(-(servers - load) * target_wait_min / service_min))


def expected_wait_min(servers: int, arrivals_per_hour: float, service_min: float) -> float:
    """Mean waiting time in minutes (average speed of answer) of an M/M/n queue.

    Parameters
    ----------
    servers
        Number of counters.
    arrivals_per_hour
        Mean arrivals per hour.
    service_min
        Mean service time in minutes.

    Returns
    -------
    float
        ``C(n, A) s / (n - A)``; 0 with no arrivals; ``inf`` when ``n <= A``.
    """
    load = offered_load_erlang(arrivals_per_hour, service_min)
    _check_servers(servers, load)
    if load == 0.0:
        return 0.0
    if servers <= load:
        return math.inf
    return erlang_c(servers, load) * service_min / (servers - load)


def required_counters(
    arrivals_per_hour: float,
    service_min: float,
    target_wait_min: float,
    target_service_level: float,
    max_counters: int = 10_000,
) -> int:
    """Fewest counters so that ``target_service_level`` of arrivals wait < ``target_wait_min``.

    Parameters
    ----------
    arrivals_per_hour
        Mean arrivals in the peak hour.
    service_min
        Mean service time in minutes.
    target_wait_min
        Waiting-time target in minutes.
    target_service_level
        Required share of arrivals within the target, in (0, 1).
    max_counters
        Search limit; exceeding it raises.

    Returns
    -------
    int
        0 when nobody arrives, otherwise the smallest ``n > A`` meeting the target.

    Raises
    ------
    ValueError
        On invalid arguments or if more than ``max_counters`` would be needed.
    """
    if not 0.0 < target_service_level < 1.0:
        msg = f"target_service_level must be in (0, 1), got {target_service_level!r}"
        raise ValueError(msg)
    if not (math.isfinite(target_wait_min) and target_wait_min >= 0):
        msg = f"target_wait_min must be a finite number >= 0, got {target_wait_min!r}"
        raise ValueError(msg)
    load = offered_load_erlang(arrivals_per_hour, service_min)
    if load == 0.0:
        return 0
    n = max(1, math.floor(load) + 1)
    while n <= max_counters:
        if service_level(n, arrivals_per_hour, service_min, target_wait_min) >= target_service_level:
            return n
        n += 1
    msg = (
        f"more than {max_counters} counters needed for {arrivals_per_hour:g} arrivals/h "
        f"at {service_min:g} min each"
    )
    raise ValueError(msg)
