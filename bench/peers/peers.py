#!/usr/bin/python3
"""The peers of saelab's benchmarks: the same workloads in PyTorch and numpy/scipy.

Run by bench/peers/run.sh (make bench-peers) with Debian's python3-torch,
python3-numpy and python3-scipy (/usr/bin/python3).  One workload per run:

  peers.py workload=W impl=I dtype=D dump=DIR [m=N epochs=N reps=N iters=N threads=N]

  workload  ksparse (impl torch), ufldl64 / ufldl784 (impl numpy or torch),
            lbfgs64 (impl scipy), peak (sgemm/dgemm peak of numpy and torch)
  dtype     fp64 or fp32
  dump      the directory saelab_side.lua wrote the initial parameters (and
            the UFLDL data) into, raw little-endian doubles

Prints `check ...` (cost and gradient norm at saelab's initial point, on the
same data) and `peer workload=... seconds=... flop=...` lines, as saelab's
side does.
"""
import os
import sys
import time

import numpy as np

ARGS = dict(a.split("=", 1) for a in sys.argv[1:])
WORKLOAD = ARGS.get("workload", "ksparse")
IMPL = ARGS.get("impl", "torch")
DTYPE = ARGS.get("dtype", "fp64")
DUMP = ARGS.get("dump", "")
THREADS = int(ARGS.get("threads", "2"))
NPDT = np.float64 if DTYPE == "fp64" else np.float32


def line(kind, **kw):
    order = ["workload", "impl", "dtype", "seconds", "flop", "gflops", "cost0", "gnorm0",
             "epochs", "cost", "iters", "evals", "threads", "blas"]
    parts = [kind]
    for k in order:
        if k in kw:
            v = kw[k]
            parts.append("%s=%s" % (k, ("%.10g" % v) if isinstance(v, (float, int)) else v))
    print(" ".join(parts), flush=True)


def load(name, rows, cols):
    a = np.fromfile(os.path.join(DUMP, name + ".f64"), dtype="<f8")
    if a.size != rows * cols:
        sys.exit("peers.py: %s holds %d numbers, expected %d x %d" % (name, a.size, rows, cols))
    return a.reshape(rows, cols)


def mnist_train(m):
    """The first m MNIST training images as rows in [0, 1] (x / 255, as saelab reads them)."""
    d = os.environ.get("SAELAB_DATA_DIR") or os.path.expanduser("~/.local/share/saelab")
    path = os.path.join(d, "mnist", "train-images-idx3-ubyte")
    with open(path, "rb") as f:
        magic, n, r, c = np.frombuffer(f.read(16), dtype=">i4")
        if magic != 2051 or m > n:
            sys.exit("peers.py: %s: not an IDX image file with %d images" % (path, m))
        X = np.frombuffer(f.read(m * r * c), dtype=np.uint8).reshape(m, r * c)
    return X.astype(np.float64) / 255.0


def blas_library():
    """The BLAS library this process has loaded (numpy's libblas.so.3 alternative)."""
    with open("/proc/self/maps") as f:
        libs = {l.split()[-1] for l in f if "blas" in l}
    return ",".join(sorted(os.path.realpath(p) for p in libs)) or "unknown"


def numpy_blas_threads():
    """OpenBLAS's thread count in this process (numpy's BLAS), or '?'."""
    import ctypes
    for lib in blas_library().split(","):
        try:
            return ctypes.CDLL(lib).openblas_get_num_threads()
        except (OSError, AttributeError):
            pass
    return "?"


def torch_setup():
    import torch
    torch.set_num_threads(THREADS)
    return torch


# ---- peak: square 2000 products ----------------------------------------------------------

def peak():
    n = 2000
    rng = np.random.default_rng(1)
    for dt, name in ((np.float64, "fp64"), (np.float32, "fp32")):
        A, B = rng.random((n, n)).astype(dt), rng.random((n, n)).astype(dt)
        best = min(timed(lambda: A @ B) for _ in range(4))
        line("peer", workload="gemm2000", impl="numpy", dtype=name, seconds=best, flop=2 * n ** 3,
             gflops=2 * n ** 3 / best / 1e9, blas=blas_library())
    torch = torch_setup()
    import scipy
    print("machine numpy_blas_threads=%s torch_threads=%d torch=%s numpy=%s scipy=%s" % (
        numpy_blas_threads(), torch.get_num_threads(), torch.__version__, np.__version__,
        scipy.__version__), flush=True)
    for dt, name in ((torch.float64, "fp64"), (torch.float32, "fp32")):
        A, B = torch.rand(n, n, dtype=dt), torch.rand(n, n, dtype=dt)
        best = min(timed(lambda: A @ B) for _ in range(4))
        line("peer", workload="gemm2000", impl="torch", dtype=name, seconds=best, flop=2 * n ** 3,
             gflops=2 * n ** 3 / best / 1e9, threads=torch.get_num_threads())


def timed(f):
    t0 = time.perf_counter()
    f()
    return time.perf_counter() - t0


# ---- the k-sparse epoch (PyTorch, autograd, torch.optim.SGD) --------------------------------

def ksparse():
    torch = torch_setup()
    m = int(ARGS.get("m", "60000"))
    epochs = int(ARGS.get("epochs", "2"))
    n_in, h, k, batch = 784, 1000, 25, 128
    dt = torch.float64 if DTYPE == "fp64" else torch.float32
    X = torch.from_numpy(mnist_train(m)).to(dt)
    W = torch.from_numpy(load("ks_W", h, n_in)).to(dt).requires_grad_()
    b = torch.from_numpy(load("ks_b", 1, h)[0]).to(dt).requires_grad_()
    c = torch.from_numpy(load("ks_b_dec", 1, n_in)[0]).to(dt).requires_grad_()

    def loss(xb):
        # plugins/topk.c: z = x W^T + b, keep the k largest z per row (TRAIN),
        # x^ = b' + z_S W (tied), J = 1/(2m) sum ||x^ - x||^2 (squared_error, mean = 1).
        z = torch.addmm(b, xb, W.t())
        vals, idx = z.topk(k, dim=1)
        zs = torch.zeros_like(z).scatter(1, idx, vals)
        y = torch.addmm(c, zs, W)
        return 0.5 * ((y - xb) ** 2).sum() / xb.shape[0]

    J = loss(X[:min(m, 1000)])
    J.backward()
    gn = float(torch.sqrt(sum((p.grad.double() ** 2).sum() for p in (W, b, c))))
    line("check", workload="ksparse", impl="torch", dtype=DTYPE, cost0=float(J), gnorm0=gn)
    for p in (W, b, c):
        p.grad = None
    # saelab: v = mu v - lr g, theta += v; torch: v = mu v + g, theta -= lr v: the same
    # iterates for a constant lr.
    opt = torch.optim.SGD([W, b, c], lr=0.01, momentum=0.9)
    torch.manual_seed(4711)
    times, cost = [], 0.0
    for _ in range(epochs):
        t0 = time.perf_counter()
        perm = torch.randperm(m)
        total, nb = 0.0, 0
        for i in range(0, m, batch):
            xb = X[perm[i:i + batch]]
            opt.zero_grad(set_to_none=True)
            J = loss(xb)
            J.backward()
            opt.step()
            total += J.item()
            nb += 1
        times.append(time.perf_counter() - t0)
        cost = total / nb
    best = min(times)
    flop = 2 * m * n_in * h + 8 * m * k * n_in
    line("peer", workload="ksparse", impl="torch", dtype=DTYPE, seconds=best, flop=flop,
         gflops=flop / best / 1e9, epochs=epochs, cost=cost, threads=torch.get_num_threads())


# ---- the UFLDL sparse autoencoder: one cost + gradient -----------------------------------

RHO, BETA, LAMBDA = 0.01, 3.0, 1e-4  # sae.models.ufldl_sparse_autoencoder's defaults


def ufldl_numpy(X, W1, b1, W2, b2):
    """J and its gradient, as saelab's dense, sigmoid, kl, dense, sigmoid, squared_error, l2."""
    m = X.shape[0]
    a1 = 1.0 / (1.0 + np.exp(-(X @ W1.T + b1)))
    rho_hat = a1.mean(axis=0)
    a2 = 1.0 / (1.0 + np.exp(-(a1 @ W2.T + b2)))
    diff = a2 - X
    kl = RHO * np.log(RHO / rho_hat) + (1 - RHO) * np.log((1 - RHO) / (1 - rho_hat))
    J = 0.5 * np.sum(diff * diff) / m + BETA * kl.sum() \
        + 0.5 * LAMBDA * (np.sum(W1 * W1) + np.sum(W2 * W2))
    d2 = diff * a2 * (1 - a2) / m
    gW2 = d2.T @ a1 + LAMBDA * W2
    gb2 = d2.sum(axis=0)
    sp = (BETA / m) * (-RHO / rho_hat + (1 - RHO) / (1 - rho_hat))
    d1 = (d2 @ W2 + sp) * a1 * (1 - a1)
    gW1 = d1.T @ X + LAMBDA * W1
    gb1 = d1.sum(axis=0)
    return J, (gW1, gb1, gW2, gb2)


def ufldl_torch_loss(torch, X, W1, b1, W2, b2):
    m = X.shape[0]
    a1 = torch.sigmoid(torch.addmm(b1, X, W1.t()))
    rho_hat = a1.mean(dim=0)
    a2 = torch.sigmoid(torch.addmm(b2, a1, W2.t()))
    kl = RHO * torch.log(RHO / rho_hat) + (1 - RHO) * torch.log((1 - RHO) / (1 - rho_hat))
    return 0.5 * ((a2 - X) ** 2).sum() / m + BETA * kl.sum() \
        + 0.5 * LAMBDA * ((W1 * W1).sum() + (W2 * W2).sum())


def ufldl_data(n_in, n_hid, m):
    tag = "ufldl%d" % n_in
    return (load(tag + "_X", m, n_in), load(tag + "_W1", n_hid, n_in), load(tag + "_b1", 1, n_hid)[0],
            load(tag + "_W2", n_in, n_hid), load(tag + "_b2", 1, n_in)[0])


def ufldl():
    n_in, n_hid = (64, 25) if WORKLOAD == "ufldl64" else (784, 196)
    m = int(ARGS.get("m", "10000"))
    reps = int(ARGS.get("reps", "10"))
    arrs = ufldl_data(n_in, n_hid, m)
    if IMPL == "numpy":
        X, W1, b1, W2, b2 = (a.astype(NPDT) for a in arrs)
        J, g = ufldl_numpy(X, W1, b1, W2, b2)
        gn = float(np.sqrt(sum(np.sum(x.astype(np.float64) ** 2) for x in g)))
        line("check", workload=WORKLOAD, impl="numpy", dtype=DTYPE, cost0=float(J), gnorm0=gn)
        f = lambda: ufldl_numpy(X, W1, b1, W2, b2)
        thr = blas_library()
    else:
        torch = torch_setup()
        dt = torch.float64 if DTYPE == "fp64" else torch.float32
        X = torch.from_numpy(arrs[0]).to(dt)
        ps = [torch.from_numpy(a).to(dt).requires_grad_() for a in arrs[1:]]

        def f():
            for p in ps:
                p.grad = None
            J = ufldl_torch_loss(torch, X, *ps)
            J.backward()
            return J

        J = f()
        gn = float(torch.sqrt(sum((p.grad.double() ** 2).sum() for p in ps)))
        line("check", workload=WORKLOAD, impl="torch", dtype=DTYPE, cost0=float(J), gnorm0=gn)
        thr = torch.get_num_threads()
    f()
    best = min(timed(f) for _ in range(reps))
    flop = 10 * m * n_in * n_hid
    line("peer", workload=WORKLOAD, impl=IMPL, dtype=DTYPE, seconds=best, flop=flop,
         gflops=flop / best / 1e9, threads=thr)


def lbfgs():
    """scipy's L-BFGS-B (no bounds) on the 64-25 problem, saelab's history length (6)."""
    from scipy.optimize import minimize
    m = int(ARGS.get("m", "10000"))
    iters = int(ARGS.get("iters", "400"))
    X, W1, b1, W2, b2 = ufldl_data(64, 25, m)
    shapes = [W1.shape, b1.shape, W2.shape, b2.shape]
    sizes = [int(np.prod(s)) for s in shapes]

    def unpack(theta):
        out, o = [], 0
        for s, n in zip(shapes, sizes):
            out.append(theta[o:o + n].reshape(s))
            o += n
        return out

    def fun(theta):
        J, g = ufldl_numpy(X, *unpack(theta))
        return J, np.concatenate([x.ravel() for x in g])

    theta0 = np.concatenate([W1.ravel(), b1, W2.ravel(), b2])
    t0 = time.perf_counter()
    r = minimize(fun, theta0, jac=True, method="L-BFGS-B",
                 options=dict(maxiter=iters, maxfun=100 * iters, maxcor=6, ftol=0.0, gtol=0.0))
    t = time.perf_counter() - t0
    line("peer", workload="lbfgs64", impl="scipy", dtype="fp64", seconds=t, iters=int(r.nit),
         evals=int(r.nfev), cost=float(r.fun))


if __name__ == "__main__":
    {"peak": peak, "ksparse": ksparse, "ufldl64": ufldl, "ufldl784": ufldl,
     "lbfgs64": lbfgs}.get(WORKLOAD, lambda: sys.exit("peers.py: unknown workload " + WORKLOAD))()
