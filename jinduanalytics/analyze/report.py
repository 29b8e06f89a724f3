"""The HTML report: one Jinja2 template per section (``templates/sections/``), rendered with
autoescape into ``templates/report.html.j2``; figures embedded as PNG and the Chinese text's font
embedded as a subset of the shipped Noto Sans SC (SIL OFL), so the file is self-contained and
renders the same on a machine without a CJK font."""

from __future__ import annotations

import base64
import io
import time
from importlib import resources

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from .._version import __version__

__all__ = ["render_report", "png_base64", "font_subset", "FONT_FAMILY"]

_ENV = Environment(loader=PackageLoader("jinduanalytics.analyze", "templates"),
                   autoescape=select_autoescape(["html", "j2"], default_for_string=True),
                   undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)


def png_base64(fig) -> str:
    """A matplotlib figure as base64 PNG (110 dpi, tight box).

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    """
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    return base64.b64encode(buf.getvalue()).decode("ascii")


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


def render_report(sections: list, images: dict[str, str], *, kpis: list[tuple[str, str]], masked: bool) -> str:
    """The report's HTML from the sections (their templates and context) and the figures.

    Parameters
    ----------
    sections : list of Section
    images : dict
        Figure name -> base64 PNG.
    kpis : list of (label, value)
        The headline figures at the top.
    masked : bool
        Whether entity values are masked (says so in the header).

    Returns
    -------
    str
    """
    page = _ENV.get_template("report.html.j2").render(
        sections=sections, images=images, kpis=kpis, masked=masked, version=__version__,
        generated=time.strftime("%Y-%m-%d %H:%M"), font_slot=_FONT_SLOT, font_family=FONT_FAMILY)
    shown = page
    for data in images.values():  # the figures' base64 holds no character the page shows
        shown = shown.replace(data, "")
    return page.replace(_FONT_SLOT, font_face(shown), 1)
