#!/usr/bin/python3
"""bench/latinh_inference.py -- the numpy twin of bench/latinh_inference.lua.

The same FISTA loop as saelab/sparse.h (non-negative codes, lateral
inhibition S folded into the Gram matrix G = D D^T + 2 S), on the same
D, S, X and step eta, for a fixed number of iterations.  Reads the matrices
the Lua side wrote (raw little-endian doubles, row-major), prints one line:
  numpy <seconds best of reps> <codes per second> <max |Z_numpy - Z_saelab|>
Usage: latinh_inference.py DIR m n K iters lambda eta reps
"""
import sys
import time

import numpy as np


def fista(X, D, S, lam, eta, iters):
    G = D @ D.T + 2.0 * S
    B = eta * (X @ D.T)
    Z = np.zeros((X.shape[0], D.shape[0]))
    Y = Z.copy()
    t = 1.0
    for _ in range(iters):
        Zo = Z
        Z = np.maximum(Y + B - eta * (Y @ G) - eta * lam, 0.0)
        t1 = 0.5 * (1.0 + np.sqrt(1.0 + 4.0 * t * t))
        Y = Z + ((t - 1.0) / t1) * (Z - Zo)
        t = t1
    return Z


def main():
    d, m, n, K, iters = sys.argv[1], *map(int, sys.argv[2:6])
    lam, eta, reps = float(sys.argv[6]), float(sys.argv[7]), int(sys.argv[8])
    load = lambda name, r, c: np.fromfile(f"{d}/{name}", dtype="<f8").reshape(r, c)
    X, D, S, Zs = load("X", m, n), load("D", K, n), load("S", K, K), load("Z", m, K)
    best, Z = float("inf"), None
    for _ in range(reps):
        t0 = time.perf_counter()
        Z = fista(X, D, S, lam, eta, iters)
        best = min(best, time.perf_counter() - t0)
    print(f"numpy {best:.6f} {m / best:.1f} {np.abs(Z - Zs).max():.3g}")


if __name__ == "__main__":
    main()
