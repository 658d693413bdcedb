"""karpathy's micrograd 0.1.0, drop-in: its ``engine`` and ``nn`` modules on micrograd_lite Values.

Change the import lines only::

    from micrograd.engine import Value   ->  from micrograd_lite.micrograd.engine import Value
    from micrograd.nn import MLP         ->  from micrograd_lite.micrograd.nn import MLP

The README's section "Coming from micrograd" maps each micrograd name to micrograd_lite's.
"""

from micrograd_lite.micrograd.engine import Value
from micrograd_lite.micrograd.nn import MLP, Layer, Module, Neuron

__all__ = ["MLP", "Layer", "Module", "Neuron", "Value"]
