import datetime as dt
import os

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("ci", derandomize=True, deadline=None, max_examples=60,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", deadline=None, max_examples=100)
settings.load_profile("ci" if os.environ.get("CI") else "dev")
os.environ.setdefault("MPLBACKEND", "Agg")


def pytest_addoption(parser):
    parser.addoption("--runslow", action="store_true", default=False, help="run slow tests")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--runslow"):
        return
    skip = pytest.mark.skip(reason="slow: pass --runslow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


def tiny_tables() -> dict[str, pa.Table]:
    """A hand-made valid dataset: 3 regions, 4 records, 3 cases."""
    d = dt.date
    return {
        "regions": pa.table({
            "region_id": ["GD", "GD-ZJ", "GX-BH"], "name": ["广东", "湛江", "北海"],
            "province": ["广东", "广东", "广西"], "level": ["province", "city", "city"],
            "parent_id": [None, "GD", None], "lon": [113.3, 110.36, 109.12], "lat": [23.1, 21.27, 21.48]}),
        "person_records": pa.table({
            "record_id": ["r1", "r2", "r3", "r4"], "source_region": ["GD-ZJ", "GD-ZJ", "GX-BH", "GX-BH"],
            "name": ["甲", "乙", "丙", "丁"], "id_number": ["990000199001010011", None, None, None],
            "birth_date": [d(1990, 1, 1), None, d(1985, 5, 5), None], "sex": ["M", "F", None, "M"],
            "phone": ["19900000001", "19900000002", None, "19900000001"], "home_region": ["GD-ZJ", None, None, None]}),
        "cases": pa.table({
            "case_id": ["c1", "c2", "c3"], "region_id": ["GD-ZJ", "GD-ZJ", "GX-BH"],
            "date": [d(2023, 1, 1), d(2023, 2, 1), d(2023, 3, 1)], "case_type": ["贩卖", "吸食", "运输"],
            "drug": ["冰毒", "冰毒", "海洛因"], "quantity_g": [12.5, 0.3, None]}),
        "case_persons": pa.table({
            "case_id": ["c1", "c1", "c2", "c3"], "record_id": ["r1", "r2", "r2", "r3"],
            "role": ["seller", "buyer", "user", "courier"]}),
        "case_entities": pa.table({
            "case_id": ["c1", "c2", "c3"], "kind": ["phone", "phone", "account"],
            "value": ["19900000009", "19900000009", "6200001"]}),
        "contacts": pa.table({
            "phone_a": ["19900000001"], "phone_b": ["19900000002"], "count": [3],
            "first_date": [d(2023, 1, 1)], "last_date": [d(2023, 1, 5)]}),
        "transactions": pa.table({
            "src_account": ["6200001"], "dst_account": ["6200002"], "amount": [500.0], "date": [d(2023, 1, 2)]}),
        "flows": pa.table({
            "origin": ["GX-BH"], "destination": ["GD-ZJ"], "mode": ["road"], "date": [d(2023, 1, 3)],
            "quantity_g": [100.0]}),
        "checkpoints": pa.table({
            "checkpoint_id": ["k1"], "region_id": ["GD-ZJ"], "mode": ["road"], "lon": [110.3], "lat": [21.2]}),
    }


@pytest.fixture
def tables():
    return tiny_tables()


@pytest.fixture(scope="session")
def city():
    """The city preset (seed 7), generated once per test run and shared by every module that
    reads it (Arrow tables are immutable; tests that change a table build a new one)."""
    from jinduanalytics.synthetic import generate

    return generate("city", seed=7)


@pytest.fixture(scope="session")
def channels_data():
    """The channels preset (seed 7: the city plus online networks, precursor chains and parcels),
    generated once per test run."""
    from jinduanalytics.synthetic import generate

    return generate("channels", seed=7)


def docs_build_module():
    """``docs/build.py`` (not a package module) loaded by path."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "docs" / "build.py"
    spec = importlib.util.spec_from_file_location("jindu_docs_build", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def executed_notebooks(tmp_path_factory):
    """Every notebook run once, top to bottom: (folder of executed copies, notebook -> error or None).
    The notebook tests check them; the documentation build renders them."""
    dest = tmp_path_factory.mktemp("executed_notebooks")
    return dest, docs_build_module().execute_notebooks(dest)
