// `m3 tokenize` and `m3 detokenize`: text <-> ids with a tokenizer.json, like HF tokenizers'
// encode(text, add_special_tokens=False) (special tokens in the text are matched) and decode(ids).
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include "cli/command.h"
#include "core/error.h"
#include "tokenizer/tokenizer.h"

namespace m3::cli {

namespace {

std::string read_input(const std::optional<std::string> &path) {
  if (!path)
    return std::string(std::istreambuf_iterator<char>(std::cin), {});
  std::ifstream file(*path, std::ios::binary);
  require(file.good(), "cannot open input file '" + *path + "'");
  return std::string(std::istreambuf_iterator<char>(file), {});
}

int tokenize(const std::vector<std::string> &argv) {
  const Args args(argv, {"--tokenizer", "--in"});
  const Tokenizer tokenizer = Tokenizer::from_file(args.required("--tokenizer"));
  const std::vector<int32_t> ids = tokenizer.encode(read_input(args.get("--in")));
  std::string out;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i > 0)
      out += ' ';
    out += std::to_string(ids[i]);
  }
  out += '\n';
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

int detokenize(const std::vector<std::string> &argv) {
  const Args args(argv, {"--tokenizer", "--in"}, {"--skip-special"});
  const Tokenizer tokenizer = Tokenizer::from_file(args.required("--tokenizer"));
  std::istringstream input(read_input(args.get("--in")));
  std::vector<int32_t> ids;
  std::string word;
  while (input >> word) {
    size_t used = 0;
    long long id = -1;
    try {
      id = std::stoll(word, &used);
    } catch (const std::exception &) {
    }
    require(used == word.size() && id >= 0 && id <= INT32_MAX,
            "expected whitespace-separated token ids, got '" + word + "'");
    ids.push_back(static_cast<int32_t>(id));
  }
  const std::string text = tokenizer.decode(ids, args.has("--skip-special"));
  std::fwrite(text.data(), 1, text.size(), stdout);
  return 0;
}

const CommandRegistration
    kTokenize("tokenize", "text -> token ids (--tokenizer tokenizer.json [--in FILE])", tokenize);
const CommandRegistration
    kDetokenize("detokenize",
                "token ids -> text (--tokenizer tokenizer.json [--in FILE] [--skip-special])",
                detokenize);

} // namespace

} // namespace m3::cli
