"""Scale: a graph of a million nodes, and training that does not leak.

* Forward, backward and freeing of a 1,000,000-node graph (a chain: deep, so any recursion would
  fail, and every node shares one leaf): the gradient is exact, and dropping the root frees every
  node by reference counting alone (the cycle collector is switched off).
* 1,000 training steps of a small MLP: memory traced with tracemalloc after step 100 and after step
  1,000 differs by less than 16 KB (one leaked node per step would add about 100 KB), and the cycle
  collector finds nothing to free.
"""

from __future__ import annotations

import gc
import sys
import time
import tracemalloc
from collections.abc import Iterator

import pytest

from micrograd_lite import MLP, Adam, Value, squared_error

N_NODES = 1_000_000


@pytest.fixture
def no_cycle_collector() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def test_a_million_node_graph_forward_backward_and_free(no_cycle_collector: None) -> None:
    before = sys.getallocatedblocks()
    start = time.perf_counter()
    x = Value(0.5, label="x")
    v = x
    for _ in range(N_NODES - 1):
        v = v + x  # 999,999 "+" nodes and the leaf x: one million nodes, a chain as deep
    v.backward()
    assert v.data == 0.5 * N_NODES
    assert x.grad == float(N_NODES)  # dv/dx: one per use of x, summed exactly
    built = sys.getallocatedblocks() - before
    assert built > N_NODES  # the graph really is that big
    del v
    freed = sys.getallocatedblocks() - before
    elapsed = time.perf_counter() - start
    assert freed < 10_000, f"{freed} blocks still allocated after dropping the root ({built} built)"
    assert elapsed < 30.0  # about 1.5 s on a laptop; generous for slow CI machines


def test_training_memory_stays_flat(no_cycle_collector: None) -> None:
    model = MLP(2, [4, 4, 1], activations=["tanh", "tanh", "identity"], seed=0)
    optimizer = Adam(model.parameters(), lr=0.01)
    xs = [[0.5, -1.0], [1.0, 0.25], [-0.5, 0.75], [0.0, 1.0]]
    ts = [0.3, -0.2, 0.1, 0.4]

    def step() -> float:
        optimizer.zero_grad()
        E = squared_error([model(x) for x in xs], ts)
        E.backward()
        optimizer.step()
        return E.data

    tracemalloc.start()
    try:
        first = step()
        for _ in range(99):
            step()
        # gc.collect() returns how many unreachable objects it found: 0 means every graph so far
        # was freed by reference counting. It also empties the interpreter's free lists, whose
        # caches (up to 2,000 tuples per size) would otherwise look like slow growth.
        cycles = gc.collect()
        at_100 = tracemalloc.get_traced_memory()[0]
        for _ in range(900):
            last = step()
        cycles += gc.collect()
        at_1000 = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert last < first  # it trained
    assert cycles == 0, f"{cycles} objects were only freed by the cycle collector"
    growth = at_1000 - at_100
    # A graph per step is about 100 nodes (~15 KB); one leaked node per step would add ~100 KB.
    assert growth < 16 * 1024, f"memory grew by {growth} bytes over 900 steps"
