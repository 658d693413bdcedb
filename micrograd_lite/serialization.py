"""Save and load a network's parameters as JSON (never pickle: loading runs no code).

The file records the network's shape and every ``W[l]`` and ``b[l]``::

    {
      "format": "micrograd_lite.parameters",
      "version": 1,
      "sizes": [2, 2, 1],
      "activations": ["tanh", "identity"],
      "W": [[[0.15, -0.25], [0.4, 0.1]], [[0.5, -0.6]]],
      "b": [[0.05, -0.1], [0.05]]
    }

``W[l-1]`` is the lecture's ``W[l]`` (``n_out x n_in``). Numbers are written with
``repr``, the shortest decimal that reads back as the same float, so a round trip
is bit-exact. :func:`load_parameters` checks the whole file (format, version,
keys, sizes and activations against the model, every number finite) before it
assigns anything: a bad file raises :class:`~micrograd_lite.errors.ParameterFileError`
(a ``ValueError``) naming what is wrong and where, and leaves the network as it was.
"""

from __future__ import annotations

import json
import math
import os
import secrets
import stat
from typing import IO, Any

from micrograd_lite.errors import InputTypeError, InputValueError, ParameterFileError
from micrograd_lite.nn import MLP
from micrograd_lite.numerics import to_finite_float

FORMAT = "micrograd_lite.parameters"
VERSION = 1
_KEYS = ("format", "version", "sizes", "activations", "W", "b")
#: A file larger than this is refused before it is parsed, whatever the model.
MAX_BYTES = 256 * 1024 * 1024
#: What a file may hold besides its numbers (keys, sizes, brackets, white space) ...
_BASE_CHARACTERS = 1024 * 1024
#: ... and per parameter: ``repr`` of a float is at most 24 characters, plus a comma and indentation.
_CHARACTERS_PER_PARAMETER = 64
#: No parameter needs more digits than this (a float's largest integer has 309).
_MAX_INTEGER_DIGITS = 1000

PathOrFile = str | os.PathLike[str] | IO[str]


def _check_model(model: object) -> MLP:
    if not isinstance(model, MLP):
        raise InputTypeError(f"model must be an MLP, got {type(model).__name__}")
    return model


def parameters_dict(model: MLP) -> dict[str, Any]:
    """The JSON document for ``model`` (plain dicts, lists and floats)."""
    _check_model(model)
    for p in model.parameters():
        if not math.isfinite(p.data):
            raise InputValueError(f"cannot save {p.label} = {p.data!r}: JSON holds only finite numbers")
    return {
        "format": FORMAT,
        "version": VERSION,
        "sizes": model.sizes,
        "activations": [layer.activation for layer in model.layers],
        "W": model.weights(),
        "b": model.biases(),
    }


def _to_json(document: dict[str, Any]) -> str:
    """JSON with one line per row of a weight matrix (``json.dumps`` writes floats with ``repr``)."""

    def dump(x: object) -> str:
        return json.dumps(x, allow_nan=False)

    def matrix(rows: list[list[float]]) -> str:
        return "[\n" + ",\n".join(f"    {dump(row)}" for row in rows) + "\n   ]"

    lines = [f'  "{key}": {dump(document[key])}' for key in ("format", "version", "sizes", "activations")]
    lines.append('  "W": [\n' + ",\n".join(f"   {matrix(W)}" for W in document["W"]) + "\n  ]")
    lines.append('  "b": [\n' + ",\n".join(f"   {dump(b)}" for b in document["b"]) + "\n  ]")
    return "{\n" + ",\n".join(lines) + "\n}\n"


def save_parameters(model: MLP, path_or_file: PathOrFile) -> None:
    """Write ``model``'s sizes, activations, ``W[l]`` and ``b[l]`` as JSON.

    A path is written atomically (a temporary file in the same folder, then
    renamed), so an interrupted save never leaves half a file behind. The file
    gets the mode any new file gets under the umask (an existing file keeps its
    own); a symbolic link stays a link, and the file it points to is written.
    """
    text = _to_json(parameters_dict(model))
    if hasattr(path_or_file, "write"):
        path_or_file.write(text)
        return
    # Through any symbolic links to the file they name: the link is kept, its target replaced.
    path = os.path.realpath(os.fspath(_check_path(path_or_file)))
    try:
        mode: int | None = stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        mode = None
    fd, tmp = _new_file(os.path.dirname(path))
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _new_file(folder: str) -> tuple[int, str]:
    """Create a new, empty temporary file in ``folder``, its mode ``0o666`` less the umask."""
    for _ in range(100):
        tmp = os.path.join(folder, f".parameters-{secrets.token_hex(8)}.json.tmp")
        try:
            # O_EXCL: never an existing file, never through a symbolic link; the kernel applies the umask.
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"could not create a temporary file in {folder!r}")


def _check_path(path: object) -> str | os.PathLike[str]:
    if isinstance(path, (str, os.PathLike)):
        return path
    raise InputTypeError(f"path_or_file must be a path or a text file object, got {type(path).__name__}")


def _reject_constant(name: str) -> float:
    raise ParameterFileError(f"parameter file: {name} is not a finite number (JSON has no NaN or Infinity)")


def _parse_int(digits: str) -> int:
    n = len(digits.lstrip("-"))
    if n > _MAX_INTEGER_DIGITS:
        raise ParameterFileError(
            f"parameter file: an integer of {n:,} digits is far too large to be a parameter"
        )
    return int(digits)


def _parse(text: str) -> object:
    try:
        return json.loads(text, parse_constant=_reject_constant, parse_int=_parse_int)
    except RecursionError:
        raise ParameterFileError("parameter file: nested too deeply to be a parameter file") from None
    except json.JSONDecodeError as error:
        raise ParameterFileError(f"parameter file: not valid JSON ({error})") from None


def _number(x: object, where: str) -> float:
    """A JSON number as a finite float; anything else is the file's fault, so a ``ParameterFileError``."""
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        raise ParameterFileError(
            f"parameter file: {where} must be a number, got {type(x).__name__} {x!r:.40}"
        )
    try:
        return to_finite_float(x, where)
    except ValueError:  # nan, inf or an integer too large for a float
        raise ParameterFileError(f"parameter file: {where} must be finite, got {x!r:.40}") from None


def _list(x: object, length: int, where: str) -> list[Any]:
    if not isinstance(x, list):
        raise ParameterFileError(f"parameter file: {where} must be a list, got {type(x).__name__}")
    if len(x) != length:
        raise ParameterFileError(f"parameter file: {where} has {len(x)} entries, the model needs {length}")
    return x


def parameters_from_dict(model: MLP, document: object) -> tuple[list[list[list[float]]], list[list[float]]]:
    """Check a parsed document against ``model``; return its ``(W, b)`` as floats.

    Raises ``ParameterFileError`` (a ``ValueError``) naming the first thing that is wrong.
    """
    if not isinstance(document, dict):
        raise ParameterFileError(
            f"parameter file: the top level must be a JSON object, got {type(document).__name__}"
        )
    missing = [k for k in _KEYS if k not in document]
    if missing:
        raise ParameterFileError(f"parameter file: missing key(s) {', '.join(map(repr, missing))}")
    extra = [k for k in document if k not in _KEYS]
    if extra:
        raise ParameterFileError(f"parameter file: unexpected key(s) {', '.join(repr(k) for k in extra)}")
    if document["format"] != FORMAT:
        raise ParameterFileError(f"parameter file: format must be {FORMAT!r}, got {document['format']!r:.60}")
    if document["version"] != VERSION or isinstance(document["version"], bool):
        raise ParameterFileError(
            f"parameter file: version {document['version']!r:.20} is not supported (only {VERSION})"
        )
    sizes = model.sizes
    file_sizes = document["sizes"]
    if file_sizes != sizes or not all(type(n) is int for n in _list(file_sizes, len(sizes), "sizes")):
        raise ParameterFileError(f"parameter file: sizes {file_sizes!r:.80} do not match the model's {sizes}")
    activations = [layer.activation for layer in model.layers]
    if document["activations"] != activations:
        raise ParameterFileError(
            f"parameter file: activations {document['activations']!r:.80} "
            f"do not match the model's {activations}"
        )
    L = len(model.layers)
    weights: list[list[list[float]]] = []
    biases: list[list[float]] = []
    for l, (layer, W, b) in enumerate(
        zip(model.layers, _list(document["W"], L, "W"), _list(document["b"], L, "b")), start=1
    ):
        rows = _list(W, layer.n_out, f"W[{l}] (W[{l - 1}] in the file)")
        weights.append(
            [
                [
                    _number(w, f"{p.label} (W[{l - 1}][{i}][{j}] in the file)")
                    for j, (w, p) in enumerate(
                        zip(_list(row, layer.n_in, f"row {i + 1} of W[{l}]"), neuron.W)
                    )
                ]
                for i, (row, neuron) in enumerate(zip(rows, layer.neurons))
            ]
        )
        entries = _list(b, layer.n_out, f"b[{l}] (b[{l - 1}] in the file)")
        biases.append(
            [
                _number(bi, f"{neuron.b.label} (b[{l - 1}][{i}] in the file)")
                for i, (bi, neuron) in enumerate(zip(entries, layer.neurons))
            ]
        )
    return weights, biases


def max_characters(model: MLP) -> int:
    """The longest parameter file :func:`load_parameters` reads for ``model``.

    1 MiB plus 64 characters per parameter (room for any indentation of the
    numbers), at most ``MAX_BYTES``: parsing a file costs about 24 bytes per
    character, so this bounds the memory a load can take by the model's size.
    """
    n = sum(layer.n_out * (layer.n_in + 1) for layer in _check_model(model).layers)
    return min(MAX_BYTES, _BASE_CHARACTERS + _CHARACTERS_PER_PARAMETER * n)


def load_parameters(model: MLP, path_or_file: PathOrFile) -> MLP:
    """Read parameters saved by :func:`save_parameters` into ``model`` (returned).

    The file's sizes and activations must match the model's. Everything is
    checked before anything is assigned: on any error the model is unchanged.
    A file longer than :func:`max_characters` is refused unread past that length.
    """
    limit = max_characters(model)
    try:
        if hasattr(path_or_file, "read"):
            text = path_or_file.read(limit + 1)
        else:
            with open(_check_path(path_or_file), encoding="utf-8") as f:
                text = f.read(limit + 1)
    except UnicodeDecodeError as error:
        bad = error.object[error.start : error.start + 1]
        raise ParameterFileError(
            f"parameter file: not UTF-8 text ({error.reason}: byte {bad!r}); "
            "save_parameters writes UTF-8 JSON"
        ) from None
    if not isinstance(text, str):
        raise InputTypeError(f"path_or_file must be opened in text mode, read gave {type(text).__name__}")
    if len(text) > limit:
        raise ParameterFileError(
            f"parameter file: larger than {limit} characters, more than a file for this model "
            f"({len(model.parameters()):,} parameters) can need; refusing to parse it"
        )
    weights, biases = parameters_from_dict(model, _parse(text))
    for layer, W, b in zip(model.layers, weights, biases):
        for neuron, row, bias in zip(layer.neurons, W, b):
            for w, value in zip(neuron.W, row):
                w.data = value
            neuron.b.data = bias
    return model
