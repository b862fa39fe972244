"""``cs video``: background and foreground of a video file (or of the built-in
scene, ``--demo``) from compressive measurements.

Writes ``background.mp4``, ``foreground.mp4`` (the recovered clip where the
foreground mask is set, mid-grey elsewhere), ``montage.png`` (rows: original,
reconstruction, background, foreground) and ``metrics.json`` into ``--out``;
everything is written to a temporary folder beside it first and moved in at
the end, so a failed or interrupted run leaves nothing there.
"""

from __future__ import annotations

import argparse
import collections
import json
import time

import numpy as np

from ._common import (CLIError, Formatter, choice, fraction, nonnegative_int, positive_int, staged_dir,
                      unit_interval)

#: Frames shown in the montage.
MONTAGE_COLUMNS = 6

#: The foreground is shown as the recovered pixels where the mask is set, on
#: mid-grey elsewhere (dark and bright objects both stand out).
SHOWN_BEHIND = 0.5


def _frames(text):
    from ..datasets.video import parse_frames

    try:
        return parse_frames(text)
    except (TypeError, ValueError) as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _crop(text):
    from ..datasets.video import parse_crop

    try:
        return parse_crop(text)
    except (TypeError, ValueError) as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _sparsity(text):
    value = unit_interval(text)
    if value == 1:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1), got {text!r}")
    return value


_sparsity.__name__ = "fraction"
_frames.__name__ = "A:B"
_crop.__name__ = "y0:y1,x0:x1"


class _Metrics:
    """Per-frame PSNR and the relative error, accumulated chunk by chunk."""

    def __init__(self):
        from .. import metrics

        self.metrics = metrics
        self.psnr, self.err2, self.ref2 = [], 0.0, 0.0

    def add(self, reconstruction, frames):
        for rec, ref in zip(reconstruction, frames):
            self.psnr.append(float(self.metrics.psnr(rec, ref, data_range=1.0)))
        self.err2 += float(np.sum((reconstruction.astype(np.float64) - frames) ** 2))
        self.ref2 += float(np.sum(np.asarray(frames, np.float64) ** 2))

    def summary(self):
        return {"mean_psnr": float(np.mean(self.psnr)), "psnr": self.psnr,
                "relative_error": float(np.sqrt(self.err2 / self.ref2)) if self.ref2 else 0.0}


def _source(args):
    """(frames iterator or array, frame count or None, fps, description, truth or None)."""
    from ..datasets.video import iter_video, probe_video, scene

    if args.demo:
        if args.input:
            raise CLIError("give INPUT or --demo, not both")
        height, width = args.demo_shape
        clip = scene((height, width), args.demo_frames, channels=args.channels, rng=args.seed)
        frames = clip.frames
        a, b = args.frames or (0, None)
        if a >= frames.shape[0]:
            raise CLIError(f"--frames {a}:{b or ''} is empty: the scene has {frames.shape[0]} frames")
        sl = (slice(a, b),)
        if args.crop:
            (y0, y1), (x0, x1) = args.crop
            if y1 > height or x1 > width:
                raise CLIError(f"--crop {y0}:{y1},{x0}:{x1} reaches outside the {height} x {width} frames")
            sl += (slice(y0, y1), slice(x0, x1))
        truth = {"mask": clip.mask[sl], "background": clip.background[sl]}
        frames = frames[sl]
        return frames, frames.shape[0], clip.fps, f"the built-in scene ({frames.shape[0]} frames)", truth
    if not args.input:
        raise CLIError("give a video file INPUT, or --demo for the built-in scene")
    info = probe_video(args.input)
    if args.crop and (args.crop[0][1] > info.height or args.crop[1][1] > info.width):
        (y0, y1), (x0, x1) = args.crop
        raise CLIError(f"--crop {y0}:{y1},{x0}:{x1} reaches outside the {info.height} x {info.width} "
                       f"frames of {args.input}")
    a, b = args.frames or (0, None)
    count = None
    if info.n_frames:
        if a >= info.n_frames:
            raise CLIError(f"--frames {a}:{'' if b is None else b} is empty: {args.input} has "
                           f"{info.n_frames} frames")
        count = min(info.n_frames, b) - a if b is not None else info.n_frames - a
    frames = (frame for _, frame in iter_video(args.input, frames=args.frames, crop=args.crop,
                                               channels=args.channels, scale=args.scale))
    return frames, count, info.fps, f"{args.input} ({info.width} x {info.height}, {info.codec})", None


def _montage_indices(count):
    if not count:
        return list(range(0, 5 * 24 + 1, 24))
    return sorted({round(i) for i in np.linspace(0, count - 1, MONTAGE_COLUMNS)})


def run(args):
    from ..datasets.video import VideoWriter, write_montage
    from ..video import check_model, separate, separate_windows

    out = args.out
    timings = collections.defaultdict(float)
    wall = time.perf_counter()
    start = time.perf_counter()
    frames, count, fps, what, truth = _source(args)
    if isinstance(frames, np.ndarray):
        timings["decode"] += time.perf_counter() - start
    options = dict(delta=args.delta, rank=args.rank, sparsity=args.sparsity, solver=args.solver,
                   operator=args.operator, dtype=np.dtype(args.dtype), rng=args.seed,
                   progress=not args.quiet, colour=args.colour)
    with staged_dir(out) as tmp:
        metrics = _Metrics()
        shown = _montage_indices(count)
        panels = {name: {} for name in ("original", "reconstruction", "background", "foreground")}
        truth_parts = collections.defaultdict(list)
        held = collections.OrderedDict()   # input frames not yet scored, by index

        def decoded():
            # the input frames, remembered until their results are written (bounded by the window)
            index = 0
            iterator = iter(frames)
            while True:
                t0 = time.perf_counter()
                try:
                    frame = next(iterator)
                except StopIteration:
                    return
                finally:
                    timings["decode"] += time.perf_counter() - t0
                held[index] = frame
                index += 1
                yield frame

        if args.window:
            chunks = separate_windows(decoded(), window=args.window, overlap=args.overlap, **options)
        else:
            clip = np.stack(list(decoded())) if not isinstance(frames, np.ndarray) else frames
            if isinstance(frames, np.ndarray):
                held.update(enumerate(frames))
            m = int(np.prod(clip.shape[1:]))
            check_model(m, clip.shape[0], args.delta, args.rank, args.sparsity)
            sep = separate(clip, **options)
            sep.info["frames"] = (0, clip.shape[0])
            chunks = [sep]
        writers = {"background": VideoWriter(tmp / "background.mp4", fps),
                   "foreground": VideoWriter(tmp / "foreground.mp4", fps)}
        last = None
        for chunk in chunks:
            a, b = chunk.info["frames"]
            original = np.stack([held.pop(i) for i in range(a, b)])
            t0 = time.perf_counter()
            mask = chunk.mask[..., None] if chunk.reconstruction.ndim == 4 else chunk.mask
            shown_fg = np.where(mask, np.clip(chunk.reconstruction, 0, 1), SHOWN_BEHIND)
            for i in range(b - a):
                writers["background"].write(chunk.background[i])
                writers["foreground"].write(shown_fg[i])
            timings["encode"] += time.perf_counter() - t0
            metrics.add(chunk.reconstruction, original)
            for i in shown:
                if a <= i < b:
                    for name, series in (("original", original), ("reconstruction", chunk.reconstruction),
                                         ("background", chunk.background), ("foreground", shown_fg)):
                        panels[name][i] = series[i - a]
            if truth is not None:
                truth_parts["mask"].append(chunk.mask)
                truth_parts["background"].append(chunk.background)
            last = chunk
        t0 = time.perf_counter()
        for writer in writers.values():
            writer.close()
        indices = sorted(panels["original"])
        title = (f"{what}: delta = {args.delta}, rank {args.rank}, sparsity {args.sparsity:g}, "
                 f"{args.operator}, {args.solver}")
        write_montage(tmp / "montage.png",
                      [np.stack([panels[name][i] for i in indices]) for name in panels],
                      labels=list(panels), frame_numbers=indices, title=title)
        timings["encode"] += time.perf_counter() - t0

        info = last.info
        solve = info.get("seconds", {})
        result = {**metrics.summary(),
                  "seconds": time.perf_counter() - wall,
                  "iterations": int(info.get("iterations", 0)),
                  "seconds_by_part": {"decode": timings["decode"], "measure": solve.get("measure", 0.0),
                                      "operator": solve.get("solve.operator", 0.0),
                                      "projection": solve.get("solve.projection", 0.0),
                                      "solve_other": solve.get("solve.other", 0.0),
                                      "solve": solve.get("solve", 0.0), "encode": timings["encode"]},
                  "n_frames": len(metrics.psnr), "frame_shape": list(last.background.shape[1:]),
                  "delta": args.delta, "rank": args.rank, "sparsity": args.sparsity,
                  "n_measurements_per_solve": int(info.get("n_measurements", 0)),
                  "windows": [list(w) for w in info.get("windows", [])],
                  "converged": bool(last.result.converged), "stopped": last.result.reason,
                  "mask_threshold": info.get("threshold"), "input": str(args.input or "built-in scene")}
        if truth is not None:
            from .. import metrics as cs_metrics

            found = cs_metrics.support_recovery(np.concatenate(truth_parts["mask"]), truth["mask"])
            background = np.concatenate(truth_parts["background"])
            result.update(f_measure=found.f_measure, precision=found.precision, recall=found.recall,
                          background_psnr=float(cs_metrics.psnr(background, truth["background"],
                                                                data_range=1.0)))
        (tmp / "metrics.json").write_text(json.dumps(result, indent=2) + "\n")
    print(f"cs video: {what}, delta = {args.delta}: mean PSNR {result['mean_psnr']:.1f} dB, "
          f"relative error {result['relative_error']:.2e}, {result['iterations']} iterations, "
          f"{result['seconds']:.1f} s"
          + (f", foreground F-measure {result['f_measure']:.3f}" if truth is not None else ""))
    print(f"wrote {out}/background.mp4, foreground.mp4, montage.png, metrics.json")
    return 0


def register(sub):
    video = sub.add_parser(
        "video", formatter_class=Formatter,
        help="background and foreground of a video from compressive measurements",
        description=__doc__)
    video.add_argument("input", nargs="?", metavar="INPUT", help="a video file PyAV decodes (mp4, avi, ...)")
    video.add_argument("--demo", action="store_true", help="use the built-in synthetic scene (ground truth known)")
    video.add_argument("--out", required=True, metavar="DIR", help="output folder")
    video.add_argument("--delta", type=fraction, default=0.33, help="measurements per entry; 1 = fully observed")
    video.add_argument("--rank", type=positive_int, default=1, help="rank of the background")
    video.add_argument("--sparsity", type=_sparsity, default=0.05, help="fraction of entries in the foreground")
    video.add_argument("--channels", type=choice(("grey", "rgb")), default="grey")
    video.add_argument("--colour", type=choice(("stacked", "per_channel")), default="stacked",
                       help="RGB: the channels stacked in one matrix (one solve), or one solve per channel")
    video.add_argument("--frames", type=_frames, default=None, metavar="A:B", help="frames A <= t < B")
    video.add_argument("--crop", type=_crop, default=None, metavar="y0:y1,x0:x1")
    video.add_argument("--scale", type=fraction, default=1.0, help="downscale factor after the crop")
    video.add_argument("--window", type=positive_int, default=None, metavar="N",
                       help="solve in overlapping windows of N frames (long clips, bounded memory)")
    video.add_argument("--overlap", type=nonnegative_int, default=None, help="frames shared by windows (N // 4)")
    video.add_argument("--solver", type=choice(("niht", "naht")), default="niht")
    video.add_argument("--operator", default="fjlt",
                       type=choice(("fjlt", "fjlt2d", "subsampled_dct", "entry_sampling", "sparse_expander")),
                       help="fjlt2d: the separable FJLT, 3-4x faster on large clips")
    video.add_argument("--dtype", type=choice(("float32", "float64")), default="float32")
    video.add_argument("--seed", type=nonnegative_int, default=0)
    video.add_argument("--demo-shape", type=positive_int, nargs=2, default=(72, 96), metavar=("H", "W"))
    video.add_argument("--demo-frames", type=positive_int, default=60)
    video.add_argument("--quiet", action="store_true", help="no progress bar")
    video.set_defaults(func=run)
