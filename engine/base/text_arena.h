// TextArena: append-only storage for many small strings.
//
// A sweep keeps a few hundred bytes of text per device for as long as it
// runs. As separate std::strings that is a dozen heap blocks per device, each
// with malloc's header and rounding, scattered over fresh pages; on the
// project's machines a fresh page costs more than receiving a datagram (see
// docs/performance.md). The arena packs the text back to back in blocks of
// kBlockBytes, so a storm touches about as many pages as it has bytes to
// keep. Nothing is freed before the arena; views stay valid until then.
//
// Not thread-safe: the owner serializes access.

#ifndef ONVIF_ENGINE_BASE_TEXT_ARENA_H_
#define ONVIF_ENGINE_BASE_TEXT_ARENA_H_

#include <cstddef>
#include <cstring>
#include <memory>
#include <string_view>
#include <vector>

namespace onvif::base {

class TextArena {
 public:
  static constexpr std::size_t kBlockBytes = 64 * 1024;

  TextArena() = default;
  TextArena(const TextArena&) = delete;
  TextArena& operator=(const TextArena&) = delete;

  // Room for `size` bytes, to be written before the next call.
  char* Allocate(std::size_t size) {
    if (size > left_) {
      // Text longer than a quarter block gets a block of its own, so the
      // current block's tail is not wasted on it.
      if (size > kBlockBytes / 4) {
        blocks_.push_back(std::make_unique_for_overwrite<char[]>(size));
        return blocks_.back().get();
      }
      blocks_.push_back(std::make_unique_for_overwrite<char[]>(kBlockBytes));
      next_ = blocks_.back().get();
      left_ = kBlockBytes;
    }
    char* at = next_;
    next_ += size;
    left_ -= size;
    return at;
  }

  std::string_view Copy(std::string_view text) {
    if (text.empty()) return {};
    char* at = Allocate(text.size());
    std::memcpy(at, text.data(), text.size());
    return {at, text.size()};
  }

 private:
  std::vector<std::unique_ptr<char[]>> blocks_;
  char* next_ = nullptr;
  std::size_t left_ = 0;
};

}  // namespace onvif::base

#endif  // ONVIF_ENGINE_BASE_TEXT_ARENA_H_
