"""The order a build's pool takes its locales in (:func:`helpapi.indexer._run_pool`).

A pool of ``jobs`` processes builds the locales, each process taking the next locale when it
is free; the build ends when the last one does. Longest first (by estimated cost: the bytes of
a locale's files, see ``indexer._pool_costs``) leaves the last, smallest job alone at the end:
dev corpus, 9 jobs on 2 processes, one process idle for the 2.3 s of en-US. :func:`order`
looks for an order whose processes end together by the estimates; :class:`Planner` chooses
each next job when a process is free, from what the finished jobs took and how long the
running ones have run (an estimate is off by up to 15 % for a locale; choosing late corrects
the end of the build, where it matters).
"""

from __future__ import annotations

from collections.abc import Iterable

# Orders of more jobs than this are longest first only: a pass of the search is cubic in the
# jobs (64: 0.06 s), and it runs again at each job's end. Past this many locales the first
# choices are longest first and the last ones, where the end is decided, are searched.
SEARCH_MAX = 32


def estimated_end(times: Iterable[float], loads: list[float]) -> float:
    """When processes busy for ``loads`` (one entry per process) end ``times``' jobs, each
    process taking the next job when it is free."""
    free = list(loads)
    for t in times:
        i = free.index(min(free))
        free[i] += t
    return max(free)


def order(costs: dict[str, float], loads: list[float]) -> list[str]:
    """``costs``' jobs in the order that ends them earliest on processes busy for ``loads``
    (one entry per process, 0 for a free one), by the estimates: longest first, then pairs
    swapped while that makes the end earlier.

    A swap must gain more than a thousandth of the mean job, so ties keep the longest-first
    order (which is right when the estimates are wrong: a long job started late is the worst
    end of a build).
    """
    names = sorted(costs, key=lambda name: -costs[name])
    if len(names) <= 1 or len(names) > SEARCH_MAX:
        return names
    times = [costs[name] for name in names]
    best = estimated_end(times, loads)
    margin = sum(times) / len(times) / 1000
    for _ in range(len(names)):  # each pass gains or ends the search
        gained = False
        for i in range(len(names) - 1):
            for j in range(i + 1, len(names)):
                times[i], times[j] = times[j], times[i]
                end = estimated_end(times, loads)
                if end < best - margin:
                    best, gained = end, True
                    names[i], names[j] = names[j], names[i]
                else:
                    times[i], times[j] = times[j], times[i]
        if not gained:
            break
    return names


class Planner:
    """Chooses the jobs of a pool of ``jobs`` processes one at a time.

    :meth:`first` gives the jobs to start at once; then, each time a job ends
    (:meth:`finished`, with the seconds it took), :meth:`next` gives the job to start on the
    free process: the first of :func:`order` over the jobs left, with the running jobs'
    remaining seconds as the other processes' loads. Costs become seconds at the rate of the
    finished jobs (seconds per unit of cost), so the estimates' scale and the machine's speed
    need not be known.
    """

    def __init__(self, costs: dict[str, float], jobs: int):
        self.costs = dict(costs)
        self.jobs = jobs
        self.left = order(self.costs, [0.0] * jobs)
        self._seconds = 0.0
        self._cost = 0.0

    def first(self) -> list[str]:
        """The jobs to start at once (one per process)."""
        started, self.left = self.left[: self.jobs], self.left[self.jobs :]
        return started

    def finished(self, name: str, seconds: float) -> None:
        """``name`` ended after ``seconds``."""
        self._seconds += max(seconds, 0.0)
        self._cost += self.costs.get(name, 0.0)

    def next(self, running: dict[str, float]) -> str:
        """The job to start now; ``running`` maps the running jobs to the seconds they have
        run. Only while :attr:`left` is not empty."""
        if self._cost > 0 and self._seconds > 0:
            rate = self._seconds / self._cost
            loads = [0.0] + [
                max(self.costs.get(name, 0.0) * rate - ran, 0.0) for name, ran in running.items()
            ]
            loads += [0.0] * (self.jobs - len(loads))
            self.left = order({name: self.costs[name] * rate for name in self.left}, loads)
        return self.left.pop(0)
