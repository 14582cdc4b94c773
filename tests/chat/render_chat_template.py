#!/usr/bin/env python3
"""Renders chat requests with Python Jinja2 the way HF transformers does (the test oracle).

usage: render_chat_template.py TEMPLATE CASES_JSON OUT_JSON
CASES_JSON is a list of {"messages", "tools"?, "chat_template_kwargs"?, "add_generation_prompt"?};
OUT_JSON receives the list of rendered strings (or {"error": message} for a case that raised).
"""
import json
import sys
from datetime import datetime

from jinja2.exceptions import TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment


def tojson(value, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(value, ensure_ascii=ensure_ascii, indent=indent, separators=separators,
                      sort_keys=sort_keys)


def raise_exception(message):
    raise TemplateError(message)


def main():
    template_path, cases_path, out_path = sys.argv[1:4]
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=["jinja2.ext.loopcontrols"])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = lambda fmt: datetime.now().strftime(fmt)
    with open(template_path, encoding="utf-8") as f:
        template = env.from_string(f.read())
    with open(cases_path, encoding="utf-8") as f:
        cases = json.load(f)
    rendered = []
    for case in cases:
        kwargs = dict(case.get("chat_template_kwargs") or {})
        try:
            rendered.append(template.render(
                messages=case["messages"], tools=case.get("tools"),
                add_generation_prompt=case.get("add_generation_prompt", True), **kwargs))
        except TemplateError as error:
            rendered.append({"error": str(error)})
    with open(out_path, "w", encoding="utf-8") as f:
        json.dump(rendered, f, ensure_ascii=False)


if __name__ == "__main__":
    main()
