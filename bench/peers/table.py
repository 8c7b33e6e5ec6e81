#!/usr/bin/python3
"""One table from the lines bench/peers/run.sh collected (machine, check, peer).

Per (workload, implementation, dtype): the best seconds over the rounds,
GFLOP/s from the FLOP count on the line, the fraction of the dgemm peak
(fp64: bench/dgemm_peak, saelab's CBLAS) or the sgemm peak (fp32: the best
of numpy's and PyTorch's float32 2000 x 2000 product in the same run), and
saelab's speed-up over it (peer seconds / saelab seconds, against saelab in
the peer's dtype where saelab ran it -- the k-sparse epoch in fp32 -- else
saelab fp64; for L-BFGS per iteration; saelab's own fp32 row gives its
time as a fraction of saelab's fp64).  Then the initial-point checks: cost and gradient norm of each
implementation against saelab's, same data, same initial parameters.
"""
import sys


def parse(path):
    machine, checks, peers = {}, {}, {}
    with open(path) as f:
        for raw in f:
            parts = raw.split()
            if not parts or parts[0] not in ("machine", "check", "peer"):
                continue
            kv = dict(p.split("=", 1) for p in parts[1:] if "=" in p)
            if parts[0] == "machine":
                machine.update(kv)
                continue
            key = (kv["workload"], kv["impl"], kv["dtype"])
            if parts[0] == "check":
                checks[key] = kv
            else:
                peers.setdefault(key, []).append(kv)
    return machine, checks, peers


def main(path):
    machine, checks, peers = parse(path)
    dpeak = float(machine.get("dgemm_peak", "nan"))
    gemm = {k: max(float(r["gflops"]) for r in v) for k, v in peers.items() if k[0] == "gemm2000"}
    speak = max([g for (w, i, d), g in gemm.items() if d == "fp32"] or [float("nan")])
    print("saelab bench-peers: %s, %s cores; OpenBLAS core %s; saelab's BLAS threads %s; "
          "PyTorch %s, threads %s, OMP_WAIT_POLICY for PyTorch %s, for saelab %s; "
          "numpy %s / scipy %s on %s, %s threads" % (
              machine.get("date", "?"), machine.get("nproc", "?"), machine.get("openblas_core", "?"),
              machine.get("saelab_blas_threads", "?"), machine.get("torch", "?"),
              machine.get("torch_threads", "?"), machine.get("torch_OMP_WAIT_POLICY", "?"),
              "%s, %s threads, OPENBLAS_THREAD_TIMEOUT %s" % (
                  machine.get("saelab_OMP_WAIT_POLICY", "?"),
                  machine.get("saelab_OMP_NUM_THREADS", "?"),
                  machine.get("saelab_OPENBLAS_THREAD_TIMEOUT", "?")),
              machine.get("numpy", "?"), machine.get("scipy", "?"),
              next((r[0].get("blas", "?").split(",")[-1] for k, r in peers.items()
                    if k[:2] == ("gemm2000", "numpy")), "?"), machine.get("numpy_blas_threads", "?")))
    print("load average (1, 5, 15 min): before %s, after %s; OPENBLAS_CORETYPE=%s" % (
        machine.get("load_before", "?"), machine.get("load_after", "?"),
        machine.get("OPENBLAS_CORETYPE", "?")))
    print("peaks (GFLOP/s, 2000 x 2000): dgemm %.1f (bench/dgemm_peak, saelab's CBLAS); "
          "sgemm %.1f (best float32 product below); %s" % (
              dpeak, speak, ", ".join("%s %s %.1f" % (i, d, g) for (w, i, d), g in sorted(gemm.items()))))
    bw = sorted(k for k in machine if k.startswith("membw_"))
    if bw:  # membw_<size>_<dtype>_t<threads> = GB/s,ms
        print("memory (bench/membw: the momentum SGD step's pass, 5 arrays' bytes moved; "
              "W = one 784-1000 matrix, 8W beyond the L3): " + "; ".join(
                  "%s %s %s thr %s GB/s (%s ms)" % (tuple(k.split("_")[1:3]) + (k.split("_")[3][1:],)
                                                   + tuple(machine[k].split(",")))
                  for k in bw))
    print()
    hdr = ["workload", "implementation", "dtype", "seconds (best)", "rounds", "GFLOP/s",
           "of peak", "saelab speed-up (same dtype)"]
    rows = []
    order = ["ksparse", "ufldl784", "ufldl64", "lbfgs64"]
    for w in order:
        keys = sorted((k for k in peers if k[0] == w),
                      key=lambda k: (k[1] != "saelab", k[1], k[2] != "fp64", k[2]))

        def per_iter(key):  # saelab's best seconds (per iteration for L-BFGS), or None
            if key not in peers:
                return None
            b = min(peers[key], key=lambda r: float(r["seconds"]))
            return float(b["seconds"]) / (float(b["iters"]) if "iters" in b else 1.0)

        base64 = per_iter((w, "saelab", "fp64"))
        for k in keys:
            best = min(peers[k], key=lambda r: float(r["seconds"]))
            s = float(best["seconds"])
            if "flop" in best:
                g = float(best["flop"]) / s / 1e9
                gf, frac = "%.1f" % g, "%.0f %%" % (100 * g / (dpeak if k[2] == "fp64" else speak))
            else:
                gf, frac = "-", "-"
            per = s / float(best["iters"]) if "iters" in best else s
            extra = ""
            if "iters" in best:
                extra = " (%s it, %s evals, %.1f it/s, final cost %.6g)" % (
                    best["iters"], best["evals"], float(best["iters"]) / s, float(best["cost"]))
            base_s = per_iter((w, "saelab", k[2])) or base64
            if k[1] == "saelab":
                sp = "-" if k[2] == "fp64" or base64 is None else "%.2f of fp64" % (per / base64)
            else:
                sp = "-" if base_s is None else "%.2fx" % (per / base_s)
            rows.append([w, k[1], k[2], "%.4g%s" % (s, extra), str(len(peers[k])), gf, frac, sp])
    widths = [max(len(r[i]) for r in rows + [hdr]) for i in range(len(hdr))]
    fmt = lambda r: "| " + " | ".join(c.ljust(wd) for c, wd in zip(r, widths)) + " |"
    print(fmt(hdr))
    print("|" + "|".join("-" * (wd + 2) for wd in widths) + "|")
    for r in rows:
        print(fmt(r))
    print()
    # Each UFLDL evaluation against its five products alone (bench/dgemm_peak
    # ufldl, timed in every round right before the evaluations: same shapes,
    # hot operands, beta = 1; the best round): what the evaluation spends
    # outside them, and the speed-up over numpy that an evaluation costing
    # only its products would have -- the ceiling on this BLAS.
    for w, name, n_in, n_hid in (("ufldl784", "784-196", 784, 196), ("ufldl64", "64-25", 64, 25)):
        prod = peers.get((w + "_products", "dgemm", "fp64"))
        sae = peers.get((w, "saelab", "fp64"))
        flop = 10 * 10000 * n_in * n_hid  # dgemm_peak's shapes: m = 10000
        if not prod or not sae or float(sae[0]["flop"]) != flop:
            continue  # (a run with another m: no like-for-like floor)
        p = min(float(r["seconds"]) for r in prod)
        s = min(float(r["seconds"]) for r in sae)
        npy = peers.get((w, "numpy", "fp64"))
        ceil = ""
        if npy:
            n = min(float(r["seconds"]) for r in npy)
            ceil = "; numpy fp64 / products alone = %.2fx (the speed-up over numpy of an " \
                   "evaluation that cost only its products)" % (n / p)
        print("%s: the five products alone %.4g s (bench/dgemm_peak, %.0f %% of the dgemm peak); "
              "saelab's best evaluation %.4g s spends %.4g s (%.0f %%) outside them%s" % (
                  name, p, 100 * flop / p / 1e9 / dpeak, s, s - p,
                  100 * (s - p) / s, ceil))
    print()
    print("Initial point (same data, saelab's initial parameters; k-sparse: TRAIN mode, first "
          "1000 rows): cost, gradient norm, relative difference to saelab's")
    for w in order:
        base = checks.get((w, "saelab", "fp64"))
        for k in sorted(k for k in checks if k[0] == w and k[1] != "saelab"):
            c = checks[k]
            if not base:
                continue
            dc = abs(float(c["cost0"]) - float(base["cost0"])) / abs(float(base["cost0"]))
            dg = abs(float(c["gnorm0"]) - float(base["gnorm0"])) / abs(float(base["gnorm0"]))
            print("  %-9s %-6s %s: cost %.10g (saelab %.10g, rel diff %.1e), |grad| %.8g "
                  "(rel diff %.1e)" % (w, k[1], k[2], float(c["cost0"]), float(base["cost0"]), dc,
                                       float(c["gnorm0"]), dg))
    ks = sorted(k for k in peers if k[0] == "ksparse")
    if ks:
        print("k-sparse: the last epoch's mean batch cost (own shuffles, so close, not equal): " +
              ", ".join("%s %s %.6g" % (k[1], k[2], float(peers[k][-1]["cost"])) for k in ks))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: table.py LINES")
    main(sys.argv[1])
