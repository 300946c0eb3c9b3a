"""Streaming: memory depends on the chunk, not on the cohort — a big cohort needs less than its file."""

from __future__ import annotations

import tracemalloc

from vertebro.synth import write_cohort


def _peak_bytes(path, patients: int) -> tuple[int, int]:
    tracemalloc.start()
    try:
        summary = write_cohort(path, patients, 1)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak, summary.bytes


def test_peak_memory_stays_below_the_file_size_and_does_not_grow_with_the_cohort(tmp_path):
    small_peak, _ = _peak_bytes(tmp_path / "small.csv", 20_000)
    peak, file_size = _peak_bytes(tmp_path / "large.csv", 200_000)
    assert file_size > 100e6  # ~113 MB for 200k patients
    assert peak < file_size / 2, (peak, file_size)
    # Ten times the patients, about the same peak: one chunk is in memory at a time.
    assert peak < 1.25 * small_peak, (peak, small_peak)
