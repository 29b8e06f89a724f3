"""环北部湾 record linkage: resolve person records across regions' systems (region pairs are
scored in :mod:`jinduanalytics.region_pairs`).

Generic Fellegi-Sunter linkage (:func:`link_records`) with Chinese-identity comparisons
(:class:`ChineseName`, :class:`IdNumber`, :class:`DateComparison`), and the person-record
preset :func:`resolve_persons`.
"""

from .comparisons import ChineseName, Comparison, DateComparison, ExactMatch, IdNumber, StringSimilarity
from .link import cluster_links, explain_link, link_records, linkage_model
from .persons import PERSON_BLOCKING, link_calibration, person_comparisons, resolve_persons, score_links

__all__ = ["Comparison", "ExactMatch", "StringSimilarity", "DateComparison", "ChineseName", "IdNumber",
           "link_records", "linkage_model", "explain_link", "cluster_links", "resolve_persons", "person_comparisons",
           "PERSON_BLOCKING", "score_links", "link_calibration"]
