"""Regenerates the transformers-written config fixtures (run where transformers 5.17 is installed).

m3_transformers/config.json: the released legacy config (m3_release/config.json) loaded by
transformers' MiniMaxM3VLConfig and written back with save_pretrained.
transformers_defaults/config.json: MiniMaxM3VLTextConfig() with every default, saved.
Prints the RoPE width transformers builds for each, which test_config.cpp relies on.
"""
import json
import os
import shutil
import sys
import tempfile

from transformers.models.minimax_m3_vl import configuration_minimax_m3_vl as cfg
from transformers.models.minimax_m3_vl import modeling_minimax_m3_vl as modeling

here = os.path.dirname(os.path.abspath(__file__))


def save(config, name):
    with tempfile.TemporaryDirectory() as tmp:
        config.save_pretrained(tmp)
        os.makedirs(os.path.join(here, name), exist_ok=True)
        shutil.copy(os.path.join(tmp, "config.json"), os.path.join(here, name, "config.json"))


def rotated_channels(text_config):
    return 2 * modeling.MiniMaxM3VLRotaryEmbedding(text_config).inv_freq.numel()


release = json.load(open(os.path.join(here, "m3_release", "config.json")))
release.pop("auto_map", None)
vl = cfg.MiniMaxM3VLConfig.from_dict(release)
save(vl, "m3_transformers")
defaults = cfg.MiniMaxM3VLTextConfig()
save(defaults, "transformers_defaults")
print("release rotates", rotated_channels(vl.text_config), "channels", file=sys.stderr)
print("defaults rotate", rotated_channels(defaults), "channels", file=sys.stderr)
