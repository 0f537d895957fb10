# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT
"""Line charts as PNG files with the standard library only.

The report runs on the controller, where nothing but ansible-core can be assumed: no matplotlib, no
Pillow. This draws panels of polylines with axes, ticks and labels in a built-in 5x7 font.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import math
import struct
import zlib

# 5x7 glyphs, one string of five bits per row. Lower case is drawn as upper case; anything else as '?'.
FONT = {
    'A': ['01110', '10001', '10001', '11111', '10001', '10001', '10001'],
    'B': ['11110', '10001', '10001', '11110', '10001', '10001', '11110'],
    'C': ['01110', '10001', '10000', '10000', '10000', '10001', '01110'],
    'D': ['11110', '10001', '10001', '10001', '10001', '10001', '11110'],
    'E': ['11111', '10000', '10000', '11110', '10000', '10000', '11111'],
    'F': ['11111', '10000', '10000', '11110', '10000', '10000', '10000'],
    'G': ['01110', '10001', '10000', '10111', '10001', '10001', '01111'],
    'H': ['10001', '10001', '10001', '11111', '10001', '10001', '10001'],
    'I': ['01110', '00100', '00100', '00100', '00100', '00100', '01110'],
    'J': ['00111', '00010', '00010', '00010', '00010', '10010', '01100'],
    'K': ['10001', '10010', '10100', '11000', '10100', '10010', '10001'],
    'L': ['10000', '10000', '10000', '10000', '10000', '10000', '11111'],
    'M': ['10001', '11011', '10101', '10101', '10001', '10001', '10001'],
    'N': ['10001', '10001', '11001', '10101', '10011', '10001', '10001'],
    'O': ['01110', '10001', '10001', '10001', '10001', '10001', '01110'],
    'P': ['11110', '10001', '10001', '11110', '10000', '10000', '10000'],
    'Q': ['01110', '10001', '10001', '10001', '10101', '10010', '01101'],
    'R': ['11110', '10001', '10001', '11110', '10100', '10010', '10001'],
    'S': ['01111', '10000', '10000', '01110', '00001', '00001', '11110'],
    'T': ['11111', '00100', '00100', '00100', '00100', '00100', '00100'],
    'U': ['10001', '10001', '10001', '10001', '10001', '10001', '01110'],
    'V': ['10001', '10001', '10001', '10001', '10001', '01010', '00100'],
    'W': ['10001', '10001', '10001', '10101', '10101', '10101', '01010'],
    'X': ['10001', '10001', '01010', '00100', '01010', '10001', '10001'],
    'Y': ['10001', '10001', '01010', '00100', '00100', '00100', '00100'],
    'Z': ['11111', '00001', '00010', '00100', '01000', '10000', '11111'],
    '0': ['01110', '10001', '10011', '10101', '11001', '10001', '01110'],
    '1': ['00100', '01100', '00100', '00100', '00100', '00100', '01110'],
    '2': ['01110', '10001', '00001', '00010', '00100', '01000', '11111'],
    '3': ['11111', '00010', '00100', '00010', '00001', '10001', '01110'],
    '4': ['00010', '00110', '01010', '10010', '11111', '00010', '00010'],
    '5': ['11111', '10000', '11110', '00001', '00001', '10001', '01110'],
    '6': ['00110', '01000', '10000', '11110', '10001', '10001', '01110'],
    '7': ['11111', '00001', '00010', '00100', '01000', '01000', '01000'],
    '8': ['01110', '10001', '10001', '01110', '10001', '10001', '01110'],
    '9': ['01110', '10001', '10001', '01111', '00001', '00010', '01100'],
    '.': ['00000', '00000', '00000', '00000', '00000', '01100', '01100'],
    ',': ['00000', '00000', '00000', '00000', '01100', '00100', '01000'],
    '-': ['00000', '00000', '00000', '11111', '00000', '00000', '00000'],
    '_': ['00000', '00000', '00000', '00000', '00000', '00000', '11111'],
    ':': ['00000', '01100', '01100', '00000', '01100', '01100', '00000'],
    '/': ['00001', '00010', '00010', '00100', '01000', '01000', '10000'],
    '(': ['00010', '00100', '01000', '01000', '01000', '00100', '00010'],
    ')': ['01000', '00100', '00010', '00010', '00010', '00100', '01000'],
    '=': ['00000', '00000', '11111', '00000', '11111', '00000', '00000'],
    '%': ['11000', '11001', '00010', '00100', '01000', '10011', '00011'],
    '+': ['00000', '00100', '00100', '11111', '00100', '00100', '00000'],
    '?': ['01110', '10001', '00001', '00010', '00100', '00000', '00100'],
    ' ': ['00000'] * 7,
}
GLYPH_W, GLYPH_H = 5, 7

WHITE = (255, 255, 255)
BLACK = (0, 0, 0)
GREY = (205, 205, 205)
TRAIN_COLOUR = (31, 119, 180)
VAL_COLOUR = (214, 39, 40)


class Canvas:
    """An RGB raster with the few drawing operations a line chart needs."""

    def __init__(self, width, height, background=WHITE):
        self.width = width
        self.height = height
        self.rows = [bytearray(bytes(background) * width) for dummy in range(height)]

    def dot(self, x, y, colour, size=1):
        for dy in range(size):
            for dx in range(size):
                px, py = int(x) + dx, int(y) + dy
                if 0 <= px < self.width and 0 <= py < self.height:
                    self.rows[py][px * 3:px * 3 + 3] = bytes(colour)

    def line(self, x0, y0, x1, y1, colour, width=1):
        steps = int(max(abs(x1 - x0), abs(y1 - y0))) + 1
        for i in range(steps + 1):
            t = i / float(steps)
            self.dot(x0 + (x1 - x0) * t, y0 + (y1 - y0) * t, colour, width)

    def text(self, x, y, text, colour=BLACK, scale=2):
        for i, char in enumerate(text):
            glyph = FONT.get(char.upper(), FONT['?'])
            for row, bits in enumerate(glyph):
                for col, bit in enumerate(bits):
                    if bit == '1':
                        self.dot(x + (i * (GLYPH_W + 1) + col) * scale, y + row * scale, colour, scale)

    def png(self):
        raw = b''.join(b'\x00' + bytes(row) for row in self.rows)

        def chunk(kind, data):
            body = kind + data
            return struct.pack('>I', len(data)) + body + struct.pack('>I', zlib.crc32(body) & 0xffffffff)

        header = struct.pack('>IIBBBBB', self.width, self.height, 8, 2, 0, 0, 0)
        return b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', header) + chunk(b'IDAT', zlib.compress(raw, 9)) + chunk(b'IEND', b'')


def text_width(text, scale=2):
    return len(text) * (GLYPH_W + 1) * scale


def nice_ticks(low, high, count=5):
    """Round tick values from below low to above high, about count steps apart."""
    if high <= low:
        high = low + 1.0
    raw = (high - low) / float(count)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = min(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.floor(low / step + 1e-9)
    last = math.ceil(high / step - 1e-9)
    return [round(i * step, 10) for i in range(int(first), int(last) + 1)]


def format_tick(value):
    if abs(value) >= 1000:
        return '%gk' % (value / 1000.0)
    if value == int(value):
        return '%d' % value
    return ('%.2f' % value).rstrip('0')


def draw_panel(canvas, left, top, width, height, title, series, x_label, y_label):
    """One chart: series is a list of (label, colour, [(x, y), ...]) with finite values."""
    points = [p for dummy_label, dummy_colour, pts in series for p in pts]
    canvas.text(left, top, title, BLACK, 2)
    plot_left, plot_top = left + 70, top + 30
    plot_w, plot_h = width - 90, height - 80
    if not points:
        canvas.text(plot_left, plot_top + plot_h // 2, 'NO DATA YET', GREY, 2)
        return
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    x_ticks = nice_ticks(min(xs + [0]), max(xs))
    y_ticks = nice_ticks(min(ys), max(ys))
    x_lo, x_hi = x_ticks[0], x_ticks[-1] if x_ticks[-1] > x_ticks[0] else x_ticks[0] + 1
    y_lo, y_hi = y_ticks[0], y_ticks[-1] if y_ticks[-1] > y_ticks[0] else y_ticks[0] + 1

    def px(x):
        return plot_left + (x - x_lo) / float(x_hi - x_lo) * plot_w

    def py(y):
        return plot_top + plot_h - (y - y_lo) / float(y_hi - y_lo) * plot_h

    for tick in y_ticks:
        canvas.line(plot_left, py(tick), plot_left + plot_w, py(tick), GREY)
        label = format_tick(tick)
        canvas.text(plot_left - 8 - text_width(label), py(tick) - 7, label)
    for tick in x_ticks:
        canvas.line(px(tick), plot_top, px(tick), plot_top + plot_h, GREY)
        label = format_tick(tick)
        canvas.text(px(tick) - text_width(label) // 2, plot_top + plot_h + 8, label)
    canvas.line(plot_left, plot_top, plot_left, plot_top + plot_h, BLACK, 2)
    canvas.line(plot_left, plot_top + plot_h, plot_left + plot_w, plot_top + plot_h, BLACK, 2)
    canvas.text(plot_left + plot_w - text_width(x_label), plot_top + plot_h + 28, x_label)
    canvas.text(left + 70 + text_width(title) + 20, top, '(%s)' % y_label, BLACK, 2)

    legend_x = plot_left + plot_w - 160
    for index, (label, colour, pts) in enumerate(series):
        ordered = sorted(pts)
        for (xa, ya), (xb, yb) in zip(ordered, ordered[1:]):
            canvas.line(px(xa), py(ya), px(xb), py(yb), colour, 2)
        for x, y in ordered if len(ordered) < 60 else []:
            canvas.dot(px(x) - 2, py(y) - 2, colour, 5)
        canvas.line(legend_x, plot_top + 10 + index * 20, legend_x + 24, plot_top + 10 + index * 20, colour, 3)
        canvas.text(legend_x + 32, plot_top + 4 + index * 20, label, colour)


def loss_chart(panels, panel_width=900, panel_height=360):
    """A PNG with one panel per host: panels is a list of (title, train_points, val_points)."""
    canvas = Canvas(panel_width, max(1, len(panels)) * panel_height)
    for index, (title, train, val) in enumerate(panels):
        draw_panel(canvas, 10, 10 + index * panel_height, panel_width - 20, panel_height - 20, title,
                   [('TRAIN', TRAIN_COLOUR, train), ('VALIDATION', VAL_COLOUR, val)],
                   'ITERATION', 'LOSS')
    return canvas.png()
