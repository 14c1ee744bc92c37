"""Campaigns: validation, the same table whatever runs the members, resume, failures."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from standoff.cli import main
from standoff.core.errors import InputError
from standoff.scale import DaskExecutor, InProcessExecutor, parse_campaign, run_campaign

SMALL: dict[str, Any] = {
    "name": "small",
    "mission": "demo",
    "scenario": "demo",
    "seeds": 2,
    "root_seed": 7,
    "overrides": {
        "mission.on_station_s": 900,
        "scenario.duration_s": 1500,
        "scenario.flight.sorties": 1,
        "scenario.traffic.vehicles": 40,
    },
    "sweep": {"mission.margin_m": [3000, 6000]},
}


def _spec(**changes: Any) -> Any:
    return parse_campaign({**SMALL, **changes}, source="campaign.yaml")


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("ref")
    result = run_campaign(_spec(), out, executor=InProcessExecutor())
    assert result.members == 4
    assert result.ran == 4
    assert result.failed == 0
    return out


def test_members_report_every_figure(reference: Path) -> None:
    table = pq.read_table(reference / "results.parquet").to_pandas()
    assert list(table["status"]) == ["ok"] * 4
    assert (table["flown_conformant"] == 1.0).all()
    assert (table["flown_min_clearance_m"] >= table["mission.margin_m"]).all()
    assert (table["coverage_efficiency_mean"] > 0.5).all()
    assert (table["gospa_m"] > 0).all()
    # Common random numbers: each seed index has the same scenario seed in both groups.
    assert table.groupby("seed_index")["seed"].nunique().eq(1).all()
    html = (reference / "report.html").read_text(encoding="utf-8")
    assert "mission.margin_m" in html
    assert (reference / "plots" / "mission_margin_m__gospa_m.png").is_file()


def test_same_results_on_one_and_two_dask_workers(
    reference: Path, dask2: DaskExecutor, tmp_path: Path
) -> None:
    with DaskExecutor(workers=1) as one:
        run_campaign(_spec(), tmp_path / "one", executor=one)
    run_campaign(_spec(), tmp_path / "two", executor=dask2)
    ref = (reference / "results.parquet").read_bytes()
    assert (tmp_path / "one" / "results.parquet").read_bytes() == ref
    assert (tmp_path / "two" / "results.parquet").read_bytes() == ref


def test_an_interrupted_campaign_resumes(reference: Path, tmp_path: Path) -> None:
    def stop_after_two(done: int, total: int, row: dict[str, Any]) -> None:
        if done == 2 and row:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_campaign(_spec(), tmp_path, progress=stop_after_two)
    again = run_campaign(_spec(), tmp_path)
    assert (again.skipped, again.ran) == (2, 2)
    assert (tmp_path / "results.parquet").read_bytes() == (
        reference / "results.parquet"
    ).read_bytes()


def test_a_failing_member_is_reported_and_the_rest_run(dask2: DaskExecutor, tmp_path: Path) -> None:
    # A 40 km margin leaves Fort Huachuca no legal departure: those members fail.
    spec = _spec(seeds=1, sweep={"mission.margin_m": [3000, 40000]})
    result = run_campaign(spec, tmp_path, executor=dask2)
    assert result.failed == 1
    ok, bad = result.rows
    assert ok["status"] == "ok"
    assert bad["status"] == "failed"
    assert "InfeasiblePlan" in bad["error"]
    assert "no legal departure" in bad["error"]
    assert "member" in (tmp_path / "report.html").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"sweep": {"altitude_m": [6000]}}, "sweep.altitude_m"),
        ({"sweep": {"mission.altitude_m": ["high"]}}, "sweep"),
        ({"sweep": {"mission.margin_m": []}}, "sweep.mission.margin_m"),
        ({"seeds": 0}, "seeds"),
        ({"colour": "red"}, "colour"),
        ({"mission": "missing.yaml"}, "mission"),
        (
            {"overrides": {"scenario.sites.99.visits_per_day": 1}},
            "overrides.scenario.sites.99.visits_per_day",
        ),
    ],
)
def test_bad_campaign_files_name_the_field(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(InputError) as err:
        _spec(**changes)
    assert err.value.field == field


def test_cli_runs_and_resumes_a_campaign(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import yaml

    doc = {**SMALL, "seeds": 1, "sweep": {"mission.margin_m": [3000]}}
    path = tmp_path / "campaign.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    assert main(["campaign", str(path), "--out", str(tmp_path / "c"), "--json"]) == 0
    assert '"ran": 1' in capsys.readouterr().out
    assert main(["campaign", str(path), "--out", str(tmp_path / "c"), "--json"]) == 0
    out = capsys.readouterr().out
    assert '"ran": 0' in out
    assert '"resumed": 1' in out
    path.write_text("name: x\nsweep: {mission.margin_m: 3000}\n", encoding="utf-8")
    assert main(["campaign", str(path), "--out", str(tmp_path / "d")]) == 2
    assert (
        main(["campaign", str(path), "--out", str(tmp_path / "d"), "--scheduler", "nowhere"]) == 2
    )
