"""Files for the upload tests, made on the spot: real images (Pillow), a PDF, an OFD package,
and hostile ones — a PNG whose header claims ten billion pixels (a decompression bomb)."""
from __future__ import annotations

import io
import struct
import zipfile
import zlib


def png(width: int = 40, height: int = 30, colour=(200, 30, 30)) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, "PNG")
    return out.getvalue()


def jpeg(width: int = 40, height: int = 30) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (width, height), (20, 120, 200)).save(out, "JPEG")
    return out.getvalue()


def pdf() -> bytes:
    return (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
            b"trailer<</Root 1 0 R>>\n%%EOF\n")


def ofd() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as package:
        package.writestr("OFD.xml", '<?xml version="1.0" encoding="UTF-8"?><ofd:OFD xmlns:ofd="http://www.ofdspec.org/2016" Version="1.0"/>')
        package.writestr("Doc_0/Document.xml", "<ofd:Document xmlns:ofd=\"http://www.ofdspec.org/2016\"/>")
    return out.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_bomb(width: int = 100_000, height: int = 100_000) -> bytes:
    """A valid PNG header declaring ``width`` × ``height`` pixels over a few hundred bytes of data."""
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit greyscale
    rows = zlib.compress(b"\x00" * (1 + (width + 7) // 8) * 16, 9)  # only 16 rows: the decoder never gets that far
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", rows) + _chunk(b"IEND", b"")
