"""A small PNG bar chart of questions per day (answered vs not), with no plotting library.

Stacked bars: answered in blue at the bottom, not answered in grey on top, one
bar per day, scaled to the busiest day. The numbers themselves travel as text
beside the image.
"""

from __future__ import annotations

import struct
import zlib

WHITE, BLUE, GREY = (255, 255, 255), (0, 75, 135), (170, 170, 170)


MAX_BARS = 400  # more days than this are drawn a week (or more) to a bar: 3,650 bars would be 58,000 pixels wide


def bar_chart(per_day: list[tuple[str, int, int]], height: int = 120, bar: int = 12, gap: int = 4) -> bytes:
    """PNG bytes for ``per_day`` = [(date, answered, not answered), ...]; over ``MAX_BARS`` days, days are summed
    into bars of several days each. Rows are built as bytes, one slice per bar, not pixel by pixel."""
    per_day = _buckets(per_day)
    width = max(1, len(per_day)) * (bar + gap) + gap
    peak = max((yes + no for _, yes, no in per_day), default=0) or 1
    heights = [(round((height - 1) * yes / peak), round((height - 1) * (yes + no) / peak)) for _, yes, no in per_day]
    white, blue, grey = bytes(WHITE), bytes(BLUE), bytes(GREY)
    spacer = white * gap
    rows = []
    for y in range(height - 1, -1, -1):  # top row first
        cells = [spacer]
        for answered_px, total_px in heights:
            colour = (blue if y < answered_px else grey) if y < total_px else white
            cells.append(colour * bar + spacer)
        rows.append(b"".join(cells))
    return _png(rows, width)


def _buckets(per_day: list[tuple[str, int, int]]) -> list[tuple[str, int, int]]:
    if len(per_day) <= MAX_BARS:
        return per_day
    size = -(-len(per_day) // MAX_BARS)
    return [
        (chunk[0][0], sum(yes for _, yes, _ in chunk), sum(no for _, _, no in chunk))
        for chunk in (per_day[i : i + size] for i in range(0, len(per_day), size))
    ]


def _png(rows: list[bytes], width: int) -> bytes:
    height = len(rows)
    raw = b"".join(b"\x00" + row for row in rows)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b"")
