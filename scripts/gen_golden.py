#!/usr/bin/env python3
"""Reference fixtures for m3.cpp from HF transformers (run on the GPU machine: torch, transformers
>= 5.17 with MiniMaxM3SparseForConditionalGeneration, safetensors, numpy).

  gen_golden.py --out tests/fixtures [--introspect hf_src.tar.gz]
      Draws small random MiniMax-M3 models (golden_checkpoint.py), lets transformers load them from
      the release tensor naming, and writes tests/fixtures/<name>/: config.json, safetensors,
      ids.txt, logits.f32 ([T, vocab] LE float32, fp32 eager attention), greedy_prompt.txt,
      greedy_ids.txt (greedy by repeated full forward passes), meta.json.
  gen_golden.py --verify build/m3 [--count N] [--seed S] [--report FILE]
      Draws N fresh random models (other seeds and shapes than the committed fixtures), runs
      `m3 logits` (with and without --prefill) and `m3 generate` on them and reports parity.

The reference is the exact math on the stored weights: bf16 (or MXFP8-dequantized) values are
loaded into a float32 model, attention is eager, TF32 is off.
"""

import argparse
import dataclasses
import json
import math
import os
import random
import shutil
import subprocess
import sys
import tarfile
import tempfile
import traceback

import numpy as np
import torch
from safetensors.torch import load_file

import golden_checkpoint as ckpt
from golden_checkpoint import ModelSpec

LOGIT_REL_TOL = 1e-3  # max|diff| / std(reference row), the parity criterion
# A fixture is accepted only if every discrete decision is far from a tie (seeds are retried).
MIN_LOGIT_MARGIN = 1e-4  # (top1 - top2) / std(row), every position and greedy step
MIN_ROUTER_GAP = 2e-5  # k-th minus (k+1)-th of sigmoid(router) + bias
MIN_INDEX_GAP = 1e-5  # k-th minus (k+1)-th block score, over the row's largest |score|
MAX_ATTEMPTS = 8
VISION_PARTS = ("vision_tower", "multi_modal_projector", "patch_merge")


@dataclasses.dataclass
class Fixture:
    name: str
    style: str  # legacy_vl | transformers_text | hf_saved
    dtype: str  # bf16 | mxfp8
    shards: int = 1


@dataclasses.dataclass
class Group:
    """One random model; its fixtures share the drawn weights (an MXFP8 twin quantizes them)."""
    spec: ModelSpec
    seed: int
    fixtures: list


GROUPS = [
    Group(ModelSpec(hidden=128, attn_kinds=["full", "sparse", "full", "sparse", "sparse"],
                    mlp_kinds=["dense", "dense", "moe", "moe", "moe"], heads=4, kv_heads=2, head_dim=32,
                    rotary_dim=16, rope_theta=10000.0, block=16, topk_blocks=4, experts=8, experts_per_tok=2,
                    expert_inter=32, shared_inter=32, dense_inter=96, vocab=512, seq_len=200,
                    greedy_prompt_len=90, greedy_tokens=24),
          1101, [Fixture("m3_legacy_vl_bf16", "legacy_vl", "bf16", 1),
                 Fixture("m3_legacy_vl_mxfp8", "legacy_vl", "mxfp8", 2)]),
    Group(ModelSpec(hidden=128, attn_kinds=["sparse", "full", "sparse", "sparse"],
                    mlp_kinds=["moe", "dense", "moe", "dense"], heads=4, kv_heads=2, head_dim=64, rotary_dim=16,
                    rope_theta=5e6, block=8, topk_blocks=3, experts=6, experts_per_tok=3, expert_inter=48,
                    shared_inter=64, dense_inter=160, vocab=640, seq_len=160, greedy_prompt_len=50,
                    greedy_tokens=20),
          2202, [Fixture("m3_transformers_text_sharded_bf16", "transformers_text", "bf16", 3)]),
    Group(ModelSpec(hidden=128, attn_kinds=["full", "sparse", "sparse", "full"],
                    mlp_kinds=["dense", "moe", "moe", "moe"], heads=8, kv_heads=2, head_dim=32, rotary_dim=32,
                    rope_theta=1e6, block=32, topk_blocks=2, experts=16, experts_per_tok=4, expert_inter=32,
                    shared_inter=48, dense_inter=128, vocab=1024, seq_len=230, greedy_prompt_len=100,
                    greedy_tokens=32),
          3303, [Fixture("m3_hf_saved_bf16", "hf_saved", "bf16", 1)]),
]


def log(*parts):
    print(*parts, flush=True)


# ----------------------------------------------------------------------------- transformers side


def hf_classes():
    import transformers
    from transformers.models.minimax_m3_vl import configuration_minimax_m3_vl as cfg
    from transformers.models.minimax_m3_vl import modeling_minimax_m3_vl as mod
    vl = getattr(transformers, "MiniMaxM3SparseForConditionalGeneration", None) or mod.MiniMaxM3SparseForConditionalGeneration
    return transformers, cfg, mod, vl


def introspect(tar_path):
    """Versions, config classes and defaults; the installed model sources go into a tarball."""
    transformers, cfg, mod, _ = hf_classes()
    import inspect
    import safetensors
    log("torch", torch.__version__, "cuda", torch.cuda.is_available(),
        torch.cuda.get_device_name(0) if torch.cuda.is_available() else "-")
    log("transformers", transformers.__version__, "safetensors", safetensors.__version__)
    log("modeling classes:", [n for n in dir(mod) if n.startswith("MiniMax")])
    for name in ("MiniMaxM3VLTextConfig", "MiniMaxM3VLConfig"):
        cls = getattr(cfg, name, None)
        if cls is None:
            log(f"config class {name}: missing")
            continue
        log(f"{name} signature: {inspect.signature(cls)}")
        try:
            defaults = cls().to_dict()
            short = {k: (f"[{len(v)} items: {v[0]!r}...{v[-1]!r}]" if isinstance(v, list) and len(v) > 8 else v)
                     for k, v in defaults.items() if k not in ("text_config", "vision_config")}
            log(f"{name} defaults: {json.dumps(short, default=str)}")
        except Exception as error:  # report and go on: introspection must never stop generation
            log(f"{name}() failed: {error!r}")
    if tar_path:
        root = os.path.dirname(transformers.__file__)
        with tarfile.open(tar_path, "w:gz") as tar:
            for rel in ("models/minimax_m3_vl", "models/minimax_m2", "conversion_mapping.py",
                        "models/gemma3/modeling_gemma3.py", "models/laguna/modeling_laguna.py",
                        "models/deepseek_v4/modeling_deepseek_v4.py", "integrations/moe.py"):
                path = os.path.join(root, rel)
                if os.path.exists(path):
                    tar.add(path, arcname="transformers/" + rel)
        log("wrote", tar_path)


def use_eager_experts(model):
    """transformers 5.17 defaults MoE experts to grouped_mm; the plain per-expert F.linear loop is
    the unambiguous fp32 reference."""
    for module in model.modules():
        config = getattr(module, "config", None)
        if config is not None and hasattr(config, "_experts_implementation"):
            config._experts_implementation = "eager"


def from_pretrained(cls, directory, device):
    kwargs = dict(dtype=torch.float32, attn_implementation="eager", output_loading_info=True)
    torch.manual_seed(0)  # the (unused) vision tower is initialised at random: keep it reproducible
    model, info = cls.from_pretrained(directory, **kwargs)
    use_eager_experts(model)
    return model.to(device).eval(), info


def is_vision(name):
    return any(part in name for part in VISION_PARTS)


def checksum(tensors):
    """(sum, sum of squares) in float64: invariant under renaming, fusing and splitting tensors."""
    total, squares = 0.0, 0.0
    for t in tensors:
        t = t.detach().double().cpu()
        total += t.sum().item()
        squares += (t * t).sum().item()
    return total, squares


def check_loaded(model, info, weights):
    """Every text tensor of the checkpoint arrived in the model, unchanged."""
    missing = [k for k in info.get("missing_keys", []) if not is_vision(k)]
    unexpected = [k for k in info.get("unexpected_keys", []) if not is_vision(k)]
    mismatched = list(info.get("mismatched_keys", None) or [])
    if missing or unexpected or mismatched:
        return [f"missing {sorted(missing)[:8]} unexpected {sorted(unexpected)[:8]} mismatched {mismatched[:8]}"]
    mine = checksum(weights.values())
    theirs = checksum(v for k, v in model.state_dict().items() if not is_vision(k))
    if not all(math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-6) for a, b in zip(mine, theirs)):
        log(f"  WARNING: weight checksums differ: checkpoint {mine} model {theirs}")
    return []


def check_config(model, spec):
    tc = model.config.text_config
    expect = {"layer_types": ["minimax_m3_sparse" if k == "sparse" else "full_attention" for k in spec.attn_kinds],
              "mlp_layer_types": ["sparse" if k == "moe" else "dense" for k in spec.mlp_kinds],
              "index_block_size": spec.block, "index_topk_blocks": spec.topk_blocks,
              "index_n_heads": spec.kv_heads, "index_head_dim": spec.head_dim,
              "num_experts_per_tok": spec.experts_per_tok, "routed_scaling_factor": spec.routed_scaling}
    problems = [f"{k}: HF has {getattr(tc, k, None)!r}, expected {v!r}"
                for k, v in expect.items() if getattr(tc, k, None) != v]
    rotary = [m for n, m in model.named_modules() if n.endswith("rotary_emb") and not is_vision(n)]
    if not rotary or rotary[0].inv_freq.numel() * 2 != spec.rotary_dim:
        problems.append(f"rotary inv_freq size {[r.inv_freq.numel() for r in rotary]} != rotary_dim/2")
    return problems


class SelectionGaps:
    """Records how far every top-k decision inside the HF forward is from a tie, by wrapping
    torch.topk: the router's (num_experts wide, k = experts_per_tok) and the indexer's block ones."""

    def __init__(self, spec):
        self.spec = spec
        self.router = math.inf
        self.index = math.inf
        self.calls = {"router": 0, "index": 0}

    def record(self, x, k, dim):
        if dim not in (-1, x.dim() - 1) or k >= x.shape[-1]:
            return
        with torch.no_grad():
            x = x.detach().float()
            top = self._topk(x, k + 1, dim=-1).values
            a, b = top[..., k - 1], top[..., k]
            ok = torch.isfinite(a) & torch.isfinite(b)
            router = x.shape[-1] == self.spec.experts and k == self.spec.experts_per_tok
            self.calls["router" if router else "index"] += 1
            if not ok.any():
                return
            gap = (a - b)[ok]
            if router:
                self.router = min(self.router, gap.min().item())
                return
            scale = torch.where(torch.isfinite(x), x.abs(), torch.zeros_like(x)).amax(dim=-1)[ok]
            self.index = min(self.index, (gap / scale.clamp_min(1e-30)).min().item())

    def __enter__(self):
        self._topk, self._method = torch.topk, torch.Tensor.topk
        recorder, original = self, torch.topk

        def topk(input, k, dim=-1, largest=True, sorted=True, **kwargs):
            result = original(input, k, dim=dim, largest=largest, sorted=sorted, **kwargs)
            if largest:
                recorder.record(input, k, dim)
            return result

        torch.topk = topk
        torch.Tensor.topk = lambda self_, k, dim=-1, largest=True, sorted=True: topk(self_, k, dim, largest, sorted)
        return self

    def __exit__(self, *exc):
        torch.topk, torch.Tensor.topk = self._topk, self._method


def forward_logits(model, ids, device):
    with torch.no_grad():
        out = model(input_ids=torch.tensor([ids], device=device), use_cache=False)
    return out.logits[0].float()


def logit_margins(logits):
    top = torch.sort(logits, dim=-1, descending=True).values
    return (top[..., 0] - top[..., 1]) / logits.std(dim=-1)


def dense_logits(model, ids, device):
    """Same model with every indexer keeping all blocks: shows the selection changes the output."""
    indexers = [m for m in model.modules() if hasattr(m, "topk_blocks")]
    saved = [m.topk_blocks for m in indexers]
    for m in indexers:
        m.topk_blocks = 1 << 30
    try:
        return forward_logits(model, ids, device)
    finally:
        for m, k in zip(indexers, saved):
            m.topk_blocks = k


def hf_reference(spec, weights, ids, prompt, greedy_tokens, workdir, device, verbose=False):
    """Loads `weights` through transformers from a release-named staging checkpoint and returns
    logits, greedy continuation, decision margins and the loaded model."""
    _, _, _, vl_cls = hf_classes()
    stage = os.path.join(workdir, "stage")
    problems = []
    for dense_prefix in ("mlp.", "block_sparse_moe."):  # release naming first, then save_pretrained's
        shutil.rmtree(stage, ignore_errors=True)
        os.makedirs(stage)
        ckpt.write_json(os.path.join(stage, "config.json"), ckpt.staging_config(spec, 0, 1))
        ckpt.write_safetensors(stage, ckpt.with_prefix(weights, dense_mlp_prefix=dense_prefix))
        model, info = from_pretrained(vl_cls, stage, device)
        problems = check_loaded(model, info, weights)
        if not problems:
            break
        log(f"  HF load with dense MLPs under '{dense_prefix}': {problems}")
    if problems:
        raise RuntimeError("transformers did not load the release naming: " + "; ".join(problems))
    config_problems = check_config(model, spec)
    if config_problems:
        log("  WARNING: transformers parsed the staging config differently: " + "; ".join(config_problems))
    if verbose:
        log("  HF in-memory state dict:")
        for name, tensor in model.state_dict().items():
            if not is_vision(name):
                log(f"    {name} {tuple(tensor.shape)} {tensor.dtype}")
        log("  HF text config:", json.dumps(model.config.text_config.to_dict(), default=str))
        log("  experts implementation:", getattr(model.config.text_config, "_experts_implementation", "n/a"),
            "attn:", model.config._attn_implementation)
    if verbose:
        grouped = model.config.text_config
        grouped._experts_implementation = "grouped_mm"
        grouped_logits = forward_logits(model, ids, device)
        use_eager_experts(model)
        log("  experts grouped_mm vs eager: max|diff| =",
            (grouped_logits - forward_logits(model, ids, device)).abs().max().item())
    with SelectionGaps(spec) as gaps:
        logits = forward_logits(model, ids, device)
        sequence, greedy_margins = list(prompt), []
        for _ in range(greedy_tokens):
            row = forward_logits(model, sequence, device)[-1]
            greedy_margins.append(logit_margins(row).item())
            sequence.append(int(row.argmax().item()))
    dense = dense_logits(model, ids, device)
    std = logits.std(dim=-1)
    margins = {
        "min_logit_margin": min(logit_margins(logits).min().item(), min(greedy_margins, default=math.inf)),
        "min_router_gap": gaps.router,
        "min_index_gap_rel": gaps.index,
        "topk_calls": gaps.calls,
    }
    return {
        "logits": logits.cpu(),
        "greedy": sequence[len(prompt):],
        "margins": margins,
        "sparse_vs_dense_max_rel_diff": ((logits - dense).abs().amax(dim=-1) / std).max().item(),
        "sparse_vs_dense_argmax_changes": int((logits.argmax(-1) != dense.argmax(-1)).sum().item()),
        "model": model,
    }


def decisiveness(margins):
    """min over criteria of (margin / threshold): >= 1 means every decision is clear of a tie."""
    return min(margins["min_logit_margin"] / MIN_LOGIT_MARGIN, margins["min_router_gap"] / MIN_ROUTER_GAP,
               margins["min_index_gap_rel"] / MIN_INDEX_GAP)


# ----------------------------------------------------------------------------- fixtures


def prefill_splits(spec):
    """Two prompt/decode splits, neither a multiple of the block size: mid-sequence, and just
    before the selection becomes active (so decode steps run the selection)."""
    splits = []
    for n in (spec.seq_len // 2, spec.topk_blocks * spec.block - 3):
        n = max(1, min(n, spec.seq_len - 1))
        if n % spec.block == 0:
            n += 1
        splits.append(n)
    return splits


def pick_special_ids(spec, greedy):
    """bos/eos inside the vocab but never produced by the greedy continuation, so `m3 generate`
    matches the full-forward greedy reference whether or not it stops at eos."""
    free = [i for i in range(spec.vocab) if i not in set(greedy)]
    return free[0], free[-1]


def draw_ids(spec, seed):
    gen = torch.Generator().manual_seed(seed ^ 0x5EED)
    ids = torch.randint(0, spec.vocab, (spec.seq_len,), generator=gen).tolist()
    prompt = torch.randint(0, spec.vocab, (spec.greedy_prompt_len,), generator=gen).tolist()
    return ids, prompt


def build_group(group, workdir, device, verbose=False):
    """Tries seeds until every decision is decisive (or keeps the best); returns per-fixture data."""
    spec = group.spec
    assert spec.seq_len > spec.topk_blocks * spec.block, "selection would not be exercised"
    best = None
    for attempt in range(MAX_ATTEMPTS):
        seed = group.seed + 7919 * attempt
        base = ckpt.draw_weights(spec, seed)
        ids, prompt = draw_ids(spec, seed)
        results = []
        for fx in group.fixtures:
            stored, runtime = (base, base) if fx.dtype == "bf16" else ckpt.mxfp8_twin(base)
            ref = hf_reference(spec, runtime, ids, prompt, spec.greedy_tokens, workdir, device,
                               verbose=verbose and attempt == 0 and not results)
            results.append((fx, stored, ref))
        score = min(decisiveness(ref["margins"]) for _, _, ref in results)
        log(f"  seed {seed}: decisiveness {score:.3g} " +
            " | ".join(f"{fx.name}: {json.dumps(ref['margins'])}" for fx, _, ref in results))
        if best is None or score > best[0]:
            if best is not None:
                for _, _, ref in best[3]:
                    del ref["model"]
            best = (score, seed, (ids, prompt), results)
        if score >= 1.0:
            break
    score, seed, (ids, prompt), results = best
    if score < 1.0:
        log(f"  WARNING: no seed was fully decisive; kept seed {seed} (decisiveness {score:.3g})")
    return seed, ids, prompt, results


def hf_text_config_dict(model):
    """The text config as transformers serialises it, without legacy keys."""
    config = model.config.text_config.to_dict()
    for key in ("sparse_attention_config", "moe_layer_freq", "rope_theta", "partial_rotary_factor",
                "transformers_version", "_name_or_path"):
        config.pop(key, None)
    return config


def release_dtype(name, tensor):
    """bf16 for everything bf16 can hold exactly (vision weights always: they do not reach the
    text logits), fp32 for the router and whatever else would lose bits."""
    if is_vision(name):
        return tensor.to(torch.bfloat16)
    if ckpt.is_fp32_tensor(name) or not torch.equal(tensor.to(torch.bfloat16).float(), tensor.float()):
        return tensor.float()
    return tensor.to(torch.bfloat16)


def mark_bf16(config):
    """The model was held in float32 for the reference; the stored weights are bf16."""
    for key, value in config.items():
        if key in ("dtype", "torch_dtype"):
            config[key] = "bfloat16"
        elif isinstance(value, dict):
            mark_bf16(value)


def save_pretrained_output(model):
    """(tensors by name, config.json, file names) of transformers' save_pretrained."""
    with tempfile.TemporaryDirectory() as tmp:
        model.save_pretrained(tmp)
        tensors = {}
        for file in sorted(os.listdir(tmp)):
            if file.endswith(".safetensors"):
                tensors.update(load_file(os.path.join(tmp, file)))
        with open(os.path.join(tmp, "config.json")) as f:
            return tensors, json.load(f), sorted(os.listdir(tmp))


def write_hf_saved(directory, model, bos, eos):
    """transformers' own save_pretrained output (its naming and its config.json), re-stored as
    bf16 with the fp32 router the way the release stores dtypes."""
    tc = model.config.text_config
    tc.bos_token_id, tc.eos_token_id = bos, eos
    if getattr(model, "generation_config", None) is not None:
        model.generation_config.bos_token_id, model.generation_config.eos_token_id = bos, eos
    saved, config, files = save_pretrained_output(model)
    log("  save_pretrained wrote:", files)
    for name, tensor in saved.items():
        log(f"    {name} {tuple(tensor.shape)} {tensor.dtype}")
    mark_bf16(config)
    ckpt.write_json(os.path.join(directory, "config.json"), config)
    stored = {name: release_dtype(name, tensor) for name, tensor in saved.items()}
    kept_fp32 = [n for n, t in stored.items() if t.dtype == torch.float32]
    log("  stored as fp32:", kept_fp32)
    ckpt.write_safetensors(directory, stored, keep_dtypes=True)


def exercised(spec, fx):
    items = [f"MSA block selection (T={spec.seq_len} > top_k*block={spec.topk_blocks * spec.block})",
             f"per-KV-group selection ({spec.kv_heads} groups of {spec.heads // spec.kv_heads} q heads)",
             f"partial NeoX RoPE {spec.rotary_dim}/{spec.head_dim}, theta {spec.rope_theta:g}",
             f"MoE {spec.experts} experts top-{spec.experts_per_tok}, correction bias, shared expert, "
             f"scale {spec.routed_scaling}",
             "dense SwiGLU-OAI MLP with the +-7 clamp active",
             f"config style {fx.style}", f"weights {fx.dtype}", f"{fx.shards} safetensors file(s)"]
    if fx.dtype == "mxfp8":
        items.append("MXFP8: F8_E4M3 weights + U8 E8M0 weight_scale_inv [N, K/32]")
    return items


def write_fixture(directory, fx, spec, seed, ids, prompt, stored, ref):
    import transformers
    os.makedirs(directory, exist_ok=True)
    bos, eos = pick_special_ids(spec, ref["greedy"])
    if fx.style == "legacy_vl":
        config = ckpt.vl_config(ckpt.legacy_text_config(spec, bos, eos), quantization=fx.dtype == "mxfp8")
        ckpt.write_json(os.path.join(directory, "config.json"), config)
        ckpt.write_safetensors(directory, ckpt.with_prefix(stored), fx.shards)
    elif fx.style == "transformers_text":
        config = hf_text_config_dict(ref["model"])
        config.update(bos_token_id=bos, eos_token_id=eos)
        mark_bf16(config)
        if not config.get("architectures"):
            config["architectures"] = ["MiniMaxM3VLForCausalLM"]
        ckpt.write_json(os.path.join(directory, "config.json"), config)
        ckpt.write_safetensors(directory, ckpt.with_prefix(stored, text_only=True), fx.shards)
    elif fx.style == "hf_saved":
        write_hf_saved(directory, ref["model"], bos, eos)
    else:
        raise ValueError(fx.style)
    with open(os.path.join(directory, "ids.txt"), "w") as f:
        f.write(" ".join(map(str, ids)) + "\n")
    ref["logits"].numpy().astype("<f4").tofile(os.path.join(directory, "logits.f32"))
    with open(os.path.join(directory, "greedy_prompt.txt"), "w") as f:
        f.write(" ".join(map(str, prompt)) + "\n")
    with open(os.path.join(directory, "greedy_ids.txt"), "w") as f:
        f.write(" ".join(map(str, ref["greedy"])) + "\n")
    meta = {
        "name": fx.name, "style": fx.style, "dtype": fx.dtype, "sharded": fx.shards > 1, "shards": fx.shards,
        "block_size": spec.block, "top_k": spec.topk_blocks, "local_blocks": spec.local_blocks,
        "T": spec.seq_len, "vocab": spec.vocab, "prefill_splits": prefill_splits(spec),
        "greedy_prompt_len": len(prompt), "greedy_tokens": len(ref["greedy"]),
        "bos_token_id": bos, "eos_token_id": eos, "seed": seed,
        "exercised": exercised(spec, fx),
        "margins": ref["margins"],
        "sparse_vs_dense_max_rel_diff": ref["sparse_vs_dense_max_rel_diff"],
        "sparse_vs_dense_argmax_changes": ref["sparse_vs_dense_argmax_changes"],
        "tolerance": {"max_abs_diff_over_row_std": LOGIT_REL_TOL, "argmax": "identical"},
        "reference": {"transformers": transformers.__version__, "torch": torch.__version__,
                      "device": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu",
                      "model_dtype": "float32", "attention": "eager", "tf32": False,
                      "greedy": "argmax of repeated full forward passes, no eos stop"},
        "spec": dataclasses.asdict(spec),
    }
    ckpt.write_json(os.path.join(directory, "meta.json"), meta)
    return meta


def cross_check(directory, fx, ref, device):
    """Loads the written fixture itself with transformers (where it can) and compares logits:
    tells whether HF reads this config style / naming the same way."""
    _, _, mod, vl_cls = hf_classes()
    if fx.dtype != "bf16":
        return
    cls = mod.MiniMaxM3VLForCausalLM if fx.style == "transformers_text" else vl_cls
    try:
        model, info = from_pretrained(cls, directory, device)
        with open(os.path.join(directory, "ids.txt")) as f:
            ids = [int(t) for t in f.read().split()]
        logits = forward_logits(model, ids, device).cpu()
        rel = ((logits - ref["logits"]).abs().amax(-1) / ref["logits"].std(-1)).max().item()
        missing = [k for k in info.get("missing_keys", []) if not is_vision(k)]
        log(f"  cross-check: HF loading {fx.name} directly: max rel diff {rel:.3g}, missing text keys {missing[:6]}")
    except Exception as error:  # informative only
        log(f"  cross-check: HF cannot load {fx.name} directly: {error!r}")


def compare_with(out_root, committed_root):
    """How regenerated fixtures differ from a committed set (same seeds: same weights and ids)."""
    for name in sorted(os.listdir(out_root)):
        new, old = os.path.join(out_root, name), os.path.join(committed_root, name)
        if not os.path.isdir(old):
            log(f"compare {name}: not in {committed_root}")
            continue
        differing = [f for f in sorted(os.listdir(new)) if f not in ("logits.f32", "meta.json") and (
            not os.path.exists(os.path.join(old, f)) or
            open(os.path.join(new, f), "rb").read() != open(os.path.join(old, f), "rb").read())]
        a = np.fromfile(os.path.join(new, "logits.f32"), dtype="<f4")
        b = np.fromfile(os.path.join(old, "logits.f32"), dtype="<f4")
        rel = "shape differs"
        if a.shape == b.shape:
            t = len(open(os.path.join(new, "ids.txt")).read().split())
            rel = parity(b.reshape(t, -1), a.reshape(t, -1))
        log(f"compare {name}: logits (max|diff|/std, same argmax) {rel}; other files differing: {differing}")


def generate(out_root, device, introspect_tar):
    introspect(introspect_tar)
    os.makedirs(out_root, exist_ok=True)
    failed = []
    for gi, group in enumerate(GROUPS):
        log(f"== group {gi}: {group.spec.summary()}")
        try:
            generate_group(gi, group, out_root, device)
        except Exception:  # keep going: the other groups still teach something
            traceback.print_exc()
            failed.append(gi)
    if failed:
        sys.exit(f"groups {failed} failed")


def generate_group(gi, group, out_root, device):
    with tempfile.TemporaryDirectory() as workdir:
        seed, ids, prompt, results = build_group(group, workdir, device, verbose=gi == 0)
        for fx, stored, ref in results:
            directory = os.path.join(out_root, fx.name)
            shutil.rmtree(directory, ignore_errors=True)
            meta = write_fixture(directory, fx, group.spec, seed, ids, prompt, stored, ref)
            size = sum(os.path.getsize(os.path.join(directory, f)) for f in os.listdir(directory))
            log(f"  {fx.name}: {size / 1e6:.2f} MB, margins {json.dumps(meta['margins'])}, sparse-vs-dense "
                f"{meta['sparse_vs_dense_max_rel_diff']:.3g} ({meta['sparse_vs_dense_argmax_changes']} argmax changes)")
            cross_check(directory, fx, ref, device)


# ----------------------------------------------------------------------------- --verify


def random_spec(rng):
    heads, kv = rng.choice([(4, 2), (4, 1), (6, 2), (8, 4), (8, 2)])
    head_dim = rng.choice([32, 64])
    block, topk = rng.choice([(4, 3), (8, 2), (8, 4), (16, 2), (16, 3)])
    layers = rng.randint(3, 5)
    attn = [rng.choice(["full", "sparse"]) for _ in range(layers)]
    mlp = [rng.choice(["dense", "moe"]) for _ in range(layers)]
    attn[rng.randrange(layers)] = "sparse"
    mlp[rng.randrange(layers)] = "moe"
    experts = rng.choice([4, 8, 12])
    return ModelSpec(hidden=rng.choice([64, 96, 128]), attn_kinds=attn, mlp_kinds=mlp, heads=heads, kv_heads=kv,
                     head_dim=head_dim, rotary_dim=rng.choice([head_dim // 4, head_dim // 2, head_dim]),
                     rope_theta=rng.choice([1e4, 1e6, 5e6]), block=block, topk_blocks=topk, experts=experts,
                     experts_per_tok=rng.choice([1, 2, 3]), expert_inter=rng.choice([32, 64]),
                     shared_inter=rng.choice([32, 64]), dense_inter=rng.choice([64, 96]),
                     vocab=rng.choice([256, 384, 768]), seq_len=topk * block + rng.randint(40, 120),
                     greedy_prompt_len=topk * block + rng.randint(1, 20), greedy_tokens=8,
                     routed_scaling=rng.choice([1.0, 2.0, 2.5]))


def run_binary(args):
    result = subprocess.run(args, capture_output=True, text=True, timeout=900)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} -> exit {result.returncode}: {result.stderr.strip()[-400:]}")
    return result.stdout


def parity(ref, got):
    """(max over rows of max|diff|/std(row), identical argmax in every row)."""
    rel = (np.abs(got - ref).max(axis=1) / ref.std(axis=1)).max()
    return float(rel), bool((got.argmax(axis=1) == ref.argmax(axis=1)).all())


def verify(binary, count, seed, report_path, device):
    rng = random.Random(seed)
    rows = []
    with tempfile.TemporaryDirectory() as root:
        for i in range(count):
            spec = random_spec(rng)
            style = rng.choice(["legacy_vl", "transformers_text"])
            fx = Fixture(f"verify_{i}", style, rng.choice(["bf16", "mxfp8"]), rng.choice([1, 2, 3]))
            log(f"== verify {i}: {spec.summary()} {fx.style} {fx.dtype} shards {fx.shards}")
            workdir = os.path.join(root, f"work{i}")
            os.makedirs(workdir)
            group = Group(spec, seed * 1000 + i, [fx])
            gseed, ids, prompt, results = build_group(group, workdir, device)
            _, stored, ref = results[0]
            directory = os.path.join(root, fx.name)
            meta = write_fixture(directory, fx, spec, gseed, ids, prompt, stored, ref)
            expected = ref["logits"].numpy()
            row = {"name": fx.name, "spec": spec.summary(), "style": fx.style, "dtype": fx.dtype,
                   "shards": fx.shards, "decisiveness": decisiveness(meta["margins"])}
            try:
                out = os.path.join(root, "out.f32")
                for split in [None] + meta["prefill_splits"]:
                    extra = [] if split is None else ["--prefill", str(split)]
                    run_binary([binary, "logits", "--model", directory, "--ids",
                                os.path.join(directory, "ids.txt"), "--out", out] + extra)
                    got = np.fromfile(out, dtype="<f4").reshape(expected.shape)
                    row[f"prefill_{split or 'all'}"] = parity(expected, got)
                greedy = run_binary([binary, "generate", "--model", directory, "--ids",
                                     os.path.join(directory, "greedy_prompt.txt"), "--max-tokens",
                                     str(len(ref["greedy"])), "--temperature", "0"]).split()
                row["greedy_equal"] = [int(t) for t in greedy] == ref["greedy"]
                row["pass"] = row["greedy_equal"] and all(
                    rel <= LOGIT_REL_TOL and same for k, (rel, same) in
                    ((k, v) for k, v in row.items() if k.startswith("prefill_")))
            except Exception as error:
                row["error"] = str(error)
                row["pass"] = False
            log("  " + json.dumps(row))
            rows.append(row)
    passed = sum(r["pass"] for r in rows)
    log(f"VERIFY: {passed}/{len(rows)} random configs match transformers "
        f"(max|diff|/std <= {LOGIT_REL_TOL}, identical argmax, identical greedy)")
    if report_path:
        ckpt.write_json(report_path, {"passed": passed, "total": len(rows), "rows": rows})
    return passed == len(rows)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="tests/fixtures", help="fixture root to (re)write")
    parser.add_argument("--introspect", help="also write the installed transformers sources to this .tar.gz")
    parser.add_argument("--compare", metavar="DIR", help="after generating, diff against this fixture root")
    parser.add_argument("--verify", metavar="M3_BINARY", help="parity of M3_BINARY on fresh random models")
    parser.add_argument("--count", type=int, default=6)
    parser.add_argument("--seed", type=int, default=20261130)
    parser.add_argument("--report", help="--verify: JSON report path")
    args = parser.parse_args()
    ckpt.use_exact_fp32()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    if args.verify:
        sys.exit(0 if verify(os.path.abspath(args.verify), args.count, args.seed, args.report, device) else 1)
    generate(args.out, device, args.introspect)
    if args.compare:
        compare_with(args.out, args.compare)


if __name__ == "__main__":
    main()
