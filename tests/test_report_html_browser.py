"""`report --html` on the demo's world: the page's structure (fast), and the page in a real headless Chromium (slow).

The structural test holds the promises a reader cannot see: every non-ignored contact is
on the page, the SVG is well-formed XML, nothing points at the network and nothing runs.
The browser test renders the page to a PNG, decodes it with zlib alone, and requires real
content (many distinct colours) and not one console error from the browser.
"""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
import xml.etree.ElementTree as ET
import zlib
from html import escape
from pathlib import Path

import pytest

from syncd.demo import DEMO_NOW

HOSTILE = '<script>alert("x")</script> & \x1b[2J Eve'


@pytest.fixture
def demo_page(cli) -> tuple[Path, list[dict]]:
    """The demo's world synced, one contact with a hostile name added, its report page written."""
    folder = cli.home / "demo"
    assert cli("demo", "--keep", str(folder), config=False).code == 0
    cli.config = folder / "config.toml"
    assert cli("contacts", "add", HOSTILE, "eve@example.com", now=DEMO_NOW).code == 0
    page = folder / "report.html"
    result = cli("report", "--html", str(page), now=DEMO_NOW)
    assert result.code == 0, result.err
    contacts = cli("report", "--json", now=DEMO_NOW).json()["contacts"]
    return page, contacts


def test_page_has_every_contact_parses_and_points_nowhere(demo_page, cli):
    page, contacts = demo_page
    text = page.read_text(encoding="utf-8")
    listed = {item["name"] for item in cli("contacts", "list", "--json", now=DEMO_NOW).json() if not item["ignore"]}
    assert {item["name"] for item in contacts} == listed and len(listed) >= 9
    ignored = [item["name"] for item in cli("contacts", "list", "--json", now=DEMO_NOW).json() if item["ignore"]]
    assert ignored and all(escape(name) not in text for name in ignored)

    svgs = re.findall(r"<svg\b.*?</svg>", text, flags=re.S)
    assert len(svgs) == 2  # the rhythm and the warmth chart
    chart = ET.fromstring(svgs[1])
    labels = {"".join(node.itertext()) for node in chart.iter("text")}
    for item in contacts:
        shown = item["name"].replace("\x1b", "\\x1b")
        assert shown in labels or shown[:27] + "…" in labels, item["name"]
    rhythm = ET.fromstring(svgs[0])
    assert len(rhythm.findall("rect")) == 12

    assert "<script" not in text.lower() and "\x1b" not in text
    assert escape('<script>alert("x")</script>') in text
    assert not re.search(r"\bsrc\s*=", text, flags=re.I)
    assert all(target.startswith("#") for target in re.findall(r'\bhref\s*=\s*"([^"]*)"', text, flags=re.I))
    assert not re.search(r"url\(\s*['\"]?(?!#)", text, flags=re.I)
    assert not re.search(r"<link\b|@import|<iframe|<object|<embed", text, flags=re.I)
    assert "@media print" in text
    assert len(text.encode("utf-8")) < 2_000_000


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def png_colours(data: bytes) -> tuple[int, int, int]:
    """(width, height, distinct colours) of an 8-bit RGB or RGBA PNG, decoded with zlib and the five row filters."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    position, idat, header = 8, b"", b""
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        body = data[position + 8 : position + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat += body
        position += 12 + length
    width, height, depth, colour_type = struct.unpack(">IIBB", header[:10])
    assert depth == 8 and colour_type in (2, 6), (depth, colour_type)
    channels = 3 if colour_type == 2 else 4
    stride = width * channels
    raw = zlib.decompress(idat)
    previous = bytearray(stride)
    colours: set[bytes] = set()
    for row in range(height):
        start = row * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up = previous[i]
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + ((left + up) >> 1)) & 0xFF
            elif kind == 4:
                corner = previous[i - channels] if i >= channels else 0
                guess = left + up - corner
                pa, pb, pc = abs(guess - left), abs(guess - up), abs(guess - corner)
                line[i] = (line[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 0xFF
        if row % 4 == 0:
            colours.update(bytes(line[i : i + 3]) for i in range(0, stride, channels * 2))
        previous = line
    return width, height, len(colours)


@pytest.mark.slow
def test_demo_report_renders_in_headless_chromium(demo_page, tmp_path):
    browser = chromium()
    if browser is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed; .ci/install-servers.sh installs it (apt-get install chromium)")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    page, _ = demo_page
    shot = tmp_path / "report.png"
    completed = subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--host-resolver-rules=MAP * ~NOTFOUND",  # a request for anything on the network fails loudly
            f"--user-data-dir={tmp_path / 'profile'}",
            "--enable-logging=stderr",
            "--v=0",
            f"--screenshot={shot}",
            "--window-size=1200,1600",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    console = [line for line in completed.stderr.splitlines() if ":CONSOLE" in line]
    assert not console, console  # the page runs no script: any console message is an error (Chromium logs them as INFO)
    assert not [line for line in completed.stderr.splitlines() if "net::ERR_" in line]
    width, height, colours = png_colours(shot.read_bytes())
    assert (width, height) == (1200, 1600)
    assert colours >= 20, f"the screenshot looks blank: {colours} distinct colours"


def test_the_cold_list_says_what_syncd_why_says(demo_page, cli):
    page, contacts = demo_page
    text = page.read_text(encoding="utf-8")
    rows = dict(re.findall(r'<tr><td class="[^"]*">([^<]*)</td>.*?<td class="why">([^<]*)</td></tr>', text))
    cold = [item for item in contacts if item["cold"]]
    shown = {item["id"]: escape(item["name"].replace("\x1b", "\\x1b")) for item in cold}
    assert cold and set(shown.values()) == set(rows)
    for item in cold:
        hold = cli("why", item["id"], "--json", now=DEMO_NOW).json()["hold"]
        said = rows[shown[item["id"]]]
        if hold["state"] == "booked":
            assert "hold booked" in said, (item["name"], said)
        else:
            assert "no hold" in said, (item["name"], said)
    assert "limits reached" in rows["Donald Knuth"] and "hold booked" in rows["Grace Hopper"]
    assert "(Typesetting chat)" in rows["Donald Knuth"]  # the title of the meeting that set the date
