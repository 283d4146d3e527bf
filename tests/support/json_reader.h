// A small JSON reader (RFC 8259) for tests that read the tools' output
// (onvif-sweep, onvif-swarm --stats, peers): objects, arrays, strings with
// every escape (\uXXXX with surrogate pairs, to UTF-8), numbers kept as
// their text, true/false/null. Errors carry the byte offset. Header-only:
// test code, not engine code.

#ifndef ONVIF_TESTS_SUPPORT_JSON_READER_H_
#define ONVIF_TESTS_SUPPORT_JSON_READER_H_

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"

namespace onvif::testing {

struct Json {
  using Array = std::vector<Json>;
  using Object = std::vector<std::pair<std::string, Json>>;
  // monostate: null; string for numbers keeps their text exact.
  struct Number {
    std::string text;
  };
  std::variant<std::monostate, bool, Number, std::string, Array, Object> value;

  bool is_object() const { return std::holds_alternative<Object>(value); }
  bool is_array() const { return std::holds_alternative<Array>(value); }
  bool is_string() const { return std::holds_alternative<std::string>(value); }
  bool is_number() const { return std::holds_alternative<Number>(value); }

  // Member `key` of an object, or nullptr (also when this is no object).
  const Json* Find(std::string_view key) const {
    if (!is_object()) return nullptr;
    for (const auto& [k, v] : std::get<Object>(value)) {
      if (k == key) return &v;
    }
    return nullptr;
  }
  const Array& array() const {
    static const Array kEmpty;
    return is_array() ? std::get<Array>(value) : kEmpty;
  }
  std::string str() const { return is_string() ? std::get<std::string>(value) : std::string(); }
  // A non-negative integer, or -1 when this is not one.
  std::int64_t Int() const {
    if (!is_number()) return -1;
    const std::string& text = std::get<Number>(value).text;
    if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos) return -1;
    return std::strtoll(text.c_str(), nullptr, 10);
  }
  // Member `key` as a non-negative integer, -1 when absent or not one.
  std::int64_t IntAt(std::string_view key) const {
    const Json* v = Find(key);
    return v == nullptr ? -1 : v->Int();
  }
  // An array of strings as a vector (non-strings become "").
  std::vector<std::string> Strings() const {
    std::vector<std::string> out;
    for (const Json& item : array()) out.push_back(item.str());
    return out;
  }
};

namespace json_internal {

class JsonReader {
 public:
  explicit JsonReader(std::string_view text) : text_(text) {}

  absl::StatusOr<Json> Parse() {
    Json out;
    if (!Value(out, 0) || (SkipSpace(), pos_ != text_.size())) {
      if (error_.empty()) error_ = "trailing characters";
      return absl::InvalidArgumentError(absl::StrCat("JSON: ", error_, " at byte ", pos_));
    }
    return out;
  }

 private:
  static constexpr int kMaxDepth = 64;

  bool Fail(std::string_view why) {
    if (error_.empty()) error_ = std::string(why);
    return false;
  }
  void SkipSpace() {
    while (pos_ < text_.size() &&
           (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\n' || text_[pos_] == '\r')) {
      ++pos_;
    }
  }
  bool Literal(std::string_view word) {
    if (text_.substr(pos_, word.size()) != word) return Fail("bad literal");
    pos_ += word.size();
    return true;
  }

  bool Value(Json& out, int depth) {
    if (depth > kMaxDepth) return Fail("too deep");
    SkipSpace();
    if (pos_ >= text_.size()) return Fail("unexpected end");
    const char c = text_[pos_];
    if (c == '{') return ObjectValue(out, depth);
    if (c == '[') return ArrayValue(out, depth);
    if (c == '"') {
      std::string s;
      if (!String(s)) return false;
      out.value = std::move(s);
      return true;
    }
    if (c == 't') return Literal("true") && (out.value = true, true);
    if (c == 'f') return Literal("false") && (out.value = false, true);
    if (c == 'n') return Literal("null") && (out.value = std::monostate{}, true);
    return NumberValue(out);
  }

  bool ObjectValue(Json& out, int depth) {
    ++pos_;  // {
    Json::Object members;
    SkipSpace();
    if (pos_ < text_.size() && text_[pos_] == '}') {
      ++pos_;
      out.value = std::move(members);
      return true;
    }
    while (true) {
      SkipSpace();
      if (pos_ >= text_.size() || text_[pos_] != '"') return Fail("expected a key");
      std::string key;
      if (!String(key)) return false;
      SkipSpace();
      if (pos_ >= text_.size() || text_[pos_] != ':') return Fail("expected ':'");
      ++pos_;
      Json member;
      if (!Value(member, depth + 1)) return false;
      members.emplace_back(std::move(key), std::move(member));
      SkipSpace();
      if (pos_ >= text_.size()) return Fail("unterminated object");
      if (text_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (text_[pos_] != '}') return Fail("expected ',' or '}'");
      ++pos_;
      out.value = std::move(members);
      return true;
    }
  }

  bool ArrayValue(Json& out, int depth) {
    ++pos_;  // [
    Json::Array items;
    SkipSpace();
    if (pos_ < text_.size() && text_[pos_] == ']') {
      ++pos_;
      out.value = std::move(items);
      return true;
    }
    while (true) {
      Json item;
      if (!Value(item, depth + 1)) return false;
      items.push_back(std::move(item));
      SkipSpace();
      if (pos_ >= text_.size()) return Fail("unterminated array");
      if (text_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (text_[pos_] != ']') return Fail("expected ',' or ']'");
      ++pos_;
      out.value = std::move(items);
      return true;
    }
  }

  bool NumberValue(Json& out) {
    const std::size_t start = pos_;
    if (pos_ < text_.size() && text_[pos_] == '-') ++pos_;
    const std::size_t digits = pos_;
    while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') ++pos_;
    if (pos_ == digits) return Fail("bad value");
    if (pos_ < text_.size() && text_[pos_] == '.') {
      ++pos_;
      const std::size_t frac = pos_;
      while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') ++pos_;
      if (pos_ == frac) return Fail("bad number");
    }
    if (pos_ < text_.size() && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
      ++pos_;
      if (pos_ < text_.size() && (text_[pos_] == '+' || text_[pos_] == '-')) ++pos_;
      const std::size_t exp = pos_;
      while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') ++pos_;
      if (pos_ == exp) return Fail("bad number");
    }
    out.value = Json::Number{std::string(text_.substr(start, pos_ - start))};
    return true;
  }

  bool Hex4(std::uint32_t& out) {
    if (pos_ + 4 > text_.size()) return Fail("short \\u escape");
    out = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = text_[pos_++];
      out <<= 4;
      if (c >= '0' && c <= '9') {
        out |= static_cast<std::uint32_t>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        out |= static_cast<std::uint32_t>(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        out |= static_cast<std::uint32_t>(c - 'A' + 10);
      } else {
        return Fail("bad \\u escape");
      }
    }
    return true;
  }

  static void AppendUtf8(std::string& s, std::uint32_t cp) {
    if (cp < 0x80) {
      s += static_cast<char>(cp);
    } else if (cp < 0x800) {
      s += static_cast<char>(0xC0 | (cp >> 6));
      s += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      s += static_cast<char>(0xE0 | (cp >> 12));
      s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      s += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      s += static_cast<char>(0xF0 | (cp >> 18));
      s += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      s += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  bool String(std::string& out) {
    ++pos_;  // "
    while (true) {
      if (pos_ >= text_.size()) return Fail("unterminated string");
      const char c = text_[pos_++];
      if (c == '"') return true;
      if (static_cast<unsigned char>(c) < 0x20) return Fail("control character in string");
      if (c != '\\') {
        out += c;
        continue;
      }
      if (pos_ >= text_.size()) return Fail("unterminated escape");
      const char e = text_[pos_++];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          std::uint32_t cp = 0;
          if (!Hex4(cp)) return false;
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            std::uint32_t low = 0;
            if (text_.substr(pos_, 2) != "\\u") return Fail("lone high surrogate");
            pos_ += 2;
            if (!Hex4(low)) return false;
            if (low < 0xDC00 || low > 0xDFFF) return Fail("bad low surrogate");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            return Fail("lone low surrogate");
          }
          AppendUtf8(out, cp);
          break;
        }
        default:
          return Fail("bad escape");
      }
    }
  }

  std::string_view text_;
  std::size_t pos_ = 0;
  std::string error_;
};

}  // namespace json_internal

// The whole of `text` as one JSON value.
inline absl::StatusOr<Json> ReadJson(std::string_view text) { return json_internal::JsonReader(text).Parse(); }

}  // namespace onvif::testing

#endif  // ONVIF_TESTS_SUPPORT_JSON_READER_H_
