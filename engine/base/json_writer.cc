#include "engine/base/json_writer.h"

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "absl/strings/str_cat.h"

namespace onvif::base {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// Length of the well-formed UTF-8 sequence starting at s[i], or 0 when the
// bytes there are ill-formed; *subpart is then the length of the maximal
// ill-formed subpart to replace (at least 1). Table 3-7 of the Unicode
// Standard: no overlongs, no surrogates, nothing above U+10FFFF.
std::size_t Utf8SequenceLength(std::string_view s, std::size_t i, std::size_t* subpart) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char lead = byte(i);
  std::size_t length;
  unsigned char second_min = 0x80;
  unsigned char second_max = 0xBF;
  if (lead < 0x80) {
    return 1;
  } else if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) second_min = 0xA0;  // overlong
    if (lead == 0xED) second_max = 0x9F;  // surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) second_min = 0x90;  // overlong
    if (lead == 0xF4) second_max = 0x8F;  // above U+10FFFF
  } else {
    *subpart = 1;  // continuation byte, C0, C1 or F5..FF
    return 0;
  }
  for (std::size_t k = 1; k < length; ++k) {
    const bool in_range = i + k < s.size() &&
                          (k == 1 ? byte(i + k) >= second_min && byte(i + k) <= second_max
                                  : byte(i + k) >= 0x80 && byte(i + k) <= 0xBF);
    if (!in_range) {
      *subpart = k;
      return 0;
    }
  }
  return length;
}

// True when one of the 8 bytes of `word` is below 0x20, '"', '\\' or not
// ASCII: the bytes the loop below must look at one by one. The usual SWAR
// zero-byte test: exact for "is there any", which is all that is asked.
bool AnyToLookAt(std::uint64_t word) {
  constexpr std::uint64_t kOnes = 0x0101010101010101;
  constexpr std::uint64_t kHighs = 0x8080808080808080;
  const std::uint64_t quote = word ^ (kOnes * '"');
  const std::uint64_t backslash = word ^ (kOnes * '\\');
  const std::uint64_t below_space = (word - kOnes * 0x20) & ~word;
  return ((below_space | ((quote - kOnes) & ~quote) | ((backslash - kOnes) & ~backslash) | word) & kHighs) != 0;
}

}  // namespace

void AppendJsonString(std::string_view value, std::string* out) {
  constexpr std::string_view kHex = "0123456789abcdef";
  out->push_back('"');
  std::size_t run_start = 0;
  std::size_t i = 0;
  // Copies the pending run of bytes that need no escaping.
  const auto flush = [&] { out->append(value.data() + run_start, i - run_start); };
  while (i < value.size()) {
    // Field text is mostly plain ASCII: pass it 8 bytes at a time.
    if (i + 8 <= value.size()) {
      std::uint64_t word;
      std::memcpy(&word, value.data() + i, sizeof word);
      if (!AnyToLookAt(word)) {
        i += 8;
        continue;
      }
    }
    const unsigned char c = static_cast<unsigned char>(value[i]);
    if (c >= 0x80) {
      std::size_t subpart = 0;
      const std::size_t length = Utf8SequenceLength(value, i, &subpart);
      if (length != 0) {
        i += length;
        continue;
      }
      flush();
      out->append(kReplacement);
      i += subpart;
      run_start = i;
      continue;
    }
    std::string_view escape;
    char unicode_escape[6] = {'\\', 'u', '0', '0', '0', '0'};
    switch (c) {
      case '"': escape = "\\\""; break;
      case '\\': escape = "\\\\"; break;
      case '\b': escape = "\\b"; break;
      case '\f': escape = "\\f"; break;
      case '\n': escape = "\\n"; break;
      case '\r': escape = "\\r"; break;
      case '\t': escape = "\\t"; break;
      default:
        if (c >= 0x20) {
          ++i;
          continue;
        }
        unicode_escape[4] = kHex[c >> 4];
        unicode_escape[5] = kHex[c & 0x0F];
        escape = std::string_view(unicode_escape, sizeof(unicode_escape));
    }
    flush();
    out->append(escape);
    ++i;
    run_start = i;
  }
  flush();
  out->push_back('"');
}

void JsonWriter::BeforeValue() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  assert(stack_.empty() || stack_.back() == '[');
  if (!stack_.empty() && !first_) out_->push_back(',');
  first_ = false;
}

void JsonWriter::BeginObject() {
  BeforeValue();
  out_->push_back('{');
  stack_.push_back('{');
  first_ = true;
}

void JsonWriter::EndObject() {
  assert(!stack_.empty() && stack_.back() == '{' && !after_key_);
  out_->push_back('}');
  stack_.pop_back();
  first_ = false;
}

void JsonWriter::BeginArray() {
  BeforeValue();
  out_->push_back('[');
  stack_.push_back('[');
  first_ = true;
}

void JsonWriter::EndArray() {
  assert(!stack_.empty() && stack_.back() == '[');
  out_->push_back(']');
  stack_.pop_back();
  first_ = false;
}

void JsonWriter::Key(std::string_view key) {
  assert(!stack_.empty() && stack_.back() == '{' && !after_key_);
  if (!first_) out_->push_back(',');
  first_ = false;
  AppendJsonString(key, out_);
  out_->push_back(':');
  after_key_ = true;
}

void JsonWriter::String(std::string_view value) {
  BeforeValue();
  AppendJsonString(value, out_);
}

void JsonWriter::Int(std::int64_t value) {
  BeforeValue();
  absl::StrAppend(out_, value);
}

void JsonWriter::Uint(std::uint64_t value) {
  BeforeValue();
  absl::StrAppend(out_, value);
}

void JsonWriter::Bool(bool value) {
  BeforeValue();
  out_->append(value ? "true" : "false");
}

void JsonWriter::Null() {
  BeforeValue();
  out_->append("null");
}

}  // namespace onvif::base
