"""The HTML report: one Jinja2 template per section (``templates/sections/``), rendered with
autoescape into ``templates/report.html.j2``; figures embedded as PNG and the Chinese text's font
embedded as a subset of the shipped Noto Sans SC (SIL OFL), so the file is self-contained and
renders the same on a machine without a CJK font."""

from __future__ import annotations

import base64
import io
import time

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from .._version import __version__
from ..plot._style import _FONT_SLOT, FONT_FAMILY, font_face

__all__ = ["render_report", "png_base64"]

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
