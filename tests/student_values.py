"""Small micrograd-style ``Value`` classes, as students write them: one right, several with a classic bug.

tests/test_exercises.py grades them with ``check_value_class``; each broken class differs from
:class:`Good` in one method, so the checks it fails are exactly the ones that bug should fail.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from typing import Any


class Minimal:
    """A correct class with only the essentials: +, * and backward() over an iterative topological order."""

    def __init__(self, data: float, parents: tuple[Any, ...] = (), local: tuple[float, ...] = ()) -> None:
        self.data = float(data)
        self.grad = 0.0
        self.parents = parents
        self.local = local  # d(self)/d(parent), one per parent

    def _v(self, other: Any) -> Any:
        return other if isinstance(other, Minimal) else type(self)(other)

    def __add__(self, other: Any) -> Any:
        other = self._v(other)
        return type(self)(self.data + other.data, (self, other), (1.0, 1.0))

    def __mul__(self, other: Any) -> Any:
        other = self._v(other)
        return type(self)(self.data * other.data, (self, other), (other.data, self.data))

    def order(self) -> list[Any]:
        order, seen, stack = [], {id(self)}, [(self, iter(self.parents))]
        while stack:
            node, parents = stack[-1]
            for parent in parents:
                if id(parent) not in seen:
                    seen.add(id(parent))
                    stack.append((parent, iter(parent.parents)))
                    break
            else:
                stack.pop()
                order.append(node)
        return order

    def backward(self) -> None:
        self.grad = 1.0
        for node in reversed(self.order()):
            for parent, local in zip(node.parents, node.local):
                parent.grad += node.grad * local


class Good(Minimal):
    """A correct class with every operation of the protocol."""

    def __radd__(self, other: Any) -> Any:
        return self + other

    def __rmul__(self, other: Any) -> Any:
        return self * other

    def __neg__(self) -> Any:
        return self * -1.0

    def __sub__(self, other: Any) -> Any:
        return self + (-self._v(other))

    def __rsub__(self, other: Any) -> Any:
        return self._v(other) - self

    def __truediv__(self, other: Any) -> Any:
        return self * self._v(other) ** -1.0

    def __rtruediv__(self, other: Any) -> Any:
        return self._v(other) / self

    def __pow__(self, n: float) -> Any:
        return type(self)(self.data**n, (self,), (n * self.data ** (n - 1.0),))

    def exp(self) -> Any:
        e = math.exp(self.data)
        return type(self)(e, (self,), (e,))

    def log(self) -> Any:
        return type(self)(math.log(self.data), (self,), (1.0 / self.data,))

    def tanh(self) -> Any:
        t = math.tanh(self.data)
        return type(self)(t, (self,), (1.0 - t * t,))

    def sigmoid(self) -> Any:
        s = 1.0 / (1.0 + math.exp(-self.data))
        return type(self)(s, (self,), (s * (1.0 - s),))

    def relu(self) -> Any:
        return type(self)(max(self.data, 0.0), (self,), (1.0 if self.data > 0 else 0.0,))


class Overwrites(Good):
    """The classic bug: ``=`` where backpropagation needs ``+=``."""

    def backward(self) -> None:
        self.grad = 1.0
        for node in reversed(self.order()):
            for parent, local in zip(node.parents, node.local):
                parent.grad = node.grad * local


class BreadthFirst(Good):
    """No topological order: nodes in breadth-first order from the output, each visited once."""

    def backward(self) -> None:
        self.grad = 1.0
        queue, seen = deque([self]), {id(self)}
        while queue:
            node = queue.popleft()
            for parent, local in zip(node.parents, node.local):
                parent.grad += node.grad * local
                if id(parent) not in seen:
                    seen.add(id(parent))
                    queue.append(parent)


class MarksVisited(Good):
    """Marks nodes as visited on the nodes themselves and never clears the marks."""

    def order(self) -> list[Any]:
        order: list[Any] = []
        stack = [(self, False)]
        while stack:
            node, expanded = stack.pop()
            if expanded:
                order.append(node)
            elif not getattr(node, "visited", False):
                node.visited = True
                stack.append((node, True))
                stack.extend((p, False) for p in node.parents)
        return order


class Recursive(Good):
    """micrograd's recursive topological sort: fine until the graph is deeper than the recursion limit."""

    def order(self) -> list[Any]:
        order: list[Any] = []
        seen: set[int] = set()

        def visit(node: Any) -> None:
            if id(node) not in seen:
                seen.add(id(node))
                for parent in node.parents:
                    visit(parent)
                order.append(node)

        visit(self)
        return order


class TanhAtInput(Good):
    """tanh's local derivative from the input a instead of the output: 1 - a^2."""

    def tanh(self) -> Any:
        return type(self)(math.tanh(self.data), (self,), (1.0 - self.data**2,))


class DividesByZero(Good):
    """A division whose forward pass raises."""

    def __truediv__(self, other: Any) -> Any:
        return type(self)(self.data / 0, (self,), (0.0,))


class Unfinished(Good):
    """The skeleton a student starts from: operations are stubs."""

    def __mul__(self, other: Any) -> Any:
        raise NotImplementedError("exercise 1: write __mul__")

    def backward(self) -> None:
        raise NotImplementedError("exercise 5: write backward")


#: Set by a test to let :class:`LoopsOnDeepGraphs` finish.
release = threading.Event()


class LoopsOnDeepGraphs(Good):
    """An endless loop on big graphs (it waits for ``release``, so a test can end it)."""

    def backward(self) -> None:
        if len(self.order()) > 1000:
            release.wait()
        super().backward()
