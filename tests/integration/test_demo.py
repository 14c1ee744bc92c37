"""The demo runs end to end on the embedded defaults and writes each stage's outputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from standoff.cli import main


def test_demo_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    summary = json.loads((out / "summary.json").read_text())
    stage = out / "airspace"
    for name in (
        "places.csv",
        "places_classified.csv",
        "planned_path.geojson",
        "flown_track.csv",
        "check_planned.json",
        "check_flown.json",
    ):
        assert (stage / name).is_file(), name
    assert summary["airspace"]["checks"] == {"planned": "conformant", "flown": "non_conformant"}
    flown = json.loads((stage / "check_flown.json").read_text())
    assert flown["incursions"][0]["airspace"] == "MEX"
    assert flown["unknown_gaps"], "the demo track has a telemetry gap"
    assert "NON_CONFORMANT" in printed
    assert str(stage) in printed
    # The files the demo writes are valid inputs for the CLI.
    assert (
        main(
            [
                "airspace",
                "check",
                str(stage / "planned_path.geojson"),
                "--operator",
                "USA",
                "--margin-m",
                "3000",
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "airspace",
                "check",
                str(stage / "flown_track.csv"),
                "--operator",
                "USA",
                "--margin-m",
                "3000",
            ]
        )
        == 1
    )
