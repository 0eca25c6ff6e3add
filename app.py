"""gan8 dashboard: handwritten eights from a small GAN generator.

Run with ``streamlit run app.py``. A thin page over the ``gan8`` package: widgets return values,
``gan8`` computes, and the caching wrappers below key everything by the weights' fingerprint.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import secrets
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np

# Streamlit and Plotly import pandas lazily, at the first table or chart. When a rerun interrupts a
# run in the middle of that import, the module is left half-initialised and every later table
# fails ("partially initialized module 'pandas'"), seen in the browser test when a widget changed
# while the Statistics tab drew for the first time. pandas comes with streamlit; importing it here,
# before any widget exists, keeps that first import out of reach of reruns.
import pandas  # noqa: F401
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

import gan8
from gan8 import evaluate, limits
from gan8.data import load_reference_eights
from gan8.render import INK_STYLES
from gan8.stats import PixelStats, image_stats

APP_DIR = Path(__file__).resolve().parent
LOGGER = logging.getLogger("gan8.app")
TABS = ["Grid", "Interpolation", "Statistics", "Explorer", "Compare", "Quality"]
UPLOAD_MB = gan8.weights.MAX_WEIGHTS_FILE_BYTES // (1024 * 1024)
STYLE_LABELS = {"paper": "Black ink on white paper", "mnist": "White ink on black (MNIST)",
                **{name: f"Colour map: {name}" for name in INK_STYLES[2:]}}
MAX_GRID_PIXELS = 2400  # longest side of the displayed grid, after enlargement
PSI_CURVE = (0.25, 0.5, 0.75, 1.0, 1.25, 1.5)


def plain(text) -> str:
    """Text from a file or a user (names, metadata, messages) shown literally, never as Markdown
    (no links or remote images smuggled in through a file name)."""
    return "".join("\\" + ch if ch in "\\`*_{}[]()#+-.!|<>~$" else ch for ch in str(text))


# ---------------------------------------------------------------- cached computation

@st.cache_resource(max_entries=16, show_spinner=False)
def load_generator(content_key: str, _source, label: str) -> gan8.Generator:
    """One immutable generator per distinct file content, shared by all sessions."""
    return gan8.load_weights(_source, name=label)


@st.cache_data(max_entries=64, show_spinner=False)
def grid_png(fingerprint: str, _generator: gan8.Generator, rows: int, cols: int, seed: int, psi: float,
             style: str, scale: int) -> tuple[bytes, bytes]:
    """The grid as PNG bytes, and the samples with their latents as .npz bytes."""
    z = gan8.sample_latents(rows * cols, seed, psi)
    images = _generator.generate(z)
    png = gan8.to_png(gan8.colorize(gan8.tile(images, rows, cols), style), scale=scale)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, images=images, latents=z, seed=seed, psi=psi, weights=fingerprint)
    return png, buffer.getvalue()


@st.cache_data(max_entries=16, show_spinner=False)
def interpolation_frames(fingerprint: str, _generator: gan8.Generator, seeds: tuple[int, ...], psi: float,
                         steps: int, method: str, loop: bool) -> np.ndarray:
    """Frames (m, 28, 28) of the latent path through the keyframes of ``seeds``."""
    path = gan8.latent_path(gan8.keyframes_from_seeds(seeds, psi), steps, method=method, loop=loop)
    return _generator.generate(path)


@st.cache_data(max_entries=16, show_spinner=False)
def animation_gif(fingerprint: str, _frames: np.ndarray, key: tuple, style: str, fps: int) -> bytes:
    return gan8.to_gif(gan8.colorize(_frames, style), fps=fps, scale=4)


class StatisticsStore:
    """Recent PixelStats by (fingerprint, n, seed, psi), shared by all sessions.

    Not st.cache_data: that would record the progress bar updated inside the computation and
    replay them wherever the result is used next.
    """

    def __init__(self, max_entries: int = 16):
        self._items: OrderedDict[tuple, PixelStats] = OrderedDict()
        self._lock = threading.Lock()
        self._max = max_entries

    def get_or_compute(self, key: tuple, compute) -> PixelStats:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        value = compute()  # outside the lock: other sessions keep going meanwhile
        with self._lock:
            self._items[key] = value
            while len(self._items) > self._max:
                self._items.popitem(last=False)
        return value


@st.cache_resource(show_spinner=False)
def statistics_store() -> StatisticsStore:
    return StatisticsStore()


def statistics(generator: gan8.Generator, n: int, seed: int, psi: float, progress=None) -> PixelStats:
    return statistics_store().get_or_compute(
        (generator.fingerprint, n, seed, psi), lambda: gan8.pixel_stats(generator, n, seed, psi=psi, progress=progress))


@st.cache_resource(show_spinner=False)
def reference_eights():
    """The 400 training and 100 held-out real eights shipped with gan8 (immutable arrays)."""
    reference = load_reference_eights()
    for array in (reference.train, reference.heldout):
        array.flags.writeable = False
    return reference


@st.cache_data(show_spinner=False)
def reference_statistics() -> PixelStats:
    return image_stats(reference_eights().train)


@st.cache_data(show_spinner=False)
def heldout_nearest_distances() -> np.ndarray:
    """How far each held-out real eight is from its nearest training eight: the scale of 'new'."""
    reference = reference_eights()
    return evaluate.nearest_neighbours(reference.heldout, reference.train)[1]


@st.cache_data(max_entries=8, show_spinner=False)
def quality_scores(fingerprint: str, _generator: gan8.Generator, n: int, seed: int) -> evaluate.Scores:
    return evaluate.evaluate(_generator, n=n, seed=seed, reference=reference_eights())


@st.cache_data(max_entries=8, show_spinner=False)
def quality_curve(fingerprint: str, _generator: gan8.Generator, n: int, seed: int) -> list:
    return evaluate.precision_recall_over_psi(_generator, PSI_CURVE, n=n, seed=seed, reference=reference_eights())


# ---------------------------------------------------------------- weights (sidebar)

def initial_weights() -> dict:
    """The bundled weights, or the file named by GAN8_WEIGHTS (relative to app.py)."""
    env = os.environ.get("GAN8_WEIGHTS")
    if env:
        path = (APP_DIR / env).resolve()
        return {"key": f"path:{path}", "source": str(path), "label": path.name, "origin": f"GAN8_WEIGHTS={env}"}
    return {"key": "bundled", "source": None, "label": "bundled weights", "origin": "bundled with gan8"}


def generator_from_upload(upload) -> tuple[str, bytes, gan8.Generator]:
    """(cache key, bytes, generator) of an uploaded file; raises WeightsError."""
    data = upload.getvalue()
    key = "sha256:" + hashlib.sha256(data).hexdigest()
    return key, data, load_generator(key, data, upload.name)


def weights_sidebar() -> gan8.Generator | None:
    """Upload or reset weights; returns the generator in use (None if even the default fails)."""
    if "weights" not in st.session_state:
        st.session_state.weights = initial_weights()
        st.session_state.weights_error = None
        st.session_state.seen_upload = None
    st.sidebar.header("Weights")
    upload = st.sidebar.file_uploader(
        f"Upload a .mat in the data21.mat layout (up to {UPLOAD_MB} MB)", type=["mat"], key="weights_upload",
        max_upload_size=UPLOAD_MB, help="A_1 (128 x 10), B_1 (128 x 1), A_2 (784 x 128), B_2 (784 x 1)")
    if upload is not None and upload.file_id != st.session_state.seen_upload:
        st.session_state.seen_upload = upload.file_id
        try:
            key, data, _ = generator_from_upload(upload)
        except gan8.WeightsError as exc:
            st.session_state.weights_error = str(exc)
        else:
            st.session_state.weights = {"key": key, "source": data, "label": upload.name, "origin": "upload"}
            st.session_state.weights_error = None
    if st.sidebar.button("Use the bundled weights", key="use_bundled", width="stretch"):
        st.session_state.weights = {"key": "bundled", "source": None, "label": "bundled weights",
                                    "origin": "bundled with gan8"}
        st.session_state.weights_error = None
    if st.session_state.weights_error:
        st.sidebar.error(f"Upload rejected; still using {plain(st.session_state.weights['label'])}.\n\n"
                         f"{plain(st.session_state.weights_error)}")
    current = st.session_state.weights
    try:
        generator = load_generator(current["key"], current["source"], current["label"])
    except gan8.WeightsError as exc:
        st.sidebar.error(plain(exc))
        return None
    model_card(generator, current)
    return generator


def model_card(generator: gan8.Generator, current: dict) -> None:
    st.sidebar.subheader("Model card")
    rows = [("Architecture", "z (10) → 128 ReLU → 784 sigmoid(−·)"),
            ("Parameters", f"{generator.n_params:,}"),
            ("Fingerprint", f"`{generator.fingerprint}`"),
            ("File", current["label"]), ("Source", current["origin"])]
    labels = {"source": "Trained by", "seed": "Training seed", "steps": "Training steps",
              "training_minutes": "Training minutes", "data": "Data"}
    rows += [(labels[key], value) for key, value in generator.metadata.items() if key in labels]
    st.sidebar.markdown("\n".join(f"- **{k}:** {v if k == 'Fingerprint' else plain(v)}" for k, v in rows))


# ---------------------------------------------------------------- tabs

def new_seed(key: str) -> None:
    st.session_state[key] = secrets.randbelow(1_000_000)


def seed_input(key: str, label: str = "Seed") -> int:
    left, right = st.columns([3, 2], vertical_alignment="bottom")
    with left:
        seed = st.number_input(label, min_value=0, max_value=2**31 - 1, value=0, step=1, key=key,
                               bind="query-params")
    with right:
        st.button("New seed", key=f"{key}_new", on_click=new_seed, args=(key,), width="stretch")
    return int(seed)


def grid_controls() -> dict:
    c1, c2, c3 = st.columns(3)
    with c1:
        rows = st.slider("Rows", 1, limits.MAX_GRID_SIDE, 10, key="grid_rows", persist_state="page")
        cols = st.slider("Columns", 1, limits.MAX_GRID_SIDE, 10, key="grid_cols", persist_state="page")
    with c2:
        seed = seed_input("seed")
        psi = st.slider("Truncation ψ", 0.0, 2.0, 1.0, 0.05, key="grid_psi", persist_state="page",
                        help="z' = ψ z: below 1 gives more typical, cleaner eights; above 1 more unusual ones")
    with c3:
        style = st.selectbox("Ink", list(STYLE_LABELS), format_func=STYLE_LABELS.get, key="grid_style",
                             persist_state="page")
        scale = st.slider("Display size (pixels per pixel)", 1, 8, 2, key="grid_scale", persist_state="page",
                          help=f"Large grids are capped at {MAX_GRID_PIXELS} pixels a side")
        # keep the picture (and its memory) bounded: 32 x 32 digits at scale 8 would be 7,700 px a side
        scale = max(1, min(scale, MAX_GRID_PIXELS // (max(rows, cols) * 30 + 2)))
    return {"rows": rows, "cols": cols, "seed": seed, "psi": psi, "style": style, "scale": scale}


def render_grid(generator: gan8.Generator) -> None:
    chosen = grid_controls()
    png, npz = grid_png(generator.fingerprint, generator, **chosen)
    name = f"gan8_grid_seed{chosen['seed']}_{chosen['rows']}x{chosen['cols']}"
    d1, d2, _ = st.columns([1, 1, 2])
    d1.download_button("Download grid (PNG)", png, file_name=f"{name}.png", mime="image/png",
                       key="download_grid_png", icon=":material/download:", on_click="ignore")
    d2.download_button("Samples + latents (.npz)", npz, file_name=f"{name}.npz",
                       mime="application/octet-stream", key="download_grid_npz", on_click="ignore")
    st.image(png, caption=f"{chosen['rows'] * chosen['cols']} samples, seed {chosen['seed']}, "
             f"ψ = {chosen['psi']:g}, weights {generator.fingerprint}", width="content")


def parse_seeds(text: str) -> tuple[int, ...]:
    """'0, 1, 2' -> (0, 1, 2); raises ValueError with what is wrong."""
    parts = [p for p in text.replace(";", ",").replace(" ", ",").split(",") if p]
    try:
        seeds = tuple(int(p) for p in parts)
    except ValueError:
        raise ValueError(f"keyframe seeds must be whole numbers separated by commas, found {text!r}") from None
    if not 2 <= len(seeds) <= 8:
        raise ValueError(f"give 2 to 8 keyframe seeds, found {len(seeds)}")
    if any(not 0 <= s < 2**31 for s in seeds):
        raise ValueError("keyframe seeds must be between 0 and 2147483647")
    return seeds


def render_interpolation(generator: gan8.Generator) -> None:
    c1, c2, c3 = st.columns(3)
    with c1:
        text = st.text_input("Keyframe seeds (2 to 8)", "0, 1, 2, 3", key="keys", bind="query-params")
        loop = st.checkbox("Loop back to the first keyframe", True, key="interp_loop", persist_state="page")
    with c2:
        method = st.radio("Path", ["slerp", "linear"], key="interp_method", horizontal=True, persist_state="page",
                          help="slerp keeps |z| typical; a straight line passes through washed-out average digits")
        steps = st.slider("Frames per segment", 2, 60, 12, key="interp_steps", persist_state="page")
    with c3:
        fps = st.slider("Frames per second", 1, 30, 12, key="interp_fps", persist_state="page")
        psi = st.slider("Truncation ψ", 0.0, 2.0, 1.0, 0.05, key="interp_psi", persist_state="page")
    style = st.session_state.get("grid_style", "paper")
    try:
        seeds = parse_seeds(text)
        n_frames = steps * (len(seeds) if loop else len(seeds) - 1) + (0 if loop else 1)
        if n_frames > limits.MAX_FRAMES:
            raise ValueError(f"{n_frames} frames asked for; at most {limits.MAX_FRAMES} (fewer seeds or steps)")
    except ValueError as exc:
        st.error(plain(exc))
        return
    frames = interpolation_frames(generator.fingerprint, generator, seeds, psi, steps, method, loop)
    shown = gan8.colorize(frames, style)
    fig = px.imshow(shown, animation_frame=0, binary_string=True, binary_compression_level=1,
                    labels={"animation_frame": "frame"})
    fig.update_layout(width=420, height=520, margin=dict(l=10, r=10, t=10, b=10), dragmode=False)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    duration = round(1000 / fps)
    play = fig.layout.updatemenus[0].buttons[0]
    play.args[1]["frame"]["duration"] = duration
    play.args[1]["transition"]["duration"] = 0
    fig.layout.sliders[0].currentvalue.prefix = "Frame "
    left, right = st.columns([2, 3])
    with left:
        st.plotly_chart(fig, key="interp_chart", width="content", config={"displaylogo": False})
    with right:
        gif = animation_gif(generator.fingerprint, frames, (seeds, psi, steps, method, loop), style, fps)
        st.download_button("Download animation (GIF)", gif,
                           file_name=f"gan8_interpolation_{method}_seeds{'-'.join(map(str, seeds))}.gif",
                           mime="image/gif", key="download_gif", icon=":material/download:", on_click="ignore")
        st.caption(f"{len(frames)} frames, {method}, {'looping' if loop else 'one way'}, {fps} fps")
        per_row = min(len(frames), 12)
        strip_rows = -(-len(frames) // per_row)
        strip = gan8.colorize(gan8.tile(frames, strip_rows, per_row), style)
        st.image(gan8.to_png(strip, scale=2), caption="Film strip (row by row)", width="content")


def percent_progress(bar):
    """A pixel_stats progress callback that redraws ``bar`` once per percent, not once per chunk
    (a million samples are 977 chunks, and each redraw is a message to the browser)."""
    shown = -1

    def update(done: int, total: int) -> None:
        nonlocal shown
        percent = 100 * done // total
        if percent != shown:
            shown = percent
            bar.progress(done / total, text=f"{done:,} / {total:,} samples")
    return update


def render_statistics(generator: gan8.Generator) -> None:
    c1, c2, c3 = st.columns(3)
    with c1:
        n = st.number_input("Samples", min_value=100, max_value=1_000_000, value=20_000, step=10_000,
                            key="stats_n", persist_state="page",
                            help="Streamed in chunks: memory stays flat; about 1 s per 100,000 samples")
    with c2:
        seed = seed_input("stats_seed")
    with c3:
        psi = st.slider("Truncation ψ", 0.0, 2.0, 1.0, 0.05, key="stats_psi", persist_state="page")
    bar = st.progress(0.0, text="Sampling…")
    stats = statistics(generator, int(n), seed, psi, progress=percent_progress(bar))
    bar.empty()
    show_statistics(stats, seed, psi)


def heatmap(values: np.ndarray, title: str, colorscale: str, zmin=None, zmax=None) -> go.Figure:
    fig = go.Figure(go.Heatmap(z=values, colorscale=colorscale, zmin=zmin, zmax=zmax, colorbar=dict(thickness=12),
                               hovertemplate="row %{y}, col %{x}: %{z:.3f}<extra></extra>"))
    fig.update_layout(title=title, height=340, margin=dict(l=10, r=10, t=40, b=10))
    fig.update_yaxes(autorange="reversed", scaleanchor="x", constrain="domain")
    fig.update_xaxes(constrain="domain")
    return fig


def show_statistics(stats: PixelStats, seed: int, psi: float) -> None:
    left, right = st.columns(2)
    left.plotly_chart(heatmap(stats.mean, "Mean image", "gray", 0, 1), key="stats_mean")
    right.plotly_chart(heatmap(stats.std, "Per-pixel standard deviation", "viridis", 0), key="stats_std")
    centres = 0.5 * (stats.hist_edges[:-1] + stats.hist_edges[1:])
    log_scale = st.toggle("Logarithmic counts", True, key="stats_log", persist_state="page")
    left, right = st.columns(2)
    hist = go.Figure(go.Bar(x=centres, y=stats.hist_counts, width=1 / len(centres), marker_color="#444"))
    hist.update_layout(title="Intensity histogram (all pixels; 1 = paper)", height=320, bargap=0,
                       margin=dict(l=10, r=10, t=40, b=10), xaxis_title="intensity", yaxis_title="pixels")
    hist.update_yaxes(type="log" if log_scale else "linear")
    left.plotly_chart(hist, key="stats_hist")
    fractions = np.arange(len(stats.ink_counts)) / 784
    used = np.nonzero(stats.ink_counts)[0]
    span = slice(used.min(), used.max() + 1) if len(used) else slice(0, 1)
    ink = go.Figure(go.Bar(x=fractions[span], y=stats.ink_counts[span], marker_color="#2a6f97"))
    ink.update_layout(title="Ink fraction per sample (pixels < 0.5)", height=320, bargap=0,
                      margin=dict(l=10, r=10, t=40, b=10), xaxis_title="share of pixels that are ink",
                      yaxis_title="samples")
    right.plotly_chart(ink, key="stats_ink")

    st.subheader("One pixel")
    p1, p2, p3 = st.columns([1, 1, 2])
    row = p1.slider("Row", 0, 27, 14, key="pixel_row", persist_state="page")
    col = p2.slider("Column", 0, 27, 14, key="pixel_col", persist_state="page")
    drill = go.Figure(go.Bar(x=centres, y=stats.pixel_hist[row, col], width=1 / len(centres), marker_color="#7b2d26"))
    drill.update_layout(title=f"Pixel ({row}, {col}): mean {stats.mean[row, col]:.3f}, std {stats.std[row, col]:.3f}",
                        height=280, margin=dict(l=10, r=10, t=40, b=10), bargap=0, xaxis_title="intensity")
    drill.update_yaxes(type="log" if log_scale else "linear")
    p3.plotly_chart(drill, key="stats_pixel")

    st.subheader("Against the real training eights")
    real = reference_statistics()
    left, right = st.columns(2)
    difference = stats.mean - real.mean
    bound = float(max(np.abs(difference).max(), 1e-6))
    left.plotly_chart(heatmap(difference, "Mean image: generated − real (red: more ink than real)", "RdBu",
                              -bound, bound), key="stats_mean_diff")
    overlay = go.Figure()
    for label, source, colour in (("generated", stats, "#444"), (f"real eights (n = {real.count})", real, "#d1495b")):
        density = source.hist_counts / max(source.hist_counts.sum(), 1)
        overlay.add_trace(go.Scatter(x=centres, y=density, mode="lines", name=label, line=dict(color=colour),
                                     line_shape="hvh"))
    overlay.update_layout(title="Intensity distribution, generated and real", height=340,
                          margin=dict(l=10, r=10, t=40, b=10), xaxis_title="intensity", yaxis_title="share of pixels",
                          legend=dict(orientation="h", y=-0.25))
    overlay.update_yaxes(type="log" if log_scale else "linear")
    right.plotly_chart(overlay, key="stats_hist_overlay")

    summary = stats.summary_text()
    st.table({"measure": list(summary), "value": list(summary.values())})
    name = f"gan8_stats_n{stats.count}_seed{seed}"
    d1, d2, _ = st.columns([1, 1, 2])
    d1.download_button("Download statistics (.npz)", stats.to_npz(), file_name=f"{name}.npz",
                       mime="application/octet-stream", key="download_stats_npz", on_click="ignore")
    d2.download_button("Download per-pixel table (CSV)", stats.to_csv(), file_name=f"{name}.csv",
                       mime="text/csv", key="download_stats_csv", on_click="ignore")


LATENT_KEYS = [f"z{i}" for i in range(10)]


def set_latents(values) -> None:
    for key, value in zip(LATENT_KEYS, values, strict=True):
        st.session_state[key] = float(np.clip(round(float(value), 2), -3.0, 3.0))


def randomise_latents() -> None:
    set_latents(gan8.sample_latents(1, secrets.randbelow(2**31))[0])


@st.fragment
def render_explorer(generator: gan8.Generator) -> None:
    """Ten latent sliders and a live image; only this fragment reruns while dragging."""
    controls, view = st.columns([2, 3])
    with controls:
        b1, b2 = st.columns(2)
        b1.button("Randomise", key="z_random", on_click=randomise_latents, width="stretch")
        b2.button("Reset", key="z_reset", on_click=set_latents, args=(np.zeros(10),), width="stretch")
        for key in LATENT_KEYS:
            st.session_state.setdefault(key, 0.0)
        z = np.array([st.slider(f"z{i}", -3.0, 3.0, step=0.05, key=key, persist_state="page")
                      for i, key in enumerate(LATENT_KEYS)])
    reference = reference_eights()
    image = generator.generate(z[None, :])[0]
    index, distance = evaluate.nearest_neighbours(image[None], reference.train)
    heldout = heldout_nearest_distances()
    share = float(np.mean(heldout < distance[0]))
    with view:
        a, b = st.columns(2)
        a.image(gan8.to_png(image, scale=8), caption=f"generated, |z| = {np.linalg.norm(z):.2f}", width="content")
        b.image(gan8.to_png(reference.train[index[0]], scale=8),
                caption=f"nearest training eight (#{index[0]}), distance {distance[0]:.2f}", width="content")
        verdict = ("closer to a training eight than any held-out real eight is: possibly a copy"
                   if distance[0] < heldout.min() else
                   f"farther from the training set than {share:.0%} of held-out real eights are")
        st.caption(f"Pixel distance to the nearest of the {len(reference.train)} training eights: "
                   f"{distance[0]:.2f}; {verdict} (their median: {np.median(heldout):.2f}).")


def render_compare(generator: gan8.Generator) -> None:
    bundled = load_generator("bundled", None, "bundled weights")
    upload = st.file_uploader("Weights to compare with the bundled ones (.mat)", type=["mat"], key="compare_upload",
                              max_upload_size=UPLOAD_MB)
    if upload is not None:
        try:
            _, _, other = generator_from_upload(upload)
        except gan8.WeightsError as exc:
            st.error(plain(exc))
            return
        other_label = upload.name
    elif generator.fingerprint != bundled.fingerprint:
        other, other_label = generator, st.session_state.weights["label"]
    else:
        st.info("Upload a weights file here (for example the original data21.mat), or in the sidebar, to see it "
                "beside the bundled weights on the same latents.")
        return
    c1, c2 = st.columns(2)
    with c1:
        seed = seed_input("compare_seed")
    with c2:
        n = st.select_slider("Samples for the statistics", [2_000, 10_000, 20_000, 50_000, 100_000], 20_000,
                             key="compare_n", persist_state="page")
    sides = (("bundled weights", bundled), (other_label, other))
    columns = st.columns(2)
    for column, (label, g) in zip(columns, sides, strict=True):
        png, _ = grid_png(g.fingerprint, g, 6, 6, seed, 1.0, "paper", 2)
        column.image(png, caption=f"{label} ({g.fingerprint}), seed {seed}: the same 36 latents", width="content")
    stats = [statistics(g, int(n), seed, 1.0) for _, g in sides]
    a, b, c = st.columns(3)
    a.plotly_chart(heatmap(stats[0].mean, f"Mean: {sides[0][0]}", "gray", 0, 1), key="compare_mean_a")
    b.plotly_chart(heatmap(stats[1].mean, f"Mean: {sides[1][0]}", "gray", 0, 1), key="compare_mean_b")
    difference = stats[1].mean - stats[0].mean
    bound = float(max(np.abs(difference).max(), 1e-6))
    c.plotly_chart(heatmap(difference, "Difference (right − left)", "RdBu", -bound, bound), key="compare_diff")
    summaries = [s.summary_text() for s in stats]
    st.table({"measure": list(summaries[0]),
              **{label: list(summary.values()) for (label, _), summary in zip(sides, summaries, strict=True)}})


def render_quality(generator: gan8.Generator) -> None:
    st.caption("Samples scored against real MNIST eights, beside the floor that real eights reach: against the 100 "
               "held-out eights (which reward generalising) and against the 400 training eights (which also reward "
               "fitting them). Feature-space measures use the hidden layer of gan8's shipped digit classifier; "
               "cleanliness and copying are measured on pixels.")
    c1, c2, c3 = st.columns([2, 2, 1], vertical_alignment="bottom")
    n = c1.select_slider("Samples", [500, 1000, 2000, 5000], 1000, key="quality_n", persist_state="page")
    seed = c2.number_input("Seed", 0, 2**31 - 1, 0, key="quality_seed", persist_state="page")
    requested = st.session_state.setdefault("quality_requested", set())
    request = (generator.fingerprint, int(n), int(seed))
    if c3.button("Evaluate", key="quality_run", type="primary", width="stretch"):
        requested.add(request)
    if request not in requested:
        st.info(f"Press Evaluate to score {n:,} samples of {generator.fingerprint} (a few seconds).")
        return
    with st.spinner("Scoring samples…"):
        scores = quality_scores(generator.fingerprint, generator, int(n), int(seed))
        curve = quality_curve(generator.fingerprint, generator, 500, int(seed))
    st.table({"measure": [d for _, _, d in evaluate.MEASURES],
              "these weights": [f"{scores.samples[k]:.4f}" for k, _, _ in evaluate.MEASURES],
              "real floor": [f"{scores.floor[k]:.4f}" for k, _, _ in evaluate.MEASURES],
              "better": [b for _, b, _ in evaluate.MEASURES]})
    psis, precision, recall = zip(*curve, strict=True)
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=recall, y=precision, mode="lines+markers+text", text=[f"ψ={p:g}" for p in psis],
                             textposition="top right", name="generated"))
    fig.add_trace(go.Scatter(x=[scores.floor["recall"]], y=[scores.floor["precision"]], mode="markers",
                             marker=dict(symbol="star", size=14, color="#d1495b"), name="held-out real eights"))
    fig.update_layout(title="Precision and recall over truncation ψ against the training eights (500 samples each)",
                      height=420,
                      xaxis_title="recall", yaxis_title="precision", margin=dict(l=10, r=10, t=40, b=10))
    fig.update_xaxes(range=[0, 1.05])
    fig.update_yaxes(range=[0, 1.05])
    st.plotly_chart(fig, key="quality_curve")


# ---------------------------------------------------------------- page

def main() -> None:
    st.set_page_config(page_title="gan8 · handwritten eights", page_icon="8️⃣", layout="wide")
    st.markdown("<style>img, .js-plotly-plot image {image-rendering: pixelated;}</style>", unsafe_allow_html=True)
    st.title("gan8")
    st.caption("Handwritten eights from a 10 → 128 → 784 GAN generator, in plain numpy.")
    generator = weights_sidebar()
    if generator is None:
        st.error("No usable weights: upload a .mat in the data21.mat layout.")
        st.stop()
    tabs = st.tabs(TABS, key="tab", bind="query-params")
    renderers = (render_grid, render_interpolation, render_statistics, render_explorer, render_compare,
                 render_quality)
    for tab, render in zip(tabs, renderers, strict=True):
        if tab.open:
            with tab:
                try:
                    render(generator)
                except ValueError as exc:  # absurd parameters from the URL or the widgets
                    st.error(plain(exc))
                except Exception as exc:  # a bug or a resource failure: keep the page and other tabs alive
                    LOGGER.exception("tab %s failed", render.__name__)
                    st.error(f"This tab failed ({type(exc).__name__}: {plain(exc)}). The other tabs keep working; "
                             "change a setting or reload the page to try again.")


main()
