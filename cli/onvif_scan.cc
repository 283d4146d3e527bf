// onvif-scan: scans captured WS-Discovery envelopes and prints what the engine
// sees in them, one JSON object per input, for people debugging captures.
//
//   onvif-scan FILE...   ("-" reads standard input)
//
// Exit status: 0 when every input scanned, 1 when any did not, 2 on usage
// errors.

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/base/json_writer.h"
#include "engine/wsd/scanner.h"

namespace onvif {
namespace {

constexpr std::string_view kUsage =
    "Usage: onvif-scan FILE...\n"
    "Scans each FILE (\"-\" for standard input) as one WS-Discovery SOAP envelope\n"
    "and prints one JSON object per input, in order:\n"
    "  {\"file\":...,\"ok\":true,\"action\":...,\"message_id\":...,\"relates_to\":...,\"to\":...,\n"
    "   \"kind\":...,\"app_sequence\":{...},\"endpoints\":[{\"endpoint\":...,\"types\":[...],\n"
    "   \"scopes\":[...],\"match_by\":...,\"xaddrs\":[...],\"metadata_version\":N}]}\n"
    "  {\"file\":...,\"ok\":false,\"error\":\"<scan error>\",\"offset\":N}\n"
    "  {\"file\":...,\"ok\":false,\"error\":\"io\",\"message\":...}\n"
    "Text is decoded; fields absent from the envelope are absent from the output.\n"
    "Exit status: 0 if every input scanned, 1 otherwise, 2 on usage errors.\n";

// One byte over the scanner's limit, so an oversize input reports too_large
// instead of being silently cut.
constexpr std::size_t kReadLimit = wsd::kMaxEnvelopeBytes + 1;

// Reads at most kReadLimit bytes of path ("-": stdin) into *data. On failure
// returns false and sets *error to "<operation>: <strerror>".
bool ReadInput(const std::string& path, std::string* data, std::string* error) {
  const bool is_stdin = path == "-";
  std::FILE* file = is_stdin ? stdin : std::fopen(path.c_str(), "rb");
  if (file == nullptr) {
    *error = absl::StrCat("open: ", std::strerror(errno));
    return false;
  }
  data->resize(kReadLimit);
  std::size_t size = 0;
  while (size < kReadLimit) {
    const std::size_t n = std::fread(data->data() + size, 1, kReadLimit - size, file);
    if (n == 0) break;
    size += n;
  }
  const bool failed = std::ferror(file) != 0;
  const int saved_errno = errno;
  if (!is_stdin) std::fclose(file);
  data->resize(size);
  if (failed) {
    *error = absl::StrCat("read: ", std::strerror(saved_errno));
    return false;
  }
  return true;
}

std::string_view KindName(wsd::MessageKind kind) {
  switch (kind) {
    case wsd::MessageKind::kNone: return "none";
    case wsd::MessageKind::kProbe: return "probe";
    case wsd::MessageKind::kProbeMatches: return "probe_matches";
    case wsd::MessageKind::kResolve: return "resolve";
    case wsd::MessageKind::kResolveMatches: return "resolve_matches";
    case wsd::MessageKind::kHello: return "hello";
    case wsd::MessageKind::kBye: return "bye";
    case wsd::MessageKind::kFault: return "fault";
    case wsd::MessageKind::kOther: return "other";
  }
  return "other";
}

// Decodes field text into a scratch buffer owned by the printer.
class Printer {
 public:
  explicit Printer(std::string* out) : writer_(out) {}

  base::JsonWriter& writer() { return writer_; }

  std::string_view Decode(const wsd::Text& text) {
    scratch_.resize(text.raw.size());
    return text.Get(scratch_);
  }

  void TextField(std::string_view key, const wsd::Text& text) {
    if (!text.present) return;
    writer_.KeyString(key, Decode(text));
  }

  void ListField(std::string_view key, const wsd::Text& text) {
    if (!text.present) return;
    writer_.Key(key);
    writer_.BeginArray();
    for (std::string_view item : wsd::ListItems(Decode(text))) writer_.String(item);
    writer_.EndArray();
  }

  void Envelope(const wsd::Envelope& envelope) {
    TextField("action", envelope.action);
    TextField("message_id", envelope.message_id);
    TextField("relates_to", envelope.relates_to);
    TextField("to", envelope.to);
    writer_.KeyString("kind", KindName(envelope.kind));
    if (envelope.app_sequence) {
      const wsd::AppSequence& seq = *envelope.app_sequence;
      writer_.Key("app_sequence");
      writer_.BeginObject();
      writer_.KeyUint("instance_id", seq.instance_id);
      TextField("sequence_id", seq.sequence_id);
      writer_.KeyUint("message_number", seq.message_number);
      writer_.EndObject();
    }
    if (envelope.entries().empty()) return;
    writer_.Key("endpoints");
    writer_.BeginArray();
    for (const wsd::Entry& entry : envelope.entries()) {
      writer_.BeginObject();
      TextField("endpoint", entry.endpoint);
      if (entry.has_types) {
        writer_.Key("types");
        writer_.BeginArray();
        for (const wsd::QName& type : envelope.types(entry)) {
          // Clark notation, as in the PROTOCOL notes: {namespace}Local.
          qname_.clear();
          qname_.push_back('{');
          qname_.append(type.ns);
          qname_.push_back('}');
          qname_.append(type.local);
          writer_.String(qname_);
        }
        writer_.EndArray();
      }
      ListField("scopes", entry.scopes);
      TextField("match_by", entry.match_by);
      ListField("xaddrs", entry.xaddrs);
      if (entry.metadata_version) writer_.KeyUint("metadata_version", *entry.metadata_version);
      writer_.EndObject();
    }
    writer_.EndArray();
  }

 private:
  base::JsonWriter writer_;
  std::string scratch_;
  std::string qname_;
};

int Main(int argc, char** argv) {
  std::vector<std::string> paths;
  bool options_done = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (!options_done && (arg == "--help" || arg == "-h")) {
      std::fwrite(kUsage.data(), 1, kUsage.size(), stdout);
      return 0;
    }
    if (!options_done && arg == "--") {
      options_done = true;
      continue;
    }
    if (!options_done && arg.size() > 1 && arg[0] == '-') {
      std::fprintf(stderr, "onvif-scan: unknown option '%s'\n%s", argv[i], kUsage.data());
      return 2;
    }
    paths.emplace_back(arg);
  }
  if (paths.empty()) {
    std::fprintf(stderr, "onvif-scan: no input files (use - for standard input)\n%s",
                 kUsage.data());
    return 2;
  }

  wsd::Scanner scanner;
  std::string data;
  std::string line;
  bool all_ok = true;
  for (const std::string& path : paths) {
    line.clear();
    Printer printer(&line);
    base::JsonWriter& writer = printer.writer();
    writer.BeginObject();
    writer.KeyString("file", path);
    std::string error;
    if (!ReadInput(path, &data, &error)) {
      all_ok = false;
      writer.KeyBool("ok", false);
      writer.KeyString("error", "io");
      writer.KeyString("message", error);
    } else if (const wsd::ScanResult result = scanner.Scan(std::string_view(data));
               !result.ok()) {
      all_ok = false;
      writer.KeyBool("ok", false);
      writer.KeyString("error", wsd::ScanErrorName(result.error));
      writer.KeyUint("offset", result.offset);
    } else {
      writer.KeyBool("ok", true);
      printer.Envelope(scanner.envelope());
    }
    writer.EndObject();
    line.push_back('\n');
    std::fwrite(line.data(), 1, line.size(), stdout);
  }
  std::fflush(stdout);
  return all_ok ? 0 : 1;
}

}  // namespace
}  // namespace onvif

int main(int argc, char** argv) { return onvif::Main(argc, argv); }
