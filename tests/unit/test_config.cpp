// Config: the INI parser, typed getters, command-line overrides, path resolution and the error
// messages a user sees for each kind of mistake.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/error.hpp"
#include "test_support.hpp"

using namespace velofield;
using velofield::test::all_gather;
using velofield::test::error_of;

namespace {


using Strings = std::vector<std::string>;

}  // namespace

TEST(ConfigParse, SectionsKeysAndValues) {
  const Config c = Config::from_string(
      "[run]\n"
      "input = data/in.h5ad\n"
      "stages = preprocess, moments\n"
      "\n"
      "[moments]\n"
      "n_neighbors = 30\n"
      "[empty]\n",
      "run.ini");
  EXPECT_EQ(c.origin(), "run.ini");
  EXPECT_EQ(c.sections(), (Strings{"empty", "moments", "run"}));
  EXPECT_EQ(c.get("run", "input").value(), "data/in.h5ad");
  EXPECT_EQ(c.get("moments", "n_neighbors").value(), "30");
  EXPECT_FALSE(c.get("moments", "input").has_value());
  EXPECT_FALSE(c.get("nosuch", "input").has_value());
  EXPECT_TRUE(c.has("run", "stages"));
  EXPECT_FALSE(c.has("run", "output"));
  EXPECT_TRUE(c.section("empty").empty());
  EXPECT_TRUE(c.section("nosuch").empty());
  const auto run = c.section("run");
  ASSERT_EQ(run.size(), 2u);
  EXPECT_EQ(run.at("stages"), "preprocess, moments");
  EXPECT_EQ(c.get_string("run", "output", "fallback.h5ad"), "fallback.h5ad");
  EXPECT_EQ(c.get_string("run", "input", "fallback.h5ad"), "data/in.h5ad");
}

TEST(ConfigParse, DefaultOriginIsConfig) {
  const Config c = Config::from_string("[a]\nb = 1\n");
  EXPECT_EQ(c.origin(), "<config>");
  EXPECT_EQ(c.where("a", "b"), "<config>: [a] b");
}

TEST(ConfigParse, CommentsWholeLineAndInline) {
  const Config c = Config::from_string(
      "# a comment before any section is not a key\n"
      "; so is this\n"
      "   # indented comment\n"
      "[s]\n"
      "a = 1 # trailing hash comment\n"
      "b = 2 ; trailing semicolon comment\n"
      "c = 3\t# tab before the hash\n"
      "d = x#y\n"
      "e = #fff\n"
      "; k = not a key\n"
      "# k2 = not a key either\n",
      "c.ini");
  EXPECT_EQ(c.get("s", "a").value(), "1");
  EXPECT_EQ(c.get("s", "b").value(), "2");
  EXPECT_EQ(c.get("s", "c").value(), "3");
  // A hash with no whitespace before it is part of the value (colours, URLs with fragments).
  EXPECT_EQ(c.get("s", "d").value(), "x#y");
  EXPECT_EQ(c.get("s", "e").value(), "#fff");
  EXPECT_EQ(c.section("s").size(), 5u);
  EXPECT_FALSE(c.has("s", "k"));
  EXPECT_FALSE(c.has("s", "k2"));
  EXPECT_EQ(c.sections(), (Strings{"s"}));
}

TEST(ConfigParse, WhitespaceTrimmingAndLineEndings) {
  const Config c = Config::from_string(
      "  [  spaced section  ]  \r\n"
      "\t key with\tinner  =   value with  spaces   \r\n"
      "expr = a=b\r\n"
      "empty =\r\n"
      "tight=1\n",
      "t.ini");
  EXPECT_EQ(c.sections(), (Strings{"spaced section"}));
  EXPECT_EQ(c.get("spaced section", "key with\tinner").value(), "value with  spaces");
  // Only the first '=' separates key and value.
  EXPECT_EQ(c.get("spaced section", "expr").value(), "a=b");
  EXPECT_EQ(c.get("spaced section", "empty").value(), "");
  EXPECT_EQ(c.get("spaced section", "tight").value(), "1");
}

TEST(ConfigParse, LaterValueReplacesEarlierAndSectionsReopen) {
  const Config c = Config::from_string("[s]\na = 1\n[t]\nb = 2\n[s]\na = 3\nc = 4\n");
  EXPECT_EQ(c.get("s", "a").value(), "3");
  EXPECT_EQ(c.get("s", "c").value(), "4");
  EXPECT_EQ(c.get("t", "b").value(), "2");
  EXPECT_EQ(c.section("s").size(), 2u);
}

TEST(ConfigParse, MalformedLinesNameTheLine) {
  EXPECT_EQ(error_of([] { Config::from_string("[run]\ninput = x\njust some words\n", "bad.ini"); }),
            "bad.ini: line 3: expected 'key = value', found 'just some words'");
  EXPECT_EQ(error_of([] { Config::from_string("# header comment\n\nkey = value\n[run]\n", "bad.ini"); }),
            "bad.ini: line 3: a key before any [section]");
  EXPECT_EQ(error_of([] { Config::from_string("[run]\na = 1\n[moments\nb = 2\n", "bad.ini"); }),
            "bad.ini: line 3: a section header must look like [name]");
  EXPECT_EQ(error_of([] { Config::from_string("[ ]\n", "bad.ini"); }), "bad.ini: line 1: empty section name");
  EXPECT_EQ(error_of([] { Config::from_string("[s]\n = 5\n", "bad.ini"); }), "bad.ini: line 2: empty key");
}

TEST(ConfigTyped, Doubles) {
  const Config c = Config::from_string(
      "[s]\nhalf = 0.5\nsci = -2.5e-3\nint = 7\nempty =\nword = abc\npartial = 1.5x\nhuge = 1e999\n", "d.ini");
  EXPECT_EQ(c.get_double("s", "half", 9), 0.5);
  EXPECT_EQ(c.get_double("s", "sci", 9), -2.5e-3);
  EXPECT_EQ(c.get_double("s", "int", 9), 7.0);
  EXPECT_EQ(c.get_double("s", "missing", 9.25), 9.25);
  // An empty value means "use the default", not zero.
  EXPECT_EQ(c.get_double("s", "empty", 9.25), 9.25);
  EXPECT_EQ(error_of([&] { c.get_double("s", "word", 0); }), "d.ini: [s] word: expected a number, found 'abc'");
  EXPECT_EQ(error_of([&] { c.get_double("s", "partial", 0); }), "d.ini: [s] partial: expected a number, found '1.5x'");
  EXPECT_EQ(error_of([&] { c.get_double("s", "huge", 0); }), "d.ini: [s] huge: expected a number, found '1e999'");
}

TEST(ConfigTyped, Integers) {
  const Config c = Config::from_string(
      "[moments]\nn = 42\nneg = -7\nsci = 1e6\nsci2 = 2.5E3\nbig = 9000000000\n"
      "frac = 1.5\nword = abc\ntrail = 12abc\nhuge = 1e30\nhuge_neg = -1e30\noverflow = 99999999999999999999\nempty =\nnan = nan\ninf = inf\n",
      "run.ini");
  EXPECT_EQ(c.get_int("moments", "n", 0), 42);
  EXPECT_EQ(c.get_int("moments", "neg", 0), -7);
  EXPECT_EQ(c.get_int("moments", "sci", 0), 1000000);
  EXPECT_EQ(c.get_int("moments", "sci2", 0), 2500);
  EXPECT_EQ(c.get_int("moments", "big", 0), 9000000000LL);
  EXPECT_EQ(c.get_int("moments", "missing", -3), -3);
  EXPECT_EQ(c.get_int("moments", "empty", -3), -3);
  EXPECT_EQ(error_of([&] { c.get_int("moments", "frac", 0); }), "run.ini: [moments] frac: expected an integer, found '1.5'");
  EXPECT_EQ(error_of([&] { c.get_int("moments", "word", 0); }), "run.ini: [moments] word: expected an integer, found 'abc'");
  EXPECT_EQ(error_of([&] { c.get_int("moments", "trail", 0); }), "run.ini: [moments] trail: expected an integer, found '12abc'");
  // Integral floats beyond the range of long long are errors, not wrapped values.
  EXPECT_EQ(error_of([&] { c.get_int("moments", "huge", 0); }), "run.ini: [moments] huge: expected an integer, found '1e30'");
  EXPECT_EQ(error_of([&] { c.get_int("moments", "huge_neg", 0); }),
            "run.ini: [moments] huge_neg: expected an integer, found '-1e30'");
  EXPECT_EQ(error_of([&] { c.get_int("moments", "overflow", 0); }),
            "run.ini: [moments] overflow: expected an integer, found '99999999999999999999'");
  EXPECT_EQ(error_of([&] { c.get_int("moments", "nan", 0); }), "run.ini: [moments] nan: expected an integer, found 'nan'");
  EXPECT_EQ(error_of([&] { c.get_int("moments", "inf", 0); }), "run.ini: [moments] inf: expected an integer, found 'inf'");
}

TEST(ConfigTyped, Booleans) {
  const Config c = Config::from_string(
      "[s]\nt1 = true\nt2 = YES\nt3 = On\nt4 = 1\nt5 = True\n"
      "f1 = false\nf2 = no\nf3 = OFF\nf4 = 0\nf5 = False\n"
      "bad = maybe\nbad2 = 2\nempty =\n",
      "b.ini");
  for (const char* k : {"t1", "t2", "t3", "t4", "t5"}) EXPECT_TRUE(c.get_bool("s", k, false)) << k;
  for (const char* k : {"f1", "f2", "f3", "f4", "f5"}) EXPECT_FALSE(c.get_bool("s", k, true)) << k;
  EXPECT_TRUE(c.get_bool("s", "missing", true));
  EXPECT_FALSE(c.get_bool("s", "missing", false));
  EXPECT_TRUE(c.get_bool("s", "empty", true));
  EXPECT_EQ(error_of([&] { c.get_bool("s", "bad", false); }), "b.ini: [s] bad: expected true or false, found 'maybe'");
  EXPECT_EQ(error_of([&] { c.get_bool("s", "bad2", false); }), "b.ini: [s] bad2: expected true or false, found '2'");
}

TEST(ConfigTyped, Lists) {
  const Config c = Config::from_string(
      "[s]\ncomma = a,b,c\nmixed = pca,  umap  X_pca\ttsne\nsingle = spliced\nempty =\ncommas = ,, ,\n", "l.ini");
  EXPECT_EQ(c.get_list("s", "comma"), (Strings{"a", "b", "c"}));
  EXPECT_EQ(c.get_list("s", "mixed"), (Strings{"pca", "umap", "X_pca", "tsne"}));
  EXPECT_EQ(c.get_list("s", "single"), (Strings{"spliced"}));
  EXPECT_EQ(c.get_list("s", "empty"), Strings{});
  EXPECT_EQ(c.get_list("s", "commas"), Strings{});
  EXPECT_EQ(c.get_list("s", "missing"), Strings{});
  EXPECT_EQ(split_list(" x , y,z "), (Strings{"x", "y", "z"}));
  EXPECT_EQ(trim(" \t a b \r\n"), "a b");
  EXPECT_EQ(trim(" \t\r\n"), "");
}

TEST(ConfigOverrides, SetDottedReplacesAndAddsAndReportsTheFlag) {
  Config c = Config::from_string("[moments]\nn_neighbors = 30\nmethod = exact\n", "run.ini");
  EXPECT_EQ(c.where("moments", "n_neighbors"), "run.ini: [moments] n_neighbors");
  c.set_dotted("moments.n_neighbors", "15");
  c.set_dotted("umap.min_dist", "0.1");
  c.set_dotted("a.b.c", "dotted");   // only the first dot splits section from key
  EXPECT_EQ(c.get_int("moments", "n_neighbors", 0), 15);
  EXPECT_EQ(c.get_string("moments", "method", ""), "exact");
  EXPECT_EQ(c.get_double("umap", "min_dist", 0), 0.1);
  EXPECT_EQ(c.get_string("a", "b.c", ""), "dotted");
  EXPECT_EQ(c.where("moments", "n_neighbors"), "--moments.n_neighbors");
  EXPECT_EQ(c.where("umap", "min_dist"), "--umap.min_dist");
  EXPECT_EQ(c.where("moments", "method"), "run.ini: [moments] method");
  EXPECT_EQ(c.sections(), (Strings{"a", "moments", "umap"}));

  c.set("moments", "n_neighbors", "abc");
  EXPECT_EQ(error_of([&] { c.get_int("moments", "n_neighbors", 0); }),
            "--moments.n_neighbors: expected an integer, found 'abc'");
}

TEST(ConfigOverrides, MalformedDottedKeys) {
  Config c;
  EXPECT_EQ(error_of([&] { c.set_dotted("nodot", "1"); }), "command line: --nodot: overrides look like --section.key value");
  EXPECT_EQ(error_of([&] { c.set_dotted(".key", "1"); }), "command line: --.key: overrides look like --section.key value");
  EXPECT_EQ(error_of([&] { c.set_dotted("section.", "1"); }),
            "command line: --section.: overrides look like --section.key value");
  EXPECT_TRUE(c.sections().empty());
}

TEST(ConfigPaths, RelativeToTheConfigFileDirectory) {
  Config c = Config::from_string(
      "[run]\ninput = in.h5ad\nsub = data/x.h5ad\nabs = /abs/y.h5ad\nup = ../z.h5ad\nempty =\nover = file.h5ad\n",
      "/work/configs/run.ini");
  EXPECT_EQ(c.get_path("run", "input", ""), "/work/configs/in.h5ad");
  EXPECT_EQ(c.get_path("run", "sub", ""), "/work/configs/data/x.h5ad");
  EXPECT_EQ(c.get_path("run", "up", ""), "/work/configs/../z.h5ad");
  EXPECT_EQ(c.get_path("run", "abs", ""), "/abs/y.h5ad");
  EXPECT_EQ(c.get_path("run", "empty", "fallback"), "");
  // Command-line values are relative to the working directory, as a shell user expects.
  c.set_dotted("run.over", "cli/out.h5ad");
  EXPECT_EQ(c.get_path("run", "over", ""), "cli/out.h5ad");
  c.set_dotted("run.input", "/abs/cli.h5ad");
  EXPECT_EQ(c.get_path("run", "input", ""), "/abs/cli.h5ad");

  // A config without a directory (a string, or a file name in the working directory).
  const Config s = Config::from_string("[run]\ninput = in.h5ad\n");
  EXPECT_EQ(s.get_path("run", "input", ""), "in.h5ad");
  const Config w = Config::from_string("[run]\ninput = in.h5ad\n", "run.ini");
  EXPECT_EQ(w.get_path("run", "input", ""), "in.h5ad");
  const Config r = Config::from_string("[run]\ninput = in.h5ad\n", "configs/run.ini");
  EXPECT_EQ(r.get_path("run", "input", ""), "configs/in.h5ad");
}

TEST(ConfigFile, FromFileKeepsThePathAsOriginAndResolvesAgainstIt) {
  const std::string dir = test::temp_dir(MPI_COMM_SELF);
  const std::string path = dir + "/pipeline.ini";
  {
    std::ofstream out(path);
    out << "[run]\ninput = cells.h5ad # the data\noutput = /tmp/out.h5ad\n[moments]\nn_neighbors = 1e2\n";
  }
  const Config c = Config::from_file(path);
  EXPECT_EQ(c.origin(), path);
  EXPECT_EQ(c.get_path("run", "input", ""), dir + "/cells.h5ad");
  EXPECT_EQ(c.get_path("run", "output", ""), "/tmp/out.h5ad");
  EXPECT_EQ(c.get_int("moments", "n_neighbors", 0), 100);
  EXPECT_EQ(c.where("moments", "n_neighbors"), path + ": [moments] n_neighbors");

  const std::string missing = dir + "/nope.ini";
  EXPECT_EQ(error_of([&] { Config::from_file(missing); }),
            missing + ": cannot open the config file (does it exist and is it readable?)");
  std::filesystem::remove_all(dir);
}
