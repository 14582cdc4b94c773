#include "server/http_server.h"

#include <chrono>
#include <cstdio>
#include <httplib.h>

#include "core/error.h"
#include "server/api_error.h"
#include "server/chat_completions.h"
#include "server/client_connection.h"
#include "server/completions.h"

namespace m3::server {
namespace {

using json = nlohmann::ordered_json;

void send_error(httplib::Response &res, const ApiError &error) {
  res.status = error.status;
  res.set_content(error.to_json().dump(), "application/json");
}

bool is_generation_path(const std::string &path) {
  return path == "/v1/chat/completions" || path == "/v1/completions";
}

} // namespace

HttpServer::HttpServer(ServerContext &ctx, HttpOptions options)
    : ctx_(ctx), options_(std::move(options)), http_(std::make_unique<httplib::Server>()) {
  const int threads = options_.threads;
  http_->new_task_queue = [threads] { return new httplib::ThreadPool(size_t(threads)); };
  http_->set_payload_max_length(options_.max_body_bytes);
  // An idle keep-alive connection holds a worker thread until this runs out: with as many idle
  // pooled client connections as threads, new requests wait this long (vLLM's uvicorn uses 5 s).
  http_->set_keep_alive_timeout(5);
  install_routes();
}

HttpServer::~HttpServer() { stop(); }

int HttpServer::bind() {
  int port = options_.port;
  if (port == 0) {
    port = http_->bind_to_any_port(options_.host);
    require(port > 0, "cannot bind to " + options_.host);
  } else {
    require(http_->bind_to_port(options_.host, port),
            "cannot bind to " + options_.host + ":" + std::to_string(port) +
                " (in use, or not an address of this machine?)");
  }
  return port;
}

void HttpServer::serve() { http_->listen_after_bind(); }

void HttpServer::stop() {
  if (http_)
    http_->stop();
}

void HttpServer::install_routes() {
  httplib::Server &http = *http_;
  ServerContext &ctx = ctx_;
  const std::string api_key = options_.api_key;

  // Runs before cpp-httplib reads the body.
  http.set_pre_routing_handler([api_key](const httplib::Request &req, httplib::Response &res) {
    // cpp-httplib would inflate a compressed body past the body size limit (a few hundred KiB of
    // gzip make gigabytes); OpenAI clients do not compress requests.
    const std::string encoding = req.get_header_value("Content-Encoding");
    if (!encoding.empty() && encoding != "identity") {
      send_error(res, ApiError(415, "invalid_request_error",
                               "compressed request bodies (Content-Encoding: " + encoding +
                                   ") are not supported"));
      return httplib::Server::HandlerResponse::Handled;
    }
    if (api_key.empty() || req.path.rfind("/v1/", 0) != 0)
      return httplib::Server::HandlerResponse::Unhandled;
    if (req.get_header_value("Authorization") == "Bearer " + api_key)
      return httplib::Server::HandlerResponse::Unhandled;
    send_error(res, ApiError(401, "authentication_error", "invalid or missing API key"));
    return httplib::Server::HandlerResponse::Handled;
  });

  http.set_error_handler([](const httplib::Request &req, httplib::Response &res) {
    if (!res.body.empty())
      return;
    if (res.status == 404)
      send_error(res,
                 ApiError(404, "not_found_error", "no route for " + req.method + " " + req.path));
    else if (res.status == 413)
      send_error(res, ApiError(413, "invalid_request_error", "the request body is too large"));
    else if (res.status == 400 && !req.path.empty() && req.remote_port < 0)
      // cpp-httplib read the request line but not the headers: one was longer than its limit
      // (it fills the client's address only after the headers).
      send_error(res, ApiError(431, "invalid_request_error",
                               "a request header is longer than " +
                                   std::to_string(CPPHTTPLIB_HEADER_MAX_LENGTH / 1024) + " KiB"));
    else
      send_error(res,
                 ApiError(res.status, "invalid_request_error",
                          "the request was rejected (HTTP " + std::to_string(res.status) + ")"));
  });

  http.set_exception_handler(
      [](const httplib::Request &, httplib::Response &res, std::exception_ptr ep) {
        try {
          std::rethrow_exception(ep);
        } catch (const std::exception &error) {
          send_error(res, ApiError(500, "internal_error", error.what()));
        } catch (...) {
          send_error(res, ApiError(500, "internal_error", "unknown error"));
        }
      });

  http.set_logger([&ctx](const httplib::Request &req, const httplib::Response &res) {
    ctx.http.count(req.path, res.status);
    if (is_generation_path(req.path) && res.status == 200)
      return; // the handler logged it
    std::fprintf(stderr, "m3 serve: http method=%s path=%s status=%d\n", req.method.c_str(),
                 req.path.c_str(), res.status);
  });

  http.Get("/health", [](const httplib::Request &, httplib::Response &res) {
    res.set_content("{}", "application/json");
  });
  http.Get("/ready", [&ctx](const httplib::Request &, httplib::Response &res) {
    if (ctx.draining) {
      send_error(res, ApiError(503, "service_unavailable", "the server is shutting down"));
      return;
    }
    res.set_content(json{{"status", "ready"}}.dump(), "application/json");
  });
  auto model_card = [&ctx]() {
    return json{{"id", ctx.model.name()},
                {"object", "model"},
                {"created", ctx.model.created()},
                {"owned_by", "m3"},
                {"root", ctx.model.name()},
                {"parent", nullptr},
                {"max_model_len", ctx.model.max_model_len()}};
  };
  http.Get("/v1/models", [model_card](const httplib::Request &, httplib::Response &res) {
    res.set_content(json{{"object", "list"}, {"data", {model_card()}}}.dump(), "application/json");
  });
  http.Get(R"(/v1/models/(.+))", [&ctx, model_card](const httplib::Request &req,
                                                    httplib::Response &res) {
    if (req.matches[1] != ctx.model.name()) {
      send_error(res, ApiError(404, "not_found_error",
                               "The model '" + std::string(req.matches[1]) + "' does not exist",
                               "model"));
      return;
    }
    res.set_content(model_card().dump(), "application/json");
  });
  http.Get("/metrics", [&ctx](const httplib::Request &, httplib::Response &res) {
    res.set_content(render_metrics(ctx.model.name(), ctx.model.engine().stats(), ctx.http),
                    "text/plain; version=0.0.4; charset=utf-8");
  });

  auto generation_route = [&ctx](EndpointResponse (*endpoint)(ServerContext &, const json &)) {
    return [&ctx, endpoint](const httplib::Request &req, httplib::Response &res) {
      try {
        auto client = std::make_shared<ClientConnection>(req.remote_addr, req.remote_port,
                                                         req.local_addr, req.local_port);
        const ClientGone client_gone = [client] { return client->closed(); };
        EndpointResponse response = endpoint(ctx, parse_request_body(req.body));
        if (!response.stream) {
          const json answer = response.complete(client_gone);
          res.set_content(answer.dump(-1, ' ', false, json::error_handler_t::replace),
                          "application/json");
          return;
        }
        auto stream = std::move(response.stream);
        res.set_header("Cache-Control", "no-cache");
        res.set_header("X-Accel-Buffering", "no");
        res.set_chunked_content_provider("text/event-stream", [stream, client_gone](
                                                                  size_t, httplib::DataSink &sink) {
          try {
            const SseWriter write = [&sink](const std::string &event) {
              return sink.write(event.data(), event.size());
            };
            stream(write, client_gone);
          } catch (const std::exception &error) {
            // Headers are out: all that is left is to end the stream and say why.
            std::fprintf(stderr, "m3 serve: stream failed: %s\n", error.what());
            const std::string event =
                "data: " + ApiError(500, "internal_error", error.what()).to_json().dump() + "\n\n";
            sink.write(event.data(), event.size());
          }
          sink.done();
          return true;
        });
      } catch (const ApiError &error) {
        send_error(res, error);
      } catch (const Error &error) {
        send_error(res, ApiError(400, "invalid_request_error", error.what()));
      }
    };
  };
  http.Post("/v1/chat/completions", generation_route(&chat_completions));
  http.Post("/v1/completions", generation_route(&completions));
}

} // namespace m3::server
