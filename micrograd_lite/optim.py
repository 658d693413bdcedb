"""Optimisers: ``step()`` moves each parameter against its gradient, ``zero_grad()`` clears it.

All four read ``p.grad``, which ``backward()`` fills with ``dE/dp`` for the summed
error ``E = sum_n E_n``, and write ``p.data`` directly (no graph is built):

* :class:`GradientDescent`: the lecture's rule, ``W(new) = W(old) - eta * sum_n grad E_n(W)``,
  with the whole training set in ``E`` (full batch).
* :class:`SGD`: the same rule applied to a minibatch's ``E`` at a time (the
  training loop in :mod:`micrograd_lite.training` draws the minibatches).
* :class:`Momentum`: ``v = mu v + grad; W = W - eta v`` (PyTorch's form).
* :class:`Adam`: Kingma and Ba (2015), with bias correction.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from micrograd_lite.engine import Value
from micrograd_lite.errors import InputTypeError, InputValueError
from micrograd_lite.numerics import to_finite_float


def _check_positive(name: str, value: object) -> float:
    """A learning rate or ``eps``: a finite number > 0 (``np.float32(0.1)`` too), as a float."""
    x = to_finite_float(value, name)
    if x <= 0.0:
        raise InputValueError(f"{name} must be > 0, got {value!r}")
    return x


def _check_decay(name: str, value: object) -> float:
    """A momentum or decay rate: a finite number in [0, 1), as a float."""
    x = to_finite_float(value, name)
    if not 0.0 <= x < 1.0:
        raise InputValueError(f"{name} must be in [0, 1), got {value!r}")
    return x


class Optimizer:
    """Holds the parameters and the learning rate ``lr`` (the lecture's ``eta``); subclasses
    define :meth:`step`. A parameter listed twice is an error (it would move twice per step)."""

    def __init__(self, parameters: Iterable[Value], lr: float) -> None:
        if isinstance(parameters, Value) or not isinstance(parameters, Iterable):
            raise InputTypeError(
                f"parameters must be an iterable of Values such as model.parameters(), "
                f"got {type(parameters).__name__}"
            )
        self.parameters = list(parameters)
        if not self.parameters:
            raise InputValueError("parameters is empty: pass model.parameters()")
        for p in self.parameters:
            if not isinstance(p, Value):
                raise InputTypeError(f"parameters must be Values, got {type(p).__name__}")
        if len({id(p) for p in self.parameters}) != len(self.parameters):
            # It would be updated twice per step.
            raise InputValueError("a parameter appears more than once in parameters")
        self.lr = _check_positive("lr", lr)

    def zero_grad(self) -> None:
        """Set every parameter's ``grad`` to 0 before the next backward pass."""
        for p in self.parameters:
            p.grad = 0.0

    def step(self) -> None:
        raise NotImplementedError(f"{type(self).__name__} does not define step()")


class GradientDescent(Optimizer):
    """``W(new) = W(old) - eta * dE/dW`` with ``E`` summed over the whole training set."""

    def step(self) -> None:
        lr = self.lr
        for p in self.parameters:
            p.data -= lr * p.grad


class SGD(GradientDescent):
    """Minibatch stochastic gradient descent: the same update on one minibatch's ``E``."""


class Momentum(Optimizer):
    """Gradient descent with momentum: ``v = mu v + dE/dW``, ``W = W - eta v``."""

    def __init__(self, parameters: Iterable[Value], lr: float, momentum: float = 0.9) -> None:
        super().__init__(parameters, lr)
        self.momentum = _check_decay("momentum", momentum)
        self.velocity = [0.0] * len(self.parameters)

    def step(self) -> None:
        mu, lr, v = self.momentum, self.lr, self.velocity
        for i, p in enumerate(self.parameters):
            v[i] = mu * v[i] + p.grad
            p.data -= lr * v[i]


class Adam(Optimizer):
    """Adam (Kingma and Ba 2015, Algorithm 1), per parameter, with ``g = dE/dW`` and step ``t``::

        m = beta1 m + (1 - beta1) g          v = beta2 v + (1 - beta2) g^2
        m_hat = m / (1 - beta1^t)            v_hat = v / (1 - beta2^t)
        W = W - eta m_hat / (sqrt(v_hat) + eps)

    Each parameter's step is about ``eta`` whatever the scale of its gradient, so
    Adam is far less sensitive than gradient descent to badly scaled inputs.
    """

    def __init__(
        self,
        parameters: Iterable[Value],
        lr: float = 0.01,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
    ) -> None:
        super().__init__(parameters, lr)
        if isinstance(betas, (str, bytes)) or not isinstance(betas, Sequence):
            raise InputTypeError(
                f"betas must be a pair (beta1, beta2), got {type(betas).__name__} {betas!r:.60}"
            )
        if len(betas) != 2:
            raise InputValueError(
                f"betas must be a pair (beta1, beta2), got {len(betas)} numbers {betas!r:.60}"
            )
        self.beta1 = _check_decay("betas[0]", betas[0])
        self.beta2 = _check_decay("betas[1]", betas[1])
        self.eps = _check_positive("eps", eps)
        self.m = [0.0] * len(self.parameters)
        self.v = [0.0] * len(self.parameters)
        self.t = 0

    def step(self) -> None:
        self.t += 1
        b1, b2 = self.beta1, self.beta2
        correction1 = 1.0 - b1**self.t
        correction2 = 1.0 - b2**self.t
        for i, p in enumerate(self.parameters):
            g = p.grad
            self.m[i] = b1 * self.m[i] + (1.0 - b1) * g
            self.v[i] = b2 * self.v[i] + (1.0 - b2) * g * g
            m_hat = self.m[i] / correction1
            v_hat = self.v[i] / correction2
            p.data -= self.lr * m_hat / (math.sqrt(v_hat) + self.eps)
