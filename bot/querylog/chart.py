"""A small PNG bar chart of questions per day (answered vs not), with no plotting library.

Stacked bars: answered in blue at the bottom, not answered in grey on top, one
bar per day, scaled to the busiest day. The numbers themselves travel as text
beside the image.
"""

from __future__ import annotations

import struct
import zlib

WHITE, BLUE, GREY = (255, 255, 255), (0, 75, 135), (170, 170, 170)


def bar_chart(per_day: list[tuple[str, int, int]], height: int = 120, bar: int = 12, gap: int = 4) -> bytes:
    """PNG bytes for ``per_day`` = [(date, answered, not answered), ...]."""
    width = max(1, len(per_day)) * (bar + gap) + gap
    peak = max((yes + no for _, yes, no in per_day), default=0) or 1
    pixels = [[WHITE] * width for _ in range(height)]
    for index, (_, yes, no) in enumerate(per_day):
        left = gap + index * (bar + gap)
        answered_px = round((height - 1) * yes / peak)
        total_px = round((height - 1) * (yes + no) / peak)
        for y in range(total_px):
            colour = BLUE if y < answered_px else GREY
            row = pixels[height - 1 - y]
            for x in range(left, left + bar):
                row[x] = colour
    return _png(pixels)


def _png(pixels: list[list[tuple[int, int, int]]]) -> bytes:
    height, width = len(pixels), len(pixels[0])
    raw = b"".join(b"\x00" + bytes(channel for pixel in row for channel in pixel) for row in pixels)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
