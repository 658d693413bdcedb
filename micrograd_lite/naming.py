"""How every view names a node, what kind of node it is, and how a name finds its node.

One graph, one set of names: :func:`node_names` is computed once per graph (by
:class:`micrograd_lite.graph.Graph`, from ``topological_order(root)``) and handed to
the drawings, the path captions, the step-through text and page, so a node reads
the same everywhere.

* A labelled node is named by its label (as plain text: see :func:`plain`).
* An unlabelled node is named by its operation and a counter per operation, in
  topological order: ``mul_1``, ``add_2``, ``tanh_1``, ``sum_1``, ``pow_1``. The
  names are words, never bare numbers, so a heading such as "Step 3 of 5: tanh_1"
  cannot be misread as a step number, and they need no parentheses after ``d``
  (``dE/dtanh_1``) or before ``.grad``. A generated name that a label of the
  graph already uses is skipped.
* A constant is named by its value (``2``, ``0.5``).

:func:`node_kinds` says which nodes have a gradient worth showing: a constant
(``op == "const"``) and a target (``t``, ``t_n``, ``t_nk``, or any leaf in a
loss node's target slots) are data the error is computed against, not things
learned, so the views show their values but no gradient. Inputs ``x_j`` are
data too and are drawn as such, but keep their gradient: ``dE/dx_j`` is a real
quantity (saliency) that a reader may want.

:func:`resolve_node` turns a Value or a name (a label, or a generated name such
as ``tanh_1``) into a node of the graph, with a clear error for a name that
matches no node or several; every function that takes a node accepts either.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from micrograd_lite.engine import Value
from micrograd_lite.primitives import OPERATIONS, WORDS, NaryOperation

#: Words for generated names, by ``op``: each operation's word (``mul``, ``add``) from
#: :mod:`micrograd_lite.primitives`; a leaf's is ``leaf``.
OP_WORDS = {**WORDS, "": "leaf"}

#: Kinds of node whose gradient no view shows: the error is computed against them, nothing learns them.
NO_GRAD_KINDS = frozenset({"const", "target"})

#: Loss nodes (``op``) whose parents are ``(*outputs, *targets)``, see :mod:`micrograd_lite.losses`.
LOSS_OPS = frozenset(name for name, o in OPERATIONS.items() if isinstance(o, NaryOperation) and o.loss)

_TARGET_LABEL = re.compile(r"^t(?:_\d+(?:,\d+)*)?$")
_INPUT_LABEL = re.compile(r"^x(?:_\d+(?:,\d+)*)?$")

# Bidirectional controls reorder the text around them (U+202E shows "abc" as "cba"): a
# label could make a drawing or a page say something its characters do not.
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_REPLACEMENT = "\ufffd"


def plain(text: object, what: str = "label") -> str:
    """``text`` as a plain ``str``: a ``str`` subclass is copied without calling any of its methods.

    A subclass could override ``replace``, ``__str__`` or ``__format__`` and so skip
    the escaping that every view applies; ``str.__str__`` makes an exact ``str`` copy.
    """
    if not isinstance(text, str):
        raise TypeError(f"{what} must be a str, got {type(text).__name__}")
    return str.__str__(text)


def _visible_char(ch: str) -> str:
    if ch == "\n":
        return ch
    if ch in _BIDI or unicodedata.category(ch) == "Cc":
        return f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}"
    if unicodedata.category(ch) == "Cs" or ch in "\ufffe\uffff":  # lone surrogates, XML non-characters
        return _REPLACEMENT
    return ch


def visible(text: object) -> str:
    """Plain text whose every character shows as itself: control and bidirectional characters
    written as ``\\x07``, ``\\u202e``, lone surrogates as U+FFFD; newlines kept (``\\r\\n`` as ``\\n``).
    """
    text = plain(text, "text")
    if text.isprintable():
        return text
    text = str.replace(str.replace(text, "\r\n", "\n"), "\r", "\n")
    return "".join(map(_visible_char, text))


def shorten(text: str, limit: int) -> str:
    """``text`` if it has at most ``limit`` characters, else its start and end around an ellipsis."""
    if len(text) <= limit:
        return text
    tail = limit // 3
    head = limit - tail - 1
    return f"{text[:head]}\u2026{text[len(text) - tail :]}"


def _label(node: Value) -> str:
    """``node``'s label as plain text, ``""`` if it has none."""
    return "" if node.label is None else plain(node.label)


def _word(op: str) -> str:
    if op in OP_WORDS:
        return OP_WORDS[op]
    word = re.sub(r"\W+", "_", op.lower()).strip("_")
    return word if word and not word[0].isdigit() else "node"


def node_names(order: Iterable[Value]) -> dict[Value, str]:
    """Every node's name (see the module docstring); ``order`` is ``topological_order(root)``."""
    order = list(order)
    names: dict[Value, str] = {}
    labels = {node: _label(node) for node in order}
    taken = {visible(label) for label in labels.values() if label}
    counters: dict[str, int] = {}
    for node in order:
        if labels[node]:
            names[node] = visible(labels[node])
        elif node.op == "const":
            names[node] = f"{node.data:g}"
        else:
            word = _word(node.op)
            k = counters.get(word, 0)
            while True:
                k += 1
                name = f"{word}_{k}"
                if name not in taken:
                    break
            counters[word] = k
            names[node] = name
    return names


def node_kinds(order: Iterable[Value]) -> dict[Value, str]:
    """Every node's kind: ``"const"``, ``"target"``, ``"input"``, ``"leaf"`` (a parameter) or ``"value"``.

    A target is a leaf in the target slots of a loss node, or a leaf labelled as the
    lecture labels targets (``t``, ``t_n``, ``t_nk``); an input a leaf labelled
    ``x``, ``x_j`` or ``x_nj``.
    """
    order = list(order)
    targets: set[Value] = set()
    for node in order:
        if node.op in LOSS_OPS:
            targets.update(p for p in node.parents[len(node.parents) // 2 :] if not p.parents)
    kinds: dict[Value, str] = {}
    for node in order:
        if node.op == "const":
            kinds[node] = "const"
        elif node.parents:
            kinds[node] = "value"
        elif node in targets or _TARGET_LABEL.match(_label(node)):
            kinds[node] = "target"
        elif _INPUT_LABEL.match(_label(node)):
            kinds[node] = "input"
        else:
            kinds[node] = "leaf"
    return kinds


def resolve_node(
    order: list[Value], node: object, argument: str, names: dict[Value, str] | None = None
) -> Value:
    """The node ``node`` stands for: a Value as it is, a str by label or by generated name.

    A name that matches no node of ``order``, or several, is a ValueError naming
    ``argument``; anything else is a TypeError. A Value need not be in the graph
    (callers decide what that means: no paths, or an error).
    """
    if isinstance(node, Value):
        return node
    if not isinstance(node, str):
        raise TypeError(
            f"{argument} must be a Value or the name of a node (its label, e.g. 'W[1]_12'), "
            f"got {type(node).__name__}"
        )
    name = plain(node, argument)
    found = [v for v in order if _label(v) == name]
    if not found:
        if names is None:
            names = node_names(order)
        found = [v for v, n in names.items() if n == name]
    if len(found) == 1:
        return found[0]
    what = "no node of this graph has" if not found else f"{len(found)} nodes of this graph have"
    shown = shorten(visible(name), 60)
    hint = "check the spelling (labels are case-sensitive)" if not found else "pass the Value itself"
    raise ValueError(f"{argument}={shown!r}: {what} that label or name; {hint}")
