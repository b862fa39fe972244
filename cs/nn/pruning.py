r"""Prune a PyTorch model's Linear and Conv2d layers with the :mod:`cs.pruning` core.

* :func:`collect_stats` gathers per-layer calibration statistics
  (:class:`cs.pruning.ActivationStats`) with forward hooks.  A Linear layer's
  input rows are its tokens; a Conv2d layer's input is unfolded into patches
  (``torch.nn.functional.unfold``), one row of ``C_in * k_h * k_w`` values per
  output position, so that the convolution is the matrix product with its
  weight reshaped to ``(C_out, C_in * k_h * k_w)``.
* :func:`prune_model` prunes layer by layer.  With ``sequential=True`` (the
  Wanda/SparseGPT/DSnoT practice) each layer's statistics are recomputed
  through the layers already pruned, so a layer compensates for what came
  before it; ``sequential=False`` uses one pass of the dense model.
* :func:`apply_mask` applies a keep-mask either through
  ``torch.nn.utils.prune.custom_from_mask`` (``mode="reparam"``: the module
  gets ``weight_orig``, the ``weight_mask`` buffer and a forward pre-hook, and
  ``torch.nn.utils.prune.remove`` makes it permanent) or baked into the weights
  (``mode="bake"``: zeros written in place, no hooks, so the model survives
  ``copy.deepcopy`` and loads from a plain ``state_dict`` into an unpruned
  model of the same architecture).
* :func:`sparsity_report` counts nonzeros and density per layer.

Sparsity and speed: unstructured sparsity does **not** make dense kernels
faster (a dense matrix full of zeros costs the same to multiply) nor the saved
``state_dict`` smaller.  2:4 sparsity can be faster on GPUs with sparse tensor
cores (``torch.sparse.to_sparse_semi_structured``), and only for large enough
matrices; very high unstructured sparsity needs sparse kernels.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import prune as torch_prune

from .. import pruning
from .._validation import as_rng, check_choice

__all__ = ["prunable_layers", "layer_inputs", "weight_matrix", "collect_stats", "apply_mask",
           "LayerReport", "PruneReport", "prune_model", "sparsity_report"]


# --------------------------------------------------------------------------- layers

def prunable_layers(model, layers=None):
    """The layers to prune, as an ordered ``{name: module}`` dict.

    ``layers=None`` takes every ``nn.Linear`` and ``nn.Conv2d`` of ``model``
    (in ``named_modules`` order); otherwise a list of names from
    ``model.named_modules()``.
    """
    named = dict(model.named_modules())
    if layers is None:
        return {name: mod for name, mod in named.items() if isinstance(mod, (nn.Linear, nn.Conv2d))}
    out = {}
    for name in layers:
        if name not in named:
            raise ValueError(f"layers: {name!r} is not a module of the model")
        mod = named[name]
        if not isinstance(mod, (nn.Linear, nn.Conv2d)):
            raise TypeError(f"layers: {name!r} is a {type(mod).__name__}; only Linear and Conv2d are supported")
        out[name] = mod
    if not out:
        raise ValueError("layers must name at least one layer")
    return out


def _conv_padding(module):
    if isinstance(module.padding, str):
        if module.padding == "valid":
            return 0
        raise ValueError(f"Conv2d padding={module.padding!r} is not supported; give explicit padding")
    return module.padding


def _check_conv(module):
    if module.groups != 1:
        raise ValueError(f"Conv2d with groups={module.groups} is not supported (only groups=1)")
    if module.padding_mode != "zeros":
        raise ValueError(f"Conv2d padding_mode={module.padding_mode!r} is not supported (only 'zeros')")


def layer_inputs(module, x):
    """The layer's input as a ``(tokens, d_in)`` tensor, with ``layer(x) = rows @ W.T (+ b)``.

    Linear: all leading dimensions become tokens.  Conv2d: the patches of
    ``F.unfold`` (one row per image and output position).
    """
    if isinstance(module, nn.Conv2d):
        _check_conv(module)
        if x.dim() == 3:
            x = x.unsqueeze(0)
        cols = F.unfold(x, module.kernel_size, dilation=module.dilation,
                        padding=_conv_padding(module), stride=module.stride)
        return cols.transpose(1, 2).reshape(-1, cols.shape[1])
    return x.reshape(-1, module.in_features)


def weight_matrix(module, name="weight"):
    """The (effective) weight as a ``(d_out, d_in)`` tensor view."""
    weight = getattr(module, name)
    return weight.detach().reshape(weight.shape[0], -1)


# --------------------------------------------------------------------------- statistics

class _Stop(Exception):
    """Raised by a hook to end a forward pass early."""


def _as_batches(batches):
    if batches is None:
        raise ValueError("batches are required: calibration inputs (a list or a DataLoader)")
    if iter(batches) is batches:  # a one-shot iterator: keep it for the later passes
        batches = list(batches)
    return batches


def _forward(model, batch):
    if isinstance(batch, (tuple, list)):
        return model(*batch)
    if isinstance(batch, dict):
        return model(**batch)
    return model(batch)


def _run(model, batches, stop_early=False):
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            for batch in batches:
                try:
                    _forward(model, batch)
                except _Stop:
                    if not stop_early:
                        raise
    finally:
        model.train(was_training)


def collect_stats(model, batches, *, layers=None, gram=False):
    """Calibration statistics of each layer's inputs, by forward hooks.

    Parameters
    ----------
    model : nn.Module
    batches : iterable
        Calibration inputs; each item is passed as ``model(batch)``
        (``model(*batch)`` for a tuple or list, ``model(**batch)`` for a dict).
    layers : list of str, optional
        Default: every Linear and Conv2d.
    gram : bool
        Also accumulate the Gram matrices (needed by SparseGPT and by the
        reported reconstruction errors).

    Returns
    -------
    dict name -> :class:`cs.pruning.ActivationStats`
        The model runs in eval mode without gradients; its mode is restored.
    """
    selected = prunable_layers(model, layers)
    stats = {name: pruning.ActivationStats(weight_matrix(mod).shape[1], gram=gram)
             for name, mod in selected.items()}
    handles = [mod.register_forward_hook(_recorder(mod, stats[name])) for name, mod in selected.items()]
    try:
        _run(model, _as_batches(batches))
    finally:
        for handle in handles:
            handle.remove()
    return stats


def _recorder(module, stats, stop=False):
    def hook(mod, inputs, output):
        stats.update(layer_inputs(module, inputs[0].detach()).to(torch.float64).cpu().numpy())
        if stop:
            raise _Stop
    return hook


def _execution_order(model, selected, batches):
    """Layer names in the order the first batch reaches them."""
    order = []

    def make(name):
        def hook(mod, inputs, output):
            if name not in order:
                order.append(name)
        return hook
    handles = [mod.register_forward_hook(make(name)) for name, mod in selected.items()]
    try:
        first = next(iter(batches))
        _run(model, [first])
    finally:
        for handle in handles:
            handle.remove()
    return order + [name for name in selected if name not in order]


# --------------------------------------------------------------------------- masks

def apply_mask(module, mask, *, name="weight", mode="bake", weight=None):
    """Apply a keep-mask to ``module.<name>``.

    Parameters
    ----------
    mask : bool array or tensor
        Shaped like the parameter or like its ``(d_out, d_in)`` matrix.
    mode : {"bake", "reparam"}
        ``"bake"`` zeroes the pruned weights in place (no hooks, plain
        ``state_dict``).  ``"reparam"`` calls
        ``torch.nn.utils.prune.custom_from_mask`` (``<name>_orig``,
        ``<name>_mask``, a pre-hook; undo the reparametrisation with
        ``torch.nn.utils.prune.remove``).
    weight : array or tensor, optional
        New values for the kept weights (SparseGPT's update), shaped like
        ``mask``; written before the mask is applied.
    """
    mode = check_choice(mode, "mode", {"bake", "reparam"})
    already = torch_prune.is_pruned(module) and hasattr(module, name + "_orig")
    param = getattr(module, name + "_orig") if already else getattr(module, name)
    mask = torch.as_tensor(np.asarray(mask) if not torch.is_tensor(mask) else mask)
    if mask.numel() != param.numel() or mask.shape not in (param.shape, (param.shape[0], param[0].numel())):
        raise ValueError(f"mask has shape {tuple(mask.shape)} but {name} has shape {tuple(param.shape)}")
    mask = mask.reshape(param.shape).to(device=param.device, dtype=torch.bool)
    with torch.no_grad():
        if weight is not None:
            weight = torch.as_tensor(np.asarray(weight) if not torch.is_tensor(weight) else weight)
            if weight.numel() != param.numel():
                raise ValueError(f"weight has shape {tuple(weight.shape)} but {name} has shape "
                                 f"{tuple(param.shape)}")
            param.copy_(weight.reshape(param.shape).to(param))
        if mode == "bake":
            if already:
                raise ValueError(f"{name} is reparametrised by torch.nn.utils.prune; call "
                                 "torch.nn.utils.prune.remove(module, name) first or use mode='reparam'")
            param.mul_(mask.to(param.dtype))
            return module
    return torch_prune.custom_from_mask(module, name, mask)


# --------------------------------------------------------------------------- reports

@dataclass(frozen=True)
class LayerReport:
    """One layer after pruning: where, how many weights survive, and (when the
    Gram matrix was collected) the relative reconstruction error
    ``||W X^T - W_hat X^T|| / ||W X^T||`` on its calibration inputs."""

    name: str
    kind: str
    shape: tuple
    nonzeros: int
    numel: int
    method: str = ""
    error: float | None = None

    @property
    def density(self):
        return self.nonzeros / self.numel if self.numel else 1.0


@dataclass(frozen=True)
class PruneReport:
    """Per-layer results of :func:`prune_model` and the totals."""

    layers: list = field(default_factory=list)

    @property
    def nonzeros(self):
        return sum(layer.nonzeros for layer in self.layers)

    @property
    def numel(self):
        return sum(layer.numel for layer in self.layers)

    @property
    def density(self):
        return self.nonzeros / self.numel if self.numel else 1.0

    def __str__(self):
        lines = [f"{'layer':<24}{'kind':<8}{'shape':<20}{'nonzeros':>10}{'density':>9}{'error':>9}"]
        for layer in self.layers:
            err = "" if layer.error is None else f"{layer.error:.4f}"
            lines.append(f"{layer.name:<24}{layer.kind:<8}{str(layer.shape):<20}{layer.nonzeros:>10}"
                         f"{layer.density:>9.4f}{err:>9}")
        lines.append(f"{'total':<52}{self.nonzeros:>10}{self.density:>9.4f}")
        lines.append("(unstructured zeros do not speed up dense kernels; 2:4 can, on GPUs with "
                     "sparse tensor cores)")
        return "\n".join(lines)


def sparsity_report(model, layers=None):
    """Nonzeros and density of each layer's effective weight."""
    return PruneReport([_layer_report(name, mod) for name, mod in prunable_layers(model, layers).items()])


def _layer_report(name, module, method="", error=None):
    weight = module.weight.detach()
    return LayerReport(name, type(module).__name__, tuple(weight.shape), int(torch.count_nonzero(weight)),
                       weight.numel(), method, error)


# --------------------------------------------------------------------------- pruning

def prune_model(model, batches=None, *, method="wanda", sparsity=None, nm=None, layers=None,
                sequential=True, refine=None, mode="bake", group=None, rng=None,
                dsnot_options=None, sparsegpt_options=None):
    """Prune a model's Linear/Conv2d layers one after another, in place.

    Parameters
    ----------
    model : nn.Module
    batches : iterable, optional
        Calibration inputs (see :func:`collect_stats`); required by
        ``"wanda"``, ``"sparsegpt"`` and ``refine="dsnot"``.
    method : {"magnitude", "random", "wanda", "sparsegpt"}
    sparsity : float in [0, 1), or nm : (n, m)
        Fraction removed per comparison group, or keep ``n`` of every ``m``
        consecutive inputs (Conv2d: consecutive in ``(C_in, k_h, k_w)`` order).
    layers : list of str, optional
        Default every Linear and Conv2d, the classifier included; pruned in
        the order the model runs them.  The Wanda/SparseGPT/DSnoT code prunes
        only the transformer blocks' projections and leaves the head dense:
        pass the hidden layers' names to do the same.
    sequential : bool
        Recompute each layer's calibration inputs through the layers already
        pruned (one forward pass per layer, stopped at that layer).
        ``False``: one pass of the dense model for all layers.
    refine : {None, "dsnot"}
    mode : {"bake", "reparam"} (see :func:`apply_mask`)
    group, rng, dsnot_options, sparsegpt_options
        Passed to :func:`cs.pruning.prune_weight`.

    Returns
    -------
    PruneReport
        Per layer: shape, nonzeros, density and (SparseGPT, whose statistics
        carry the Gram matrix) the calibration reconstruction error.
    """
    method = check_choice(method, "method", {"magnitude", "random", "wanda", "sparsegpt"})
    mode = check_choice(mode, "mode", {"bake", "reparam"})
    selected = prunable_layers(model, layers)
    needs_data = method in ("wanda", "sparsegpt") or refine is not None
    gram = method == "sparsegpt"
    rng = as_rng(rng)
    if needs_data:
        batches = _as_batches(batches)
        order = _execution_order(model, selected, batches)
        dense_stats = None if sequential else collect_stats(model, batches, layers=order, gram=gram)
    else:
        order = list(selected)
    reports = []
    for name in order:
        module = selected[name]
        stats = None
        if needs_data:
            if sequential:
                stats = pruning.ActivationStats(weight_matrix(module).shape[1], gram=gram)
                handle = module.register_forward_hook(_recorder(module, stats, stop=True))
                try:
                    _run(model, batches, stop_early=True)
                finally:
                    handle.remove()
            else:
                stats = dense_stats[name]
        W = weight_matrix(module).cpu().numpy().copy()  # bake writes into the tensor's memory
        res = pruning.prune_weight(W, method, sparsity=sparsity, nm=nm, stats=stats, group=group,
                                   refine=refine, rng=rng, dsnot_options=dsnot_options,
                                   sparsegpt_options=sparsegpt_options)
        updated = res.weight if method == "sparsegpt" else None
        apply_mask(module, res.mask, mode=mode, weight=updated)
        error = (pruning.reconstruction_error(W, res.weight, stats)
                 if stats is not None and stats.gram is not None else None)
        reports.append(_layer_report(name, module, res.method, error))
    return PruneReport(reports)
