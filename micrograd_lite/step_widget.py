"""``step_widget(E)``: the recorded backward pass as an ipywidgets view in a notebook.

An optional extra over the same :class:`~micrograd_lite.stepper.Recording` that
the step-through page shows: a Play button and a step slider choose the step, and
the text below shows that step as :meth:`Recording.text` writes it (the node, how
its delta came about in the lecture's form, and its edge contributions). It needs
``ipywidgets`` (in the ``notebooks`` extra); the rest of micrograd_lite does not.
"""

from __future__ import annotations

import html
from typing import Any

from micrograd_lite.engine import Value
from micrograd_lite.stepper import Recording, record_steps


def step_text(recording: Recording, position: int) -> str:
    """What the view shows after ``position`` steps (0: before the first)."""
    if position == 0:
        return f"{len(recording)} steps of the backward pass; press Play or move the slider."
    return recording.text(position - 1)


def step_widget(root: Value, seed: float = 1.0, interval_ms: int = 800, zero_grad: bool = True) -> Any:
    """A Play button, a step slider and the current step's text, for a notebook.

    Building it runs one backward pass (as :func:`~micrograd_lite.stepper.record_steps` does),
    after zeroing the graph's gradients unless ``zero_grad=False``, as ``step_page`` does.
    """
    try:
        import ipywidgets as widgets  # type: ignore[import-untyped]
    except ImportError as error:
        raise ImportError(
            "step_widget needs ipywidgets: pip install -e '.[notebooks]' "
            "(or use step_page, which needs nothing more)"
        ) from error
    if zero_grad:
        root.zero_grad()
    recording = record_steps(root, seed)
    slider = widgets.IntSlider(value=0, min=0, max=len(recording), description="step")
    play = widgets.Play(value=0, min=0, max=len(recording), interval=interval_ms, description="Play")
    widgets.jslink((play, "value"), (slider, "value"))
    text = widgets.HTML()

    def show(_: object = None) -> None:
        text.value = "<pre>" + html.escape(step_text(recording, slider.value)) + "</pre>"

    slider.observe(show, names="value")
    show()
    view = widgets.VBox([widgets.HBox([play, slider]), text])
    view.recording = recording  # for tests and curious students
    return view
