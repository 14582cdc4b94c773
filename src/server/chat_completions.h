#pragma once
// POST /v1/chat/completions: validate, render the chat template, tokenize, generate (constrained
// to a well-formed tool call for tool_choice required/named), then split the output into
// reasoning_content, content and tool_calls, streamed as chat.completion.chunk events or returned
// as one chat.completion.
#include <nlohmann/json.hpp>

#include "server/server_context.h"

namespace m3::server {

EndpointResponse chat_completions(ServerContext &ctx, const nlohmann::ordered_json &body);

} // namespace m3::server
