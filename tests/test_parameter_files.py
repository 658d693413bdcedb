"""Parameter files: errors with context, memory bounded by the model, file modes and links.

* A 5,000-digit integer and a file that is not UTF-8 are ``ValueError``s starting "parameter file:".
* A file longer than a file for the model can need is refused after reading only that much: the
  memory of a load is bounded by the model's size, not the file's (measured with tracemalloc).
* A saved file gets the mode any new file gets under the umask (``0o644`` under ``022``), an
  overwritten file keeps its mode, and saving to a symbolic link writes the link's target.
"""

from __future__ import annotations

import io
import json
import os
import stat
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest

from micrograd_lite import MLP, ParameterFileError
from micrograd_lite.serialization import load_parameters, max_characters, parameters_dict, save_parameters


def small() -> MLP:
    return MLP(2, [2, 1], activations=["tanh", "identity"], seed=3)


def valid_text(**changes: object) -> str:
    document = parameters_dict(small())
    document.update(changes)
    return json.dumps(document)


def refused(text_or_path: str | Path | io.StringIO, message: str) -> None:
    model = small()
    before = [p.data for p in model.parameters()]
    with pytest.raises(ValueError, match=message) as info:
        load_parameters(model, text_or_path)
    assert str(info.value).startswith("parameter file: ")
    assert isinstance(info.value, ParameterFileError)
    assert [p.data for p in model.parameters()] == before


# ---------------------------------------------------------------------- errors with context


def test_a_5000_digit_integer_is_a_parameter_file_error() -> None:
    text = valid_text().replace('"version": 1', '"version": ' + "9" * 5000)
    refused(io.StringIO(text), "an integer of 5,000 digits is far too large to be a parameter")


def test_integers_of_a_few_hundred_digits_still_name_their_place() -> None:
    document = parameters_dict(small())
    document["b"][1][0] = 10**400
    refused(io.StringIO(json.dumps(document)), r"b\[2\]_1 \(b\[1\]\[0\] in the file\) must be finite")


def test_a_file_that_is_not_utf8_is_a_parameter_file_error(tmp_path: Path) -> None:
    path = tmp_path / "latin1.json"
    path.write_bytes(valid_text().replace('"tanh"', '"tanh\xe9"').encode("latin-1"))
    refused(path, r"not UTF-8 text \(invalid continuation byte: byte b'\\xe9'\)")


# ------------------------------------------------------------------------------- memory


def test_the_read_limit_follows_the_model() -> None:
    assert max_characters(small()) == 1024 * 1024 + 64 * 9
    assert max_characters(MLP(1000, [100], activations="identity")) == 1024 * 1024 + 64 * 100_100


class RecordingReader(io.StringIO):
    requested: list[int]

    def read(self, size: int | None = -1) -> str:
        self.requested.append(-1 if size is None else size)
        return super().read(size)


def test_a_file_longer_than_the_model_can_need_is_refused_unparsed() -> None:
    padding = " " * (2 * 1024 * 1024)  # valid JSON, but no file for 9 parameters is 2 MB long
    reader = RecordingReader(valid_text()[:-1] + padding + "}")
    reader.requested = []
    refused(reader, f"larger than {max_characters(small())} characters, .*9 parameters")
    assert reader.requested == [max_characters(small()) + 1]


@pytest.fixture
def big_file(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "big.json"
    with open(path, "w", encoding="utf-8") as f:
        f.write('{"format": "micrograd_lite.parameters", "W": [')
        f.write("0.5, " * 4_000_000)  # 20 MB of numbers: parsed, about 130 MB of float objects
        f.write("0.5]}")
    yield path


def test_loading_a_huge_file_takes_memory_of_the_models_size(big_file: Path) -> None:
    tracemalloc.start()
    try:
        refused(big_file, "larger than")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 12 * max_characters(small()), f"peak {peak:,} bytes"


def test_a_model_with_100000_parameters_loads_from_an_indented_file(tmp_path: Path) -> None:
    model = MLP(1000, [100], activations="identity", seed=0)
    path = tmp_path / "indented.json"
    path.write_text(json.dumps(parameters_dict(model), indent=8))  # 8 spaces per level, as a user may
    assert path.stat().st_size > 1024 * 1024
    other = MLP(1000, [100], activations="identity", seed=1)
    load_parameters(other, path)
    assert other.weights() == model.weights()


# ------------------------------------------------------------------------ modes and links


@pytest.fixture
def umask() -> Iterator[None]:
    old = os.umask(0o022)
    os.umask(old)
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize(("mask", "expected"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_a_new_file_follows_the_umask(tmp_path: Path, umask: None, mask: int, expected: int) -> None:
    os.umask(mask)
    path = tmp_path / "model.json"
    save_parameters(small(), path)
    assert mode(path) == expected
    assert os.listdir(tmp_path) == ["model.json"]


def test_an_overwritten_file_keeps_its_mode(tmp_path: Path, umask: None) -> None:
    os.umask(0o022)
    path = tmp_path / "model.json"
    path.write_text("old")
    path.chmod(0o640)
    save_parameters(small(), path)
    assert mode(path) == 0o640
    assert load_parameters(small(), path)


def test_saving_to_a_symbolic_link_writes_its_target(tmp_path: Path) -> None:
    (tmp_path / "store").mkdir()
    target = tmp_path / "store" / "model.json"
    target.write_text("old")
    link = tmp_path / "latest.json"
    link.symlink_to(target)
    model = small()
    save_parameters(model, link)
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert json.loads(target.read_text())["W"] == model.weights()
    assert sorted(os.listdir(tmp_path / "store")) == ["model.json"]  # no temporary file left behind


def test_saving_to_a_dangling_link_creates_its_target(tmp_path: Path) -> None:
    link = tmp_path / "latest.json"
    link.symlink_to(tmp_path / "new.json")
    save_parameters(small(), link)
    assert link.is_symlink() and (tmp_path / "new.json").is_file()
    assert load_parameters(small(), link)
