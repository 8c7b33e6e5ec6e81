#!/usr/bin/env python3
"""tests/mat5_read.py READER FILE VAR -- print a MAT 5 file's real double
matrix VAR as another program sees it: "rows cols" then the values row by
row, each as Python's repr (the shortest text that reads back bit for bit).

READER is "scipy" (scipy.io.loadmat) or "stdlib": a reader written from the
MAT-file format description (MathWorks, "MAT-File Format", level 5) with
nothing but struct and zlib, so the check does not rest on libmatio, which
wrote the file, nor on scipy being installed."""
import struct
import sys
import zlib

MI_INT8, MI_INT32, MI_UINT32, MI_DOUBLE, MI_MATRIX, MI_COMPRESSED = 1, 5, 6, 9, 14, 15
MX_DOUBLE = 6


def elements(buf, pos, end, endian):
    """Yield (type, data) of the data elements in buf[pos:end]."""
    while pos + 8 <= end:
        word, = struct.unpack_from(endian + "I", buf, pos)
        if word >> 16:  # small data element: type and size in one word, data in the next
            yield word & 0xFFFF, buf[pos + 4:pos + 4 + (word >> 16)]
            pos += 8
            continue
        typ, n = struct.unpack_from(endian + "II", buf, pos)
        if pos + 8 + n > end:
            raise ValueError("element runs past the end: file cut short?")
        yield typ, buf[pos + 8:pos + 8 + n]
        pos += 8 + n
        if typ != MI_COMPRESSED:
            pos += -n % 8  # elements are padded to 8 bytes; compressed ones are not


def matrix(data, endian):
    """(name, rows, cols, values column-major) of a real double miMATRIX."""
    sub = list(elements(data, 0, len(data), endian))
    flags, dims, name, real = sub[0][1], sub[1][1], sub[2][1], sub[3]
    klass = struct.unpack_from(endian + "I", flags)[0] & 0xFF
    rows, cols = struct.unpack(endian + "ii", dims)
    if klass != MX_DOUBLE or real[0] != MI_DOUBLE:
        return name.decode(), None, None, None
    return name.decode(), rows, cols, struct.unpack(endian + "%dd" % (rows * cols), real[1])


def stdlib_read(path, var):
    with open(path, "rb") as f:
        buf = f.read()
    endian = "<" if buf[126:128] == b"IM" else ">"
    for typ, data in elements(buf, 128, len(buf), endian):
        if typ == MI_COMPRESSED:
            inner = zlib.decompress(data)
            typ, data = next(elements(inner, 0, len(inner), endian))
        if typ != MI_MATRIX:
            continue
        name, rows, cols, col_major = matrix(data, endian)
        if name == var:
            if rows is None:
                sys.exit("%s is not a real double matrix" % var)
            return rows, cols, [[col_major[i + j * rows] for j in range(cols)] for i in range(rows)]
    sys.exit("no variable %s" % var)


def scipy_read(path, var):
    import scipy.io
    a = scipy.io.loadmat(path)[var]
    return a.shape[0], a.shape[1], [[float(x) for x in row] for row in a]


def main():
    reader, path, var = sys.argv[1:4]
    rows, cols, values = (scipy_read if reader == "scipy" else stdlib_read)(path, var)
    print(rows, cols)
    for row in values:
        print(" ".join(repr(x) for x in row))


if __name__ == "__main__":
    main()
