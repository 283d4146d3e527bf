// Counting replacements of the global allocation functions, for tests that
// assert a path allocates nothing. Link alloc_counter.cc into the test
// executable (onvif_add_test(... SOURCES ... ${ONVIF_ALLOC_COUNTER})); it
// replaces operator new/delete for the whole process.

#ifndef ONVIF_TESTS_SUPPORT_ALLOC_COUNTER_H_
#define ONVIF_TESTS_SUPPORT_ALLOC_COUNTER_H_

namespace onvif::testing {

// Calls of any global operator new so far, in all threads.
long AllocationCount();

}  // namespace onvif::testing

#endif  // ONVIF_TESTS_SUPPORT_ALLOC_COUNTER_H_
