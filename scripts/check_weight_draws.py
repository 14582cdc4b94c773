#!/usr/bin/env python3
"""Checks that the weight drawing of golden_checkpoint.py (draw_weights) and gen_golden_vl.py
(draw_vision_weights) still gives the weights of the committed fixtures, tensor for tensor and bit
for bit: the fixtures' seeds (meta.json) are drawn again and stored the way the generators store
them. Needs torch and safetensors (the GPU machine; runs on the CPU in seconds). From the
repository root:

  python3 scripts/check_weight_draws.py

Covered: the release-named text fixtures of gen_golden.py (bf16, MXFP8, sharded, text-only naming)
and both VL fixtures of gen_golden_vl.py. m3_hf_saved_bf16 holds transformers' save_pretrained
output (its own names and layout), not the draws as written, so it is not compared.
"""

import json
import os
import sys

import torch
from safetensors.torch import load_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_golden as golden  # noqa: E402
import gen_golden_vl as golden_vl  # noqa: E402
import golden_checkpoint as ckpt  # noqa: E402

FIXTURES = "tests/fixtures"


def committed(directory):
    """Every tensor of the fixture's safetensors files, and its meta.json."""
    tensors = {}
    for file in sorted(os.listdir(directory)):
        if file.endswith(".safetensors"):
            tensors.update(load_file(os.path.join(directory, file)))
    with open(os.path.join(directory, "meta.json")) as f:
        return tensors, json.load(f)


def text_tensors(fixture, spec, seed):
    """What gen_golden.py's write_fixture stores for a release-named fixture."""
    drawn = ckpt.draw_weights(spec, seed)
    stored = drawn if fixture.dtype == "bf16" else ckpt.mxfp8_twin(drawn)[0]
    named = ckpt.with_prefix(stored, text_only=fixture.style == "transformers_text")
    return {name: ckpt.storage_tensor(name, tensor) for name, tensor in named.items()}


def vl_tensors(case, seed):
    """What gen_golden_vl.py's model_fixture stores."""
    tensors = golden_vl.stored_text(ckpt.draw_weights(case.spec, seed))
    tensors.update(golden_vl.stored_vision(golden_vl.draw_vision_weights(case.vs, case.spec.hidden, seed),
                                           case.vs.mlp_naming))
    return tensors


def differences(drawn, stored):
    """Names whose tensors differ in presence, dtype, shape or any bit."""
    out = sorted(set(drawn) ^ set(stored))
    for name in sorted(set(drawn) & set(stored)):
        a, b = drawn[name].contiguous(), stored[name].contiguous()
        if a.dtype != b.dtype or a.shape != b.shape or not torch.equal(a.view(torch.uint8), b.view(torch.uint8)):
            out.append(name)
    return out


def main():
    checks = []  # (fixture name, draw function of a seed, committed directory)
    for group in golden.GROUPS:
        for fixture in group.fixtures:
            if fixture.style != "hf_saved":
                checks.append((fixture.name, lambda seed, f=fixture, s=group.spec: text_tensors(f, s, seed),
                               os.path.join(FIXTURES, fixture.name)))
    for case in golden_vl.CASES:
        checks.append((case.name, lambda seed, c=case: vl_tensors(c, seed),
                       os.path.join(FIXTURES, "vision", case.name)))
    failed = []
    for name, draw, directory in checks:
        stored, meta = committed(directory)
        wrong = differences(draw(meta["seed"]), stored)
        # The comparison must be able to tell draws apart: another seed differs everywhere it draws.
        control = differences(draw(meta["seed"] + 1), stored)
        print(f"{name}: seed {meta['seed']}, {len(stored)} tensors, {len(wrong)} differ "
              f"(seed + 1: {len(control)} differ)", flush=True)
        if wrong or not control:
            failed.append(name)
            print(f"  differing: {wrong[:20]}")
    if failed:
        sys.exit(f"FAILED: the draws no longer match {failed}")
    print(f"OK: {len(checks)} fixtures drawn bit for bit")


if __name__ == "__main__":
    main()
