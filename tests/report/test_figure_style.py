"""The look shared by every figure: labels safe for matplotlib, fixed margins, PNGs at the report's size."""

from lossgap.report.figure_style import DPI, WIDTH, Margins, new_figure, plain_label, styled, to_png


def test_plain_label_escapes_dollar_signs_so_mathtext_never_parses_them():
    assert plain_label(r"$\undefinedcommand$") == r"\$\undefinedcommand\$"
    assert plain_label("a $ b") == r"a \$ b"


def test_plain_label_cuts_long_names():
    assert plain_label("x" * 40, limit=10) == "x" * 9 + "\u2026"
    assert plain_label("x" * 10, limit=10) == "x" * 10


def test_a_new_figure_keeps_its_margins_in_inches_whatever_its_size(kit):
    margins = Margins(left=1.0, right=0.5, top=0.25, bottom=0.75)
    figure = styled(lambda: new_figure(2.0, width=4.0, margins=margins))()
    params = figure.subplotpars
    assert (params.left, params.right, params.bottom, params.top) == (0.25, 1 - 0.5 / 4.0, 0.75 / 2.0, 1 - 0.25 / 2.0)
    figure.add_subplot().plot([0, 1], [0, 1])
    assert kit.png_size(to_png(figure)) == (int(4.0 * DPI), int(2.0 * DPI))
    assert WIDTH * DPI == 900
