#!/usr/bin/env python3
"""Reference renders of chat templates with Python Jinja2, configured the way HF transformers
renders chat templates (ImmutableSandboxedEnvironment, trim_blocks, lstrip_blocks, loopcontrols,
its tojson/raise_exception/strftime_now), for requests preprocessed the way vLLM does (tool-call
argument strings parsed to objects, content parts text/image/video).

Usage: render_oracle.py --template FILE --style m3|generic --seed N --count N --out FILE.jsonl
Each output line: {"request": <OpenAI chat request>, "expected": <prompt>} or, when the
template raises, {"request": ..., "error": <message>}.
       render_oracle.py --snippets FILE.json --out FILE.jsonl
renders each {"name", "template", "vars"} of FILE.json; lines {"name", "expected"|"error"}.
"""
import argparse
import copy
import json
import random
from datetime import datetime

import jinja2
import jinja2.ext
import jinja2.nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment


class GenerationTag(jinja2.ext.Extension):
    """HF's {% generation %} block (AssistantTracker) renders its body unchanged."""

    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
        return jinja2.nodes.CallBlock(self.call_method("_render"), [], [], body).set_lineno(lineno)

    def _render(self, caller):
        return caller()


def hf_environment():
    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    def strftime_now(fmt):
        return datetime.now().strftime(fmt)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=[GenerationTag, jinja2.ext.loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


def template_variables(request):
    """The variables apply_chat_template passes, after vLLM-style message preprocessing."""
    def part(p):
        kind = p.get("type") if isinstance(p, dict) else None
        if kind in ("image_url", "input_image", "image"):
            return {"type": "image"}
        if kind in ("video_url", "video"):
            return {"type": "video"}
        return p

    messages = []
    for message in request["messages"]:
        message = copy.deepcopy(message)
        if isinstance(message.get("content"), list):
            message["content"] = [part(p) for p in message["content"]]
        if "reasoning_content" not in message and isinstance(message.get("reasoning"), str):
            message["reasoning_content"] = message["reasoning"]
        for call in message.get("tool_calls") or []:
            function = call.get("function")
            if isinstance(function, dict) and isinstance(function.get("arguments"), str):
                function["arguments"] = json.loads(function["arguments"])
        messages.append(message)
    variables = dict(request.get("chat_template_kwargs") or {})
    variables.update(messages=messages, tools=request.get("tools"), documents=None,
                     add_generation_prompt=request.get("add_generation_prompt", True))
    return variables


# ---- seeded conversation generator ----

WORDS = ["weather", "Paris", "über", "naïve", "東京", "数据", "😀", "tab\there", "line\nbreak", "<b>bold</b>",
         "a & b", "quote \"x\"", "it's", "back\\slash", "  spaced  ", "null", "true", "42", "3.14", "{json}",
         "]<]minimax[>[", "</mm:think>", "emoji 🎉🚀", "Ωμέγα", "Привет", "\u00a0nbsp", "\u3000ideo"]


def text(rng, lo=1, hi=12):
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(lo, hi)))


def scalar(rng):
    kind = rng.randrange(7)
    if kind == 0:
        return rng.randint(-1000, 100000)
    if kind == 1:
        return rng.choice([0.5, -2.25, 1e-7, 1e16, 123.456, 3.0, 1 / 3, 2.5e-5])
    if kind == 2:
        return rng.choice([True, False])
    if kind == 3:
        return None
    return text(rng, 1, 4)


def json_value(rng, depth=0):
    kind = rng.randrange(6) if depth < 3 else 5
    if kind == 0:
        return {f"k{i}_{rng.choice(['a', 'b', 'c'])}": json_value(rng, depth + 1) for i in range(rng.randint(0, 4))}
    if kind == 1:
        return [json_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    return scalar(rng)


def schema(rng, depth=0):
    kind = rng.choice(["string", "integer", "number", "boolean", "array", "object"] if depth < 3 else ["string", "integer"])
    s = {"type": kind}
    if rng.random() < 0.5:
        s["description"] = text(rng, 1, 6)
    if kind == "string" and rng.random() < 0.3:
        s["enum"] = [text(rng, 1, 1) for _ in range(rng.randint(1, 3))]
    if kind == "array":
        s["items"] = schema(rng, depth + 1)
    if kind == "object":
        s["properties"] = {f"p{i}": schema(rng, depth + 1) for i in range(rng.randint(1, 3))}
        s["required"] = list(s["properties"])[: rng.randint(0, len(s["properties"]))]
    return s


def tool(rng, index):
    params = {"type": "object", "properties": {f"arg_{j}": schema(rng, 1) for j in range(rng.randint(0, 4))}}
    params["required"] = list(params["properties"])[: rng.randint(0, len(params["properties"]))]
    function = {"name": f"tool_{index}_{rng.choice(['search', 'get_weather', 'run'])}", "description": text(rng, 2, 10),
                "parameters": params}
    if rng.random() < 0.2:
        del function["description"]
    return {"type": "function", "function": function}


def tool_call(rng, tools, index):
    name = rng.choice(tools)["function"]["name"] if tools else "unknown_tool"
    arguments = {f"arg_{j}": json_value(rng, 1) for j in range(rng.randint(0, 4))}
    as_string = rng.random() < 0.7
    return {"id": f"call_{index}", "type": "function",
            "function": {"name": name, "arguments": json.dumps(arguments, ensure_ascii=rng.random() < 0.5) if as_string else arguments}}


def content(rng, multimodal):
    if not multimodal or rng.random() < 0.5:
        return text(rng)
    parts = []
    for _ in range(rng.randint(1, 4)):
        kind = rng.choice(["text", "text", "image_url", "video_url"])
        if kind == "text":
            parts.append({"type": "text", "text": text(rng)})
        elif kind == "image_url":
            parts.append({"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}})
        else:
            parts.append({"type": "video_url", "video_url": {"url": "https://example.com/v.mp4"}})
    return parts


def conversation_m3(rng):
    tools = [tool(rng, i) for i in range(rng.randint(0, 3))] if rng.random() < 0.7 else []
    messages = []
    lead = rng.choice(["none", "root", "system", "developer", "root+system", "root+developer"])
    if lead.startswith("root"):
        messages.append({"role": "root", "content": content(rng, True) if rng.random() < 0.9 else ""})
    if "system" in lead or "developer" in lead:
        messages.append({"role": "system" if "system" in lead else "developer", "content": content(rng, True)})
    for turn in range(rng.randint(1, 6)):
        messages.append({"role": "user", "content": content(rng, True)})
        if rng.random() < 0.2 and turn > 0:
            continue
        assistant = {"role": "assistant"}
        style = rng.randrange(4)
        if style == 0:
            assistant["reasoning_content"] = text(rng)
            assistant["content"] = text(rng)
        elif style == 1:
            assistant["content"] = f"<mm:think>\n{text(rng)}\n</mm:think>\n\n{text(rng)}"
        elif style == 2:
            assistant["content"] = text(rng)
        else:
            assistant["reasoning"] = text(rng)
            assistant["content"] = None
        if tools and rng.random() < 0.6:
            assistant["tool_calls"] = [tool_call(rng, tools, turn * 10 + k) for k in range(rng.randint(1, 3))]
            if rng.random() < 0.3:
                assistant["content"] = None
        messages.append(assistant)
        for call in assistant.get("tool_calls", []):
            result = content(rng, True) if rng.random() < 0.8 else [{"type": "text", "text": text(rng)}, "raw part"]
            messages.append({"role": "tool", "tool_call_id": call["id"], "content": result})
    if rng.random() < 0.15:
        messages.append({"role": "system", "content": "late system message"})
    if rng.random() < 0.03:
        messages.insert(rng.randint(0, len(messages)), {"role": "tool", "content": "orphan result"})
    request = {"messages": messages}
    if tools or rng.random() < 0.2:
        request["tools"] = tools
    mode = rng.choice(["enabled", "disabled", "adaptive", None, "unset"])
    if mode != "unset":
        request["chat_template_kwargs"] = {"thinking_mode": mode}
    if rng.random() < 0.6:
        request["add_generation_prompt"] = rng.random() < 0.5
    return request


def conversation_generic(rng):
    """System/user/assistant/tool turns in strict alternation, string content, JSON-string arguments."""
    tools = [tool(rng, i) for i in range(rng.randint(1, 3))] if rng.random() < 0.5 else []
    messages = []
    if rng.random() < 0.6:
        messages.append({"role": "system", "content": text(rng)})
    for turn in range(rng.randint(1, 5)):
        messages.append({"role": "user", "content": text(rng)})
        if turn == 4 or rng.random() < 0.15:
            break
        assistant = {"role": "assistant", "content": text(rng)}
        if rng.random() < 0.3:
            assistant["reasoning_content"] = text(rng)
        if tools and rng.random() < 0.5:
            assistant["tool_calls"] = [tool_call(rng, tools, turn * 10)]
            assistant["tool_calls"][0]["id"] = f"c{turn:07d}a"  # 9 alphanumerics, as Mistral requires
            messages.append(assistant)
            messages.append({"role": "tool", "tool_call_id": assistant["tool_calls"][0]["id"],
                             "name": assistant["tool_calls"][0]["function"]["name"], "content": text(rng)})
            messages.append({"role": "assistant", "content": text(rng)})
        else:
            messages.append(assistant)
    request = {"messages": messages}
    if tools:
        request["tools"] = tools
    if rng.random() < 0.5:
        request["add_generation_prompt"] = rng.random() < 0.7
    # Special tokens reach templates like chat_template_kwargs do (tokenizer_config.json in real use).
    request["chat_template_kwargs"] = {"bos_token": "<s>", "eos_token": "</s>"}
    if rng.random() < 0.3:
        request["chat_template_kwargs"]["enable_thinking"] = rng.random() < 0.5
    return request


def render_snippets(path, out_path):
    env = hf_environment()
    with open(path, encoding="utf-8") as f, open(out_path, "w", encoding="utf-8") as out:
        for case in json.load(f):
            record = {"name": case["name"]}
            try:
                record["expected"] = env.from_string(case["template"]).render(**case["vars"])
            except Exception as error:
                record["error"] = f"{type(error).__name__}: {error}"
            out.write(json.dumps(record, ensure_ascii=False) + "\n")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--snippets")
    parser.add_argument("--template")
    parser.add_argument("--style", choices=["m3", "generic"], default="m3")
    parser.add_argument("--seed", type=int)
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    if args.snippets:
        render_snippets(args.snippets, args.out)
        return

    with open(args.template, encoding="utf-8") as f:
        template = hf_environment().from_string(f.read())
    rng = random.Random(args.seed)
    generate = conversation_m3 if args.style == "m3" else conversation_generic
    with open(args.out, "w", encoding="utf-8") as out:
        for _ in range(args.count):
            request = generate(rng)
            record = {"request": request}
            try:
                record["expected"] = template.render(**template_variables(request))
            except Exception as error:  # the engine under test must fail on these too
                record["error"] = f"{type(error).__name__}: {error}"
            out.write(json.dumps(record, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
