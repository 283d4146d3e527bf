#include "engine/dedup/seen_table.h"

namespace onvif::dedup {

// The one instantiation every user of SeenTable shares (see the header's
// extern template); tests with injected hashes instantiate their own.
template class BasicSeenTable<DefaultKeyHash>;

}  // namespace onvif::dedup
