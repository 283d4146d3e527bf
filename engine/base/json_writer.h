// A minimal streaming JSON writer (RFC 8259) for tool output and logs.
//
// It appends to a caller-owned std::string and inserts commas and colons
// itself, so callers only say what comes next. Strings are escaped so that the
// output is always valid JSON whatever the input bytes: '"' and '\\' are
// escaped, control characters use \b \f \n \r \t or \u00XX, and every
// ill-formed UTF-8 sequence is replaced by U+FFFD (one per maximal ill-formed
// subpart, as Unicode's "U+FFFD substitution of maximal subparts" recommends).
// Valid UTF-8, including U+2028 and U+2029, is copied unchanged.
//
// Misuse (a key outside an object, a value without a key inside an object,
// unbalanced End calls) is a programming error: it is checked with assert in
// debug builds and produces invalid JSON otherwise.

#ifndef ONVIF_ENGINE_BASE_JSON_WRITER_H_
#define ONVIF_ENGINE_BASE_JSON_WRITER_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/container/inlined_vector.h"

namespace onvif::base {

class JsonWriter {
 public:
  // Appends to *out, which must outlive the writer. Several top-level values
  // may be written in a row; they are not separated (the caller adds a
  // newline for JSON Lines).
  explicit JsonWriter(std::string* out) : out_(out) {}

  void BeginObject();
  void EndObject();
  void BeginArray();
  void EndArray();

  // Inside an object: the key of the next value.
  void Key(std::string_view key);

  void String(std::string_view value);
  void Int(std::int64_t value);
  void Uint(std::uint64_t value);
  void Bool(bool value);
  void Null();

  // Key and value in one call.
  void KeyString(std::string_view key, std::string_view value) {
    Key(key);
    String(value);
  }
  void KeyUint(std::string_view key, std::uint64_t value) {
    Key(key);
    Uint(value);
  }
  void KeyBool(std::string_view key, bool value) {
    Key(key);
    Bool(value);
  }

  // True when every opened object and array has been closed.
  bool complete() const { return stack_.empty() && !after_key_; }

 private:
  // Comma before a value or key, as the position requires.
  void BeforeValue();

  std::string* out_;
  // '{' or '[' per open container; inline, so a line of a few levels
  // allocates nothing of the writer's own.
  absl::InlinedVector<char, 16> stack_;
  bool first_ = true;        // nothing written yet in the innermost container
  bool after_key_ = false;   // a key was written, its value is next
};

// Appends value as a quoted, escaped JSON string (see the note above).
void AppendJsonString(std::string_view value, std::string* out);

}  // namespace onvif::base

#endif  // ONVIF_ENGINE_BASE_JSON_WRITER_H_
