# -*- coding: utf-8 -*-
# Copyright (c) rnn_bootstrap maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
# SPDX-License-Identifier: MIT

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import struct
import zlib

import pytest

from ansible_collections.rnn_bootstrap.charrnn.plugins.module_utils._host import pngplot as _pngplot


def decode(png):
    """Width, height and RGB rows of a PNG written by pngplot, checking every chunk's CRC."""
    assert png[:8] == b'\x89PNG\r\n\x1a\n'
    pos, chunks = 8, {}
    while pos < len(png):
        length, kind = struct.unpack('>I4s', png[pos:pos + 8])
        data = png[pos + 8:pos + 8 + length]
        crc, = struct.unpack('>I', png[pos + 8 + length:pos + 12 + length])
        assert crc == zlib.crc32(kind + data) & 0xffffffff, kind
        chunks[kind] = chunks.get(kind, b'') + data
        pos += 12 + length
    width, height, depth, colour = struct.unpack('>IIBB', chunks[b'IHDR'][:10])
    assert (depth, colour) == (8, 2)
    raw = zlib.decompress(chunks[b'IDAT'])
    stride = width * 3 + 1
    assert len(raw) == stride * height
    return width, height, [raw[i * stride + 1:(i + 1) * stride] for i in range(height)]


def count(rows, colour):
    pixel = bytes(colour)
    return sum(row[i:i + 3] == pixel for row in rows for i in range(0, len(row), 3))


def test_chart_is_a_valid_png_with_one_panel_per_host():
    train = [(i, 4.0 - i / 100.0) for i in range(1, 200)]
    val = [(100, 2.5), (200, 2.1)]
    width, height, rows = decode(_pngplot.loss_chart([('box1', train, val), ('box2', [], [])], 600, 300))
    assert (width, height) == (600, 600)
    assert count(rows, _pngplot.TRAIN_COLOUR) > 300
    assert count(rows, _pngplot.VAL_COLOUR) > 20


def test_curves_stay_inside_their_panel():
    train = [(i, 1.0 + (i % 7)) for i in range(1, 500)]
    width, height, rows = decode(_pngplot.loss_chart([('box', train, [])], 500, 300))
    lowest_train_row = max(y for y, row in enumerate(rows)
                           if any(row[i:i + 3] == bytes(_pngplot.TRAIN_COLOUR) for i in range(0, 390 * 3, 3)))
    assert lowest_train_row < 300 - 50  # above the x axis labels, not spilling over them


def test_empty_panel_says_so():
    width, height, rows = decode(_pngplot.loss_chart([('new-host', [], [])]))
    assert count(rows, _pngplot.TRAIN_COLOUR) == 0
    assert count(rows, _pngplot.GREY) > 0


@pytest.mark.parametrize('low,high', [(0, 1117), (1.6, 4.2), (5, 5), (0.001, 0.002), (-3, 12)])
def test_ticks_cover_the_range_in_round_steps(low, high):
    ticks = _pngplot.nice_ticks(low, high)
    assert ticks[0] <= low and ticks[-1] >= high
    steps = {round(b - a, 9) for a, b in zip(ticks, ticks[1:])}
    assert len(steps) == 1
    assert 2 <= len(ticks) <= 12


@pytest.mark.parametrize('value,text', [(0, '0'), (250, '250'), (1000, '1k'), (1250, '1.25k'), (2.5, '2.5')])
def test_tick_labels(value, text):
    assert _pngplot.format_tick(value) == text
