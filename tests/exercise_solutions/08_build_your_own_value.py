"""Reference solutions for notebooks/08_build_your_own_value.ipynb.

Each ``# %% <cell id>`` section replaces the exercise cell with that id; tests/test_exercise_notebooks.py
applies them to a copy of the notebook, runs it to the end and asserts that every check passes. The
names they use (``Value``, ``as_value``, ``math``) are defined by the notebook's first cells.
"""
# ruff: noqa: F821


# %% 08-exercise-1
def add(self, other):
    """self + other, and its local derivatives."""
    other = as_value(other)
    return Value(self.data + other.data, (self, other), (1.0, 1.0))


def mul(self, other):
    """self * other, and its local derivatives."""
    other = as_value(other)
    return Value(self.data * other.data, (self, other), (other.data, self.data))


Value.__add__ = add
Value.__mul__ = mul


# %% 08-exercise-2
def stable_sigmoid(a):
    """1 / (1 + e^-a), written so that neither branch overflows."""
    if a >= 0:
        return 1.0 / (1.0 + math.exp(-a))
    e = math.exp(a)
    return e / (1.0 + e)


def d_exp(a):
    return math.exp(a)


def d_log(a):
    return 1.0 / a


def d_tanh(a):
    return 1.0 - math.tanh(a) ** 2


def d_sigmoid(a):
    s = stable_sigmoid(a)
    return s * (1.0 - s)


def d_relu(a):
    return 1.0 if a > 0 else 0.0


# %% 08-exercise-3
def power(self, n):
    """self ** n for a number n."""
    return Value(self.data**n, (self,), (n * self.data ** (n - 1),))


def exp(self):
    return Value(math.exp(self.data), (self,), (d_exp(self.data),))


def log(self):
    return Value(math.log(self.data), (self,), (d_log(self.data),))


def tanh(self):
    return Value(math.tanh(self.data), (self,), (d_tanh(self.data),))


def sigmoid(self):
    return Value(stable_sigmoid(self.data), (self,), (d_sigmoid(self.data),))


def relu(self):
    return Value(max(self.data, 0.0), (self,), (d_relu(self.data),))


Value.__pow__ = power
Value.exp, Value.log, Value.tanh, Value.sigmoid, Value.relu = exp, log, tanh, sigmoid, relu


# %% 08-exercise-4
def topological_order(root):
    """Every node root depends on, each after all of its parents; root last."""
    order, visited = [], {id(root)}
    stack = [(root, iter(root.parents))]
    while stack:
        node, parents = stack[-1]
        for parent in parents:
            if id(parent) not in visited:
                visited.add(id(parent))
                stack.append((parent, iter(parent.parents)))
                break
        else:  # every parent is in the order: the node can follow them
            stack.pop()
            order.append(node)
    return order


def backward(self):
    """grad = d(self)/d(node) for every node below self."""
    self.grad = 1.0
    for node in reversed(topological_order(self)):
        for parent, local in zip(node.parents, node.local_grads):
            parent.grad += node.grad * local


Value.backward = backward
