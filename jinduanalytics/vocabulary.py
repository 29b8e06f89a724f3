"""Open vocabularies: the values a dataset may use for drugs, case types, roles, entity kinds and
flow modes.

The package ships a default (``data/vocabulary.toml``): drugs with their category (传统毒品,
合成毒品, 新精神活性物质, 非列管成瘾物质, 易制毒化学品, and what each precursor is used to make),
the case types of drug and precursor offences, roles, the entity kinds of phones, accounts,
online identifiers (wechat, qq, alipay, ip, device_id) and the 寄递 channel (waybill,
parcel_sender, parcel_receiver, courier_outlet), and the flow modes (road, rail, sea, post, air,
courier). A user adds values with a file of the same shape::

    [drugs]
    "4-氟异丁酰芬太尼" = { category = "新精神活性物质" }
    [lists]
    entity_kinds = ["telegram"]

passed as ``vocabulary=`` (a path, a mapping of that shape or a :class:`Vocabulary`) to
:func:`~jinduanalytics.read_dataset`, :func:`~jinduanalytics.validate_dataset` and the analyses
that read categories, as ``--vocabulary FILE`` on the command line, or kept in the dataset folder as
``vocabulary.toml``. Extending never removes a shipped value.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import cache
from importlib.resources import files
from pathlib import Path

import pyarrow as pa

from .errors import ParameterError

__all__ = ["Vocabulary", "default_vocabulary", "as_vocabulary", "vocabulary_of", "LISTS", "VOCABULARY_FILE", "DERIVED_KINDS"]

#: The value lists a vocabulary holds besides the drugs, and the columns they govern.
LISTS = ("drug_categories", "case_types", "roles", "flow_modes", "entity_kinds", "public_entity_kinds")
#: The file name a dataset folder may hold its vocabulary extension in.
VOCABULARY_FILE = "vocabulary.toml"


#: Evidence kinds 集群打零 derives from the tables rather than reads from ``case_entities``
#: (:func:`jinduanalytics.clusters.case_links`); ``[evidence_weights]`` may weigh them too.
DERIVED_KINDS = ("person", "id_number", "person_phone", "transfer")

@dataclass(frozen=True)
class Vocabulary:
    """Allowed values of the open columns, and the drugs' categories.

    Build one with :func:`default_vocabulary` and :meth:`~jinduanalytics.Vocabulary.extend`; the fields are read-only.

    Attributes
    ----------
    drugs : tuple of (name, category, makes)
        ``makes``: for a precursor chemical, the drugs it is used to make (else empty).
    drug_categories, case_types, roles, flow_modes, entity_kinds : tuple of str
    public_entity_kinds : tuple of str
        Entity kinds whose values name a business (a courier outlet), not a person: they are
        not pseudonymised.
    evidence_weights : tuple of (kind, weight)
        Default multipliers of an entity kind's evidence in :func:`~jinduanalytics.clusters.cluster_cases`
        (kinds not listed weigh 1); a call's ``kind_weights`` overrides them.
    sources : tuple of str
        The files or arguments merged into this vocabulary, in order.
    """

    drugs: tuple[tuple[str, str, tuple[str, ...]], ...]
    drug_categories: tuple[str, ...]
    case_types: tuple[str, ...]
    roles: tuple[str, ...]
    flow_modes: tuple[str, ...]
    entity_kinds: tuple[str, ...]
    public_entity_kinds: tuple[str, ...] = ()
    evidence_weights: tuple[tuple[str, float], ...] = ()
    sources: tuple[str, ...] = field(default=(), compare=False)

    @property
    def drug_names(self) -> tuple[str, ...]:
        return tuple(d for d, _, _ in self.drugs)

    def category(self, drug: str) -> str | None:
        """The category of a drug, or None when it is not in the vocabulary.

        Parameters
        ----------
        drug : str
        """
        return self._categories().get(drug)

    def _categories(self) -> dict[str, str]:
        return {d: c for d, c, _ in self.drugs}

    def values(self, name: str) -> tuple[str, ...]:
        """The allowed values of one list (``"drugs"`` gives the drug names).

        Parameters
        ----------
        name : {"drugs", "drug_categories", "case_types", "roles", "flow_modes", "entity_kinds", "public_entity_kinds"}
        """
        if name == "drugs":
            return self.drug_names
        if name not in LISTS:
            raise ParameterError(f"vocabulary list must be 'drugs' or one of {', '.join(LISTS)}; got {name!r}")
        return getattr(self, name)

    def drug_table(self) -> pa.Table:
        """One row per drug: ``drug``, ``category``, ``makes`` (list of drugs a precursor makes)."""
        return pa.table({"drug": pa.array(self.drug_names, pa.string()),
                         "category": pa.array([c for _, c, _ in self.drugs], pa.string()),
                         "makes": pa.array([list(m) for _, _, m in self.drugs], pa.list_(pa.string()))})

    def extend(self, extension=None, *, source: str = "argument", **lists) -> Vocabulary:
        """A vocabulary with more values (nothing is removed).

        Parameters
        ----------
        extension : path or mapping, optional
            A TOML file or a mapping of the shipped file's shape: ``{"drugs": {name: {"category":
            ..., "makes": [...]}}, "lists": {"entity_kinds": [...], ...}}``.
        source : str
            How the extension is named in error messages and in ``sources``.
        **lists
            Shorthand: ``drugs={name: category or {"category": ..., "makes": [...]}}`` and any list,
            ``entity_kinds=["telegram"]``.

        Raises
        ------
        ParameterError
            On an unknown key, a drug with no or an unknown category, or a precursor that makes a
            drug the vocabulary does not hold; the message names the source.

        Examples
        --------
        >>> v = default_vocabulary().extend(drugs={"新型卡痛叶": "新精神活性物质"}, entity_kinds=["telegram"])
        >>> v.category("新型卡痛叶"), "telegram" in v.entity_kinds
        ('新精神活性物质', True)
        """
        raw: dict = {}
        if extension is not None:
            if isinstance(extension, (str, Path)):
                source = str(extension)
                raw = _read_toml(Path(extension))
            elif isinstance(extension, dict):
                raw = extension
            else:
                raise ParameterError(f"vocabulary: expected a path or a mapping, got {type(extension).__name__}")
        raw = {"drugs": dict(raw.get("drugs") or {}), "lists": dict(raw.get("lists") or {}),
               "evidence_weights": dict(raw.get("evidence_weights") or {}),
               **{k: v for k, v in raw.items() if k not in ("drugs", "lists", "evidence_weights")}}
        for key, value in lists.items():
            if key in ("drugs", "evidence_weights"):
                raw[key].update(value)
            else:
                raw["lists"][key] = list(raw["lists"].get(key, [])) + list(value)
        unknown = sorted(set(raw) - {"drugs", "lists", "evidence_weights"}) + sorted(set(raw["lists"]) - set(LISTS))
        if unknown:
            raise ParameterError(f"vocabulary {source}: unknown key(s) {', '.join(map(repr, unknown))}; "
                                 f"expected [drugs], [evidence_weights] and [lists] with {', '.join(LISTS)}")
        new_lists = {}
        for name in LISTS:
            added = raw["lists"].get(name, [])
            if isinstance(added, str) or not all(isinstance(v, str) and v.strip() for v in added):
                raise ParameterError(f"vocabulary {source}: lists.{name} must be a list of non-empty strings")
            current = getattr(self, name)
            new_lists[name] = current + tuple(v for v in dict.fromkeys(added) if v not in current)
        drugs = {d: (c, m) for d, c, m in self.drugs}
        for name, spec in raw["drugs"].items():
            if isinstance(spec, str):
                spec = {"category": spec}
            if not isinstance(spec, dict) or "category" not in spec or set(spec) - {"category", "makes"}:
                raise ParameterError(f"vocabulary {source}: drug {name!r} needs {{ category = ... }} "
                                     "(and optionally makes = [...])")
            drugs[str(name)] = (str(spec["category"]), tuple(spec.get("makes", ())))
        for name, (category, makes) in drugs.items():
            if category not in new_lists["drug_categories"]:
                raise ParameterError(f"vocabulary {source}: drug {name!r} has category {category!r}, not one of "
                                     f"{', '.join(new_lists['drug_categories'])} (add it to lists.drug_categories)")
            missing = [m for m in makes if m not in drugs]
            if missing:
                raise ParameterError(f"vocabulary {source}: {name!r} makes {missing}, which are not drugs of the vocabulary")
        weights = dict(self.evidence_weights)
        for kind, w in raw["evidence_weights"].items():
            if kind not in new_lists["entity_kinds"] and kind not in DERIVED_KINDS:
                raise ParameterError(f"vocabulary {source}: evidence_weights names {kind!r}, not an entity kind "
                                     f"nor one of {', '.join(DERIVED_KINDS)}")
            if isinstance(w, bool) or not isinstance(w, (int, float)) or not 0 <= w < float("inf"):
                raise ParameterError(f"vocabulary {source}: evidence_weights.{kind} must be a number >= 0; got {w!r}")
            weights[kind] = float(w)
        return Vocabulary(tuple((d, c, m) for d, (c, m) in drugs.items()), sources=self.sources + (source,),
                          evidence_weights=tuple(weights.items()), **new_lists)

    def to_toml(self) -> str:
        """The whole vocabulary as TOML (what :meth:`~jinduanalytics.Vocabulary.extend` reads)."""
        def q(s):
            return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'
        lines = ["[drugs]"]
        for d, c, m in self.drugs:
            makes = f", makes = [{', '.join(q(x) for x in m)}]" if m else ""
            lines.append(f"{q(d)} = {{ category = {q(c)}{makes} }}")
        lines += ["", "[evidence_weights]"] + [f"{q(k)} = {w!r}" for k, w in self.evidence_weights]
        lines += ["", "[lists]"] + [f"{n} = [{', '.join(q(v) for v in getattr(self, n))}]" for n in LISTS]
        return "\n".join(lines) + "\n"


def _read_toml(path: Path) -> dict:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ParameterError(f"vocabulary file not found: {path}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ParameterError(f"vocabulary {path}: not valid TOML ({exc})") from None


@cache
def default_vocabulary() -> Vocabulary:
    """The shipped vocabulary (``jinduanalytics/data/vocabulary.toml``)."""
    empty = Vocabulary((), *(() for _ in LISTS))
    text = files("jinduanalytics.data").joinpath("vocabulary.toml").read_text(encoding="utf-8")
    v = empty.extend(tomllib.loads(text), source="shipped")
    return v


def as_vocabulary(vocabulary=None) -> Vocabulary:
    """``None`` -> the shipped vocabulary; a path or mapping -> the shipped one extended with it.

    Parameters
    ----------
    vocabulary : None, Vocabulary, path or mapping
    """
    if vocabulary is None:
        return default_vocabulary()
    if isinstance(vocabulary, Vocabulary):
        return vocabulary
    return default_vocabulary().extend(vocabulary)


def vocabulary_of(data, vocabulary=None) -> Vocabulary:
    """The vocabulary an analysis of ``data`` uses: the one passed, else the dataset's own
    (the ``vocabulary`` of a :class:`~jinduanalytics.Dataset`), else the shipped one.

    Parameters
    ----------
    data : Dataset or mapping of tables
    vocabulary : None, Vocabulary, path or mapping
    """
    if vocabulary is not None:
        return as_vocabulary(vocabulary)
    own = getattr(data, "vocabulary", None)
    return own if isinstance(own, Vocabulary) else default_vocabulary()
