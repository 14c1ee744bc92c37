"""Cursor-on-Target: our own checks of the event (what takproto does not check), a round
trip through TAK protobuf (mesh and stream) back to the same content, and pytak receiving
the events over loopback UDP (a real socket; the test starts the receiver)."""

from __future__ import annotations

import asyncio
import configparser
import socket
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from standoff.core.errors import InputError
from standoff.domain.findings import Findings
from standoff.share.products import (
    Audience,
    audience_view,
    cot_event,
    findings_to_cot,
    read_cot_file,
    read_track_points,
    track_points_to_cot,
    tracks_to_cot,
    write_cot_file,
)
from standoff.share.products.cot import COT_TYPE_GRAMMAR

from .conftest import NOFORN, REL, T0

ISO_Z = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$"


def _check_event(xml: bytes) -> ET.Element:
    """What a TAK consumer needs and takproto does not verify."""
    import re

    root = ET.fromstring(xml)
    assert root.tag == "event"
    assert root.get("version") == "2.0"
    assert root.get("uid")
    assert COT_TYPE_GRAMMAR.match(root.get("type", ""))
    for name in ("time", "start", "stale"):
        assert re.match(ISO_Z, root.get(name, "")), name
    assert root.get("stale", "") > root.get("time", "")
    point = root.find("point")
    assert point is not None
    assert set(point.attrib) == {"lat", "lon", "hae", "ce", "le"}
    assert -90 <= float(point.get("lat", "nan")) <= 90
    assert -180 <= float(point.get("lon", "nan")) <= 180
    standoff = root.find("detail/__standoff")
    assert standoff is not None
    assert standoff.get("marking")
    remarks = root.findtext("detail/remarks") or ""
    assert remarks.startswith(standoff.get("marking", "?"))
    return root


def _ms(iso: str) -> int:
    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)


def _back_to_xml(msg: Any) -> bytes:
    """The CoT XML of a TAK protobuf message (the way back)."""
    ev = msg.cotEvent

    def iso(ms: int) -> str:
        return (
            datetime.fromtimestamp(ms / 1000, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z")
        )

    contact = (
        f'<contact callsign="{ev.detail.contact.callsign}"/>' if ev.detail.contact.callsign else ""
    )
    track = (
        f'<track course="{ev.detail.track.course:.1f}" speed="{ev.detail.track.speed:.2f}"/>'
        if ev.detail.HasField("track")
        else ""
    )
    return (
        f'<event version="2.0" uid="{ev.uid}" type="{ev.type}" how="{ev.how}" '
        f'time="{iso(ev.sendTime)}" start="{iso(ev.startTime)}" stale="{iso(ev.staleTime)}">'
        f'<point lat="{ev.lat:.7f}" lon="{ev.lon:.7f}" hae="{ev.hae:.1f}" ce="{ev.ce:.1f}" '
        f'le="{ev.le:.1f}"/><detail>{contact}{track}{ev.detail.xmlDetail}</detail></event>'
    ).encode()


def _canonical(xml: bytes) -> tuple[Any, ...]:
    root = ET.fromstring(xml)
    point = root.find("point")
    assert point is not None
    detail = root.find("detail")
    assert detail is not None
    children = sorted(
        (c.tag, tuple(sorted(c.attrib.items())), (c.text or "").strip()) for c in detail
    )
    return (
        root.get("uid"),
        root.get("type"),
        root.get("how"),
        _ms(root.get("time", "")),
        _ms(root.get("start", "")),
        _ms(root.get("stale", "")),
        *(round(float(point.get(k, "nan")), 6) for k in ("lat", "lon", "hae", "ce", "le")),
        tuple(children),
    )


@pytest.fixture(scope="module")
def events(findings: Findings, run_dir: Path) -> list[bytes]:
    points = read_track_points(run_dir / "tracks" / "tracks.csv", run_dir)
    return [*findings_to_cot(findings, NOFORN), *track_points_to_cot(points, NOFORN, how="m-s")]


def test_every_event_is_complete(events: list[bytes]) -> None:
    assert len(events) == 10  # 4 sites, 1 corridor, 1 approach, 2 alerts, 2 tracks (last each)
    for xml in events:
        _check_event(xml)


def test_findings_events_carry_kind_confidence_and_their_own_marking(
    findings: Findings,
) -> None:
    by_uid = {
        ET.fromstring(e).get("uid"): ET.fromstring(e) for e in findings_to_cot(findings, NOFORN)
    }
    site = by_uid["standoff.finding.site-1"]
    assert site.get("type") == "b-m-p-s-p-i"
    assert site.get("how") == "h-e"
    tag = site.find("detail/__standoff")
    assert tag is not None
    assert tag.get("marking") == REL.banner()
    assert tag.get("product_marking") == NOFORN.banner()
    assert tag.get("confidence") == "very likely"
    assert tag.get("probability") == "0.9000"
    corridor = by_uid["standoff.finding.corridor-1"]
    assert corridor.get("type") == "u-d-f"
    remarks = corridor.findtext("detail/remarks") or ""
    assert "80% of its line seen, the rest inferred along roads" in remarks
    links = [link.get("point") for link in corridor.findall("detail/link")]
    assert links == [
        "31.2200000,-111.4500000",
        "31.3000000,-111.5000000",
        "31.4000000,-111.5800000",
    ]


def test_track_events_are_unknown_ground_movers_with_course_and_speed(
    run_dir: Path,
) -> None:
    points = read_track_points(run_dir / "tracks" / "tracks.csv", run_dir)
    events = {
        ET.fromstring(e).get("uid"): ET.fromstring(e) for e in track_points_to_cot(points, REL)
    }
    east, south = events["standoff.track.7"], events["standoff.track.9"]
    assert east.get("type") == "a-u-G"
    assert east.get("how") == "m-f"  # tracker output: machine, fused
    contact = east.find("detail/contact")
    assert contact is not None
    assert contact.get("callsign") == "T7"
    track = east.find("detail/track")
    assert track is not None
    assert float(track.get("course", "nan")) == pytest.approx(90.0, abs=0.5)
    assert float(track.get("speed", "nan")) == pytest.approx(100.0 / 60.0, rel=0.01)
    south_track = south.find("detail/track")
    assert south_track is not None
    assert float(south_track.get("course", "nan")) == pytest.approx(180.0, abs=0.5)
    assert east.get("time") == "2026-03-20T02:09:00.000Z"


@pytest.mark.parametrize("version", ["MESH", "STREAM"])
def test_tak_protobuf_round_trip_keeps_the_content(events: list[bytes], version: str) -> None:
    import takproto

    ver = getattr(takproto.TAKProtoVer, version)
    for xml in events:
        msg = takproto.parse_proto(takproto.xml2proto(xml, ver))
        ev = msg.cotEvent
        root = ET.fromstring(xml)
        assert (ev.uid, ev.type, ev.how) == (root.get("uid"), root.get("type"), root.get("how"))
        assert ev.sendTime == _ms(root.get("time", ""))
        assert ev.staleTime == _ms(root.get("stale", ""))
        assert "__standoff" in ev.detail.xmlDetail
        assert _canonical(_back_to_xml(msg)) == _canonical(xml)


def test_takproto_rejects_a_malformed_time(events: list[bytes]) -> None:
    import takproto

    bad = events[0].replace(b'time="2026-03-20T12:00:00.000Z"', b'time="2026-03-20 12:00"')
    assert bad != events[0]
    with pytest.raises(ValueError):  # noqa: PT011 - takproto raises a bare ValueError
        takproto.xml2proto(bad)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"cot_type": "x-y-z"}, "type"),
        ({"cot_type": "a"}, "type"),
        ({"how": "zz"}, "how"),
        ({"time": datetime(2026, 1, 1)}, "time"),
        ({"stale_s": 0.0}, "stale_s"),
        ({"lat_deg": 95.0}, "point"),
        ({"uid": ""}, "uid"),
    ],
)
def test_bad_events_are_refused(kwargs: dict[str, Any], field: str) -> None:
    args: dict[str, Any] = {
        "uid": "u.1",
        "cot_type": "a-u-G",
        "how": "m-g",
        "time": T0,
        "lat_deg": 31.0,
        "lon_deg": -111.0,
    }
    args.update(kwargs)
    stale = args.pop("stale_s", 60.0)
    with pytest.raises(InputError) as err:
        cot_event(**args, stale_s=stale)
    assert err.value.field == field


def test_row_tracks_keep_their_interface() -> None:
    (xml,) = tracks_to_cot([(T0, 12, 31.3, -111.2)], REL, source="standoff.live", stale_s=30)
    root = _check_event(xml)
    assert root.get("uid") == "standoff.live.track.12"
    assert root.get("stale") == (T0 + timedelta(seconds=30)).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def test_cot_file_round_trip(events: list[bytes], tmp_path: Path) -> None:
    path = write_cot_file(events, tmp_path / "x.cot.xml")
    assert read_cot_file(path) == events


def test_partner_events_hold_only_released_findings(findings: Findings) -> None:
    events = findings_to_cot(audience_view(findings, Audience("MEX")), REL)
    uids = sorted(ET.fromstring(e).get("uid", "") for e in events)
    assert uids == [
        "standoff.finding.alert-1",
        "standoff.finding.approach-1",
        "standoff.finding.corridor-1",
        "standoff.finding.site-1",
        "standoff.finding.site-4",
    ]


@pytest.mark.filterwarnings("ignore:The .aiohttp. package:UserWarning")
def test_pytak_receives_the_events_over_loopback_udp(events: list[bytes]) -> None:
    import pytak

    class Collect(pytak.RXWorker):  # type: ignore[misc]
        async def handle_data(self, data: bytes) -> None:
            return None

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    async def run() -> list[bytes]:
        cfg = configparser.ConfigParser()
        cfg["rx"] = {"COT_URL": f"udp+rcv://127.0.0.1:{port}"}
        reader, _writer = await pytak.protocol_factory(cfg["rx"])
        queue: asyncio.Queue[bytes] = asyncio.Queue()
        worker = Collect(queue, cfg["rx"], reader)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
            for e in events:
                sender.sendto(e, ("127.0.0.1", port))
        got = []
        try:
            for _ in events:
                await asyncio.wait_for(worker.run_once(), timeout=5)
                got.append(queue.get_nowait())
        finally:
            reader.close()
        return got

    received = asyncio.run(run())
    assert sorted(received) == sorted(events)
