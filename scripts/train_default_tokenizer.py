#!/usr/bin/env python3
"""Trains the embedded default model's byte-level BPE tokenizer (stdlib only, deterministic).

scripts/demo_model/prepare.py calls it on the default model's corpora and chat set; by hand:
  scripts/train_default_tokenizer.py TEXT_FILE... models/default/tokenizer.json
The output is an HF tokenizer.json with the o200k pre-tokenizer (as MiniMax-M3 uses), 8000
regular tokens and the M3 special tokens from id 8000 on (vocab rows 8064, like M3's 200064).
"""
import collections
import heapq
import json
import re
import sys

REGULAR_VOCAB = 8000
VOCAB_ROWS = 8064
# M3 special tokens (m3-model.md §8 order); ids REGULAR_VOCAB + index.
SPECIAL_TOKENS = [
    "]!p~[", "]~b]", "[e~[", "]!d~[", "]<]speech[>[", "]<]image[>[", "]<]video[>[",
    "]<]start of speech[>[", "]<]end of speech[>[", "]<]start of image[>[", "]<]end of image[>[",
    "]<]start of video[>[", "]<]end of video[>[", "]<]vision pad[>[", "]~!b[", "<think>",
    "</think>", "<tool_call>", "</tool_call>", "]<]frame[>[", "]<]start of frame[>[",
    "]<]end of frame[>[", "]<]minimax[>[", "<mm:think>", "</mm:think>",
]
# The o200k pre-tokenizer pattern (what tokenizer.json carries; needs \p classes).
O200K_PATTERN = (
    r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?"
    r"|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?"
    r"|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)
# Python's re has no \p classes; for training an ASCII rendering of the same pattern is enough
# (the corpus is ASCII, and any split gives valid merges).
TRAIN_PATTERN = re.compile(
    r"[^\r\nA-Za-z0-9]?[A-Z]*[a-z]+(?:'s|'t|'re|'ve|'m|'ll|'d)?"
    r"|[^\r\nA-Za-z0-9]?[A-Z]+[a-z]*(?:'s|'t|'re|'ve|'m|'ll|'d)?"
    r"|[0-9]{1,3}| ?[^\sA-Za-z0-9]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)


def byte_to_unicode():
    """GPT-2's reversible byte -> printable character map."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    chars = list(printable)
    extra = 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            chars.append(256 + extra)
            extra += 1
    return {b: chr(c) for b, c in zip(printable, chars)}


def train(text):
    to_unicode = byte_to_unicode()
    words = collections.Counter(
        "".join(to_unicode[b] for b in piece.encode("utf-8")) for piece in TRAIN_PATTERN.findall(text)
    )
    symbols = [list(w) for w in words]
    freqs = list(words.values())
    pair_counts = collections.defaultdict(int)
    pair_words = collections.defaultdict(set)
    for i, word in enumerate(symbols):
        for pair in zip(word, word[1:]):
            pair_counts[pair] += freqs[i]
            pair_words[pair].add(i)
    heap = [(-count, pair) for pair, count in pair_counts.items()]
    heapq.heapify(heap)
    vocab = [to_unicode[b] for b in range(256)]
    merges = []
    while len(vocab) < REGULAR_VOCAB and heap:
        neg, pair = heapq.heappop(heap)
        if pair_counts.get(pair, 0) != -neg or -neg <= 0:
            continue  # stale heap entry
        merged = pair[0] + pair[1]
        merges.append(pair)
        vocab.append(merged)
        changed = set()
        for i in list(pair_words[pair]):
            word, freq = symbols[i], freqs[i]
            for p in zip(word, word[1:]):
                pair_counts[p] -= freq
                changed.add(p)
            out, j = [], 0
            while j < len(word):
                if j + 1 < len(word) and word[j] == pair[0] and word[j + 1] == pair[1]:
                    out.append(merged)
                    j += 2
                else:
                    out.append(word[j])
                    j += 1
            symbols[i] = out
            for p in zip(out, out[1:]):
                pair_counts[p] += freq
                pair_words[p].add(i)
                changed.add(p)
        for p in changed:
            if pair_counts[p] > 0:
                heapq.heappush(heap, (-pair_counts[p], p))
        del pair_counts[pair]
    return vocab, merges


def tokenizer_json(vocab, merges):
    """HF tokenizer.json: o200k pre-tokenizer, byte-level BPE, the M3 special tokens from id 8000."""
    assert len(vocab) == REGULAR_VOCAB, len(vocab)
    assert REGULAR_VOCAB + len(SPECIAL_TOKENS) <= VOCAB_ROWS
    added = [
        {"id": REGULAR_VOCAB + i, "content": tok, "single_word": False, "lstrip": False,
         "rstrip": False, "normalized": False, "special": True}
        for i, tok in enumerate(SPECIAL_TOKENS)
    ]
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": None,
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": O200K_PATTERN}, "behavior": "Removed", "invert": True},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False},
        ]},
        "post_processor": None,
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "",
                  "end_of_word_suffix": "", "fuse_unk": False, "byte_fallback": False,
                  "ignore_merges": False,
                  "vocab": {tok: i for i, tok in enumerate(vocab)},
                  "merges": [[a, b] for a, b in merges]},
    }


def write_tokenizer(text, out_path):
    vocab, merges = train(text)
    with open(out_path, "w", encoding="utf-8") as f:
        json.dump(tokenizer_json(vocab, merges), f, ensure_ascii=False, indent=None, separators=(",", ":"))
        f.write("\n")


def main():
    *corpora, out_path = sys.argv[1:]
    text = []
    for path in corpora:
        with open(path, encoding="utf-8") as f:
            text.append(f.read())
    write_tokenizer("\n".join(text), out_path)


if __name__ == "__main__":
    main()
