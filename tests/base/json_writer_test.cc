#include "engine/base/json_writer.h"

#include <cstdint>
#include <limits>
#include <utility>
#include <string>
#include <string_view>

#include "gtest/gtest.h"

namespace onvif::base {
namespace {

std::string Quoted(std::string_view value) {
  std::string out;
  AppendJsonString(value, &out);
  return out;
}

TEST(JsonWriterTest, EmptyContainers) {
  std::string out;
  JsonWriter writer(&out);
  writer.BeginObject();
  writer.Key("a");
  writer.BeginArray();
  writer.EndArray();
  writer.Key("b");
  writer.BeginObject();
  writer.EndObject();
  writer.EndObject();
  EXPECT_EQ(out, R"({"a":[],"b":{}})");
  EXPECT_TRUE(writer.complete());
}

TEST(JsonWriterTest, CommasAndNesting) {
  std::string out = "prefix ";
  JsonWriter writer(&out);
  writer.BeginObject();
  writer.KeyString("file", "x.xml");
  writer.KeyBool("ok", true);
  writer.KeyUint("n", 42);
  writer.Key("neg");
  writer.Int(-7);
  writer.Key("list");
  writer.BeginArray();
  writer.String("a");
  writer.Uint(1);
  writer.Bool(false);
  writer.Null();
  writer.BeginObject();
  writer.KeyString("k", "v");
  writer.EndObject();
  writer.BeginArray();
  writer.EndArray();
  writer.EndArray();
  writer.KeyString("last", "");
  writer.EndObject();
  EXPECT_EQ(out,
            R"(prefix {"file":"x.xml","ok":true,"n":42,"neg":-7,)"
            R"("list":["a",1,false,null,{"k":"v"},[]],"last":""})");
  EXPECT_TRUE(writer.complete());
}

TEST(JsonWriterTest, TopLevelValuesAreNotSeparated) {
  std::string out;
  JsonWriter writer(&out);
  writer.BeginObject();
  writer.EndObject();
  out.push_back('\n');
  writer.BeginObject();
  writer.KeyUint("a", 1);
  writer.EndObject();
  EXPECT_EQ(out, "{}\n{\"a\":1}");
}

TEST(JsonWriterTest, IntegerExtremes) {
  std::string out;
  JsonWriter writer(&out);
  writer.BeginArray();
  writer.Uint(std::numeric_limits<std::uint64_t>::max());
  writer.Int(std::numeric_limits<std::int64_t>::min());
  writer.Uint(0);
  writer.EndArray();
  EXPECT_EQ(out, "[18446744073709551615,-9223372036854775808,0]");
}

TEST(JsonWriterTest, KeysAreEscaped) {
  std::string out;
  JsonWriter writer(&out);
  writer.BeginObject();
  writer.KeyString("a\"b", "c");
  writer.EndObject();
  EXPECT_EQ(out, R"({"a\"b":"c"})");
}

TEST(JsonStringTest, ShortEscapes) {
  EXPECT_EQ(Quoted("\"\\/\b\f\n\r\t"), R"("\"\\/\b\f\n\r\t")");
  EXPECT_EQ(Quoted(""), R"("")");
  EXPECT_EQ(Quoted("plain text & <xml>'"), R"("plain text & <xml>'")");
}

TEST(JsonStringTest, ControlCharactersUseUnicodeEscapes) {
  EXPECT_EQ(Quoted(std::string_view("\0", 1)), R"("\u0000")");
  EXPECT_EQ(Quoted("\x01\x1f\x0b"), R"("\u0001\u001f\u000b")");
  EXPECT_EQ(Quoted("a\x1b[0mb"), R"("a\u001b[0mb")");
  EXPECT_EQ(Quoted("\x7f"), "\"\x7f\"");  // DEL is not a control character in JSON
}

TEST(JsonStringTest, ValidUtf8IsCopied) {
  EXPECT_EQ(Quoted("caf\xC3\xA9"), "\"caf\xC3\xA9\"");                  // U+00E9
  EXPECT_EQ(Quoted("\xE2\x82\xAC"), "\"\xE2\x82\xAC\"");                // U+20AC
  EXPECT_EQ(Quoted("\xF0\x9F\x93\xB7"), "\"\xF0\x9F\x93\xB7\"");        // U+1F4F7
  EXPECT_EQ(Quoted("\xE2\x80\xA8"), "\"\xE2\x80\xA8\"");                // U+2028
  EXPECT_EQ(Quoted("\xEF\xBF\xBF"), "\"\xEF\xBF\xBF\"");                // U+FFFF
  EXPECT_EQ(Quoted("\xF4\x8F\xBF\xBF"), "\"\xF4\x8F\xBF\xBF\"");        // U+10FFFF
  EXPECT_EQ(Quoted("\xED\x9F\xBF"), "\"\xED\x9F\xBF\"");                // U+D7FF
}

#define FFFD "\xEF\xBF\xBD"

TEST(JsonStringTest, InvalidUtf8IsReplaced) {
  EXPECT_EQ(Quoted("\x80"), "\"" FFFD "\"");                     // lone continuation
  EXPECT_EQ(Quoted("a\xFF" "b"), "\"a" FFFD "b\"");               // never valid
  EXPECT_EQ(Quoted("\xC0\xAF"), "\"" FFFD FFFD "\"");             // overlong '/'
  EXPECT_EQ(Quoted("\xC1\xBF"), "\"" FFFD FFFD "\"");             // overlong
  EXPECT_EQ(Quoted("\xE0\x80\xAF"), "\"" FFFD FFFD FFFD "\"");    // overlong 3-byte
  EXPECT_EQ(Quoted("\xED\xA0\x80"), "\"" FFFD FFFD FFFD "\"");    // surrogate D800
  EXPECT_EQ(Quoted("\xF4\x90\x80\x80"), "\"" FFFD FFFD FFFD FFFD "\"");  // > U+10FFFF
  EXPECT_EQ(Quoted("\xF5\x80"), "\"" FFFD FFFD "\"");
}

TEST(JsonStringTest, TruncatedSequencesAreOneReplacement) {
  // A truncated but otherwise valid prefix is one maximal subpart: one U+FFFD.
  EXPECT_EQ(Quoted("\xE2\x82"), "\"" FFFD "\"");
  EXPECT_EQ(Quoted("\xE2\x82x"), "\"" FFFD "x\"");
  EXPECT_EQ(Quoted("\xF0\x9F\x93"), "\"" FFFD "\"");
  EXPECT_EQ(Quoted("\xF0\x9F\x93\""), "\"" FFFD "\\\"\"");
  EXPECT_EQ(Quoted("\xC3"), "\"" FFFD "\"");
  // The byte that broke the sequence starts over: here a valid U+00E9.
  EXPECT_EQ(Quoted("\xE2\xC3\xA9"), "\"" FFFD "\xC3\xA9\"");
  // Unicode's own example (Table 3-8): 61 F1 80 80 E1 80 C2 62 80 63 80 BF 64.
  EXPECT_EQ(Quoted("\x61\xF1\x80\x80\xE1\x80\xC2\x62\x80\x63\x80\xBF\x64"),
            "\"a" FFFD FFFD FFFD "b" FFFD "c" FFFD FFFD "d\"");
}

// Plain text is passed 8 bytes at a time; every byte that needs a look must
// still be seen wherever it sits in such a word.
TEST(JsonStringTest, EscapesAnywhereInLongPlainRuns) {
  const std::pair<std::string_view, std::string_view> cases[] = {
      {"\"", "\\\""},        {"\\", "\\\\"},         {"\n", "\\n"},
      {"\x01", "\\u0001"},   {"\x1f", "\\u001f"},    {std::string_view("\0", 1), "\\u0000"},
      {"\x7f", "\x7f"},      {" ", " "},             {"\xC3\xA9", "\xC3\xA9"},
      {"\xFF", FFFD},        {"\xE2\x82", FFFD},     {"!", "!"},
  };
  for (const auto& [raw, escaped] : cases) {
    for (std::size_t length = 1; length <= 40; ++length) {
      for (std::size_t at = 0; at + raw.size() <= length; ++at) {
        std::string input(length, 'a');
        input.replace(at, raw.size(), raw);
        std::string want = "\"";
        want.append(at, 'a').append(escaped).append(length - at - raw.size(), 'a').push_back('"');
        ASSERT_EQ(Quoted(input), want) << "byte " << static_cast<int>(static_cast<unsigned char>(raw[0]))
                                       << " at " << at << " of " << length;
      }
    }
  }
}

TEST(JsonStringTest, EveryByteGivesValidUtf8) {
  // Each single byte and each two-byte pair produces output that is well-formed
  // UTF-8 without raw control characters.
  for (int a = 0; a < 256; ++a) {
    for (int b = 0; b < 256; ++b) {
      const char bytes[2] = {static_cast<char>(a), static_cast<char>(b)};
      const std::string out = Quoted(std::string_view(bytes, 2));
      std::string again;
      AppendJsonString(std::string_view(out).substr(1, out.size() - 2), &again);
      // Re-escaping a valid JSON string body only doubles backslashes and
      // quotes; UTF-8 is untouched, so no new U+FFFD appears.
      std::size_t before = 0, after = 0;
      for (std::size_t p = out.find(FFFD); p != std::string::npos; p = out.find(FFFD, p + 1)) ++before;
      for (std::size_t p = again.find(FFFD); p != std::string::npos; p = again.find(FFFD, p + 1)) ++after;
      ASSERT_EQ(before, after) << a << " " << b;
      for (unsigned char c : out) ASSERT_GE(c, 0x20) << a << " " << b;
    }
  }
}

}  // namespace
}  // namespace onvif::base
