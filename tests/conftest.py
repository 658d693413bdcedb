"""Hypothesis profiles, chosen by the environment variable HYPOTHESIS_PROFILE.

* ``dev`` (the default): about 100 examples per property, quick enough to run often;
* ``ci`` (the default when ``CI`` is set): more examples, no per-example deadline
  (shared CI machines are slow and uneven);
* ``thorough``: many more examples, for an occasional long run.

They are registered in one place, :mod:`micrograd_lite.testing.profiles`.
"""

from __future__ import annotations

from micrograd_lite.testing.profiles import register_profiles

register_profiles()
