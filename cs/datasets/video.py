r"""Video in and out, and a synthetic scene with ground truth.

A video of ``T`` frames of ``H x W`` pixels (``C`` colour channels) is the
``H W C x T`` matrix whose column ``t`` is frame ``t`` flattened: a static
background is then a rank-one matrix (a global change of illumination only
rescales its columns) and objects moving through it occupy few entries --
the low-rank plus sparse model of Tanner & Vary (2023, Sec. 5.2, Fig. 4).

Reading
    :func:`read_video` decodes every frame PyAV can decode (mp4, m4v, avi with
    mpeg4 or raw video, ...) at its native timing -- frames are taken as the
    decoder delivers them, never resampled to a frame rate, so none is
    duplicated or dropped -- with a frame range, a crop, grey (luma) or RGB,
    values scaled to [0, 1], and an optional downscale.  :func:`iter_video`
    yields the same frames one at a time, for clips too long to hold.
Writing
    :func:`write_video` (mp4 by PyAV, H.264), :func:`write_gif`,
    :func:`write_montage` (a PNG grid of chosen frames, one row per series).
The matrix
    :func:`to_matrix` and :func:`from_matrix`.
Ground truth
    :func:`scene`: a static background cut from an image that scikit-image
    ships, objects of several sizes and speeds crossing it (one may stop for a
    while), a slight global flicker and sensor noise, with the true
    background, foreground and foreground masks.

References
----------
J. Tanner and S. Vary, "Compressed sensing of low-rank plus sparse matrices",
Appl. Comput. Harmon. Anal. 64:254-293, 2023 (arXiv:2007.09457), Sec. 5.2.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from .._validation import as_rng, check_choice, check_dtype, check_int, check_real

__all__ = ["Video", "VideoInfo", "Scene", "probe_video", "read_video", "iter_video", "to_matrix",
           "from_matrix", "write_video", "write_gif", "write_montage", "montage", "scene",
           "parse_frames", "parse_crop"]

#: Luma weights (ITU-R BT.709, as skimage.color.rgb2gray): grey = RGB @ LUMA.
LUMA = np.array([0.2125, 0.7154, 0.0721])


# --------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class VideoInfo:
    """What a file's first video stream says about itself (before decoding).

    ``n_frames`` is the container's count (0 when it does not know); ``fps``
    its average rate (frames per second; 25 when it does not say).
    """

    path: str
    height: int
    width: int
    n_frames: int
    fps: float
    codec: str


@dataclass(frozen=True)
class Video:
    """Decoded frames and their timing.

    Attributes
    ----------
    frames : (T, H, W) or (T, H, W, 3) ndarray
        Values in [0, 1] (grey luma, or RGB).
    times : (T,) ndarray
        Presentation time of each frame in seconds, as stored in the file.
    fps : float
        The stream's average frame rate (for writing the results back).
    path : str or None
    """

    frames: np.ndarray
    times: np.ndarray
    fps: float
    path: str | None = None

    @property
    def n_frames(self):
        return self.frames.shape[0]

    @property
    def frame_shape(self):
        return self.frames.shape[1:]


def parse_frames(text):
    """``"A:B"`` (either end may be empty) -> ``(A, B)`` with None for an open end."""
    parts = str(text).split(":")
    if len(parts) != 2:
        raise ValueError(f"frames={text!r} must be A:B (frame indices, B excluded)")
    try:
        a, b = (int(p) if p.strip() else None for p in parts)
    except ValueError:
        raise ValueError(f"frames={text!r} must be A:B with integer A and B") from None
    return _check_frames((a, b))


def parse_crop(text):
    """``"y0:y1,x0:x1"`` -> ``((y0, y1), (x0, x1))``."""
    try:
        (y0, y1), (x0, x1) = (tuple(int(v) for v in part.split(":")) for part in str(text).split(","))
    except ValueError:
        raise ValueError(f"crop={text!r} must be y0:y1,x0:x1 (integers)") from None
    return _check_crop(((y0, y1), (x0, x1)))


def _check_frames(frames):
    if frames is None:
        return 0, None
    try:
        a, b = frames
    except (TypeError, ValueError):
        raise TypeError(f"frames must be a pair (A, B), got {frames!r}") from None
    a = 0 if a is None else check_int(a, "frames[0]", low=0)
    if b is not None:
        b = check_int(b, "frames[1]", low=0)
        if b <= a:
            raise ValueError(f"frames=({a}, {b}) is empty: the end must exceed the start")
    return a, b


def _check_crop(crop):
    if crop is None:
        return None
    try:
        (y0, y1), (x0, x1) = crop
    except (TypeError, ValueError):
        raise TypeError(f"crop must be ((y0, y1), (x0, x1)), got {crop!r}") from None
    y0, y1, x0, x1 = (check_int(v, f"crop {name}", low=0)
                      for v, name in zip((y0, y1, x0, x1), ("y0", "y1", "x0", "x1")))
    if y1 <= y0 or x1 <= x0:
        raise ValueError(f"crop={y0}:{y1},{x0}:{x1} is empty: need y0 < y1 and x0 < x1")
    return (y0, y1), (x0, x1)


def _open(path):
    import av

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    if path.is_dir():
        raise ValueError(f"{path} is a folder, not a video file")
    try:
        container = av.open(str(path))
    except av.FFmpegError as err:
        raise ValueError(f"{path}: not a video PyAV can decode ({err.strerror or err})") from None
    if not container.streams.video:
        container.close()
        raise ValueError(f"{path}: the file holds no video stream")
    return container


def probe_video(path):
    """:class:`VideoInfo` of the first video stream of ``path`` (nothing decoded)."""
    with _open(path) as container:
        stream = container.streams.video[0]
        rate = stream.average_rate or stream.guessed_rate
        return VideoInfo(str(path), int(stream.codec_context.height), int(stream.codec_context.width),
                         int(stream.frames or 0), float(rate) if rate else 25.0, stream.codec_context.name)


def _resize(frame, scale):
    from skimage.transform import rescale

    return rescale(frame, scale, anti_aliasing=True, preserve_range=True,
                   channel_axis=2 if frame.ndim == 3 else None)


def iter_video(path, *, frames=None, crop=None, channels="grey", scale=1.0, dtype=np.float32):
    """Yield ``(time, frame)`` for the frames of ``path``, one at a time.

    The same options as :func:`read_video`; memory holds one frame.  Raises
    ``ValueError`` naming the path when the file cannot be decoded, and when
    ``crop`` reaches outside the frame.
    """
    import av

    start, stop = _check_frames(frames)
    crop = _check_crop(crop)
    channels = check_choice(channels, "channels", {"grey", "rgb"})
    scale = check_real(scale, "scale", low=0.0, low_open=True, high=1.0)
    dtype = check_dtype(dtype)
    fmt = "gray" if channels == "grey" else "rgb24"
    container = _open(path)
    try:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        height, width = stream.codec_context.height, stream.codec_context.width
        if crop is not None and (crop[0][1] > height or crop[1][1] > width):
            raise ValueError(f"crop={crop[0][0]}:{crop[0][1]},{crop[1][0]}:{crop[1][1]} reaches outside "
                             f"the {height} x {width} frames of {path}")
        base = stream.time_base or Fraction(1, 25)
        rate = float(stream.average_rate or stream.guessed_rate or 25)
        index = -1
        for index, frame in enumerate(container.decode(stream)):
            if index < start:
                continue
            if stop is not None and index >= stop:
                break
            time = float(frame.pts * base) if frame.pts is not None else index / rate
            pixels = frame.to_ndarray(format=fmt)
            if crop is not None:
                pixels = pixels[crop[0][0]:crop[0][1], crop[1][0]:crop[1][1]]
            pixels = pixels.astype(dtype) / dtype.type(255)
            if scale != 1.0:
                pixels = _resize(pixels, scale).astype(dtype, copy=False)
            yield time, pixels
    except av.FFmpegError as err:
        raise ValueError(f"{path}: decoding failed at frame {index + 1} ({err.strerror or err})") from None
    finally:
        container.close()
    if index < start:
        raise ValueError(f"frames={start}:{'' if stop is None else stop} is empty: {path} has "
                         f"{index + 1} frames")


def read_video(path, *, frames=None, crop=None, channels="grey", scale=1.0, dtype=np.float32):
    """Decode a video file into a :class:`Video`.

    Parameters
    ----------
    path : str or Path
        Any file PyAV (FFmpeg) decodes: mp4, m4v, mov, avi (mpeg4, raw), ...
    frames : (A, B), optional
        Keep decoded frames ``A <= t < B`` (either may be None).  Frames are
        counted as the decoder delivers them: every stored frame once, at its
        stored presentation time (``Video.times``), never resampled.
    crop : ((y0, y1), (x0, x1)), optional
        Pixel rows ``y0:y1`` and columns ``x0:x1`` of the full frame.
    channels : {"grey", "rgb"}
        Grey is the luma plane (FFmpeg's conversion to ``gray``); RGB is
        ``rgb24``.  Both are scaled to [0, 1].
    scale : float in (0, 1]
        Downscale factor applied after the crop (scikit-image ``rescale``
        with anti-aliasing).
    dtype : float32 or float64

    Returns
    -------
    Video

    Raises
    ------
    FileNotFoundError
        ``path`` does not exist (the message names it).
    ValueError
        Not decodable, no video stream, a crop outside the frame, an empty
        frame range.
    """
    times, pixels = [], []
    for time, frame in iter_video(path, frames=frames, crop=crop, channels=channels, scale=scale,
                                  dtype=dtype):
        times.append(time)
        pixels.append(frame)
    return Video(np.stack(pixels), np.asarray(times), probe_video(path).fps, str(path))


# --------------------------------------------------------------------------
# The matrix
# --------------------------------------------------------------------------

def to_matrix(frames):
    """The ``H W C x T`` matrix whose column ``t`` is frame ``t`` (C order).

    Colour frames ``(T, H, W, 3)`` stack their channels within each column
    (pixel-major, RGB interleaved), so a static colour background is still
    one column repeated: rank one.
    """
    frames = np.asarray(frames)
    if frames.ndim not in (3, 4):
        raise ValueError(f"frames must have shape (T, H, W) or (T, H, W, C), got {frames.shape}")
    return np.ascontiguousarray(frames.reshape(frames.shape[0], -1).T)


def from_matrix(M, frame_shape):
    """Inverse of :func:`to_matrix`: ``(T, *frame_shape)`` from the ``pixels x T`` matrix."""
    M = np.asarray(M)
    frame_shape = tuple(int(s) for s in frame_shape)
    if M.ndim != 2 or M.shape[0] != math.prod(frame_shape):
        raise ValueError(f"M has shape {M.shape}; expected ({math.prod(frame_shape)}, T) for frames "
                         f"of shape {frame_shape}")
    return np.ascontiguousarray(M.T).reshape((M.shape[1], *frame_shape))


# --------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------

def _to_uint8(frames):
    frames = np.asarray(frames)
    if frames.dtype == np.uint8:
        return frames
    return (np.clip(frames, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def _rgb(frame):
    return np.repeat(frame[:, :, None], 3, axis=2) if frame.ndim == 2 else frame


class VideoWriter:
    """Write frames to an mp4 (H.264 by PyAV) one at a time: ``with VideoWriter(path, fps) as w: w.write(frame)``.

    Frames are grey ``(H, W)`` or RGB ``(H, W, 3)`` in [0, 1] (clipped) or
    uint8.  Even sizes are stored as yuv420p (what every player shows), odd
    ones as yuv444p (H.264's 4:2:0 needs even sizes).  ``crf`` is x264's
    constant quality (0 lossless, 18 visually lossless, 23 its default);
    ``preset`` its speed: "veryfast" encoded 150 frames of 140 x 190 in
    0.21 s against 0.48 s for x264's default "medium", for a file 10 % larger
    at the same quality.
    """

    _PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow")

    def __init__(self, path, fps=25.0, *, crf=18, preset="veryfast"):
        self.path, self.fps, self.crf = Path(path), check_real(fps, "fps", low=0.0, low_open=True), crf
        self.preset = check_choice(preset, "preset", self._PRESETS)
        self.container = self.stream = None

    def __enter__(self):
        return self

    def write(self, frame):
        import av

        frame = _rgb(_to_uint8(frame))
        if self.stream is None:
            height, width = frame.shape[:2]
            self.container = av.open(str(self.path), "w")
            rate = Fraction(self.fps).limit_denominator(1001)
            self.stream = self.container.add_stream("libx264", rate=rate)
            self.stream.width, self.stream.height = width, height
            self.stream.pix_fmt = "yuv420p" if height % 2 == 0 and width % 2 == 0 else "yuv444p"
            self.stream.options = {"crf": str(self.crf), "preset": self.preset}
        for packet in self.stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(frame),
                                                                    format="rgb24")):
            self.container.mux(packet)

    def close(self):
        if self.container is not None:
            for packet in self.stream.encode():
                self.container.mux(packet)
            self.container.close()
            self.container = None

    def __exit__(self, *exc):
        self.close()


def write_video(path, frames, *, fps=25.0, crf=18, preset="veryfast"):
    """Write ``frames`` ((T, H, W) grey or (T, H, W, 3) RGB, values in [0, 1]) to an mp4 at ``fps``.

    See :class:`VideoWriter` for the encoding.  Returns ``path``.
    """
    frames = np.asarray(frames)
    if frames.ndim not in (3, 4) or frames.shape[0] == 0:
        raise ValueError(f"frames must have shape (T, H, W) or (T, H, W, 3) with T >= 1, got {frames.shape}")
    with VideoWriter(path, fps, crf=crf, preset=preset) as writer:
        for frame in frames:
            writer.write(frame)
    return path


def write_gif(path, frames, *, fps=10.0):
    """Write ``frames`` (values in [0, 1]) as a looping GIF at ``fps`` (imageio)."""
    import imageio.v3 as iio

    frames = _to_uint8(frames)
    fps = check_real(fps, "fps", low=0.0, low_open=True)
    iio.imwrite(path, frames, extension=".gif", duration=1000.0 / fps, loop=0)
    return path


def montage(rows, indices):
    """A grid image: one row per series in ``rows``, one column per frame index.

    ``rows`` is a list of frame stacks of equal shape (values in [0, 1]);
    returns a uint8 image with a 2-pixel white gutter.
    """
    tiles = [[_rgb(_to_uint8(series[i])) for i in indices] for series in rows]
    height, width = tiles[0][0].shape[:2]
    gap = 2
    canvas = np.full((len(rows) * (height + gap) - gap, len(indices) * (width + gap) - gap, 3), 255, np.uint8)
    for r, row in enumerate(tiles):
        for c, tile in enumerate(row):
            canvas[r * (height + gap):r * (height + gap) + height, c * (width + gap):c * (width + gap) + width] = tile
    return canvas


def write_montage(path, rows, *, labels, indices=None, frame_numbers=None, title=None, dpi=100):
    """Save a PNG montage: a row per series (named by ``labels``), a column per frame in ``indices``.

    ``rows`` are frame stacks (values in [0, 1], clipped); ``indices``
    (default: all) picks the frames shown, and ``frame_numbers`` (default:
    ``indices``) titles the columns.  Frames are drawn at least 160 pixels
    high, pixel for pixel (an integer zoom, no smoothing), on white with the
    labels and the title in Pillow's own font.  Drawn with Pillow rather
    than matplotlib: importing matplotlib alone took 0.9-1.7 s of a 15 s
    ``cs video`` run.  ``dpi`` is written into the PNG's metadata.
    """
    from PIL import Image, ImageDraw, ImageFont

    if len(labels) != len(rows):
        raise ValueError(f"labels has {len(labels)} names for {len(rows)} rows")
    indices = list(range(len(rows[0]))) if indices is None else [int(i) for i in indices]
    frame_numbers = indices if frame_numbers is None else list(frame_numbers)
    height, width = np.asarray(rows[0]).shape[1:3]
    zoom = max(1, math.ceil(160 / height))
    grid = montage(rows, indices)  # clips to [0, 1] as it converts to 8 bits
    grid = np.repeat(np.repeat(grid, zoom, axis=0), zoom, axis=1)
    # the 2-pixel gutters of montage() grew with the zoom: frame r, c starts at r * (zoom h + 2 zoom)
    font, title_font = ImageFont.load_default(size=16), ImageFont.load_default(size=18)
    left = 16 + math.ceil(max(font.getlength(str(label)) for label in labels))
    top = 62 if title else 30
    width_needed = max(left + grid.shape[1] + 6, 20 + math.ceil(title_font.getlength(str(title or ""))))
    canvas = Image.new("RGB", (width_needed, top + grid.shape[0] + 6), "white")
    canvas.paste(Image.fromarray(grid), (left, top))
    draw = ImageDraw.Draw(canvas)
    cell_w, cell_h = zoom * (width + 2), zoom * (height + 2)
    for c, number in enumerate(frame_numbers):
        draw.text((left + c * cell_w + zoom * width / 2, top - 4), f"frame {number}", fill="black", font=font,
                  anchor="md")
    for r, label in enumerate(labels):
        draw.text((left - 8, top + r * cell_h + zoom * height / 2), str(label), fill="black", font=font,
                  anchor="rm")
    if title:
        draw.text((canvas.width / 2, 8), str(title), fill="black", font=title_font, anchor="ma")
    canvas.save(path, format="PNG", dpi=(dpi, dpi))
    return path


# --------------------------------------------------------------------------
# A synthetic scene with ground truth
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class Scene:
    """A synthetic clip and its ground truth.

    ``frames = background + foreground + noise`` exactly: nothing is clipped
    (with the default flicker and noise every value stays inside [0, 1]).

    Attributes
    ----------
    frames : (T, H, W) or (T, H, W, 3) ndarray
        The observed clip.
    background : same shape
        ``g_t B``: the static image ``B`` times the flicker gain ``g_t``;
        as a matrix, rank one.
    foreground : same shape
        ``g_t (O_t - B)`` on the objects' pixels, zero elsewhere.
    mask : (T, H, W) bool ndarray
        Where an object covers the pixel (the true foreground support).
    gain : (T,) ndarray
        The flicker ``g_t``.
    fps : float
    noise : float
        Standard deviation of the additive Gaussian sensor noise.
    """

    frames: np.ndarray
    background: np.ndarray
    foreground: np.ndarray
    mask: np.ndarray
    gain: np.ndarray
    fps: float
    noise: float

    @property
    def foreground_fraction(self):
        """The fraction of the video's entries that are foreground (the true sparsity)."""
        return float(self.mask.mean())


#: Objects of the scene, as fractions of the frame: (height, width, row of
#: the centre, speed in frame widths per 60 frames, shade ("dark"/"bright"),
#: shape, entry time as a fraction of 60 frames).  Different sizes and
#: speeds; they cross again and again (25 frames apart) in longer clips; the
#: second one stops for a while on its first crossing when ``pause`` is set.
_OBJECTS = (
    (0.30, 0.10, 0.62, 2.0, "dark", "ellipse", 0.00),
    (0.20, 0.12, 0.30, 2.0, "bright", "box", 0.10),
    (0.14, 0.07, 0.80, 3.5, "dark", "box", 0.25),
    (0.11, 0.11, 0.45, 2.4, "bright", "ellipse", 0.45),
)

#: Colours of the objects (RGB): dark ones in [0.04, 0.14], bright ones in [0.9, 0.95],
#: while the background is mapped into [0.3, 0.8], so every foreground pixel
#: differs from the background by at least 0.1 in every channel and in luma.
_SHADES = {"dark": ((0.04, 0.07, 0.14), (0.12, 0.05, 0.04)),
           "bright": ((0.95, 0.93, 0.90), (0.91, 0.94, 0.95))}


def _background(height, width, channels):
    from skimage import data
    from skimage.transform import resize

    image = data.coffee().astype(np.float64) / 255.0  # 400 x 600 RGB, ships with scikit-image
    rows, cols = image.shape[:2]
    # the largest centred crop of the requested aspect ratio, then resized
    if cols / rows > width / height:
        keep = round(rows * width / height)
        image = image[:, (cols - keep) // 2:(cols - keep) // 2 + keep]
    else:
        keep = round(cols * height / width)
        image = image[(rows - keep) // 2:(rows - keep) // 2 + keep]
    image = resize(image, (height, width), anti_aliasing=True)
    image = 0.3 + 0.5 * (image - image.min()) / (np.ptp(image) or 1.0)
    return image @ LUMA if channels == "grey" else image


def _object_layer(h, w, shade, shape):
    """An object's texture (h x w x 3, two-tone stripes) and its footprint mask."""
    first, second = (np.array(c) for c in _SHADES[shade])
    yy, xx = np.mgrid[0:h, 0:w]
    stripes = ((yy + xx) // max(2, h // 6)) % 2 == 0
    texture = np.where(stripes[:, :, None], first, second)
    if shape == "ellipse":
        footprint = ((yy - (h - 1) / 2) / (h / 2)) ** 2 + ((xx - (w - 1) / 2) / (w / 2)) ** 2 <= 1.0
    else:
        footprint = np.ones((h, w), bool)
    return texture, footprint


def scene(shape=(72, 96), n_frames=60, *, channels="grey", pause=True, flicker=0.02, noise=0.005,
          fps=25.0, rng=0):
    r"""A deterministic synthetic clip with known background and foreground.

    The background ``B`` is scikit-image's ``coffee`` photograph (shipped with
    the package, nothing downloaded), cropped to the aspect ratio, resized to
    ``shape`` and mapped into [0.3, 0.8].  Four textured objects of different
    sizes (from 11 % to 30 % of the frame height) cross horizontally at
    different speeds (2 to 3.5 frame widths per 60 frames), entering at
    different times and crossing again in longer clips; with ``pause`` the
    second one stops in the middle of the frame for 12 frames (a fifth of
    the clip for clips up to 60 frames).  Object colours are below 0.15 or above
    0.9, so every foreground pixel differs from the background by at least
    0.1.  Frame ``t`` is

    .. math::  F_t = g_t\,C_t + \varepsilon_t,\qquad
               g_t = 1 + f\sin(2\pi t/23 + \phi) \cdot u_t,

    with ``C_t`` the composite (objects over ``B``), a slight global flicker
    (``f = flicker``, ``u_t`` uniform in [0.5, 1], phase ``phi`` random) and
    i.i.d. Gaussian noise of standard deviation ``noise``.  Hence the true
    background ``g_t B`` is rank one as a matrix (:func:`to_matrix`) and the
    foreground ``g_t (C_t - B)`` is supported on the objects.

    Parameters
    ----------
    shape : (H, W)
        Frame size, at least 16 x 16.
    n_frames : int
        At least 1.
    channels : {"grey", "rgb"}
    pause : bool
        Whether one object stops for a while.
    flicker : float in [0, 0.1]
    noise : float in [0, 0.05]
    fps : float
    rng : int or Generator
        The flicker's phase and amplitudes and the noise.

    Returns
    -------
    Scene
    """
    height, width = (check_int(s, f"shape[{i}]", low=16) for i, s in enumerate(shape))
    n_frames = check_int(n_frames, "n_frames", low=1)
    channels = check_choice(channels, "channels", {"grey", "rgb"})
    flicker = check_real(flicker, "flicker", low=0.0, high=0.1)
    noise = check_real(noise, "noise", low=0.0, high=0.05)
    fps = check_real(fps, "fps", low=0.0, low_open=True)
    rng = as_rng(rng)

    base = _background(height, width, channels)
    composite = np.repeat(base[None], n_frames, axis=0)
    mask = np.zeros((n_frames, height, width), bool)
    for number, (fh, fw, fy, speed, shade, form, enter) in enumerate(_OBJECTS):
        h, w = max(3, round(fh * height)), max(3, round(fw * width))
        texture, footprint = _object_layer(h, w, shade, form)
        if channels == "grey":
            texture = texture @ LUMA
        top = round(fy * height - h / 2)
        step = speed * width / 60.0          # pixels per frame
        cycle = math.ceil((width + w) / step) + 25  # frames per crossing, then a gap of 25
        stop_k = math.ceil((0.5 * (width - w) + w) / step)  # where the pausing object reaches the middle
        pause_len = round(0.2 * min(n_frames, 60)) if pause and number == 1 else 0
        for t in range(round(enter * min(n_frames, 60)), n_frames):
            k = t - round(enter * min(n_frames, 60))
            if pause_len and k > stop_k:
                k = max(stop_k, k - pause_len)
            left = round(-w + (k % cycle) * step)
            # paint the part of the object inside the frame
            y0, y1 = max(top, 0), min(top + h, height)
            x0, x1 = max(left, 0), min(left + w, width)
            if y0 >= y1 or x0 >= x1:
                continue
            sub = footprint[y0 - top:y1 - top, x0 - left:x1 - left]
            region = composite[t, y0:y1, x0:x1]
            region[sub] = texture[y0 - top:y1 - top, x0 - left:x1 - left][sub]
            mask[t, y0:y1, x0:x1] |= sub

    phase = rng.uniform(0, 2 * np.pi)
    gain = 1.0 + flicker * np.sin(2 * np.pi * np.arange(n_frames) / 23.0 + phase) * rng.uniform(0.5, 1.0, n_frames)
    expand = (slice(None),) + (None,) * (composite.ndim - 1)
    background = gain[expand] * base[None]
    foreground = gain[expand] * (composite - base[None])
    frames = background + foreground + noise * rng.standard_normal(composite.shape)
    return Scene(frames, background, foreground, mask, gain, fps, noise)
