#pragma once
// The engine's state for one request: its tokens, how many are in the KV cache, its page table.
#include <chrono>
#include <cstdint>
#include <memory>
#include <random>
#include <unordered_map>
#include <vector>

#include "runtime/request.h"

namespace m3 {

using Clock = std::chrono::steady_clock;

struct Sequence {
  uint64_t id = 0;
  Request request;
  std::shared_ptr<RequestStream> stream;
  std::vector<int32_t> tokens; // prompt, then generated tokens
  int32_t num_prompt_tokens = 0;
  int32_t num_computed = 0;        // leading tokens whose K/V are in the cache
  std::vector<int32_t> pages;      // page table: logical block -> physical page
  std::vector<uint64_t> page_keys; // prefix-cache keys of the leading full pages
  // Per full prompt page: hash of the input embeddings it holds, 0 for token-only pages.
  std::vector<uint64_t> page_media;
  int32_t cached_prompt_tokens = 0;
  std::unordered_map<int32_t, int32_t> output_counts; // generated token -> count (penalties)
  std::mt19937_64 rng;
  Clock::time_point arrival;
  Clock::time_point last_token_time;
  bool has_first_token = false;

  int32_t num_generated() const { return int32_t(tokens.size()) - num_prompt_tokens; }
  int32_t num_pending() const { return int32_t(tokens.size()) - num_computed; }
  uint64_t media_of_page(size_t page) const {
    return page < page_media.size() ? page_media[page] : 0;
  }
};

} // namespace m3
