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
    target_time_s: float | None  # t_next, scaled to this hardware when measured
    best_time_s: float | None  # t_best over valid nodes, the start code included
    times_source: str  # "measured" or "catalog"


def compute_fsr(catalog_start_s: float | None, catalog_target_s: float | None,
                root_time_s: float | None, best_node_time_s: float | None) -> FsrTimes:
    """FSR = (t_start - t_best) / (t_start - t_next).

    Times compare only on one machine: when the unchanged start code ran validly in the
    session (`root_time_s`), it is t_start and the next record's time is rescaled by the
    catalog's ratio; otherwise the catalog's own times are used. t_best includes the start
    code, so an agent slower than the start (or one that never reaches the target) scores
    0; faster than the next record scores above 1 and is kept, not clipped.
    """
    if root_time_s is not None:
        t_start, source = root_time_s, "measured"
        ratio_known = catalog_start_s and catalog_target_s is not None
        t_next = root_time_s * (catalog_target_s / catalog_start_s) if ratio_known else None
    else:
        t_start, t_next, source = catalog_start_s, catalog_target_s, "catalog"
    if t_start is None:
        return FsrTimes(None, None, t_next, best_node_time_s, source)
    t_best = t_start if best_node_time_s is None else min(t_start, best_node_time_s)
    if t_next is None or t_next >= t_start:
        return FsrTimes(None, t_start, t_next, t_best, source)
    return FsrTimes((t_start - t_best) / (t_start - t_next), t_start, t_next, t_best, source)
