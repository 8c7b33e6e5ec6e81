#!/usr/bin/env python3
"""make-corpus.py -- write the fuzz harnesses' seed corpus (tests/fuzz/corpus/).

    python3 tests/fuzz/make-corpus.py [SAELAB]

Small valid files of each format and a few broken ones, all made here byte
by byte (no numpy/scipy): IDX, PNG, MAT 4/5 (plain and compressed), raw
float32, command lines, plugin descriptors.  Given the path of a built
saelab, also the model files (net:save of two tiny models).  Each file is a
few hundred bytes: the fuzzer needs the structure, not the size."""
import gzip, os, struct, subprocess, sys, tempfile, zlib

top = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def put(harness, name, data):
    d = os.path.join(top, harness)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# ---- IDX ----------------------------------------------------------------------
def idx(magic, dims, payload):
    return struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in dims) + payload

imgs = idx(0x803, [2, 3, 3], bytes(range(0, 18 * 14, 14)))
put("idx_images", "valid", imgs)
put("idx_images", "valid.gz", gzip.compress(imgs, mtime=0))
put("idx_images", "truncated", imgs[:-5])
put("idx_images", "trailing", imgs + b"\0\0")
put("idx_images", "labels-magic", idx(0x801, [3], b"\1\2\3"))
put("idx_images", "huge-dims", idx(0x803, [0x7fffffff, 28, 28], b"\0" * 16))
put("idx_images", "empty", b"")
labels = idx(0x801, [5], bytes([0, 9, 3, 7, 1]))
put("idx_labels", "valid", labels)
put("idx_labels", "valid.gz", gzip.compress(labels, mtime=0))
put("idx_labels", "truncated", labels[:-2])
put("idx_labels", "images-magic", imgs)
put("idx_labels", "huge-count", idx(0x801, [0xffffffff], b"\0" * 8))

# ---- PNG ----------------------------------------------------------------------
def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

def png(w, h, depth, ctype, rows, interlace=0, extra=b""):
    ihdr = struct.pack(">IIBBBBB", w, h, depth, ctype, 0, 0, interlace)
    raw = b"".join(b"\0" + r for r in rows)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + extra +
            chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))

grey = png(3, 2, 8, 0, [b"\x00\x80\xff", b"\x10\x20\x30"])
put("png", "grey8", grey)
put("png", "rgb8", png(2, 2, 8, 2, [b"\xff\0\0\0\xff\0", b"\0\0\xff\x80\x80\x80"]))
put("png", "grey16", png(2, 1, 16, 0, [b"\x12\x34\xff\xff"]))
put("png", "palette", png(2, 2, 2, 3, [b"\x40", b"\x80"],
                          extra=chunk(b"PLTE", b"\0\0\0\xff\xff\xff\x80\x80\x80")))
put("png", "grey-alpha-interlaced", png(2, 2, 8, 4, [b"\x10\xff\x20\x80", b"\x30\0\x40\x10"], 1))
put("png", "truncated", grey[:40])
put("png", "bad-crc", grey[:29] + b"\0" + grey[30:])

# ---- MAT ----------------------------------------------------------------------
def el(kind, data):
    """A MAT 5 data element, padded to 8 bytes (small format for <= 4 bytes)."""
    if len(data) <= 4 and kind != 14:
        return struct.pack("<HH", kind, len(data)) + data.ljust(4, b"\0")
    return struct.pack("<II", kind, len(data)) + data + b"\0" * (-len(data) % 8)

def mat5_var(name, dims, values, single=False, cls=None):
    cls = cls or (7 if single else 6)
    body = el(6, struct.pack("<II", cls, 0)) + el(5, struct.pack("<%di" % len(dims), *dims))
    body += el(1, name.encode())
    body += el(7, struct.pack("<%df" % len(values), *values)) if single else \
        el(9, struct.pack("<%dd" % len(values), *values))
    return el(14, body)

def mat5(*variables, compress=False):
    head = b"MATLAB 5.0 MAT-file, saelab fuzz seed".ljust(116) + b"\0" * 8 + struct.pack("<H", 0x100) + b"IM"
    out = head
    for v in variables:
        out += el(15, zlib.compress(v)) if compress else v
    return out

cube = [0.25 * i - 1 for i in range(12)]  # 2 x 3 x 2, column-major
put("mat", "double3d", mat5(mat5_var("IMAGES", [2, 3, 2], cube)))
put("mat", "single2d", mat5(mat5_var("IMAGES", [2, 2], [1.5, -2, 0.125, 4], single=True)))
put("mat", "compressed", mat5(mat5_var("IMAGES", [2, 3, 2], cube), compress=True))
put("mat", "other-name", mat5(mat5_var("X", [1, 1], [3.0])))
put("mat", "int8", mat5(mat5_var("IMAGES", [2, 2], [1, 2, 3, 4], cls=8)))
put("mat", "dims-lie", mat5(mat5_var("IMAGES", [200, 300, 2], cube)))
mat4 = struct.pack("<5i", 0, 2, 2, 0, 7) + b"IMAGES\0" + struct.pack("<4d", 1, 2, 3, 4)
put("mat", "v4", mat4)
put("mat", "truncated", mat5(mat5_var("IMAGES", [2, 3, 2], cube))[:200])

# ---- raw big-endian float32 (2 bytes of size first: rows-1, cols-1) -------------
vals = [0.5, -1.25, 3.0, 1e-3, -7.5, 2.0]
put("f32be", "2x3", bytes([1, 2]) + struct.pack(">6f", *vals))
put("f32be", "nan", bytes([1, 2]) + struct.pack(">6f", *vals[:5], float("nan")))
put("f32be", "short", bytes([1, 2]) + struct.pack(">5f", *vals[:5]))
put("f32be", "long", bytes([0, 0]) + struct.pack(">2f", 1, 2))

# ---- command lines: arguments separated by NUL --------------------------------
for name, argv in [("run", ["exp.lua", "n=3", "lr=0.1", "--seed", "42", "--out", "d"]),
                   ("stdin", ["-", "-v", "name=hello world", "flag=true", "x_1=-1e308"]),
                   ("gradcheck", ["dense", "n_out=3", "--seed", "7", "beta=1e-3"]),
                   ("bad", ["--seed", "-1", "=x", "1a=2", "--out"]),
                   ("all", ["--all", "x=nan", "y=0x10", "z="])]:
    put("args", name, b"\0".join(a.encode() for a in argv))

# ---- plugin descriptors: the harness reads them as a stream of choices --------
put("plugin", "zeros", b"\0" * 64)
put("plugin", "one-type", bytes([0, 0, 0, 3, 4, 1, 3, 0, 1, 3, 3, 1, 2, 3, 0x7f, 0, 0, 1,
                                 3, 5, ord("n"), ord("_"), ord("o"), ord("u"), ord("t"),
                                 6, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0, 0, 6, 0x40, 0, 0, 0, 0, 0, 0, 0,
                                 1, 0, 0, 1]))
put("plugin", "lying-sizes", bytes([0, 7, 0xff, 0xff, 0xff, 0xff, 4, 3, 4, ord("p"), ord("l"),
                                    ord("u"), ord("g"), 1, 0, 2] + [3, 1, 2] * 10))
put("plugin", "duplicate", bytes([0, 0, 0, 2, 2, 0, 2, 2, 0, 0, 0, 0xff, 0, 0, 0]))

# ---- model files: net:save of tiny models (needs a built saelab) ----------------
def inflate_mat5(data):
    """The same MAT 5 file with every miCOMPRESSED variable stored plain, so
    that mutations reach the description's parser (not only zlib)."""
    out, pos = data[:128], 128
    while pos + 8 <= len(data):
        kind, n = struct.unpack("<II", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        out += zlib.decompress(body) if kind == 15 else data[pos:pos + 8 + n + (-n % 8)]
        pos += 8 + n + (0 if kind == 15 else -n % 8)
    return out

if len(sys.argv) > 1:
    script = """
local sae = require "sae"
local out = sae.arg("dir", ".")
sae.model(3):add("dense", { n_out = 2, name = "enc" }):add("sigmoid", { name = "code" })
  :add("dense", { n_out = 3, tie = "enc" }):add("squared_error"):build():save(out .. "/tied.mat")
sae.model(2):add("dense", { n_out = 2 }):add("kl", { rho = 0.05, beta = 3 })
  :add("dense", { n_out = 2 }):add("squared_error"):add("l2", { lambda = 1e-4 }):build()
  :save(out .. "/kl.mat")
"""
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.argv[1], "run", "-", "--out", tmp + "/run", "dir=" + tmp],
                       input=script.encode(), check=True)
        for f in ("tied.mat", "kl.mat"):
            with open(os.path.join(tmp, f), "rb") as src:
                data = src.read()
            put("model", f, data)
            put("model", f.replace(".mat", "-plain.mat"), inflate_mat5(data))
            if f == "tied.mat":
                put("model", "truncated.mat", data[:len(data) // 2])
