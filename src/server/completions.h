#pragma once
// POST /v1/completions: a raw prompt (text or token ids) continued without a chat template.
#include <nlohmann/json.hpp>

#include "server/server_context.h"

namespace m3::server {

EndpointResponse completions(ServerContext &ctx, const nlohmann::ordered_json &body);

} // namespace m3::server
