#pragma once
// The HTTP front: routes, API-key check, body size limit, OpenAI error JSON, SSE streaming and
// one log line per request. Generation work happens in the endpoint handlers and the engine.
#include <cstddef>
#include <memory>
#include <string>

#include "server/server_context.h"

namespace httplib {
class Server;
}

namespace m3::server {

struct HttpOptions {
  std::string host = "127.0.0.1";
  int port = 8000;                         // 0 = any free port
  std::string api_key;                     // empty = no authentication
  size_t max_body_bytes = size_t(8) << 20; // larger bodies get 413
  int threads = 128;                       // each open stream holds one
};

class HttpServer {
public:
  HttpServer(ServerContext &ctx, HttpOptions options);
  ~HttpServer();

  // Binds the socket; returns the port (useful with port 0). Throws m3::Error on failure.
  int bind();
  // Serves until stop(); call after bind().
  void serve();
  void stop();

private:
  void install_routes();

  ServerContext &ctx_;
  HttpOptions options_;
  std::unique_ptr<httplib::Server> http_;
};

} // namespace m3::server
