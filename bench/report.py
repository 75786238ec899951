#!/usr/bin/python3
"""Reads the JSON of the samba CPU benchmarks (bench/cpu/*.cpp, --benchmark_out_format=json), prints
one table with each workload's throughput against the ceilings measured in the same run and against
ggml, and draws the plots of docs/benchmarks.md.

    /usr/bin/python3 bench/report.py build/release/bench-results/*.json \
        [--plots docs/bench] [--markdown table.md]

Benchmark names are <workload>/<dims>/<dtype>/<mode>/T:<n>/ctx:<n>/batch:<n> (bench/cpu/common.hpp).
Files whose JSON context has samba_bench_peer = ggml come from bench/peers/ggml.cpp (the same names
on ggml; scripts/run-bench.sh --ggml DIR): each of our rows then gets ggml's tok/s for the same name
and samba ÷ ggml, both measured in this run. Without them, the table falls back to ggml's figures
from /work/shared/PEERS.md (another machine, another day), compared as ratios of ratios:
(ours / our ceiling) / (ggml / ggml's ceiling), on tok/s, with the sgemm ceiling for prefill and the
memcpy ceiling for decode; that column is labelled "vs ggml (PEERS.md)".
"""

import argparse
import json
import re
import statistics
import sys
from pathlib import Path

# --- ggml (llama.cpp's CPU backend, commit d99724f2), from PEERS.md -----------------------------
# The fallback when a run has no ggml results of its own (bench/peers/ggml.cpp): figures measured on
# an AMD EPYC Zen 4 on 2026-11-25, compared only as ratios of ratios against the ceilings.
# Ceilings of the run that measured ggml, (1 thread, 2 threads).
GGML_SGEMM_GFLOPS = (84.2, 161.3)
GGML_MEMCPY_GBS = (26.2, 44.0)

# (workload, dims, dtype) -> {"prefill": {T: (tok/s 1t, 2t)}, "decode_ms": {ctx or None: (1t, 2t)}}.
# ctx None: the cost does not depend on the context (state of fixed size, SWA ring full at W).
# Where PEERS.md lists two attention paths, the faster one of each column is taken (flash for
# prefill, softmax for decode): the peer at its best.
GGML = {
    ("samba_pair", "421M", "f32"): {"prefill": {2048: (449, 821), 4096: (448, 838)},
                                    "decode_ms": {None: (13.2, 7.6)}},
    ("samba_pair", "421M", "bf16"): {"prefill": {2048: (881, 1670), 4096: (754, 1474)},
                                     "decode_ms": {None: (6.4, 4.7)}},
    ("mamba", "421M", "f32"): {"prefill": {2048: (1330, 2522), 4096: (1333, 2475)},
                               "decode_ms": {None: (2.9, 1.8)}},
    ("mamba", "421M", "bf16"): {"prefill": {2048: (2110, 3750), 4096: (2053, 3743)},
                                "decode_ms": {None: (1.2, 0.70)}},
    ("selective_scan", "421M", "f32"): {"prefill": {2048: (3812, 7553), 4096: (3992, 7352)},
                                        "decode_ms": {None: (0.25, 0.13)}},
    ("causal_conv", "421M", "f32"): {"prefill": {2048: (48539, 85567), 4096: (43683, 90020)},
                                     "decode_ms": {None: (0.016, 0.010)}},
    ("swiglu", "421M", "f32"): {"prefill": {2048: (1758, 3767), 4096: (2071, 3853)},
                                "decode_ms": {None: (4.1, 2.3)}},
    ("swiglu", "421M", "bf16"): {"prefill": {2048: (4345, 8743), 4096: (4192, 7471)},
                                 "decode_ms": {None: (1.2, 0.60)}},
    ("swa", "421M", "f32"): {"prefill": {2048: (2854, 5374), 4096: (2212, 4167)},
                             "decode_ms": {None: (1.6, 0.74)}},
    ("causal_attention", "421M", "f32"): {"prefill": {2048: (2831, 5346), 4096: (1819, 3390)},
                                          "decode_ms": {4096: (2.3, 1.2), 16384: (8.0, 4.4)}},
    ("rmsnorm", "421M", "f32"): {"prefill": {2048: (515622, 1009804), 4096: (589930, 985993)},
                                 "decode_ms": {None: (0.002, 0.003)}},
    ("samba_pair", "1.3B", "f32"): {"prefill": {2048: (234, 454), 4096: (230, 436)},
                                    "decode_ms": {None: (27.6, 18.7)}},
    ("samba_pair", "1.3B", "bf16"): {"prefill": {2048: (447, 866), 4096: (400, 730)},
                                     "decode_ms": {None: (14.4, 9.9)}},
    ("mamba", "1.3B", "f32"): {"prefill": {2048: (759, 1470), 4096: (758, 1480)},
                               "decode_ms": {None: (7.0, 4.0)}},
    ("selective_scan", "1.3B", "f32"): {"prefill": {2048: (2678, 5309), 4096: (2661, 5195)},
                                        "decode_ms": {None: (0.37, 0.19)}},
    ("swiglu", "1.3B", "f32"): {"prefill": {2048: (897, None), 4096: (924, None)},
                                "decode_ms": {None: (8.9, None)}},
    ("swiglu", "1.3B", "bf16"): {"prefill": {2048: (2081, None), 4096: (1970, None)},
                                 "decode_ms": {None: (4.2, None)}},
    ("swa", "1.3B", "f32"): {"prefill": {2048: (1540, 3286), 4096: (1261, 2529)},
                             "decode_ms": {None: (4.0, 2.1)}},
}

WORKLOAD_ORDER = ["rmsnorm", "swiglu", "mamba", "selective_scan", "causal_conv", "mamba2", "gla",
                  "retention", "rglru", "swa", "causal_attention", "samba_pair", "llama_pair",
                  "griffin_triple"]
TITLES = {
    "rmsnorm": "RMSNorm", "swiglu": "SwiGLU MLP", "mamba": "Mamba layer", "mamba2": "Mamba-2 layer",
    "gla": "GLA layer", "retention": "Retention layer", "rglru": "RG-LRU layer (Griffin)",
    "selective_scan": "selective scan alone", "causal_conv": "causal conv alone",
    "swa": "sliding-window attention", "causal_attention": "full causal attention",
    "samba_pair": "Samba block pair", "llama_pair": "Llama block pair",
    "griffin_triple": "Griffin block triple",
}


KEY_FIELDS = ("workload", "dims", "dtype", "mode", "T", "ctx", "batch")


def parse_name(name):
    parts = name.split("/")
    row = {"workload": parts[0], "dims": parts[1], "dtype": parts[2], "mode": parts[3]}
    for p in parts[4:]:
        key, sep, value = p.partition(":")
        if sep and key in ("T", "ctx", "batch"):
            row[key] = int(value)
    return row


def load(paths):
    """Returns (context of our first file, {key: row}, {key: ggml's row}) with repetitions folded:
    the best run for a ceiling, the median for everything else. ggml's rows are those of the files
    whose context names samba_bench_peer ggml (bench/peers/ggml.cpp)."""
    runs, context, order = {}, None, []
    peer_runs, peer_order = {}, []
    threads_of_run = first_path = None
    for path in paths:
        text = Path(path).read_text()
        if not text.strip():  # a program whose benchmarks the filter left out writes nothing
            continue
        data = json.loads(text)
        ctx = data.get("context", {})
        peer = ctx.get("samba_bench_peer")
        if peer not in (None, "ggml"):
            sys.exit(f"report.py: {path} comes from an unknown peer '{peer}'")
        if threads_of_run is None:
            threads_of_run, first_path = ctx.get("samba_bench_threads"), path
        elif ctx.get("samba_bench_threads") != threads_of_run:
            sys.exit(f"report.py: {path} ran on {ctx.get('samba_bench_threads')} threads, "
                     f"{first_path} on {threads_of_run}: one run at a time")
        if context is None and peer is None:
            context = ctx
        into, into_order = (peer_runs, peer_order) if peer else (runs, order)
        for b in data.get("benchmarks", []):
            if b.get("run_type", "iteration") != "iteration" or b.get("error_occurred"):
                continue
            row = parse_name(b["run_name"])
            key = tuple(row.get(k) for k in KEY_FIELDS)
            if key not in into:
                into[key] = []
                into_order.append(key)
            into[key].append({**row, "tok_s": b.get("tok/s", 0.0), "gflop_s": b.get("GFLOP/s", 0.0),
                              "gb_s": b.get("GB/s", 0.0), "state_mib": b.get("state_MiB")})
    return context or {}, fold(runs, order), fold(peer_runs, peer_order)


def fold(runs, order):
    """One row per key: the best repetition of a ceiling, the median of anything else."""
    rows = {}
    for key in order:
        rs = runs[key]
        if rs[0]["mode"] == "ceiling":
            rows[key] = max(rs, key=lambda r: (r["gflop_s"], r["gb_s"]))
        else:
            med = dict(rs[0])
            for f in ("tok_s", "gflop_s", "gb_s"):
                med[f] = statistics.median(r[f] for r in rs)
            rows[key] = med
    return rows


def ggml_ratio(r, sgemm, memcpy, threads):
    """The fallback without ggml results in the run: (ours / our ceiling) / (ggml / ggml's ceiling)
    on tok/s from PEERS.md's figures, or None where ggml has no figure."""
    if threads not in (1, 2) or r["batch"] != 1:
        return None
    peer = GGML.get((r["workload"], r["dims"], r["dtype"]))
    if not peer:
        return None
    i = threads - 1
    if r["mode"] == "prefill":
        fig = peer["prefill"].get(r["T"])
        ggml_tok_s = fig[i] if fig else None
        ours, theirs = sgemm, GGML_SGEMM_GFLOPS[i]
    elif r["mode"] == "decode":
        decode = peer["decode_ms"]
        fig = decode.get(r["ctx"]) if r["ctx"] in decode else decode.get(None)
        ggml_tok_s = 1000.0 / fig[i] if fig and fig[i] else None
        ours, theirs = memcpy, GGML_MEMCPY_GBS[i]
    else:
        return None
    if not ggml_tok_s or not ours:
        return None
    return (r["tok_s"] / ours) / (ggml_tok_s / theirs)


def fmt(v, digits=3):
    """About `digits` significant figures; thousands separated."""
    if v is None:
        return "–"
    if v == 0 or v >= 10 ** digits:
        return f"{v:,.0f}"
    if abs(v) < 1:
        return f"{v:.{digits - 1}g}"
    return f"{v:.{max(0, digits - len(str(int(abs(v)))))}f}"


def machine_name(cpu):
    """'AMD EPYC (family 25, model 1; avx2 fma)' -> 'AMD EPYC Zen 3 (family 25 model 1, AVX2)'."""
    m = re.match(r"(.*) \(family (\d+), model (\d+); (.*)\)", cpu)
    if not m:
        return cpu
    name, family, model, isa = m.group(1), int(m.group(2)), int(m.group(3)), m.group(4)
    zen = ""
    if "AMD" in name:
        zen4 = 0x10 <= model <= 0x1F or 0x60 <= model <= 0x7F or 0xA0 <= model <= 0xAF
        zen = {0x17: " Zen 2" if model >= 0x30 else " Zen/Zen+",
               0x19: " Zen 4" if zen4 else " Zen 3",
               0x1A: " Zen 5"}.get(family, "")
    widest = "AVX-512" if "avx512f" in isa else ("AVX2" if "avx2" in isa else "SSE")
    return f"{name}{zen} (family {family} model {model}, {widest})"


def read_ceilings(rows):
    """{buffer MiB: GB/s} of the read ceilings of the run (bench/cpu/ceilings.cpp)."""
    out = {}
    for r in rows.values():
        m = re.fullmatch(r"(\d+)MiB", r["dims"])
        if r["workload"] == "read_ceiling" and m:
            out[int(m.group(1))] = r["gb_s"]
    return out


def read_fraction(r, reads):
    """A decode row's GB/s over the read rate of the smallest measured buffer at least as large as
    the bytes it reads per token (the largest buffer if none is): the same cache regime."""
    if r["mode"] != "decode" or not reads or not r["tok_s"] or not r["gb_s"]:
        return None
    mib = r["gb_s"] * 1e9 * r["batch"] / r["tok_s"] / 2 ** 20  # bytes per step
    size = min((s for s in reads if s >= mib), default=max(reads))
    return 100 * r["gb_s"] / reads[size]


def table(rows, ggml_rows, sgemm, memcpy, threads):
    """With ggml's rows of this run: its tok/s and samba ÷ ggml for the same name; without them,
    the ratio of ratios against PEERS.md's figures."""
    reads = read_ceilings(rows)
    head = ["workload", "dims", "weights", "mode", "T", "ctx", "batch", "tok/s", "GFLOP/s", "GB/s",
            "% sgemm", "% memcpy", "% read"]
    head += ["ggml tok/s", "samba ÷ ggml"] if ggml_rows else ["vs ggml (PEERS.md)"]
    order = {w: i for i, w in enumerate(WORKLOAD_ORDER)}
    body = []
    for key, r in sorted(((k, r) for k, r in rows.items()
                          if r["mode"] != "ceiling" and not r["workload"].startswith("paper_")),
                         key=lambda kr: (kr[1]["dims"] != "421M", order.get(kr[1]["workload"], 99))):
        line = [r["workload"], r["dims"], r["dtype"], r["mode"], str(r["T"]),
                str(r["ctx"]) if r["mode"] == "decode" and r["ctx"] else "",
                str(r["batch"]), fmt(r["tok_s"]), fmt(r["gflop_s"]), fmt(r["gb_s"]),
                fmt(100 * r["gflop_s"] / sgemm, 2) if sgemm else "–",
                fmt(100 * r["gb_s"] / memcpy, 2) if memcpy else "–",
                fmt(read_fraction(r, reads), 2) if r["mode"] == "decode" else ""]
        if ggml_rows:
            g = ggml_rows.get(key)
            line += [fmt(g["tok_s"]) if g else "",
                     f"{r['tok_s'] / g['tok_s']:.2f}×" if g and g["tok_s"] else ""]
        else:
            ratio = ggml_ratio(r, sgemm, memcpy, threads)
            line.append(f"{ratio:.2f}×" if ratio is not None else "")
        body.append(line)
    return head, body


def print_table(head, body, numeric_from=4):
    widths = [max([len(h)] + [len(r[i]) for r in body]) for i, h in enumerate(head)]

    def line(cells):
        return "  ".join(c.rjust(w) if i >= numeric_from else c.ljust(w)
                         for i, (c, w) in enumerate(zip(cells, widths)))

    print(line(head))
    print("  ".join("-" * w for w in widths))
    for r in body:
        print(line(r))


def markdown(head, body, numeric_from=4):
    lines = ["| " + " | ".join(head) + " |",
             "|" + "|".join("---:" if i >= numeric_from else "---" for i in range(len(head))) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in body]
    return "\n".join(lines) + "\n"


def notes(context, measured):
    """Caveats of the ggml comparison that the table cannot show."""
    cpu = context.get("cpu", "")
    out = ["selective_scan: ggml's figure includes softplus(dt) (fused); ours does not (MambaLayer "
           "applies it before the scan)."]
    if measured:
        out += ["ggml runs llama.cpp's graphs (bench/peers/ggml.cpp): attention with "
                "ggml_flash_attn_ext over an f16 KV cache and a dense mask; bf16 weights round "
                "the activations to bf16; each graph built once and only computed in the loop.",
                "samba ÷ ggml: tok/s over tok/s of the same benchmark name in this run; "
                "> 1: samba is faster."]
        return out
    if "avx512_bf16" not in cpu:
        out.append("bf16 rows: ggml's bf16 figures come from AVX512-BF16 dot products, which this "
                   "CPU lacks; no bf16 GEMM path here can reach them.")
    if "avx512f" not in cpu:
        out.append("ggml's machine (PEERS.md) has AVX-512, this one does not: the ratios of ratios "
                   "correct for the ceilings, not for the instruction set.")
    return out


# --- the paper's comparison (bench/cpu/paper.cpp) -------------------------------------------------

def decode_seconds(points, n):
    """Seconds to decode n tokens from an empty context: the integral of the step time over the
    context 0 … n, linear between the measured contexts (constant before the first, and past the
    last only if n is beyond it — then the result is None)."""
    pts = sorted(points)
    if not pts or n > pts[-1][0]:
        return None
    total, prev_ctx, prev_t = 0.0, 0, pts[0][1]
    for ctx, t in pts:
        if ctx >= n:
            t_n = prev_t + (t - prev_t) * (n - prev_ctx) / (ctx - prev_ctx) if ctx > prev_ctx else t
            return total + (prev_t + t_n) / 2 * (n - prev_ctx)
        total += (prev_t + t) / 2 * (ctx - prev_ctx)
        prev_ctx, prev_t = ctx, t
    return total


def paper(rows, context):
    """Samba vs the same-size Llama: (head, body) of the table, or None without paper_* rows."""
    get = {}
    for r in rows.values():
        if r["workload"] in ("paper_samba", "paper_llama"):
            get[(r["workload"][6:], r["mode"], r["T"] if r["mode"] == "prefill" else r["ctx"])] = r
    if not get:
        return None
    head = ["tokens", "Samba prefill tok/s", "Llama prefill tok/s", "prefill ×",
            "Samba step ms", "Llama step ms", "decode N tokens ×", "Samba state MiB",
            "Llama state MiB"]
    lengths = sorted({k[2] for k in get})
    steps = {m: [(k[2], 1.0 / get[k]["tok_s"]) for k in get if k[0] == m and k[1] == "decode"]
             for m in ("samba", "llama")}
    body = []
    for n in lengths:
        ps, pl = get.get(("samba", "prefill", n)), get.get(("llama", "prefill", n))
        ds, dl = get.get(("samba", "decode", n)), get.get(("llama", "decode", n))
        ts, tl = decode_seconds(steps["samba"], n), decode_seconds(steps["llama"], n)
        state = {m: (get.get((m, "decode", n)) or get.get((m, "prefill", n)) or {}).get("state_mib")
                 for m in ("samba", "llama")}
        body.append([tokens_label(n), fmt(ps and ps["tok_s"]), fmt(pl and pl["tok_s"]),
                     f"{ps['tok_s'] / pl['tok_s']:.2f}×" if ps and pl else "",
                     fmt(ds and 1e3 / ds["tok_s"]), fmt(dl and 1e3 / dl["tok_s"]),
                     f"{tl / ts:.2f}×" if ts and tl else "",
                     fmt(state["samba"]), fmt(state["llama"])])
    return head, body


def plot_paper(rows, outdir, caption, plt):
    sel = {}
    for r in rows.values():
        if r["workload"] in ("paper_samba", "paper_llama"):
            sel.setdefault((r["workload"][6:], r["mode"]), []).append(r)
    if not sel:
        return None
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.6))
    names = {"samba": "Samba [Mamba, MLP, SWA, MLP]", "llama": "Llama [attention, MLP] × 2"}
    panels = [("prefill", "T", "tok_s", "prompt length (chunks of 2048)", "prefill tok/s",
               "Prefill throughput"),
              ("decode", "ctx", "tok_s", "tokens already in the context", "decode tok/s",
               "Decode step"),
              (None, None, "state_mib", "tokens seen", "state per sequence (MiB)",
               "Memory per sequence")]
    for ax, (mode, x, y, xlabel, ylabel, title) in zip(axes, panels):
        xs = []
        for m in ("samba", "llama"):
            if mode:
                pts = sorted((r[x], r[y]) for r in sel.get((m, mode), []))
            else:  # memory: decode states (primed) and prefill states (real), by length
                pts = sorted({**{r["T"]: r[y] for r in sel.get((m, "prefill"), [])},
                              **{r["ctx"]: r[y] for r in sel.get((m, "decode"), [])}}.items())
            pts = [p for p in pts if p[1]]
            if pts:
                ax.plot(*zip(*pts), "-o", label=names[m])
                xs += [p[0] for p in pts]
        log_axes(ax, xs, xlabel, ylabel, title)
    fig.suptitle("Samba vs a Transformer of the same size (59M parameters, Samba-421M dims; one "
                 f"Samba block pair vs two Llama pairs) — {caption}", fontsize=10)
    fig.tight_layout()
    path = outdir / "paper_samba_vs_llama.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


# --- plots -------------------------------------------------------------------------------------

LINE = {"f32": "-", "bf16": "--", "f16": ":"}
MARK = {"421M": "o", "1.3B": "s"}


def tokens_label(n):
    return f"{n // 1024}K" if n >= 1024 and n % 1024 == 0 else str(n)


def log_axes(ax, xs, xlabel, ylabel, title):
    """Base-2 log x axis ticked at the sizes that were run, log y axis."""
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    xs = sorted(set(xs))
    if xs:
        ax.set_xticks(xs)
        ax.set_xticklabels([tokens_label(x) for x in xs])
        ax.xaxis.set_minor_locator(__import__("matplotlib").ticker.NullLocator())
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    if ax.lines:
        ax.legend(fontsize=7)


def plot_all(rows, ggml_rows, outdir, sgemm, threads, machine):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("report.py: no matplotlib (apt-get install python3-matplotlib): no plots",
              file=sys.stderr)
        return []
    outdir.mkdir(parents=True, exist_ok=True)
    rs = [r for r in rows.values() if r["mode"] != "ceiling"]
    caption = f"{machine}, {threads} thread{'s' if threads != 1 else ''}"
    ggml_marks = ("× = ggml, measured in this run" if ggml_rows else
                  "× = ggml's figure (PEERS.md) scaled to this run's sgemm ceiling")
    written = []
    p = plot_paper(rows, outdir, caption, plt)
    if p:
        written.append(p)

    def select(x, **want):
        """[(r[x], tok/s)] of the rows matching `want`, sorted by x."""
        return sorted((r[x], r["tok_s"]) for r in rs if all(r[k] == v for k, v in want.items()))

    def ggml_scaled(workload, dims, dtype):
        """ggml's prefill tok/s: measured in this run, or else PEERS.md's × (our sgemm / ggml's
        sgemm), same thread count."""
        if ggml_rows:
            return sorted((g["T"], g["tok_s"]) for g in ggml_rows.values()
                          if (g["workload"], g["dims"], g["dtype"], g["mode"]) ==
                          (workload, dims, dtype, "prefill"))
        peer = GGML.get((workload, dims, dtype))
        if not peer or threads not in (1, 2) or not sgemm:
            return []
        i = threads - 1
        return [(T, v[i] * sgemm / GGML_SGEMM_GFLOPS[i])
                for T, v in sorted(peer["prefill"].items()) if v[i]]

    def prefill_curves(ax, workloads, name_workload):
        """tok/s vs T per (workload, dims, dtype); T = 1 is decode at batch 1, smallest context."""
        xs = []
        for w in workloads:
            for dims in ("421M", "1.3B"):
                for dtype in ("f32", "bf16"):
                    pts = select("T", workload=w, dims=dims, dtype=dtype, mode="prefill")
                    if len(workloads) == 1:
                        decode = select("ctx", workload=w, dims=dims, dtype=dtype, mode="decode",
                                        batch=1)
                        pts = [(1, decode[0][1])] + pts if decode else pts
                    if not pts:
                        continue
                    label = f"{TITLES[w] + ' ' if name_workload else ''}{dims} {dtype}"
                    ax.plot(*zip(*pts), LINE[dtype], marker=MARK.get(dims, "o"), label=label)
                    xs += [p[0] for p in pts]
                    g = ggml_scaled(w, dims, dtype)
                    if g:
                        ax.plot(*zip(*g), "x", ms=9, mew=2, color=ax.lines[-1].get_color(),
                                label=f"ggml {label}{'' if ggml_rows else ' (scaled)'}")
                        xs += [p[0] for p in g]
        return xs

    def save(fig, name):
        fig.tight_layout()
        path = outdir / name
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(path)

    # 1. tok/s vs T for every layer, f32 against bf16.
    layers = [w for w in WORKLOAD_ORDER[:8] if any(r["workload"] == w for r in rs)]
    if layers:
        cols = 4
        fig, axes = plt.subplots((len(layers) + cols - 1) // cols, cols,
                                 figsize=(4.2 * cols, 3.8 * ((len(layers) + cols - 1) // cols)),
                                 squeeze=False)
        for ax, w in zip(axes.flat, layers):
            log_axes(ax, prefill_curves(ax, [w], False), "T (1 = one decode step)", "tok/s",
                     TITLES[w])
        for ax in list(axes.flat)[len(layers):]:
            ax.axis("off")
        fig.suptitle("Layer throughput vs prompt length T (one call from a fresh state; T = 1: one "
                     f"decode step, state filled)\n{ggml_marks} — {caption}", fontsize=10)
        save(fig, "layers_tok_s.png")

    # 2. decode tok/s vs context: sliding window against full attention, layers and block pairs.
    panels = [p for p in [("swa", "causal_attention", "layers"),
                          ("samba_pair", "llama_pair", "block pairs")]
              if any(r["workload"] in p[:2] and r["mode"] == "decode" for r in rs)]
    if panels:
        fig, axes = plt.subplots(1, len(panels), figsize=(6.4 * len(panels), 4.4), squeeze=False)
        for ax, (sliding, full, what) in zip(axes.flat, panels):
            xs = []
            for w in (sliding, full):
                for dims in ("421M", "1.3B"):
                    for dtype in ("f32", "bf16"):
                        for batch in (1, 8):
                            pts = select("ctx", workload=w, dims=dims, dtype=dtype, mode="decode",
                                         batch=batch)
                            if not pts:
                                continue
                            ax.plot(*zip(*pts), LINE[dtype], marker="o" if batch == 1 else "^",
                                    label=f"{TITLES[w]} {dims} {dtype}, batch {batch}")
                            xs += [p[0] for p in pts]
            log_axes(ax, xs, "tokens already in the context", "decode tok/s (all sequences)",
                     f"Decode: sliding window vs full attention ({what})")
        fig.suptitle(caption, fontsize=9)
        save(fig, "decode_vs_context.png")

    # 3. Samba against Llama block pairs, prefill tok/s vs T.
    if any(r["workload"] in ("samba_pair", "llama_pair") and r["mode"] == "prefill" for r in rs):
        fig, ax = plt.subplots(figsize=(7.5, 4.8))
        xs = prefill_curves(ax, ["samba_pair", "llama_pair"], True)
        log_axes(ax, xs, "prompt length T (one call from a fresh state)", "prefill tok/s",
                 "Prefill: Samba [Mamba, MLP, SWA, MLP] vs Llama [attention, MLP] × 2\n"
                 f"{ggml_marks}\n{caption}")
        save(fig, "blocks_prefill.png")
    return written


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("json", nargs="+", help="Google Benchmark JSON files of one run")
    ap.add_argument("--plots", type=Path, help="directory for the PNG plots")
    ap.add_argument("--markdown", type=Path, help="also write the table as Markdown here")
    args = ap.parse_args()

    context, rows, ggml_rows = load(args.json)
    threads = int(context.get("samba_bench_threads", "1"))
    ceil = {r["workload"]: r for r in rows.values() if r["mode"] == "ceiling"}
    sgemm = ceil.get("sgemm_ceiling", {}).get("gflop_s")
    memcpy = ceil.get("memcpy_ceiling", {}).get("gb_s")
    samba_gemm = ceil.get("samba_gemm_ceiling", {}).get("gflop_s")
    machine = machine_name(context.get("cpu", "unknown CPU"))
    print(f"machine: {machine}; {context.get('num_cpus', '?')} CPUs; {threads} thread(s); "
          f"{context.get('samba_bench_set', '?')} set; {context.get('date', '')}")
    print(f"malloc: {context.get('malloc', '?')}")
    print(f"ceilings of this run: Eigen sgemm 2048³ f32 {fmt(sgemm)} GFLOP/s, "
          f"memcpy 1 GiB {fmt(memcpy)} GB/s (read + write); samba's own GEMM (cpu/gemm.hpp, "
          f"{context.get('samba_cpu_isa', '?')}) {fmt(samba_gemm)} GFLOP/s at the same size")
    print(f"bf16 weights' products: {context.get('samba_bf16_products', 'exact')} "
          "(SAMBA_BF16_PRODUCTS; rounded: x rounded to bf16 where the CPU has bf16 products)")
    reads = read_ceilings(rows)
    if reads:
        print("read ceilings (a buffer read once; a decode row's % read is against the smallest "
              "buffer at least as large as what it reads per token): "
              + ", ".join(f"{s} MiB {fmt(reads[s])} GB/s" for s in sorted(reads)))
    if ggml_rows:
        print(f"ggml: measured in this run (bench/peers/ggml.cpp), {len(ggml_rows)} benchmarks; "
              "samba ÷ ggml = our tok/s / ggml's tok/s, same name; > 1: faster than ggml\n")
    else:
        print("ggml: no results in this run (scripts/run-bench.sh --ggml DIR measures them); the "
              "fallback column compares with PEERS.md's figures from another machine")
        if threads in (1, 2):
            print(f"ggml's run (PEERS.md), {threads} thread(s): sgemm "
                  f"{GGML_SGEMM_GFLOPS[threads - 1]} GFLOP/s, memcpy "
                  f"{GGML_MEMCPY_GBS[threads - 1]} GB/s")
        print("vs ggml (PEERS.md) = (our tok/s / our ceiling) / (ggml tok/s / ggml's ceiling), "
              "sgemm ceiling for prefill, memcpy for decode; > 1: faster than ggml\n")
    head, body = table(rows, ggml_rows, sgemm, memcpy, threads)
    print_table(head, body)
    print()
    for n in notes(context, bool(ggml_rows)):
        print(f"note: {n}")
    md = markdown(head, body)
    cmp = paper(rows, context)
    if cmp:
        print("\nSamba vs Llama of the same size (bench/cpu/paper.cpp; decode N tokens × = time to "
              "decode N tokens from an empty context, Llama / Samba)")
        print_table(*cmp, numeric_from=1)
        md += "\n" + markdown(*cmp, numeric_from=1)
    if args.markdown:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(md)
    if args.plots:
        for p in plot_all(rows, ggml_rows, args.plots, sgemm, threads, machine):
            print(f"wrote {p}")


if __name__ == "__main__":
    main()
