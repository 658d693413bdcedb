"""The test suite's hypothesis profiles, registered in one place.

* ``dev`` (the default): about 100 examples per property, quick enough to run often;
* ``ci`` (the default when the environment variable ``CI`` is set): more examples;

No profile has a per-example deadline or the "too slow" health check: they are timings, and
a student's laptop or a shared CI machine is slow and uneven (speed is measured in
``benchmarks/``, never asserted by a test).
* ``thorough``: many more examples, for an occasional long run.

``HYPOTHESIS_PROFILE=thorough pytest`` picks one explicitly. Tests that check
many graphs per example scale with :data:`GRAPHS_PER_EXAMPLE`, so that a ``ci``
run checks at least 10,000 random graphs.
"""

from __future__ import annotations

import os

#: max_examples per profile.
EXAMPLES = {"dev": 100, "ci": 300, "thorough": 2000}
#: Graphs checked per example by the batch test (``ci``: 300 * 34 = 10,200 graphs).
GRAPHS_PER_EXAMPLE = {"dev": 10, "ci": 34, "thorough": 50}


def chosen_profile() -> str:
    """``HYPOTHESIS_PROFILE`` if set, else ``ci`` when ``CI`` is set (not "0"/"false"), else ``dev``."""
    explicit = os.environ.get("HYPOTHESIS_PROFILE", "").strip()
    if explicit:
        return explicit
    ci = os.environ.get("CI", "").strip().lower()
    return "ci" if ci not in ("", "0", "false", "no") else "dev"


def register_profiles() -> str:
    """Register ``dev``, ``ci`` and ``thorough``, load the chosen one and return its name."""
    from hypothesis import HealthCheck, settings

    slow = [HealthCheck.too_slow]
    settings.register_profile("dev", max_examples=EXAMPLES["dev"], deadline=None, suppress_health_check=slow)
    settings.register_profile(
        "ci", max_examples=EXAMPLES["ci"], deadline=None, suppress_health_check=slow, print_blob=True
    )
    settings.register_profile(
        "thorough", max_examples=EXAMPLES["thorough"], deadline=None, suppress_health_check=slow
    )
    name = chosen_profile()
    if name not in EXAMPLES:
        raise ValueError(f"HYPOTHESIS_PROFILE must be one of {', '.join(EXAMPLES)}, got {name!r}")
    settings.load_profile(name)
    return name
