"""Train a deep MLP with sparsity-inducing activations on scikit-learn's digits.

Price et al. (ICLR 2024) show that the shifted ReLU max(x - tau, 0) and soft
thresholding make deep random networks unstable at initialisation, and that
clipping their output at a level m cures it.  This example trains an MLP with
10 hidden layers of 256 units (PyTorch, through :mod:`cs.nn`; torch is
required; Adam, 30 epochs) on the 8 x 8 digits bundled with scikit-learn
(no download), initialised at the edge of chaos by
:func:`cs.activations.edge_of_chaos` with a target activation sparsity of
0.85 (ReLU: the He initialisation), and reports test accuracy and the
measured fraction of zero hidden activations on the test set for

* ReLU,
* the shifted ReLU and soft threshold (unclipped; target 0.85),
* their clipped forms (clip level from :func:`cs.activations.suggest_clip`).

Run::

    python examples/sparse_activations_digits.py [--epochs 30] [--output sparse-activations-digits.png]

It prints one line per activation and saves a PNG of accuracy and sparsity
per activation and the test sparsity of every hidden layer.
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np


def load_digits_split(seed=0, test_fraction=0.3):
    """Standardised digits (features scaled by training statistics), split at random."""
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(y))
    n_test = int(round(test_fraction * len(y)))
    test, train = order[:n_test], order[n_test:]
    mean, std = X[train].mean(axis=0), X[train].std(axis=0)
    std[std == 0] = 1.0
    X = (X - mean) / std
    # scale so that the mean squared feature is 1: the first layer then sees q = sigma_w0^2 + sigma_b^2
    X = X / np.sqrt(np.mean(X[train] ** 2))
    return X[train], y[train], X[test], y[test]


def build_mlp(eoc, *, n_in=64, width=256, depth=10, n_out=10, seed=0):
    """``depth`` hidden Linear layers of ``width`` units, each followed by the activation of ``eoc``."""
    import torch
    from torch import nn

    from cs.nn.activations import eoc_init_, sparse_activation

    layers, sizes = [], [n_in] + [width] * depth
    for d_in, d_out in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(d_in, d_out), sparse_activation(eoc)]
    model = nn.Sequential(*layers, nn.Linear(width, n_out))
    gen = torch.Generator().manual_seed(seed)
    eoc_init_(model, eoc, generator=gen)
    # the first layer sees unit-mean-square inputs: give it variance q* - sigma_b^2 so that q^1 = q*
    eoc_init_(model[0], max(eoc.q_star - eoc.sigma_b2, 1e-3), eoc.sigma_b2, generator=gen)
    eoc_init_(model[-1], 1.0, 0.0, generator=gen)
    return model


def hidden_sparsity(model, X):
    """Fraction of exact zeros of every hidden activation (one value per layer) on inputs ``X``."""
    import torch

    zeros, h = [], X
    with torch.no_grad():
        for layer in model[:-1]:
            h = layer(h)
            if not isinstance(layer, torch.nn.Linear):
                zeros.append(float((h == 0).float().mean()))
    return np.array(zeros)


def train(eoc, data, *, epochs=30, width=256, depth=10, lr=1e-3, batch_size=64, seed=0):
    """Train with Adam and cross-entropy; return (test accuracy, per-layer test sparsity, seconds)."""
    import torch

    torch.manual_seed(seed)
    Xtr, ytr, Xte, yte = (torch.as_tensor(a, dtype=torch.float32 if a.dtype.kind == "f" else torch.long)
                          for a in data)
    model = build_mlp(eoc, width=width, depth=depth, seed=seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = torch.nn.CrossEntropyLoss()
    gen = torch.Generator().manual_seed(seed)
    start = time.perf_counter()
    for _ in range(epochs):
        for idx in torch.randperm(len(ytr), generator=gen).split(batch_size):
            opt.zero_grad()
            loss = loss_fn(model(Xtr[idx]), ytr[idx])
            if not torch.isfinite(loss):
                break
            loss.backward()
            opt.step()
    seconds = time.perf_counter() - start
    with torch.no_grad():
        acc = float((model(Xte).argmax(dim=1) == yte).float().mean())
    return acc, hidden_sparsity(model, Xte), seconds


def activations_to_compare(sparsity=0.85):
    """Name -> EdgeOfChaos: ReLU (He), the unclipped and the clipped sparse activations."""
    from cs.activations import edge_of_chaos, suggest_clip

    return {
        "ReLU": edge_of_chaos("shifted_relu", 0.5),
        "shifted ReLU": edge_of_chaos("shifted_relu", sparsity),
        "soft threshold": edge_of_chaos("soft_threshold", sparsity),
        "clipped shifted ReLU": edge_of_chaos("shifted_relu", sparsity,
                                              m=suggest_clip("shifted_relu", sparsity)),
        "clipped soft threshold": edge_of_chaos("soft_threshold", sparsity,
                                                m=suggest_clip("soft_threshold", sparsity)),
    }


def run(epochs=30, width=256, depth=10, sparsity=0.85, seed=0, output=None):
    import torch

    torch.set_num_threads(1)
    data = load_digits_split(seed)
    results = {}
    for name, eoc in activations_to_compare(sparsity).items():
        acc, per_layer, seconds = train(eoc, data, epochs=epochs, width=width, depth=depth, seed=seed)
        results[name] = (acc, per_layer)
        m = "inf" if math.isinf(eoc.m) else f"{eoc.m:.3f}"
        print(f"{name:24s} tau={eoc.tau:.3f} m={m:5s} sigma_w^2={eoc.sigma_w2:6.3f} "
              f"sigma_b^2={eoc.sigma_b2:.3f} V'(q*)={eoc.dV:.3f}  test accuracy {acc:.3f}  "
              f"test sparsity {per_layer.mean():.3f}  ({seconds:.1f} s)")
    if output:
        plot(results, output, sparsity)
    return results


def plot(results, path, target):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(results)
    acc = [results[n][0] for n in names]
    sp = [results[n][1].mean() for n in names]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.5))
    x = np.arange(len(names))
    ax1.bar(x - 0.2, acc, 0.4, label="test accuracy")
    ax1.bar(x + 0.2, sp, 0.4, label="test activation sparsity")
    ax1.axhline(target, color="k", ls=":", lw=1, label=f"target sparsity {target}")
    for i, (a, s) in enumerate(zip(acc, sp)):
        ax1.text(i - 0.2, a + 0.01, f"{a:.2f}", ha="center", fontsize=8)
        ax1.text(i + 0.2, s + 0.01, f"{s:.2f}", ha="center", fontsize=8)
    ax1.set_xticks(x, [n.replace(" ", "\n", 1) for n in names], fontsize=8)
    ax1.set_ylim(0, 1.25)
    ax1.legend(fontsize=8, loc="upper center", ncol=3)
    ax1.set_title("digits, 10-hidden-layer MLP at the edge of chaos")
    for n in names:
        per_layer = results[n][1]
        ax2.plot(np.arange(1, per_layer.size + 1), per_layer, marker="o", ms=3, label=n)
    ax2.axhline(target, color="k", ls=":", lw=1)
    ax2.set_xlabel("hidden layer")
    ax2.set_ylabel("fraction of zero activations (test set)")
    ax2.set_ylim(0, 1)
    ax2.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--width", type=int, default=256)
    parser.add_argument("--depth", type=int, default=10)
    parser.add_argument("--sparsity", type=float, default=0.85)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", default="sparse-activations-digits.png")
    args = parser.parse_args(argv)
    run(args.epochs, args.width, args.depth, args.sparsity, args.seed, args.output)


if __name__ == "__main__":
    main()
