"""Canonical Arrow tables of a jinduanalytics dataset.

Each table is described by a :class:`~jinduanalytics.schema.TableSpec`: its columns (name, logical type, whether
nulls are allowed, whether the column holds personal data), its key, the other tables it
references and its value checks. :mod:`jinduanalytics.validate` checks tables against
these specs; the loaders in :mod:`jinduanalytics.io` cast inputs to :meth:`TableSpec.arrow_schema`.

The names are stable: see the README's "Data model" section for the table of columns.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field

import pyarrow as pa

from .errors import ParameterError

__all__ = [
    "ColumnSpec",
    "TableSpec",
    "TABLES",
    "TABLE_ORDER",
    "REGION_LEVELS",
    "MAP_BOUNDS",
    "PERSONAL_DOMAINS",
    "table_spec",
]

# Logical types -> the Arrow type the loaders cast to.
_ARROW = {
    "string": pa.string(),
    "int": pa.int64(),
    "float": pa.float64(),
    "date": pa.date32(),
    "bool": pa.bool_(),
}

# Drugs, case types, roles, entity kinds and flow modes are open: their allowed values come from a
# vocabulary (jinduanalytics.vocabulary), named by ColumnSpec.vocabulary.
#: Evidence kinds derived from the persons in a case (集群打零): the record itself, its ID number
#: and its phone. With the vocabulary's entity kinds they are the kinds case_graph can weight.
PERSON_KINDS = ("person", "id_number", "person_phone")
REGION_LEVELS = ("province", "city", "county", "origin")
SEXES = ("M", "F")

#: Bounding box (lon_min, lon_max, lat_min, lat_max) of valid coordinates: China and its
#: neighbours (the Vietnam, Laos and Myanmar crossings included). Anything outside is
#: "off the map".
MAP_BOUNDS = (73.0, 136.0, 3.0, 54.0)

#: Valid date ranges. Events (cases, contacts, transfers, flows) happen after 1980;
#: people are born after 1900; nothing is dated after the day the check runs.
EVENT_DATE_MIN = _dt.date(1980, 1, 1)
#: Plausibility bounds: above them a number is a unit or typing error, and sums of such numbers
#: overflow (one 1e308 turned a cluster's score into NaN and reordered the ranking). 1e9 g is
#: 1,000 tonnes in one case or leg; 1e12 yuan in one transfer; 1e9 calls between two phones.
MAX_GRAMS = 1e9
MAX_AMOUNT = 1e12
MAX_COUNT = 1e9
BIRTH_DATE_MIN = _dt.date(1900, 1, 1)


@dataclass(frozen=True)
class ColumnSpec:
    """One column of a canonical table and the checks validation makes on it.

    Attributes
    ----------
    name : str
    type : {"string", "int", "float", "date", "bool"}
    nullable : bool
    personal : bool
        Holds personal identifiers: values are never shown in messages and are pseudonymised.
    choices : tuple of str, optional
        The allowed values (a closed list).
    vocabulary : str, optional
        The allowed values are a list of the dataset's vocabulary (``"drugs"``, ``"case_types"``,
        ``"roles"``, ``"entity_kinds"``, ``"flow_modes"``; see :mod:`jinduanalytics.vocabulary`).
    nonnegative : bool
    date_min : datetime.date, optional
        Dates must lie between this and today.
    coord : {"lon", "lat"}, optional
        Must lie inside :data:`MAP_BOUNDS`.
    references : (table, column), optional
        Values must be keys of that table.
    canonical : {"phone", "id_number"}, optional
        Written one way before anything compares it (:mod:`jinduanalytics.identifiers`).
    max_length : int, optional
        Longer cells are rejected.
    max_value : float, optional
        Larger numbers are rejected as implausible.
    """

    name: str
    type: str  # "string" | "int" | "float" | "date" | "bool"
    nullable: bool = False
    personal: bool = False  # never echo values; pseudonymised on request
    choices: tuple[str, ...] | None = None
    vocabulary: str | None = None  # an open list of the dataset's vocabulary
    nonnegative: bool = False
    date_min: _dt.date | None = None  # dates must be >= this and <= today
    coord: str | None = None  # "lon" | "lat": must lie inside MAP_BOUNDS
    references: tuple[str, str] | None = None  # (table, column) this column points to
    canonical: str | None = None  # "phone" | "id_number": written one way (see jinduanalytics.identifiers)
    max_length: int | None = None  # longer cells are rejected (an absurd cell must not make linkage slow)
    max_value: float | None = None  # larger numbers are rejected as implausible (sums must stay finite)

    @property
    def arrow_type(self) -> pa.DataType:
        return _ARROW[self.type]


@dataclass(frozen=True)
class TableSpec:
    """A canonical table: its columns, key and table-level checks.

    Attributes
    ----------
    name : str
    columns : tuple of ColumnSpec
    key : tuple of str
        Unique and non-null together.
    date_order : (first, last), optional
        ``first <= last`` on every row.
    description : str
        What one row is.
    distinct_columns : (a, b), optional
        The two must differ on every row.
    """

    name: str
    columns: tuple[ColumnSpec, ...]
    key: tuple[str, ...] = ()  # unique, non-null
    date_order: tuple[str, str] | None = None  # (first, last): first <= last
    description: str = ""
    distinct_columns: tuple[str, str] | None = field(default=None)  # the two must differ

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> ColumnSpec:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    def arrow_schema(self) -> pa.Schema:
        return pa.schema(
            [pa.field(c.name, c.arrow_type, nullable=c.nullable) for c in self.columns]
        )


def _c(name, type_, **kw) -> ColumnSpec:
    return ColumnSpec(name, type_, **kw)


TABLES: dict[str, TableSpec] = {
    spec.name: spec
    for spec in [
        TableSpec(
            "regions",
            (
                _c("region_id", "string"),
                _c("name", "string"),
                _c("province", "string"),
                _c("level", "string", choices=REGION_LEVELS),
                _c("parent_id", "string", nullable=True, references=("regions", "region_id")),
                _c("lon", "float", coord="lon"),
                _c("lat", "float", coord="lat"),
            ),
            key=("region_id",),
            description="a province, city, county or outside origin",
        ),
        TableSpec(
            "person_records",
            (
                _c("record_id", "string"),
                _c("source_region", "string", references=("regions", "region_id")),
                _c("name", "string", personal=True, max_length=64),
                _c("id_number", "string", nullable=True, personal=True, canonical="id_number", max_length=32),
                _c("birth_date", "date", nullable=True, personal=True, date_min=BIRTH_DATE_MIN),
                _c("sex", "string", nullable=True, choices=SEXES),
                _c("phone", "string", nullable=True, personal=True, canonical="phone", max_length=32),
                _c("home_region", "string", nullable=True, references=("regions", "region_id")),
            ),
            key=("record_id",),
            description="one region's record of a person",
        ),
        TableSpec(
            "cases",
            (
                _c("case_id", "string"),
                _c("region_id", "string", references=("regions", "region_id")),
                _c("date", "date", date_min=EVENT_DATE_MIN),
                _c("case_type", "string", vocabulary="case_types"),
                _c("drug", "string", vocabulary="drugs"),
                _c("quantity_g", "float", nullable=True, nonnegative=True, max_value=MAX_GRAMS),
            ),
            key=("case_id",),
            description="a case",
        ),
        TableSpec(
            "case_persons",
            (
                _c("case_id", "string", references=("cases", "case_id")),
                _c("record_id", "string", references=("person_records", "record_id")),
                _c("role", "string", vocabulary="roles"),
            ),
            key=("case_id", "record_id"),
            description="a person record's part in a case",
        ),
        TableSpec(
            "case_entities",
            (
                _c("case_id", "string", references=("cases", "case_id")),
                _c("kind", "string", vocabulary="entity_kinds"),
                _c("value", "string", personal=True, max_length=256),
            ),
            key=("case_id", "kind", "value"),
            description="an identifier seized or found in a case",
        ),
        TableSpec(
            "contacts",
            (
                _c("phone_a", "string", personal=True, canonical="phone", max_length=32),
                _c("phone_b", "string", personal=True, canonical="phone", max_length=32),
                _c("count", "int", nonnegative=True, max_value=MAX_COUNT),
                _c("first_date", "date", date_min=EVENT_DATE_MIN),
                _c("last_date", "date", date_min=EVENT_DATE_MIN),
            ),
            key=("phone_a", "phone_b"),
            date_order=("first_date", "last_date"),
            distinct_columns=("phone_a", "phone_b"),
            description="calls/messages between two phones",
        ),
        TableSpec(
            "transactions",
            (
                _c("src_account", "string", personal=True, max_length=64),
                _c("dst_account", "string", personal=True, max_length=64),
                _c("amount", "float", nonnegative=True, max_value=MAX_AMOUNT),
                _c("date", "date", date_min=EVENT_DATE_MIN),
            ),
            distinct_columns=("src_account", "dst_account"),
            description="a money transfer",
        ),
        TableSpec(
            "flows",
            (
                _c("origin", "string", references=("regions", "region_id")),
                _c("destination", "string", references=("regions", "region_id")),
                _c("mode", "string", vocabulary="flow_modes"),
                _c("date", "date", date_min=EVENT_DATE_MIN),
                _c("quantity_g", "float", nonnegative=True, max_value=MAX_GRAMS),
            ),
            distinct_columns=("origin", "destination"),
            description="goods moved along a leg",
        ),
        TableSpec(
            "parcels",
            (
                _c("waybill", "string", personal=True, max_length=64),
                _c("courier", "string", max_length=64),
                _c("origin_outlet", "string", max_length=64),
                _c("origin_region", "string", references=("regions", "region_id")),
                _c("destination_region", "string", references=("regions", "region_id")),
                _c("sender", "string", nullable=True, personal=True, max_length=64),
                _c("receiver", "string", nullable=True, personal=True, max_length=64),
                _c("date", "date", date_min=EVENT_DATE_MIN),
                _c("weight_g", "float", nullable=True, nonnegative=True, max_value=MAX_GRAMS),
            ),
            key=("waybill",),
            description="a parcel posted through a courier (寄递): its waybill, outlet, parties and destination",
        ),
        TableSpec(
            "wastewater",
            (
                _c("plant_id", "string", max_length=64),
                _c("region_id", "string", references=("regions", "region_id")),
                _c("date", "date", date_min=EVENT_DATE_MIN),
                _c("biomarker", "string", max_length=64),
                _c("substance", "string", vocabulary="drugs"),
                _c("concentration_ng_l", "float", nullable=True, nonnegative=True, max_value=MAX_GRAMS),
                _c("below_loq", "bool"),
                _c("loq_ng_l", "float", nullable=True, nonnegative=True, max_value=MAX_GRAMS),
                _c("flow_m3_day", "float", nonnegative=True, max_value=MAX_GRAMS),
                _c("population", "int", nonnegative=True, max_value=MAX_COUNT),
            ),
            key=("plant_id", "date", "biomarker"),
            description="one 24-hour composite sample of a wastewater plant: a drug residue's concentration",
        ),
        TableSpec(
            "checkpoints",
            (
                _c("checkpoint_id", "string"),
                _c("region_id", "string", references=("regions", "region_id")),
                _c("mode", "string", vocabulary="flow_modes"),
                _c("lon", "float", coord="lon"),
                _c("lat", "float", coord="lat"),
            ),
            key=("checkpoint_id",),
            description="an interdiction site",
        ),
    ]
}

#: Order in which a dataset's tables are validated: referenced tables first.
TABLE_ORDER = (
    "regions",
    "person_records",
    "cases",
    "case_persons",
    "case_entities",
    "contacts",
    "transactions",
    "flows",
    "parcels",
    "wastewater",
    "checkpoints",
)

#: Columns whose values are personal identifiers, by pseudonymisation domain. The same
#: value in two places of one domain gets the same pseudonym.
PERSONAL_DOMAINS: dict[str, list[tuple[str, str]]] = {
    "name": [("person_records", "name")],
    "id_number": [("person_records", "id_number")],
    "phone": [("person_records", "phone"), ("contacts", "phone_a"), ("contacts", "phone_b")],
    "account": [("transactions", "src_account"), ("transactions", "dst_account")],
    # the 寄递 channel: the same domains as the case_entities kinds waybill, parcel_sender and
    # parcel_receiver, so a seized waybill still finds its parcel after pseudonymisation
    "waybill": [("parcels", "waybill")],
    "parcel_sender": [("parcels", "sender")],
    "parcel_receiver": [("parcels", "receiver")],
}


def table_spec(name: str) -> TableSpec:
    """The :class:`~jinduanalytics.schema.TableSpec` of a canonical table, with a helpful error for typos.

    Parameters
    ----------
    name : str
        A canonical table name.
    """
    try:
        return TABLES[name]
    except KeyError:
        allowed = ", ".join(repr(t) for t in TABLE_ORDER)
        raise ParameterError(f"table must be one of {allowed}; got {name!r}.") from None
