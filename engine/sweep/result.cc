#include "engine/sweep/result.h"

namespace onvif::sweep {

void AssignListItems(std::string_view list, std::vector<std::string>& out) {
  std::size_t count = 0;
  for (const std::string_view item : wsd::ListItems(list)) {
    if (count < out.size()) {
      out[count].assign(item);
    } else {
      out.emplace_back(item);
    }
    ++count;
  }
  out.resize(count);
}

InterfaceCounters& InterfaceCounters::operator+=(const InterfaceCounters& other) {
  probes_sent += other.probes_sent;
  datagrams += other.datagrams;
  matches += other.matches;
  new_devices += other.new_devices;
  updated += other.updated;
  duplicates += other.duplicates;
  filtered += other.filtered;
  malformed += other.malformed;
  unrelated += other.unrelated;
  truncated += other.truncated;
  kernel_drops += other.kernel_drops;
  full += other.full;
  resolves_sent += other.resolves_sent;
  resolved += other.resolved;
  send_errors += other.send_errors;
  for (std::size_t i = 0; i < malformed_by_error.size(); ++i) {
    malformed_by_error[i] += other.malformed_by_error[i];
  }
  return *this;
}

InterfaceCounters SweepStats::Totals() const {
  InterfaceCounters total;
  for (const InterfaceStats& iface : interfaces) total += iface.counters;
  return total;
}

}  // namespace onvif::sweep
