"""Random MiniMax-M3 checkpoints for the reference fixtures (used by gen_golden.py).

Draws the weights of a small model in the release tensor naming (m3-model.md section 7.1), rounds
them to bf16 (router weight and correction bias stay fp32), quantizes to MXFP8, and writes
config.json (legacy or transformers style) plus safetensors files (single or sharded).
Needs torch and safetensors (the GPU machine); nothing here calls transformers. After a change to
the drawing, scripts/check_weight_draws.py shows whether the committed fixtures still come out bit
for bit.
"""

import dataclasses
import json
import math
import os

import torch
from safetensors.torch import save_file

MXFP8_BLOCK = 32
E4M3_MAX = 448.0
# Release prefixes: the VL checkpoint nests the text model under `language_model.`.
VL_PREFIXES = ("language_model.model.", "language_model.lm_head.weight")
TEXT_PREFIXES = ("model.", "lm_head.weight")


@dataclasses.dataclass
class ModelSpec:
    hidden: int
    attn_kinds: list  # per layer: "full" | "sparse"
    mlp_kinds: list  # per layer: "dense" | "moe"
    heads: int
    kv_heads: int
    head_dim: int
    rotary_dim: int
    rope_theta: float
    block: int
    topk_blocks: int
    experts: int
    experts_per_tok: int
    expert_inter: int
    shared_inter: int
    dense_inter: int
    vocab: int
    seq_len: int
    greedy_prompt_len: int
    greedy_tokens: int
    routed_scaling: float = 2.0
    local_blocks: int = 1
    rms_eps: float = 1e-6
    swiglu_alpha: float = 1.702
    swiglu_limit: float = 7.0

    @property
    def layers(self):
        return len(self.attn_kinds)

    def summary(self):
        return (f"H{self.hidden} L{self.layers} attn={''.join(k[0] for k in self.attn_kinds)} "
                f"mlp={''.join(k[0] for k in self.mlp_kinds)} heads {self.heads}/{self.kv_heads}x{self.head_dim} "
                f"rot {self.rotary_dim} theta {self.rope_theta:g} block {self.block} topk {self.topk_blocks} "
                f"E{self.experts} k{self.experts_per_tok} V{self.vocab} T{self.seq_len}")


def use_exact_fp32():
    """The references are the exact fp32 math: no TF32 in matmuls or convolutions."""
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.set_float32_matmul_precision("highest")


def is_fp32_tensor(name):
    """Router weight and correction bias are stored fp32 in the release; everything else bf16."""
    return name.endswith("block_sparse_moe.gate.weight") or name.endswith("e_score_correction_bias")


def is_quantized_in_mxfp8(name, tensor):
    """MXFP8 release: every LM Linear except embeddings, lm_head and the router (m3-model.md 7.3)."""
    if tensor.dim() != 2 or is_fp32_tensor(name):
        return False
    return not (name.endswith("embed_tokens.weight") or name.endswith("lm_head.weight"))


def bf16(t):
    """Rounded to bf16, kept as float32 (exactly representable in the stored dtype)."""
    return t.to(torch.bfloat16).float()


class WeightDraws:
    """Random weights from one seeded CPU stream, drawn in call order (the fixtures' weights depend
    on that order: add new draws after the existing ones)."""

    def __init__(self, seed):
        self.gen = torch.Generator().manual_seed(seed)

    def normal(self, shape, std, mean=0.0):
        return torch.randn(shape, generator=self.gen) * std + mean

    def bf16_normal(self, shape, std, mean=0.0):
        return bf16(self.normal(shape, std, mean))

    def linear(self, out_features, in_features, gain=1.0):
        """A bf16 [out, in] weight with std gain / sqrt(in): unit-scale inputs give O(gain) outputs."""
        return self.bf16_normal((out_features, in_features), gain / math.sqrt(in_features))

    def uniform(self, shape):
        return torch.rand(shape, generator=self.gen)


def draw_weights(spec, seed):
    """Release-named weights (without the `language_model.model.` prefix), as float32 values that
    are exactly representable in their stored dtype. Scales keep activations O(1) but make the
    SwiGLU clamp, the router and the block choice matter: gate/up pre-activations have std ~3
    (the +-7 clamp bites), router logits std ~2, q/k norms sharpen attention."""
    draw = WeightDraws(seed)
    h, hd = spec.hidden, spec.head_dim
    w = {
        "embed_tokens.weight": draw.bf16_normal((spec.vocab, h), 1.0),
        "norm.weight": draw.bf16_normal((h,), 0.1),
        "lm_head.weight": draw.linear(spec.vocab, h, 2.0),
    }
    for i in range(spec.layers):
        p = f"layers.{i}."
        w[p + "input_layernorm.weight"] = draw.bf16_normal((h,), 0.1)
        w[p + "post_attention_layernorm.weight"] = draw.bf16_normal((h,), 0.1)
        a = p + "self_attn."
        w[a + "q_proj.weight"] = draw.linear(spec.heads * hd, h)
        w[a + "k_proj.weight"] = draw.linear(spec.kv_heads * hd, h)
        w[a + "v_proj.weight"] = draw.linear(spec.kv_heads * hd, h)
        w[a + "o_proj.weight"] = draw.linear(h, spec.heads * hd)
        w[a + "q_norm.weight"] = draw.bf16_normal((hd,), 0.3, 0.5)
        w[a + "k_norm.weight"] = draw.bf16_normal((hd,), 0.3, 0.5)
        if spec.attn_kinds[i] == "sparse":
            w[a + "index_q_proj.weight"] = draw.linear(spec.kv_heads * hd, h)
            w[a + "index_k_proj.weight"] = draw.linear(hd, h)
            w[a + "index_q_norm.weight"] = draw.bf16_normal((hd,), 0.2)
            w[a + "index_k_norm.weight"] = draw.bf16_normal((hd,), 0.2)
        if spec.mlp_kinds[i] == "dense":
            w[p + "mlp.gate_proj.weight"] = draw.linear(spec.dense_inter, h, 3.0)
            w[p + "mlp.up_proj.weight"] = draw.linear(spec.dense_inter, h, 3.0)
            w[p + "mlp.down_proj.weight"] = draw.linear(h, spec.dense_inter)
            continue
        m = p + "block_sparse_moe."
        w[m + "gate.weight"] = draw.normal((spec.experts, h), 2.0 / math.sqrt(h))
        w[m + "e_score_correction_bias"] = (draw.uniform((spec.experts,)) - 0.5) * 0.5
        for e in range(spec.experts):
            x = f"{m}experts.{e}."
            w[x + "w1.weight"] = draw.linear(spec.expert_inter, h, 3.0)
            w[x + "w3.weight"] = draw.linear(spec.expert_inter, h, 3.0)
            w[x + "w2.weight"] = draw.linear(h, spec.expert_inter)
        w[m + "shared_experts.gate_proj.weight"] = draw.linear(spec.shared_inter, h, 3.0)
        w[m + "shared_experts.up_proj.weight"] = draw.linear(spec.shared_inter, h, 3.0)
        w[m + "shared_experts.down_proj.weight"] = draw.linear(h, spec.shared_inter)
    return w


def mxfp8_quantize(weight):
    """OCP MX: per 32 consecutive K elements one power-of-two scale (E8M0, biased by 127) chosen
    so the block max fits E4M3's 448. Returns (e4m3 [N,K], u8 scales [N,K/32], dequantized f32)."""
    n, k = weight.shape
    assert k % MXFP8_BLOCK == 0, f"K={k} is not a multiple of {MXFP8_BLOCK}"
    blocks = weight.reshape(n, k // MXFP8_BLOCK, MXFP8_BLOCK)
    amax = blocks.abs().amax(dim=-1).clamp_min(2.0**-60)
    exponent = torch.ceil(torch.log2(amax / E4M3_MAX)).clamp(-127, 127)
    scaled = blocks / torch.exp2(exponent)[..., None]
    assert scaled.abs().max() <= E4M3_MAX
    quantized = scaled.to(torch.float8_e4m3fn)
    dequantized = quantized.float() * torch.exp2(exponent)[..., None]
    scales = (exponent + 127).to(torch.uint8)
    return quantized.reshape(n, k), scales, dequantized.reshape(n, k)


def mxfp8_twin(weights):
    """(stored tensors with `weight_scale_inv`, the dequantized float32 weights HF must run)."""
    stored, dequantized = {}, {}
    for name, tensor in weights.items():
        if not is_quantized_in_mxfp8(name, tensor):
            stored[name] = tensor
            dequantized[name] = tensor
            continue
        q, s, deq = mxfp8_quantize(tensor)
        # Exactness of the reference: E4M3 x 2^e always fits bf16, so HF can load it losslessly.
        assert torch.equal(deq.to(torch.bfloat16).float(), deq)
        stored[name] = q
        stored[name[: -len("weight")] + "weight_scale_inv"] = s
        dequantized[name] = deq
    return stored, dequantized


def with_prefix(weights, text_only=False, dense_mlp_prefix="mlp."):
    """Full tensor names. `dense_mlp_prefix="block_sparse_moe."` gives the naming transformers'
    save_pretrained uses for dense layers."""
    model_prefix, head_name = TEXT_PREFIXES if text_only else VL_PREFIXES
    out = {}
    for name, tensor in weights.items():
        if name == "lm_head.weight":
            out[head_name] = tensor
            continue
        if ".mlp." in name:
            name = name.replace(".mlp.", "." + dense_mlp_prefix)
        out[model_prefix + name] = tensor
    return out


def storage_tensor(name, tensor):
    if tensor.dtype in (torch.float8_e4m3fn, torch.uint8):
        return tensor.contiguous()
    dtype = torch.float32 if is_fp32_tensor(name) else torch.bfloat16
    return tensor.to(dtype).contiguous()


def write_safetensors(directory, tensors, shards=1, keep_dtypes=False):
    """model.safetensors, or model-0000i-of-0000n.safetensors + model.safetensors.index.json.
    Tensors are stored in the release dtypes unless keep_dtypes."""
    os.makedirs(directory, exist_ok=True)
    stored = {name: t.contiguous() if keep_dtypes else storage_tensor(name, t) for name, t in tensors.items()}
    if shards == 1:
        save_file(stored, os.path.join(directory, "model.safetensors"), metadata={"format": "pt"})
        return ["model.safetensors"]
    names = list(stored)
    total = sum(t.numel() * t.element_size() for t in stored.values())
    groups, current, size = [], [], 0
    for name in names:
        current.append(name)
        size += stored[name].numel() * stored[name].element_size()
        if size >= total * (len(groups) + 1) / shards and len(groups) < shards - 1:
            groups.append(current)
            current = []
    groups.append(current)
    files, weight_map = [], {}
    for i, group in enumerate(groups):
        file = f"model-{i + 1:05d}-of-{len(groups):05d}.safetensors"
        save_file({n: stored[n] for n in group}, os.path.join(directory, file), metadata={"format": "pt"})
        files.append(file)
        weight_map.update({n: file for n in group})
    index = {"metadata": {"total_size": total}, "weight_map": weight_map}
    with open(os.path.join(directory, "model.safetensors.index.json"), "w") as f:
        json.dump(index, f, indent=2)
    return files


def rope_parameters(spec):
    return {"rope_type": "default", "rope_theta": float(spec.rope_theta),
            "partial_rotary_factor": spec.rotary_dim / spec.head_dim}


def legacy_text_config(spec, bos, eos):
    """The released checkpoint's text_config keys (m3-model.md 2.1), with this model's sizes."""
    sparse = [1 if k == "sparse" else 0 for k in spec.attn_kinds]
    return {
        "architectures": ["MiniMaxM3SparseForCausalLM"],
        "model_type": "minimax_m2",
        "attention_output_gate": False,
        "bos_token_id": bos,
        "eos_token_id": eos,
        "dense_intermediate_size": spec.dense_inter,
        "head_dim": spec.head_dim,
        "hidden_act": "swigluoai",
        "hidden_size": spec.hidden,
        "intermediate_size": spec.expert_inter,
        "max_position_embeddings": 4096,
        "moe_layer_freq": [1 if k == "moe" else 0 for k in spec.mlp_kinds],
        "n_shared_experts": 1,
        "num_attention_heads": spec.heads,
        "num_experts_per_tok": spec.experts_per_tok,
        "num_hidden_layers": spec.layers,
        "num_key_value_heads": spec.kv_heads,
        "num_local_experts": spec.experts,
        "partial_rotary_factor": spec.rotary_dim / spec.head_dim,
        "qk_norm_type": "per_head",
        "rms_norm_eps": spec.rms_eps,
        "rope_theta": float(spec.rope_theta),
        "rotary_dim": spec.rotary_dim,
        "routed_scaling_factor": spec.routed_scaling,
        "scoring_func": "sigmoid",
        "shared_intermediate_size": spec.shared_inter,
        "sparse_attention_config": {
            "use_sparse_attention": True,
            "sparse_index_dim": spec.head_dim,
            "sparse_num_index_heads": spec.kv_heads,
            "sparse_topk_blocks": spec.topk_blocks,
            "sparse_block_size": spec.block,
            "sparse_score_type": "max",
            "sparse_init_block": 0,
            "sparse_local_block": spec.local_blocks,
            "sparse_attention_freq": sparse,
            "sparse_disable_index_value": sparse,
        },
        "swiglu_alpha": spec.swiglu_alpha,
        "swiglu_limit": spec.swiglu_limit,
        "tie_word_embeddings": False,
        "use_gemma_norm": True,
        "use_qk_norm": True,
        "use_routing_bias": True,
        "vocab_size": spec.vocab,
    }


def transformers_text_config(spec, bos, eos):
    """The flat keys of transformers' MiniMaxM3VLTextConfig (m3-model.md 2.2)."""
    return {
        "model_type": "minimax_m3_vl_text",
        "hidden_size": spec.hidden,
        "intermediate_size": spec.expert_inter,
        "dense_intermediate_size": spec.dense_inter,
        "shared_intermediate_size": spec.shared_inter,
        "num_hidden_layers": spec.layers,
        "num_attention_heads": spec.heads,
        "num_key_value_heads": spec.kv_heads,
        "head_dim": spec.head_dim,
        "vocab_size": spec.vocab,
        "max_position_embeddings": 4096,
        "rms_norm_eps": spec.rms_eps,
        "num_local_experts": spec.experts,
        "num_experts_per_tok": spec.experts_per_tok,
        "routed_scaling_factor": spec.routed_scaling,
        "rotary_dim": spec.rotary_dim,
        "swiglu_alpha": spec.swiglu_alpha,
        "swiglu_limit": spec.swiglu_limit,
        "layer_types": ["minimax_m3_sparse" if k == "sparse" else "full_attention" for k in spec.attn_kinds],
        "mlp_layer_types": ["sparse" if k == "moe" else "dense" for k in spec.mlp_kinds],
        "index_n_heads": spec.kv_heads,
        "index_head_dim": spec.head_dim,
        "index_block_size": spec.block,
        "index_topk_blocks": spec.topk_blocks,
        "index_local_blocks": spec.local_blocks,
        "rope_parameters": rope_parameters(spec),
        "tie_word_embeddings": False,
        "bos_token_id": bos,
        "eos_token_id": eos,
    }


TINY_VISION_CONFIG = {
    "model_type": "clip_vision_model",
    "hidden_size": 64,
    "intermediate_size": 128,
    "num_hidden_layers": 1,
    "num_attention_heads": 2,
    "num_channels": 3,
    "patch_size": 14,
    "temporal_patch_size": 2,
    "spatial_merge_size": 2,
    "hidden_act": "gelu",
    "layer_norm_eps": 1e-5,
}


def vl_config(text_config, quantization=False):
    """Top-level VL wrapper (m3-model.md 2.4) around a text_config, with a tiny vision tower."""
    config = {
        "architectures": ["MiniMaxM3SparseForConditionalGeneration"],
        "model_type": "minimax_m3_vl",
        "image_token_index": 200025,
        "video_token_index": 200026,
        "projector_hidden_act": "gelu",
        "projector_hidden_size": 64,
        "multimodal_projector_bias": True,
        "vision_feature_layer": -1,
        "vision_feature_select_strategy": "full",
        "tie_word_embeddings": False,
        "text_config": text_config,
        "vision_config": dict(TINY_VISION_CONFIG),
    }
    if quantization:
        config["quantization_config"] = {
            "quant_method": "mxfp8",
            "activation_scheme": "dynamic",
            "weight_block_size": [1, MXFP8_BLOCK],
            "ignored_layers": ["lm_head", "model.embed_tokens", "vision_tower"],
        }
    return config


def staging_config(spec, bos, eos):
    """What the HF reference loads: transformers-style keys plus the legacy lists, so both the
    current and older MiniMaxM3VLTextConfig parse it to the same model."""
    text = transformers_text_config(spec, bos, eos)
    legacy = legacy_text_config(spec, bos, eos)
    text["sparse_attention_config"] = legacy["sparse_attention_config"]
    text["moe_layer_freq"] = legacy["moe_layer_freq"]
    return vl_config(text)


def write_json(path, value):
    with open(path, "w") as f:
        json.dump(value, f, indent=2, default=str)
        f.write("\n")
