// Tells a test whether it was built with AddressSanitizer, for the few tests
// whose subject ASan changes: an address-space limit (RLIMIT_AS) cannot hold
// ASan's shadow memory, so a worker with one cannot start.
#ifndef FUTURED_TESTS_SANITIZER_BUILD_H_
#define FUTURED_TESTS_SANITIZER_BUILD_H_

namespace futured::testing {

#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool kAddressSanitizer = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
inline constexpr bool kAddressSanitizer = true;
#else
inline constexpr bool kAddressSanitizer = false;
#endif
#else
inline constexpr bool kAddressSanitizer = false;
#endif

}  // namespace futured::testing

#endif  // FUTURED_TESTS_SANITIZER_BUILD_H_
