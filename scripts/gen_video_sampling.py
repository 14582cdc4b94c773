#!/usr/bin/env python3
"""Reference frame sampling of transformers' MiniMax-M3 video processor (run on the GPU machine).

Writes tests/fixtures/vision/video_sampling.json: for a grid of clips (total frames, source fps)
and sampling fps, the frames MiniMaxM3VLVideoProcessor.sample_frames keeps (count, and the
indices for short lists; its sample_frames takes no min/max frames), plus the temporal groups the
processor makes of 1, 2, 3 and 5 frames (even padding). tests/vision/test_video.cpp compares
m3::vision with it.

    python3 scripts/gen_video_sampling.py --out tests/fixtures/vision/video_sampling.json
"""
import argparse
import inspect
import json
import sys

import numpy as np
import torch
import transformers
from transformers.models.minimax_m3_vl import video_processing_minimax_m3_vl as vp
from transformers.video_utils import VideoMetadata

TOTALS = [1, 2, 3, 4, 5, 7, 16, 30, 31, 60, 61, 100, 121, 300, 1000, 3600, 100000]
SOURCE_FPS = [1.0, 4.0, 23.976, 25.0, 29.97, 30.0, 60.0]
SAMPLING_FPS = [0.5, 1.0, 2.0]
MAX_LISTED = 32  # indices are stored for sampled counts up to this


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--source-dump", help="also write the processor's source here")
    args = parser.parse_args()
    proc = vp.MiniMaxM3VLVideoProcessor()
    if args.source_dump:
        with open(args.source_dump, "w") as f:
            f.write(inspect.getsource(vp))
    defaults = {k: getattr(proc, k, None) for k in
                ("fps", "min_frames", "max_frames", "num_frames", "do_sample_frames", "temporal_patch_size")}
    print("defaults", defaults, flush=True)
    params = inspect.signature(proc.sample_frames).parameters
    print("sample_frames", list(params), flush=True)
    cases = []
    known = inspect.signature(VideoMetadata).parameters
    for total in TOTALS:
        for source_fps in SOURCE_FPS:
            for fps in SAMPLING_FPS:
                fields = {"total_num_frames": total, "fps": source_fps, "width": 96, "height": 64,
                          "duration": total / source_fps}
                metadata = VideoMetadata(**{k: v for k, v in fields.items() if k in known})
                case = {"total": total, "source_fps": source_fps, "fps": fps}
                try:
                    indices = [int(i) for i in np.asarray(proc.sample_frames(metadata, fps=fps)).reshape(-1)]
                    case["count"] = len(indices)
                    if len(indices) <= MAX_LISTED:
                        case["indices"] = indices
                except Exception as error:
                    case["error"] = f"{type(error).__name__}: {str(error)[:80]}"
                cases.append(case)
    # Even padding: an odd number of (already sampled) frames becomes ceil(T / 2) temporal groups.
    padding = []
    for frames in (1, 2, 3, 5):
        video = torch.randint(0, 256, (frames, 3, 56, 84), dtype=torch.uint8)
        out = proc(videos=[video], return_tensors="pt", do_sample_frames=False)
        padding.append({"frames": frames, "grid_thw": out["video_grid_thw"][0].tolist()})
    result = {"transformers": transformers.__version__, "torch": torch.__version__,
              "processor": "MiniMaxM3VLVideoProcessor()", "defaults": defaults,
              "sample_frames_parameters": list(params), "cases": cases, "padding": padding}
    with open(args.out, "w") as f:
        json.dump(result, f, indent=None, separators=(",", ":"))
    errors = sum("error" in c for c in cases)
    print(f"{len(cases)} cases, {errors} raised; padding {padding}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
