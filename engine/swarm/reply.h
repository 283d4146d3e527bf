// Pre-rendered ProbeMatches for every camera of the swarm, sent without
// copying.
//
// Design note
// -----------
// A ProbeMatches differs per Probe in three values only: its own MessageID
// (fresh per message, WS-Addressing), RelatesTo (= the Probe's MessageID,
// WS-Discovery 2005/04 section 5.3) and the AppSequence MessageNumber (one
// more per message the camera sends, section 7). It differs per interface in
// one more:
// the XAddr host when the camera has no address of its own. So each camera's
// reply is rendered once at start (wsd::RenderProbeMatches, with a marker in
// the XAddr host) into one arena, and split at those four values. At send
// time the reply is a gather list of kReplyIovecs pieces: five constant
// pieces of the arena and the four per-send values, so the kernel copies
// the bytes straight from the arena and the hot path copies nothing
// (sendmmsg takes the iovecs). Gather() joins them for tests.
//
// A camera whose own state changes (--churn: a restart's new InstanceId, a
// higher MetadataVersion) is rendered again with Replace into a side slot of
// its own that replaces its arena piece from then on; the arena never grows
// after start and the side slots are at most one per camera, reused. So the
// hot path stays one gather list per reply, and what a reply says is always
// what the builder renders for the camera's current state.
//
// FastRng is splitmix64: a few ns per id, so 100,000 fresh MessageIDs per
// Probe cost well under a millisecond. Ids need to be unique, not secret.

#ifndef ONVIF_ENGINE_SWARM_REPLY_H_
#define ONVIF_ENGINE_SWARM_REPLY_H_

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/wsd/builder.h"

namespace onvif::swarm {

class FastRng {
 public:
  explicit FastRng(std::uint64_t seed) : state_(seed) {}
  std::uint64_t Next();
  // Uniform in [0, bound]; bound < 2^32.
  std::uint32_t UpTo(std::uint32_t bound);

 private:
  std::uint64_t state_;
};

// Writes a fresh "urn:uuid:" version-4 id of exactly wsd::kMessageIdSize bytes.
void WriteMessageId(FastRng& rng, char* out);

// What Describe() puts where the XAddr host goes; replaced per send.
inline constexpr std::string_view kHostMarker = "swarm-host-marker.invalid:1";
inline constexpr int kReplyIovecs = 9;

class ReplyStore {
 public:
  // Reserves for `cameras` replies of about `bytes_each`.
  void Reserve(std::size_t cameras, std::size_t bytes_each);
  // Renders one camera's ProbeMatches; `device` carries kHostMarker as the
  // host of its XAddr (Describe(camera, kHostMarker)), or has no XAddr that
  // names it (no XAddrs at all: the host piece is then sent empty).
  void Add(const wsd::DeviceDescription& device, const wsd::AppSequenceSpec& app_sequence);
  // The same, the rendered envelope rewritten by `restyle` first (other
  // prefixes, SOAP 1.1: quirks of real devices). restyle must keep the
  // MessageID value and leave the RelatesTo element empty.
  void Add(const wsd::DeviceDescription& device, const wsd::AppSequenceSpec& app_sequence,
           const std::function<void(std::string&)>& restyle);
  // Renders camera `index`'s reply again (index < size()), as Add does;
  // restyle may be empty. Cold path: allocates the first time per camera.
  void Replace(std::uint32_t index, const wsd::DeviceDescription& device,
               const wsd::AppSequenceSpec& app_sequence, const std::function<void(std::string&)>& restyle);
  std::size_t size() const { return replies_.size(); }
  std::size_t arena_bytes() const { return arena_.size(); }

  // Fills iov[0..kReplyIovecs) with camera `index`'s reply. The views must
  // stay alive until the send; relates_to_escaped is the Probe's MessageID
  // XML-escaped (wsd::AppendXmlEscaped); message_number the decimal
  // AppSequence MessageNumber of this message. Allocates nothing.
  void Fill(std::uint32_t index, std::string_view message_id, std::string_view relates_to_escaped,
            std::string_view message_number, std::string_view host_port, iovec* iov) const;

 private:
  struct Reply;
  static constexpr std::uint32_t kInArena = UINT32_MAX;
  static wsd::RenderedMessage Render(const wsd::DeviceDescription& device,
                                     const wsd::AppSequenceSpec& app_sequence,
                                     const std::function<void(std::string&)>& restyle);
  // Where the pieces of `rendered` are, offsets relative to its start.
  static Reply Layout(const wsd::RenderedMessage& rendered);
  struct Reply {
    std::uint32_t side = kInArena;  // else the index in side_ (Replace)
    std::uint32_t begin = 0;        // in arena_ (0 in a side slot)
    std::uint32_t message_id = 0;  // offsets relative to begin
    std::uint32_t message_id_end = 0;
    std::uint32_t relates_to = 0;  // rendered empty: begin == end
    std::uint32_t number = 0;      // the AppSequence MessageNumber's digits
    std::uint32_t number_end = 0;
    std::uint32_t host = 0;
    std::uint32_t host_end = 0;
    std::uint32_t size = 0;
    bool has_host = true;  // false: nothing to patch, host == host_end
  };
  std::string arena_;
  std::vector<Reply> replies_;
  std::vector<std::string> side_;
};

// The SOAP 1.2 fault a Target Service returns to a unicast Probe whose
// Scopes/@MatchBy it does not support (WS-Discovery 2005/04 section 5.1:
// Code Sender, Subcode d:MatchingRuleNotSupported, Detail listing the
// supported rules). Never sent for a multicast Probe. Cold path: allocates.
std::string BuildMatchingRuleFault(std::string_view message_id, std::string_view relates_to);

// Joins a gather list (tests, debugging).
std::string Gather(std::span<const iovec> iov);

}  // namespace onvif::swarm

#endif  // ONVIF_ENGINE_SWARM_REPLY_H_
