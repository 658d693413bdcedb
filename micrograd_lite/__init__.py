"""micrograd_lite: scalar reverse-mode automatic differentiation that teaches backpropagation."""

from micrograd_lite.anomaly import AnomalyError, detect_anomaly
from micrograd_lite.autodiff import backpropagate, topological_order
from micrograd_lite.compiled_loss import CompiledLoss
from micrograd_lite.compiler import CompiledGraph, compile_graph
from micrograd_lite.delta_table import DeltaTable, delta_table
from micrograd_lite.drawing import Drawing, GraphTooLargeError, GraphvizNotFoundError, draw
from micrograd_lite.engine import Value, enable_grad, is_grad_enabled, linear, no_grad, softmax, sum_values
from micrograd_lite.errors import InputTypeError, InputValueError, MicrogradLiteError, ParameterFileError
from micrograd_lite.higher_order import grad, hessian
from micrograd_lite.losses import binary_cross_entropy, categorical_cross_entropy, squared_error
from micrograd_lite.nn import MLP, Layer, Module, Neuron, Trace
from micrograd_lite.optim import SGD, Adam, GradientDescent, Momentum, Optimizer
from micrograd_lite.paths import Path, TooManyPathsError, count_paths, path_sum, paths
from micrograd_lite.serialization import load_parameters, save_parameters
from micrograd_lite.step_page import StepPage, step_page
from micrograd_lite.stepper import Recording, backward_steps, record_steps
from micrograd_lite.training import History, Standardizer, train
from micrograd_lite.worked_example import lecture_network, worked_example

__all__ = [
    "MLP",
    "SGD",
    "Adam",
    "AnomalyError",
    "CompiledGraph",
    "CompiledLoss",
    "DeltaTable",
    "Drawing",
    "GradientDescent",
    "GraphTooLargeError",
    "GraphvizNotFoundError",
    "History",
    "InputTypeError",
    "InputValueError",
    "Layer",
    "MicrogradLiteError",
    "Module",
    "Momentum",
    "Neuron",
    "Optimizer",
    "ParameterFileError",
    "Path",
    "Recording",
    "Standardizer",
    "StepPage",
    "TooManyPathsError",
    "Trace",
    "Value",
    "backpropagate",
    "backward_steps",
    "binary_cross_entropy",
    "categorical_cross_entropy",
    "compile_graph",
    "count_paths",
    "delta_table",
    "detect_anomaly",
    "draw",
    "enable_grad",
    "grad",
    "hessian",
    "is_grad_enabled",
    "lecture_network",
    "linear",
    "load_parameters",
    "no_grad",
    "path_sum",
    "paths",
    "record_steps",
    "save_parameters",
    "softmax",
    "squared_error",
    "step_page",
    "sum_values",
    "topological_order",
    "train",
    "worked_example",
]
__version__ = "0.1.0"
