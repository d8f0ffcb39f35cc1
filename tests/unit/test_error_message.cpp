// Every error is one line, whatever it quotes (issue 13: a fuzzed h5ad with a newline in a column
// name gave a two-line message).
#include <gtest/gtest.h>

#include <string>

#include "core/error.hpp"

using velofield::Error;

TEST(ErrorMessage, ControlCharactersFromAFileAreEscaped) {
  const std::string name = std::string("clu\nsters\t\x01") + "\x7f";
  const Error e(velofield::describe("in.h5ad", "obs/" + name, "not a categorical column"));
  EXPECT_STREQ(e.what(), "in.h5ad: obs/clu\\nsters\\t\\x01\\x7f: not a categorical column");
  EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos);
}

TEST(ErrorMessage, PrintableTextIsKeptAsIs) {
  const std::string text = "data.h5ad: layers/spliced: shape attribute says 53 × 18, expected 53 × 17 (ünïcode kept)";
  EXPECT_EQ(std::string(Error(text).what()), text);
}
