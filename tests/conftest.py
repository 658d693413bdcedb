"""Hypothesis profiles, chosen by the environment variable HYPOTHESIS_PROFILE.

* ``dev`` (the default): about 100 examples per property, quick enough to run often;
* ``ci`` (the default when ``CI`` is set): more examples, no per-example deadline
  (shared CI machines are slow and uneven);
* ``thorough``: many more examples, for an occasional long run.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile("dev", max_examples=100)
settings.register_profile("ci", max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile(
    "thorough", max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

_default = "ci" if os.environ.get("CI", "").lower() in {"1", "true", "yes"} else "dev"
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", _default))
