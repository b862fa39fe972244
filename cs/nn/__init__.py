"""Optional PyTorch adapters (the ``torch`` extra): activation modules and
initialisers (:mod:`cs.nn.activations`) and pruning of a model's layers
(:mod:`cs.nn.pruning`).  Both are thin wrappers over the NumPy cores in
:mod:`cs.activations` and :mod:`cs.pruning`, which call :mod:`cs.threshold`.

torch is imported only when this package is, with an error that names the
extra to install.
"""

from __future__ import annotations

try:
    import torch  # noqa: F401
except ImportError as err:  # pragma: no cover - exercised only without torch
    raise ImportError("cs.nn needs PyTorch: pip install torch==2.13.0 (CPU build), "
                      "or the 'torch' extra of cs") from err

from .activations import (ClippedShiftedReLU, ClippedSoftThreshold, ThresholdSparsifier,  # noqa: E402
                          TopKActivation, eoc_init_, fan_in, sparse_activation)

from .pruning import (LayerReport, PruneReport, apply_mask, collect_stats, layer_inputs,  # noqa: E402
                      prunable_layers, prune_model, sparsity_report, weight_matrix)

__all__ = ["ClippedShiftedReLU", "ClippedSoftThreshold", "TopKActivation", "ThresholdSparsifier",
           "eoc_init_", "fan_in", "sparse_activation",
           "prune_model", "collect_stats", "apply_mask", "sparsity_report", "layer_inputs",
           "prunable_layers", "weight_matrix", "LayerReport", "PruneReport"]
