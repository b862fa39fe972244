"""A hyperspectral cube from compressive measurements: low rank against low rank plus sparse.

In the spirit of Tanner & Vary (2023, Sec. 5.3, Fig. 5): the ``pixels x bands``
matrix of a hyperspectral image is close to low rank (a few materials mix in
every pixel), and the pixels whose spectrum fits no mixture -- anomalies --
are sparse.  From ``p = delta * pixels * bands`` FJLT measurements, NIHT
recovers it either as a rank-r matrix (sparsity 0) or as rank r plus a
sparse part; the script prints and plots the PSNR of every band for both.

Data: the Indian Pines cube (145 x 145 pixels, 200 bands, AVIRIS) that ships
inside the ``tensorly`` package (``pip install tensorly``, an ``examples``
extra; nothing is downloaded at run time), cropped to ``--size`` pixels a
side; without tensorly, a synthetic cube of the same kind (smooth spectra of
four materials mixed by smooth abundance maps, plus anomalous pixels).
Anomalies are implanted in both: ``--anomalies`` pixels whose spectrum is
replaced by a spectrum of no material present.

Run:  python examples/multispectral.py [--size 64] [--delta 0.33] [--rank 4] [--out multispectral.png]
"""

import argparse
import os

import numpy as np

from cs import metrics, operators
from cs.solvers import niht


def indian_pines():
    """The Indian Pines cube scaled to [0, 1], or None without tensorly."""
    try:
        import tensorly
    except ImportError:
        return None
    path = os.path.join(os.path.dirname(tensorly.__file__), "datasets", "data", "Indian_pines_corrected.npy")
    if not os.path.exists(path):
        return None
    cube = np.load(path).astype(np.float64)
    return (cube - cube.min()) / np.ptp(cube)


def synthetic_cube(size, bands, rng):
    """Four smooth material spectra mixed by smooth abundance maps (values in [0, 1])."""
    wavelength = np.linspace(0, 1, bands)
    spectra = np.stack([0.2 + 0.6 * np.exp(-((wavelength - c) / w) ** 2)
                        for c, w in ((0.2, 0.15), (0.45, 0.3), (0.7, 0.1), (0.9, 0.25))])
    yy, xx = np.mgrid[0:size, 0:size] / size
    maps = np.stack([np.sin(3 * xx + k) * np.cos(2 * yy - k) + 1.2 for k in range(4)])
    maps /= maps.sum(axis=0)
    return np.einsum("kyx,kb->yxb", maps, spectra) + 0.002 * rng.standard_normal((size, size, bands))


def implant_anomalies(cube, count, rng):
    """Replace ``count`` random pixels' spectra by a spectrum of no material present (a bright
    narrow line over a dark floor); returns the cube and the anomaly mask."""
    size_y, size_x, bands = cube.shape
    out = cube.copy()
    mask = np.zeros((size_y, size_x), bool)
    picks = rng.choice(size_y * size_x, size=count, replace=False)
    line = np.exp(-((np.arange(bands) - rng.integers(bands // 4, 3 * bands // 4)) / (bands / 20)) ** 2)
    for flat in picks:
        y, x = divmod(int(flat), size_x)
        out[y, x] = 0.05 + 0.8 * line * rng.uniform(0.7, 1.0)
        mask[y, x] = True
    return out, mask


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=64, help="pixels per side of the crop")
    parser.add_argument("--delta", type=float, default=0.33)
    parser.add_argument("--rank", type=int, default=4)
    parser.add_argument("--sparsity", type=float, default=0.01, help="fraction of entries in S")
    parser.add_argument("--anomalies", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="multispectral.png")
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)

    cube = indian_pines()
    source = "Indian Pines (tensorly)"
    if cube is None:
        cube, source = synthetic_cube(args.size, 200, rng), "synthetic cube (tensorly not installed)"
    cube = cube[:args.size, :args.size]
    cube, anomaly = implant_anomalies(cube, args.anomalies, rng)
    height, width, bands = cube.shape
    X = cube.reshape(-1, bands)                            # pixels x bands
    p = round(args.delta * X.size)
    s = round(args.sparsity * X.size)
    A = operators.fjlt(p, X.shape, rng=args.seed)
    b = A.forward(X)
    print(f"{source}: {height} x {width} pixels, {bands} bands, {args.anomalies} anomalous pixels; "
          f"{p} FJLT measurements (delta = {args.delta}), rank {args.rank}, sparsity {s}")

    runs = {"low rank (sparsity 0)": niht(A, b, rank=args.rank, max_iter=300),
            "low rank + sparse": niht(A, b, rank=args.rank, sparsity=s, max_iter=300, rng=args.seed)}
    psnr = {}
    for name, res in runs.items():
        estimate = res.X.reshape(height, width, bands)
        psnr[name] = np.array([metrics.psnr(estimate[..., k], cube[..., k], data_range=1.0)
                               for k in range(bands)])
        print(f"  {name:<22} {res.n_iter:4d} iterations, relative error "
              f"{metrics.relative_error(res.X, X):.3e}, PSNR per band: mean {psnr[name].mean():.1f} dB, "
              f"min {psnr[name].min():.1f} dB; on the anomalous pixels "
              f"{metrics.psnr(estimate[anomaly], cube[anomaly], data_range=1.0):.1f} dB")
    S = runs["low rank + sparse"].S.reshape(height, width, bands)
    found = np.abs(S).sum(axis=2)
    top = np.argsort(found.ravel())[::-1][:args.anomalies]
    hits = int(anomaly.ravel()[top].sum())
    print(f"  the {args.anomalies} pixels with the largest sparse part include {hits} of the "
          f"{args.anomalies} anomalies")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    # show the band where the sparse part helps most
    band = int(np.argmax(psnr["low rank + sparse"] - psnr["low rank (sparsity 0)"]))
    fig = plt.figure(figsize=(11, 6.5))
    ax = fig.add_subplot(2, 1, 1)
    for name, values in psnr.items():
        ax.plot(values, label=f"{name} (mean {values.mean():.1f} dB)")
    ax.set_xlabel("band")
    ax.set_ylabel("PSNR [dB]")
    ax.set_title(f"{source}: {height} x {width} x {bands}, delta = {args.delta}, rank {args.rank}")
    ax.legend()
    panels = [("original", cube[..., band]),
              ("low rank", runs["low rank (sparsity 0)"].X.reshape(height, width, bands)[..., band]),
              ("low rank + sparse", runs["low rank + sparse"].X.reshape(height, width, bands)[..., band]),
              ("|S| summed over bands", found)]
    for i, (title, image) in enumerate(panels):
        axi = fig.add_subplot(2, 4, 5 + i)
        axi.imshow(image, cmap="gray", vmin=0, vmax=image.max() if i == 3 else cube[..., band].max())
        axi.set_title(title if i == 3 else f"{title}, band {band}", fontsize=9)
        axi.set_xticks([])
        axi.set_yticks([])
    fig.tight_layout()
    fig.savefig(args.out, dpi=110)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
