// The built-in MiniMax-M3 chat template, used when a checkpoint ships none. Written for m3.cpp;
// it renders the M3 prompt format (see the chat tests, which check it byte for byte against the
// official template on generated conversations).
#include "chat/chat_template.h"

namespace m3::chat {

const std::string &builtin_m3_template_source() {
  static const std::string source = R"JINJA(
{#- Prompt layout: ]~!b[ + system turn, developer turn (+ tools), conversation, generation prompt.
    Turns open with "]~b]<role>\n" and close with "[e~[\n"; tool-call tags carry the ]<]minimax[>[ prefix. -#}
{%- set mark = ']<]minimax[>[' -%}
{%- set open_think = '<mm:think>' -%}
{%- set close_think = '</mm:think>' -%}
{%- macro turn(role) -%}]~b]{{ role }}
{% endmacro -%}
{%- macro end_turn() -%}[e~[
{% endmacro -%}

{#- Message content: a string, or parts (text, image, video); other values print as they are. -#}
{%- macro flatten(content) -%}
{%- if content is string -%}{{ content }}
{%- elif content is iterable and content is not mapping -%}
{%- for part in content -%}
{%- if part is mapping -%}
{%- if part.type == 'text' -%}{{ part.text }}
{%- elif part.type == 'image' -%}]<]image[>[
{%- elif part.type == 'video' -%}]<]video[>[
{%- endif -%}
{%- elif part is string -%}{{ part }}
{%- endif -%}
{%- endfor -%}
{%- elif content is not none -%}{{ content }}
{%- endif -%}
{%- endmacro -%}

{#- Tool-call arguments as nested tags: keys become tags, list entries <item>, nulls in mappings vanish. -#}
{%- macro as_tags(value) -%}
{%- if value is mapping -%}
{%- for key, inner in value.items() if inner is not none -%}
{{ mark }}<{{ key }}>{{ as_tags(inner) }}{{ mark }}</{{ key }}>
{%- endfor -%}
{%- elif value is iterable and value is not string -%}
{%- for inner in value -%}
{{ mark }}<item>{{ as_tags(inner) }}{{ mark }}</item>
{%- endfor -%}
{%- elif value is boolean -%}{{ value | tojson }}
{%- elif value is not none -%}{{ value }}
{%- endif -%}
{%- endmacro -%}

{%- set mode_notes = {
  'enabled': 'Current thinking mode: enabled. You MUST think step by step before every response, including after receiving function/tool results.\n',
  'disabled': 'Current thinking mode: disabled. Do not output any thinking process.\n',
  'adaptive': 'Current thinking mode: adaptive. You are encouraged to think for complex decision-making, multi-step reasoning, or when analyzing function/tool results.\n'} -%}

{#- Leading root -> system text; a system/developer message next (or first) -> developer text. -#}
{%- set lead = namespace(root=none, developer=none, start=0) -%}
{%- if messages and messages[0].role == 'root' -%}
{%- set lead.root = messages[0] -%}
{%- set lead.start = 1 -%}
{%- endif -%}
{%- if messages | length > lead.start and messages[lead.start].role in ('system', 'developer') -%}
{%- set lead.developer = messages[lead.start] -%}
{%- set lead.start = lead.start + 1 -%}
{%- endif -%}
{%- set conversation = messages[lead.start:] -%}

]~!b[{{ turn('system') }}
{%- if lead.root and lead.root.content -%}
{{ flatten(lead.root.content) }}
{%- else -%}
Your model version is MiniMax-M3, developed by MiniMax. Knowledge cutoff: January 2026. Founded in early 2022, MiniMax is a global AI foundation model company committed to advancing the frontiers of AI towards AGI.
{%- endif %}


<thinking_instructions>
You have a thinking capability that allows you to reason step by step before responding. When thinking is enabled, wrap your reasoning in {{ open_think ~ close_think }} tags before your response. When thinking is disabled, begin your response directly after the {{ close_think }} prefix. When thinking is adaptive, decide on your own whether to think for the current turn.
{% if thinking_mode is not defined -%}
{{ mode_notes.adaptive }}
{%- elif thinking_mode in mode_notes -%}
{{ mode_notes[thinking_mode] }}
{%- endif -%}
</thinking_instructions>{{ end_turn() }}
{{- turn('developer') }}
{%- if lead.developer and lead.developer.content -%}
{{ flatten(lead.developer.content) }}
{%- else -%}
{{ model_identity if model_identity is defined else 'You are a helpful assistant.' }}
{%- endif -%}
{%- if tools %}


# Tools
You may call one or more tools to assist with the user query.
Here are the tools available in JSONSchema format:

<tools>
{% for tool in tools -%}
<tool>{{ tool.function | tojson(ensure_ascii=False) }}</tool>
{% endfor -%}
</tools>

To call tools, wrap all invocations in a single {{ mark }}<tool_call>{{ mark }}</tool_call> block. Parameter values containing nested objects or arrays are recursively expanded into XML elements. Example:

{{ mark }}<tool_call>
{% for name, params in [('tool-name-1', [('param-1', 'value-1'), ('param-2', none)]), ('tool-name-2', [('param-1', 'value-1')])] -%}
{{ mark }}<invoke name="{{ name }}">
{%- for param, example in params -%}
{{ mark }}<{{ param }}>
{%- if example is none -%}
{{ mark }}<item>{{ mark }}<key-a>val-a{{ mark }}</key-a>{{ mark }}<key-b>val-b{{ mark }}</key-b>{{ mark }}</item>
{%- else -%}
{{ example }}
{%- endif -%}
{{ mark }}</{{ param }}>
{%- endfor -%}
{{ mark }}</invoke>
{% endfor -%}
{{ mark }}</tool_call>
{%- endif -%}
{{ end_turn() }}

{#- The conversation. `pending_call` remembers the last assistant tool call a tool result answers. -#}
{%- set state = namespace(pending_call=none) -%}
{%- for message in conversation -%}
{%- set previous_role = conversation[loop.index0 - 1].role if not loop.first else none -%}
{%- set next_role = conversation[loop.index0 + 1].role if not loop.last else none -%}
{%- if message.role == 'user' -%}
{{ turn('user') }}{{ flatten(message.content) }}{{ end_turn() }}
{%- elif message.role == 'assistant' -%}
{%- set text = flatten(message.content) -%}
{%- set thought = '' -%}
{%- if message.reasoning_content is string -%}
{%- set thought = message.reasoning_content -%}
{%- elif close_think in text -%}
{%- set thought = text.split(close_think)[0].strip('\n').split(open_think)[-1].strip('\n') -%}
{%- set text = text.split(close_think)[-1].strip('\n') -%}
{%- endif -%}
{{ turn('ai') }}
{%- if thought -%}{{ open_think ~ thought ~ close_think }}{%- else -%}{{ close_think }}{%- endif -%}
{{ text }}
{%- if message.tool_calls -%}
{{ mark }}<tool_call>
{% for call in message.tool_calls -%}
{%- set fn = call.function if call.function else call -%}
{{ mark + '<invoke name="' + fn.name + '">' }}
{%- for key, value in fn.arguments.items() if value is not none -%}
{{ mark + '<' + key + '>' }}{{ as_tags(value) }}{{ mark + '</' + key + '>' }}
{%- endfor -%}
{{ mark }}</invoke>
{% endfor -%}
{{ mark }}</tool_call>
{%- set last = message.tool_calls[-1] -%}
{%- set state.pending_call = last.function.name if last.function else last.name -%}
{%- else -%}
{%- set state.pending_call = none -%}
{%- endif -%}
{{ end_turn() }}
{%- elif message.role == 'tool' -%}
{%- if state.pending_call is none -%}
{{ raise_exception('Message has tool role, but there was no previous assistant message with a tool call!') }}
{%- endif -%}
{%- if previous_role != 'tool' -%}]~b]tool{%- endif %}

<response>
{%- if message.content is string -%}
{{ message.content }}
{%- else -%}
{%- for part in message.content -%}
{%- if part is mapping and part.type is defined and part.type in ('image', 'video') -%}
]<]{{ part.type }}[>[
{%- elif part.output is defined -%}
{{ part.output }}
{%- elif part.type == 'text' and part.text is defined -%}
{{ part.text }}
{%- else -%}
{{ part }}
{%- endif -%}
{%- endfor -%}
{%- endif -%}
</response>
{%- if next_role != 'tool' %}{{ end_turn() }}{% endif -%}
{%- endif -%}
{%- endfor -%}

{%- if add_generation_prompt -%}
{{ turn('ai') }}
{%- if thinking_mode is defined and thinking_mode == 'disabled' -%}{{ close_think }}
{%- elif thinking_mode is defined and thinking_mode == 'enabled' -%}{{ open_think }}
{%- endif -%}
{%- endif -%}
)JINJA";
  return source;
}

} // namespace m3::chat
