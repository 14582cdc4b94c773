#!/usr/bin/env python3
"""Renders given OpenAI chat requests with Python Jinja2 the way HF transformers does, using
render_oracle.py's environment and vLLM-style request preprocessing (the parser round-trip oracle).

usage: render_chat_template.py TEMPLATE REQUESTS_JSON OUT_JSON
REQUESTS_JSON is a list of chat requests; OUT_JSON receives the list of rendered strings (or
{"error": message} for a request the template rejects).
"""
import json
import sys

from jinja2.exceptions import TemplateError

from render_oracle import hf_environment, template_variables


def main():
    template_path, requests_path, out_path = sys.argv[1:4]
    with open(template_path, encoding="utf-8") as f:
        template = hf_environment().from_string(f.read())
    with open(requests_path, encoding="utf-8") as f:
        requests = json.load(f)
    rendered = []
    for request in requests:
        try:
            rendered.append(template.render(**template_variables(request)))
        except TemplateError as error:
            rendered.append({"error": str(error)})
    with open(out_path, "w", encoding="utf-8") as f:
        json.dump(rendered, f, ensure_ascii=False)


if __name__ == "__main__":
    main()
