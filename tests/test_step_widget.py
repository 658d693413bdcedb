"""The optional ipywidgets view shows the recorded steps, the same numbers as the engine."""

from __future__ import annotations

import html
import sys

import pytest
from conftest import require_module

from micrograd_lite import binary_cross_entropy, lecture_network
from micrograd_lite.autodiff import topological_order
from micrograd_lite.engine import Value
from micrograd_lite.step_widget import step_text, step_widget


@pytest.fixture
def widgets() -> object:
    return require_module("ipywidgets")


def worked_E() -> Value:
    model = lecture_network()
    return binary_cross_entropy(model([1.0, 2.0]), 1.0, paired=False)


def test_slider_walks_the_recorded_steps(widgets: object) -> None:
    E = worked_E()
    view = step_widget(E)
    recording = view.recording
    header, text = view.children
    play, slider = header.children
    assert slider.max == len(recording) == len([n for n in topological_order(E) if n.parents])
    assert play.max == slider.max
    assert "press Play" in text.value
    for position in range(1, len(recording) + 1):
        slider.value = position
        step = recording[position - 1]
        assert text.value == "<pre>" + html.escape(step_text(recording, position)) + "</pre>"
        assert repr(step.delta) in html.unescape(text.value)
        assert step.delta == step.node.grad  # the engine's own delta


def test_labels_are_escaped(widgets: object) -> None:
    x = Value(0.5, label="<script>alert(1)</script>")
    view = step_widget((x * x).tanh())
    view.children[0].children[1].value = 2
    shown = view.children[1].value
    assert "<script>" not in shown and "&lt;script&gt;" in shown


def test_without_ipywidgets_the_error_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ipywidgets", None)  # makes the import fail
    with pytest.raises(ImportError, match="pip install"):
        step_widget(Value(1.0) * 2)
