"""The report opens in a real browser, shows every figure, escapes user strings and stays small."""

import io
import struct

import numpy as np
import pytest

from lossgap import DataConfig, ModelConfig, TrainConfig, train


def png_is_not_blank(data: bytes) -> bool:
    """True when the PNG has more than one colour (decoded with matplotlib's reader)."""
    import matplotlib.image

    pixels = matplotlib.image.imread(io.BytesIO(data), format="png")
    return bool(pixels.reshape(-1, pixels.shape[-1]).std(axis=0).max() > 0.01)


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory):
    """A run whose class names are HTML: a script tag and an ampersand."""
    root = tmp_path_factory.mktemp("hostile")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(160, 12, 2)).astype(np.float32)
    labels = np.where(x[:, :, 0].sum(axis=1) > 0, "<script>alert(1)</script>", "a & b")
    np.savez(root / "hostile.npz", X=x, y=labels)
    config = TrainConfig(data=DataConfig(source=str(root / "hostile.npz")), model=ModelConfig(hidden_size=16),
                         epochs=8, batch_size=32)
    return train(config, root / "run").run_dir


def test_the_report_opens_in_chromium_with_every_figure_and_no_errors(hostile_run, open_page, tmp_path):
    page, errors, dialogs = open_page(hostile_run / "report.html")
    widths = page.evaluate("Array.from(document.images).map(image => image.complete ? image.naturalWidth : 0)")
    assert len(widths) == 6 and all(width > 100 for width in widths), widths
    assert errors == [] and dialogs == []
    screenshot = tmp_path / "report.png"
    page.screenshot(path=str(screenshot), full_page=True)
    width, height = struct.unpack(">II", screenshot.read_bytes()[16:24])
    assert width >= 1000 and height > 2000 and png_is_not_blank(screenshot.read_bytes())
    for figure in (hostile_run / "figures").glob("*.png"):
        assert png_is_not_blank(figure.read_bytes()), figure.name


def test_user_strings_are_shown_as_text_and_run_nothing(hostile_run, open_page):
    page, errors, dialogs = open_page(hostile_run / "report.html")
    assert dialogs == [] and page.evaluate("document.scripts.length") == 0
    assert "<script>alert(1)</script>" in page.inner_text("body")
    assert "<script>alert(1)</script>" not in (hostile_run / "report.html").read_text()


def test_a_100_epoch_report_stays_under_5_mb(tmp_path):
    config = TrainConfig(data=DataConfig(source="synthetic:frequency,samples=400,classes=3"), epochs=100,
                         batch_size=64)
    run_dir = train(config, tmp_path / "run").run_dir
    size = (run_dir / "report.html").stat().st_size
    assert size < 5_000_000, size
