#!/usr/bin/env python3
"""MSA kernel benchmark on one GPU: our CUDA kernels (through libm3_kernels_capi.so) against
dense attention through PyTorch SDPA (cuDNN and FlashAttention backends) on the same inputs, in
one process, with ceilings (device copy, bf16 GEMM) measured in the same run.

Decode: CUDA graphs of up to CALLS calls (fewer for long calls), inputs rotated over disjoint page
sets so the bytes touched between reuses exceed 2x L2; median per call over timed replays, with CV.
Prefill: eager, events, median of runs; 512K and 1M from scratch run as chunked prefill over the
growing prefix (one plan per chunk, the plan's workspace bound). Every row also gives its floor at
4.3 TB/s / 790 TFLOP/s (msa-kernels.md §5). M3 shape: 64 q heads, 4 KV heads, d 128, 4 index
heads, page 128, top-16.

Prefill rows also split the sparse part into its three kernels (selection inversion, partials,
merge), each timed with events inside the same eager runs, with the bytes/s of the last two.

usage: bench_msa.py LIB [--quick] [--out FILE] [--only decode|prefill] [--cases 32K,128K,...]
       [--no-dense] [--decode-lengths 131072,1048576] [--decode-batches 1,8] [--index bf16|fp8]
"""
import argparse
import ctypes
import math
import statistics
import sys

import torch
import torch.nn.functional as F

HQ, HKV, D, BLOCK, TOPK = 64, 4, 128, 128, 16
CALLS, WARMUP_REPLAYS, TIMED_REPLAYS = 120, 5, 20
GRAPH_TARGET_US = 20000  # graphs of long calls hold fewer calls (at least 4)
L2_ROTATION_BYTES = 240 << 20
FLOOR_TBS, FLOOR_TFS = 4.3, 790.0  # floor basis of msa-kernels.md §5
DEVICE_BYTES_USABLE = 125e9  # what one case may allocate on a 141 GB card
PREFILL_CHUNK = 16384  # chunk of the from-scratch prefills beyond 128K


class Kernels:
    def __init__(self, path):
        self.lib = ctypes.CDLL(path)
        self.lib.m3k_last_error.restype = ctypes.c_char_p

    def call(self, name, *args):
        if getattr(self.lib, name)(*args) != 0:
            raise RuntimeError(f"{name}: {self.lib.m3k_last_error().decode()}")


def ptr(t):
    return ctypes.c_void_p(t.data_ptr()) if t is not None else ctypes.c_void_p(0)


def stream():
    return ctypes.c_void_p(torch.cuda.current_stream().cuda_stream)


class Batch:
    """One rotation slot: a plan over its own pages plus its own q/index-q/outputs."""

    def __init__(self, k, seqs, pages, fp8, pool):
        self.k, self.pool, self.fp8 = k, pool, fp8
        self.rows = sum(q for q, _ in seqs)
        stride = max(math.ceil(l / BLOCK) for _, l in seqs)
        table = torch.zeros(len(seqs), stride, dtype=torch.int32)
        at = 0
        for s, (_, l) in enumerate(seqs):
            nb = math.ceil(l / BLOCK)
            table[s, :nb] = pages[at:at + nb]
            at += nb
        arr = (ctypes.c_int * len(seqs))
        self.plan = ctypes.c_void_p()
        k.call("m3k_plan_create", len(seqs), arr(*[q for q, _ in seqs]), arr(*[l for _, l in seqs]),
               table.contiguous().numpy().ctypes.data_as(ctypes.POINTER(ctypes.c_int)), stride, HKV,
               stream(), ctypes.byref(self.plan))
        self.q = torch.randn(self.rows, HQ, D, device="cuda", dtype=torch.bfloat16)
        self.iq = torch.randn(self.rows, HKV, D, device="cuda", dtype=torch.bfloat16)
        self.sel = torch.empty(self.rows, HKV, TOPK, device="cuda", dtype=torch.int32)
        self.out = torch.empty(self.rows, HQ, D, device="cuda", dtype=torch.bfloat16)

    def score(self):
        self.k.call("m3k_score_blocks", self.plan, ptr(self.pool["index"]), int(self.fp8), ptr(self.iq),
                    stream())

    def topk(self):
        self.k.call("m3k_select_topk", self.plan, ptr(self.sel), stream())

    def indexer(self):
        self.score()
        self.topk()

    def sparse_stage(self, stage):
        self.k.call("m3k_sparse_attention_stage", self.plan, stage, ptr(self.pool["k"]),
                    ptr(self.pool["v"]), ptr(self.q), ptr(self.sel), ptr(self.out),
                    ctypes.c_void_p(0), stream())

    def sparse(self):
        self.k.call("m3k_sparse_attention", self.plan, ptr(self.pool["k"]), ptr(self.pool["v"]),
                    ptr(self.q), ptr(self.sel), ptr(self.out), ctypes.c_void_p(0), stream())

    def layer(self):
        self.indexer()
        self.sparse()

    def dense(self):
        self.k.call("m3k_dense_attention", self.plan, ptr(self.pool["k"]), ptr(self.pool["v"]),
                    ptr(self.q), ptr(self.out), ctypes.c_void_p(0), stream())


def make_pool(num_pages, fp8, shared_kv=False):
    """Paged K, V and index-K caches. shared_kv: K and V are windows of one buffer of 1.5x the
    pages, V offset by half of them, so a page's K and V are distinct bytes (for cases whose
    separate K and V caches do not fit; a block read as K by one edge can be another's V)."""
    if shared_kv:
        kv = torch.randn(num_pages * 3 // 2, HKV, BLOCK, D, device="cuda", dtype=torch.bfloat16)
        pool = {"k": kv[:num_pages], "v": kv[num_pages // 2:num_pages // 2 + num_pages]}
    else:
        pool = {"k": torch.randn(num_pages, HKV, BLOCK, D, device="cuda", dtype=torch.bfloat16),
                "v": torch.randn(num_pages, HKV, BLOCK, D, device="cuda", dtype=torch.bfloat16)}
    index = torch.randn(num_pages, BLOCK, D, device="cuda", dtype=torch.bfloat16)
    pool["index"] = index.to(torch.float8_e4m3fn) if fp8 else index
    return pool


def make_slots(k, seqs, fp8, touched_bytes, max_slots=64, shared_kv=False):
    slots = max(1, min(max_slots, math.ceil(L2_ROTATION_BYTES / max(1, touched_bytes))))
    blocks = sum(math.ceil(l / BLOCK) for _, l in seqs)
    pool = make_pool(slots * blocks, fp8, shared_kv)
    pages = torch.randperm(slots * blocks, dtype=torch.int32)
    return [Batch(k, seqs, pages[i * blocks:(i + 1) * blocks], fp8, pool) for i in range(slots)]


def graph_time_us(fn_per_slot, expected_us=0.0):
    """Median and CV (%) of the per-call time of a graph of calls cycling the slots: CALLS calls,
    or fewer (at least 4) when expected_us says one call is long."""
    n = len(fn_per_slot)
    calls = max(4, min(CALLS, int(GRAPH_TARGET_US / max(expected_us, 1e-3))))
    for f in fn_per_slot:
        f()
    torch.cuda.synchronize()
    g = torch.cuda.CUDAGraph()
    s = torch.cuda.Stream()
    with torch.cuda.stream(s):
        with torch.cuda.graph(g, stream=s):
            for i in range(calls):
                fn_per_slot[i % n]()
    for _ in range(WARMUP_REPLAYS):
        g.replay()
    torch.cuda.synchronize()
    times = []
    for _ in range(TIMED_REPLAYS):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        g.replay()
        b.record()
        b.synchronize()
        times.append(a.elapsed_time(b) * 1000 / calls)
    med = statistics.median(times)
    return med, 100 * statistics.pstdev(times) / med


def eager_time_ms(fn, runs=7, warmup=2):
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(runs):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        fn()
        b.record()
        b.synchronize()
        times.append(a.elapsed_time(b))
    med = statistics.median(times)
    return med, 100 * statistics.pstdev(times) / med


def ceilings():
    x = torch.empty(1 << 31, dtype=torch.uint8, device="cuda")
    y = torch.empty_like(x)
    t, _ = eager_time_ms(lambda: y.copy_(x), runs=10)
    copy_tbs = 2 * x.numel() / t / 1e9
    del x, y
    a = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
    t, _ = eager_time_ms(lambda: a @ b, runs=10)
    return copy_tbs, 2 * 8192 ** 3 / t / 1e9


BACKENDS = {"cudnn": torch.nn.attention.SDPBackend.CUDNN_ATTENTION,
            "flash": torch.nn.attention.SDPBackend.FLASH_ATTENTION}


def dense_eager_repeats(pairs):
    """Fewer repeats as dense work grows: a 1M causal prefill takes ~30 s (cuDNN) to ~55 s (flash)
    per call, where launch and plan costs are noise, so one cold call is its time."""
    if pairs >= 2 ** 38:  # 512K x 512K and beyond
        return {"runs": 1, "warmup": 0}
    return {"runs": 3 if pairs >= 2 ** 33 else 7, "warmup": 2}


def dense_sdpa_ms(q_len, kv_len, batch, causal, graph, expected_us=0.0):
    """Times of the cuDNN and flash SDPA backends (GQA) in ms, by backend; a backend that rejects
    the shape is left out. Causal is top-left aligned in SDPA, so chunks use non-causal (the chunk
    sees nearly the whole prefix; it overstates dense work by under chunk/(2 * context))."""
    q = torch.randn(batch, HQ, q_len, D, device="cuda", dtype=torch.bfloat16)
    kk = torch.randn(batch, HKV, kv_len, D, device="cuda", dtype=torch.bfloat16)
    vv = torch.randn(batch, HKV, kv_len, D, device="cuda", dtype=torch.bfloat16)
    best = {}
    for name, backend in BACKENDS.items():
        def run():
            with torch.nn.attention.sdpa_kernel(backend):
                return F.scaled_dot_product_attention(q, kk, vv, is_causal=causal, enable_gqa=True)
        try:
            if graph:
                best[name] = graph_time_us([run], expected_us)[0] / 1000
            else:
                best[name] = eager_time_ms(run, **dense_eager_repeats(q_len * kv_len))[0]
        except Exception as e:  # a backend that rejects the shape is reported as missing
            print(f"    sdpa {name}: {str(e).splitlines()[0][:100]}", file=sys.stderr)
    del q, kk, vv
    torch.cuda.empty_cache()
    return best


def visible_sparse_keys(pos):
    """Keys one query attends to under top-16 blocks: all when the context fits, else 15 full
    historical blocks plus the visible part of the local block."""
    return pos + 1 if pos // BLOCK < TOPK else (TOPK - 1) * BLOCK + pos % BLOCK + 1


def fmt(x, digits=4):
    return "—" if x is None else f"{x:.{digits}g}"


def guarded(label, fn):
    """Runs one benchmark case; a failing case is reported and skipped, not fatal."""
    try:
        fn()
    except Exception as e:
        print(f"  {label}: FAILED: {e}", flush=True)
        torch.cuda.empty_cache()


def decode_rows(k, quick, copy_tbs, lengths=(8192, 32768, 131072, 524288, 1048576),
                batches=(1, 8, 64)):
    rows = []
    for L in lengths:
        for B in batches:
            if quick and B == 64:
                continue
            dense_kv_bytes = B * L * 2 * HKV * D * 2
            # SDPA needs contiguous K/V: beyond the card's memory it is left out (floor only).
            dense = (dense_sdpa_ms(1, L, B, False, graph=True, expected_us=dense_kv_bytes / 3e6)
                     if dense_kv_bytes < DEVICE_BYTES_USABLE else {})
            for fp8 in (False, True):
                guarded(f"decode B={B} L={L} fp8={fp8}",
                        lambda: decode_case(k, rows, B, L, fp8, dense, copy_tbs))
    return rows


def decode_case(k, rows, B, L, fp8, dense, copy_tbs):
    idx_bytes = B * L * (128 if fp8 else 256)
    kv_bytes = B * HKV * min(TOPK, math.ceil(L / BLOCK)) * 2 * BLOCK * D * 2
    # Separate K and V caches of B x L tokens (2048 B/token) plus the index cache; past the card's
    # memory, K and V share one buffer (make_pool).
    shared_kv = B * L * (2048 + 256) > DEVICE_BYTES_USABLE
    slots = make_slots(k, [(1, L)] * B, fp8, idx_bytes + kv_bytes, shared_kv=shared_kv)
    expected = (idx_bytes + kv_bytes) / 3e6
    t_idx, cv_idx = graph_time_us([s.indexer for s in slots], expected)
    t_score = graph_time_us([s.score for s in slots], expected)[0]
    t_att, cv_att = graph_time_us([s.sparse for s in slots], expected)
    t_all, cv_all = graph_time_us([s.layer for s in slots], expected)
    # Our dense decode (the full layers) at B = 1 only, to keep the run inside the device budget.
    t_dense_ours = graph_time_us([s.dense for s in slots])[0] if not fp8 and B == 1 else None
    best_dense = min(dense.values()) * 1000 if dense else None
    floor = (idx_bytes + kv_bytes) / FLOOR_TBS / 1e6
    dense_floor = B * L * 2 * HKV * D * 2 / FLOOR_TBS / 1e6
    rows.append({
        "case": f"decode B={B} L={L // 1024}K" + (" (K/V share a buffer)" if shared_kv else ""),
        "index": "fp8" if fp8 else "bf16",
        "indexer_us": t_idx, "score_us": t_score, "sparse_us": t_att, "total_us": t_all,
        "cv": max(cv_idx, cv_att, cv_all),
        "idx_tbs": idx_bytes / t_idx / 1e6, "att_tbs": kv_bytes / t_att / 1e6,
        "mbu_total": (idx_bytes + kv_bytes) / t_all / 1e6 / copy_tbs,
        "floor_us": floor, "dense_floor_us": dense_floor,
        "dense_sdpa_us": best_dense, "dense_ours_us": t_dense_ours,
        "speedup": best_dense / t_all if best_dense else None})
    print(rows[-1], flush=True)
    for s in slots:
        k.call("m3k_plan_destroy", s.plan)
    del slots
    torch.cuda.empty_cache()


def prefill_flops(n, L):
    """Useful FLOPs of n new queries on a context of L: indexer (2 * 4 * 128 per visible
    (query, key) pair), sparse attention (4 * 64 * 128 per visible selected key), dense causal."""
    prefix = L - n
    pairs_idx = n * prefix + n * (n + 1) // 2
    pairs_att = sum(visible_sparse_keys(prefix + i) for i in range(n))
    return 2 * HKV * D * pairs_idx, 4 * HQ * D * pairs_att, 4 * HQ * D * pairs_idx


def case_key(n, L, chunked=False):
    """Name of a prefill case for --cases: 32K (from scratch), 8K@128K (chunk on a prefix),
    512K-chunked."""
    if chunked:
        return f"{n // 1024}K-chunked"
    return f"{n // 1024}K" if n == L else f"{n // 1024}K@{(L - n) // 1024}K"


def prefill_rows(k, quick, gemm_tfs, cases_wanted=None, with_dense=True, index_types=None):
    rows = []
    cases = [(8192, 8192), (32768, 32768), (131072, 131072), (8192, 131072 + 8192)]
    if not quick:
        cases += [(8192, 524288 + 8192), (8192, 1048576)]  # 1M = the longest context supported
    wanted = lambda key: cases_wanted is None or key in cases_wanted
    for n, L in cases:
        if not wanted(case_key(n, L)):
            continue
        dense = dense_sdpa_ms(n, L, 1, n == L, graph=False) if with_dense else {}
        for fp8 in ((False, True) if n == L or L > 200000 else (False,)):
            if index_types is not None and ("fp8" if fp8 else "bf16") not in index_types:
                continue
            guarded(f"prefill {n} on {L}",
                    lambda: prefill_case(k, rows, n, L, fp8, dense, with_dense))
    if not quick:
        for n in (524288, 1048576):
            if not wanted(case_key(n, n, chunked=True)):
                continue
            dense = dense_sdpa_ms(n, n, 1, True, graph=False) if with_dense else {}
            for fp8 in (False, True):
                if index_types is not None and ("fp8" if fp8 else "bf16") not in index_types:
                    continue
                guarded(f"chunked prefill {n}", lambda: chunked_prefill_case(k, rows, n, fp8, dense))
    return rows


def sparse_edges(n, L):
    """Valid (query, KV group, selected block) edges of n new queries on a context of L."""
    return HKV * sum(min(TOPK, (L - n + i) // BLOCK + 1) for i in range(n))


def prefill_row(n, L, fp8, times, cv, dense, t_dense_ours=None, label=None, stages=None):
    t_score, t_topk, t_att, t_all = times
    idx_flops, att_flops, dense_flops = prefill_flops(n, L)
    prefix = L - n
    best_dense = min(dense.values()) if dense else None
    split = {}
    if stages is not None:
        # Bytes each kernel must move: the partials kernel reads each edge's Q (16 heads x 128
        # bf16) and writes its partial (O bf16 + LSE fp32); the merge reads them back and writes
        # the output. K/V block loads (once per CTA) are left out.
        edges = sparse_edges(n, L)
        partial = HQ // HKV * (D * 2 + 4)
        att_bytes = edges * (HQ // HKV * D * 2 + partial)
        merge_bytes = edges * partial + n * HQ * D * 2
        split = {"k2q_ms": stages[0], "partials_ms": stages[1], "merge_ms": stages[2],
                 "partials_tbs": att_bytes / stages[1] / 1e9,
                 "partials_tfs": att_flops / stages[1] / 1e9,
                 "merge_tbs": merge_bytes / stages[2] / 1e9}
    return {**split,
        "case": label or (f"prefill {n // 1024}K" + (f" on {prefix // 1024}K prefix" if prefix else "")),
        "index": "fp8" if fp8 else "bf16", "score_ms": t_score, "topk_ms": t_topk,
        "indexer_tfs": idx_flops / (t_score + t_topk) / 1e9, "sparse_ms": t_att,
        "sparse_tfs": att_flops / t_att / 1e9, "total_ms": t_all, "cv": cv,
        "floor_ms": (idx_flops + att_flops) / FLOOR_TFS / 1e9,
        "dense_floor_ms": dense_flops / FLOOR_TFS / 1e9,
        "dense_cudnn_ms": dense.get("cudnn"), "dense_flash_ms": dense.get("flash"),
        "dense_ours_ms": t_dense_ours, "speedup": best_dense / t_all if best_dense else None}


def stage_times_ms(slot, runs=7, warmup=2):
    """Medians of the three sparse-attention kernels (inversion, partials, merge), events around
    each inside one eager run of the sparse part."""
    for _ in range(warmup):
        slot.sparse()
    times = [[], [], []]
    for _ in range(runs):
        ev = [torch.cuda.Event(enable_timing=True) for _ in range(4)]
        ev[0].record()
        for stage in range(3):
            slot.sparse_stage(stage)
            ev[stage + 1].record()
        ev[3].synchronize()
        for stage in range(3):
            times[stage].append(ev[stage].elapsed_time(ev[stage + 1]))
    return [statistics.median(t) for t in times]


def prefill_case(k, rows, n, L, fp8, dense, with_dense=True):
    slot = make_slots(k, [(n, L)], fp8, 1 << 40)[0]
    t_score, _ = eager_time_ms(slot.score)
    t_topk, _ = eager_time_ms(slot.topk)
    slot.indexer()
    t_att, _ = eager_time_ms(slot.sparse)
    stages = stage_times_ms(slot)
    t_all, cv = eager_time_ms(slot.layer)
    t_dense_ours = (eager_time_ms(slot.dense, runs=3, warmup=1)[0]
                    if (with_dense and L <= 140000 and not fp8) else None)
    rows.append(prefill_row(n, L, fp8, (t_score, t_topk, t_att, t_all), cv, dense, t_dense_ours,
                            stages=stages))
    print(rows[-1], flush=True)
    k.call("m3k_plan_destroy", slot.plan)
    del slot
    torch.cuda.empty_cache()


def chunked_prefill_case(k, rows, n, fp8, dense, passes=2):
    """Prefill of n tokens from scratch as PREFILL_CHUNK-token chunks over the growing prefix of
    one paged cache (one plan per chunk, built outside the timed region). Per pass, events around
    each chunk's score, top-k and sparse attention; the row gives the median over passes of the
    per-pass sums and the CV of the pass totals."""
    blocks = n // BLOCK
    pool = make_pool(blocks, fp8)
    pages = torch.randperm(blocks, dtype=torch.int32)
    sums = [[0.0, 0.0, 0.0] for _ in range(passes)]  # per pass: score, top-k, sparse ms
    for begin in range(0, n, PREFILL_CHUNK):
        end = min(n, begin + PREFILL_CHUNK)
        chunk = Batch(k, [(end - begin, end)], pages[:math.ceil(end / BLOCK)], fp8, pool)
        for total in sums:
            ev = [torch.cuda.Event(enable_timing=True) for _ in range(4)]
            ev[0].record()
            chunk.score()
            ev[1].record()
            chunk.topk()
            ev[2].record()
            chunk.sparse()
            ev[3].record()
            ev[3].synchronize()
            for i in range(3):
                total[i] += ev[i].elapsed_time(ev[i + 1])
        k.call("m3k_plan_destroy", chunk.plan)
        del chunk
    totals = [sum(t) for t in sums]
    med = statistics.median(totals)
    parts = [statistics.median(t[i] for t in sums) for i in range(3)]
    cv = 100 * statistics.pstdev(totals) / med
    label = f"prefill {n // 1024}K ({PREFILL_CHUNK // 1024}K chunks)"
    rows.append(prefill_row(n, n, fp8, (*parts, med), cv, dense, label=label))
    print(rows[-1], flush=True)
    del pool
    torch.cuda.empty_cache()


def markdown_table(columns, rows):
    """Lines of a markdown table; columns are (header, row -> cell text) pairs."""
    return (["| " + " | ".join(h for h, _ in columns) + " |", "|" + "---|" * len(columns)] +
            ["| " + " | ".join(cell(r) for _, cell in columns) + " |" for r in rows])


DECODE_COLUMNS = [
    ("case", lambda r: r["case"]), ("index", lambda r: r["index"]),
    ("indexer µs (score only)", lambda r: f"{fmt(r['indexer_us'])} ({fmt(r['score_us'])})"),
    ("sparse attn µs", lambda r: fmt(r["sparse_us"])), ("layer µs", lambda r: fmt(r["total_us"])),
    ("CV %", lambda r: f"{r['cv']:.1f}"), ("indexer TB/s", lambda r: fmt(r["idx_tbs"], 3)),
    ("attn TB/s", lambda r: fmt(r["att_tbs"], 3)),
    ("layer MBU (vs copy)", lambda r: f"{100 * r['mbu_total']:.0f}%"),
    ("MSA floor µs", lambda r: fmt(r["floor_us"], 3)),
    ("floor / layer", lambda r: f"{100 * r['floor_us'] / r['total_us']:.0f}%"),
    ("dense SDPA µs", lambda r: fmt(r["dense_sdpa_us"])), ("ours dense µs", lambda r: fmt(r["dense_ours_us"])),
    ("dense / layer", lambda r: f"{fmt(r['speedup'], 3)}x"),
    ("dense floor / layer", lambda r: f"{fmt(r['dense_floor_us'] / r['total_us'], 3)}x")]

PREFILL_COLUMNS = [
    ("case", lambda r: r["case"]), ("index", lambda r: r["index"]),
    ("score ms", lambda r: fmt(r["score_ms"])), ("top-k ms", lambda r: fmt(r["topk_ms"])),
    ("indexer TFLOP/s", lambda r: f"{r['indexer_tfs']:.0f}"),
    ("sparse attn ms (k2q+attn+combine)", lambda r: fmt(r["sparse_ms"])),
    ("sparse TFLOP/s", lambda r: f"{r['sparse_tfs']:.0f}"),
    ("k2q / partials / merge ms", lambda r: "/".join(fmt(r.get(key)) for key in
                                                     ("k2q_ms", "partials_ms", "merge_ms"))),
    ("partials TB/s, TFLOP/s", lambda r: f"{fmt(r.get('partials_tbs'), 3)}, "
                                         f"{fmt(r.get('partials_tfs'), 3)}"),
    ("merge TB/s", lambda r: fmt(r.get("merge_tbs"), 3)),
    ("layer ms", lambda r: fmt(r["total_ms"])),
    ("CV %", lambda r: f"{r['cv']:.1f}"),
    ("MSA floor ms", lambda r: fmt(r["floor_ms"], 3)),
    ("floor / layer", lambda r: f"{100 * r['floor_ms'] / r['total_ms']:.0f}%"),
    ("dense cuDNN ms", lambda r: fmt(r["dense_cudnn_ms"])),
    ("dense flash ms", lambda r: fmt(r["dense_flash_ms"])), ("ours dense ms", lambda r: fmt(r["dense_ours_ms"])),
    ("dense / layer", lambda r: f"{fmt(r['speedup'], 3)}x"),
    ("dense floor / layer", lambda r: f"{fmt(r['dense_floor_ms'] / r['total_ms'], 3)}x")]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("lib")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out")
    ap.add_argument("--only", choices=["decode", "prefill"])
    ap.add_argument("--cases", help="prefill cases to run, e.g. 32K,128K,8K@128K,512K-chunked")
    ap.add_argument("--no-dense", action="store_true", help="skip the dense baselines")
    ap.add_argument("--decode-lengths", help="comma-separated context lengths of the decode rows")
    ap.add_argument("--decode-batches", help="comma-separated batch sizes of the decode rows")
    ap.add_argument("--index", help="prefill index-key types to run: bf16, fp8 or bf16,fp8")
    args = ap.parse_args()
    decode_filter = {}
    if args.decode_lengths:
        decode_filter["lengths"] = [int(x) for x in args.decode_lengths.split(",")]
    if args.decode_batches:
        decode_filter["batches"] = [int(x) for x in args.decode_batches.split(",")]
    k = Kernels(args.lib)
    torch.manual_seed(0)
    props = torch.cuda.get_device_properties(0)
    copy_tbs, gemm_tfs = ceilings()
    head = (f"GPU {props.name}, {props.multi_processor_count} SMs, L2 {props.L2_cache_size >> 20} MB; "
            f"torch {torch.__version__}, cuDNN {torch.backends.cudnn.version()}; "
            f"ceilings: copy {copy_tbs:.2f} TB/s (read+write), bf16 GEMM 8192^3 {gemm_tfs:.0f} TFLOP/s")
    print(head, flush=True)
    lines = [head, ""]
    if args.only != "prefill":
        decode = decode_rows(k, args.quick, copy_tbs, **decode_filter)
        lines += markdown_table(DECODE_COLUMNS, decode) + [""]
    if args.only != "decode":
        cases = set(args.cases.split(",")) if args.cases else None
        lines += markdown_table(PREFILL_COLUMNS,
                                prefill_rows(k, args.quick, gemm_tfs, cases, not args.no_dense,
                                             args.index.split(",") if args.index else None))
    text = "\n".join(lines)
    print(text)
    if args.out:
        open(args.out, "w").write(text + "\n")


if __name__ == "__main__":
    main()
