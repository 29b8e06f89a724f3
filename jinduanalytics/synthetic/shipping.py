"""How a shipment between two regions travels: the legs, with the 琼州海峡 crossing."""

from __future__ import annotations

from ..regions import STRAIT_CROSSING

__all__ = ["legs"]


def legs(src: str, dst: str, province_of: dict) -> list[tuple[str, str, str]]:
    """Legs of one shipment: to or from Hainan it crosses the strait 徐闻 -> 海口 by sea.

    Parameters
    ----------
    src, dst : str
        Region ids.
    province_of : dict
        Region id -> province.

    Returns
    -------
    list of (origin, destination, mode)
        ``mode`` is ``""`` where the caller chooses the land mode.
    """
    xw, hk = STRAIT_CROSSING
    s_hn, d_hn = province_of[src] == "海南", province_of[dst] == "海南"
    if s_hn == d_hn:
        return [(src, dst, "")]
    if d_hn:
        legs = [(src, xw, ""), (xw, hk, "sea")]
        if dst != hk:
            legs.append((hk, dst, "road"))
        return legs
    legs = [] if src == hk else [(src, hk, "road")]
    return legs + [(hk, xw, "sea"), (xw, dst, "")]
