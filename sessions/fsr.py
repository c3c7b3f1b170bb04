"""Fraction of Speedup Recovered (arXiv 2506.22419), from a session's times alone.

Shared by the full scorer (from a replayed SessionState) and the store, which caches
each session's FSR in its row so that listing sessions never replays events.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FsrTimes:
    fsr: float | None
    start_time_s: float | None  # t_start: measured root time, else the catalog's
    target_time_s: float | None  # t_next: timed in the session, else scaled to this hardware when measured
    best_time_s: float | None  # t_best over valid nodes, the start code included
    times_source: str  # "measured" or "catalog"
    # "timed" (the next record's code ran in the session), "calibrated" (a ratio calibrated on
    # this kind of CPU) or "provisional" (the nearest calibration, made on another kind of CPU)
    target_source: str


def compute_fsr(catalog_start_s: float | None, catalog_target_s: float | None,
                root_time_s: float | None, best_node_time_s: float | None, *,
                timed_target_s: float | None = None, provisional: bool = False) -> FsrTimes:
    """FSR = (t_start - t_best) / (t_start - t_next).

    Times compare only on one machine: when the unchanged start code ran validly in the
    session (`root_time_s`), it is t_start, and t_next is the next record's code timed in
    the same session (`timed_target_s`) or else the next record's catalog time rescaled by
    the catalog's ratio; otherwise the catalog's own times are used. A timed target counts
    only beside a measured start: one run's time against the catalog's would mix machines.
    t_best includes the start code, so an agent slower than the start (or one that never
    reaches the target) scores 0; faster than the next record scores above 1, not clipped.
    """
    source = "provisional" if provisional else "calibrated"
    if root_time_s is not None and timed_target_s is not None:
        t_start, t_next, times, source = root_time_s, timed_target_s, "measured", "timed"
    elif root_time_s is not None:
        t_start, times = root_time_s, "measured"
        ratio_known = catalog_start_s and catalog_target_s is not None
        t_next = root_time_s * (catalog_target_s / catalog_start_s) if ratio_known else None
    else:
        t_start, t_next, times = catalog_start_s, catalog_target_s, "catalog"
    if t_start is None:
        return FsrTimes(None, None, t_next, best_node_time_s, times, source)
    t_best = t_start if best_node_time_s is None else min(t_start, best_node_time_s)
    if t_next is None or t_next >= t_start:
        return FsrTimes(None, t_start, t_next, t_best, times, source)
    return FsrTimes((t_start - t_best) / (t_start - t_next), t_start, t_next, t_best, times, source)
