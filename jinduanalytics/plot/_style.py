"""House style: a CJK-capable font (shipped), colours per province / role / mode, a figure factory."""

from __future__ import annotations

import base64
import io
from contextlib import contextmanager
from functools import lru_cache
from importlib import resources

_SYSTEM_CJK = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "WenQuanYi Zen Hei", "Microsoft YaHei",
               "SimHei", "PingFang SC")
SHIPPED_FONT = "fonts/NotoSansSC-jindu-subset.otf"

PROVINCE_COLORS = {"广东": "#1f77b4", "广西": "#2ca02c", "海南": "#d62728", "云南": "#9467bd"}
ROLE_COLORS = {"supplier": "#7f0000", "wholesaler": "#d7301f", "seller": "#fc8d59", "courier": "#8c6bb1",
               "buyer": "#74a9cf", "user": "#bdc9e1"}
MODE_COLORS = {"road": "#555555", "rail": "#8c510a", "sea": "#1f78b4", "post": "#e7298a"}
PART_COLORS = {"size": "#4c72b0", "growth": "#55a868", "span": "#c44e52", "quantity": "#8172b2",
               "stability": "#ccb974"}
ROLE_ZH = {"supplier": "上线/货源", "wholesaler": "批发", "seller": "零包贩卖", "courier": "运输",
           "buyer": "买家", "user": "吸食"}
MODE_ZH = {"road": "公路", "rail": "铁路", "sea": "海运", "post": "寄递"}


@lru_cache(maxsize=1)
def cjk_font() -> str:
    """Family name of the CJK font the plots use: an installed one, else the shipped subset."""
    from matplotlib import font_manager

    installed = {f.name for f in font_manager.fontManager.ttflist}
    for name in _SYSTEM_CJK:
        if name in installed:
            return name
    path = resources.files("jinduanalytics.data").joinpath(SHIPPED_FONT)
    font_manager.fontManager.addfont(str(path))
    return font_manager.FontProperties(fname=str(path)).get_name()


@contextmanager
def style():
    """rcParams of every jinduanalytics figure (scoped: the caller's settings are untouched)."""
    import matplotlib as mpl

    rc = {
        # concrete family names (not "sans-serif"): texts keep them, so a figure saved after
        # this context has closed still renders Chinese
        "font.family": [cjk_font(), "DejaVu Sans"],
        "axes.unicode_minus": False,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.titleweight": "normal",  # the shipped CJK font has one weight
        "axes.titlesize": 13,
        "figure.dpi": 100,
        "savefig.dpi": 120,
        "savefig.bbox": "tight",
    }
    with mpl.rc_context(rc):
        yield


def new_figure(width: float = 8.0, height: float = 5.0):
    """A Figure not attached to pyplot's state machine (safe in scripts, threads and notebooks)."""
    from matplotlib.figure import Figure

    _display_in_ipython(Figure)
    return Figure(figsize=(width, height), layout="constrained")


def _display_in_ipython(figure_type) -> None:
    """In IPython/Jupyter, show a Figure returned as a cell's value as a picture.

    A Figure made without pyplot has no display formatter until something turns matplotlib's
    IPython integration on (``%matplotlib inline``, importing pyplot): without one a cell shows
    ``<Figure size 900x750 with 1 Axes>``. Register IPython's own PNG formatter for Figures, unless
    one is registered already (the user's choice, e.g. SVG or retina, stays)."""
    import sys

    if "IPython" not in sys.modules:
        return
    from IPython import get_ipython

    shell = get_ipython()
    if shell is None:
        return
    formatters = shell.display_formatter.formatters
    if any(_has_formatter(formatters[m], figure_type) for m in ("image/png", "image/svg+xml", "image/jpeg")):
        return
    from IPython.core.pylabtools import select_figure_formats

    select_figure_formats(shell, {"png"})


def _has_formatter(formatter, figure_type) -> bool:
    try:
        formatter.lookup_by_type(figure_type)
    except KeyError:
        return False
    return True


#: The embedded font's family name in the report's CSS.
FONT_FAMILY = "JinduSC"
_FONT_SLOT = "/*jindu-font-face*/"


def font_subset(text: str) -> bytes:
    """The shipped Noto Sans SC subset (SIL OFL) cut to the characters of ``text``, as OpenType
    bytes: what a page needs to show its Chinese text on a machine without a CJK font.

    Parameters
    ----------
    text : str
        Every character the page shows.

    Returns
    -------
    bytes
    """
    from fontTools import subset
    from fontTools.ttLib import TTFont

    with resources.files("jinduanalytics.data").joinpath("fonts/NotoSansSC-jindu-subset.otf").open("rb") as f:
        font = TTFont(f)
    options = subset.Options()
    options.name_IDs = ["*"]  # keep the licence and names (SIL OFL)
    options.notdef_outline = True
    subsetter = subset.Subsetter(options)
    subsetter.populate(text="".join(sorted(set(text) - {"\n", "\r", "\t"})))
    subsetter.subset(font)
    buf = io.BytesIO()
    font.save(buf)
    return buf.getvalue()


def font_face(text: str) -> str:
    """A CSS ``@font-face`` holding :func:`font_subset` of ``text`` (a few tens of KB for a
    report), as base64 OpenType.

    Parameters
    ----------
    text : str
        Every character the page shows.

    Returns
    -------
    str
    """
    data = base64.b64encode(font_subset(text)).decode("ascii")
    return f'@font-face{{font-family:"{FONT_FAMILY}";src:url(data:font/otf;base64,{data}) format("opentype");}}'
