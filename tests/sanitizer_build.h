// Tells a test whether it was built with AddressSanitizer or ThreadSanitizer,
// for the few tests whose subject they change: an address-space limit
// (RLIMIT_AS) cannot hold their shadow memory, so a worker with one cannot
// start.
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

// A TSan build (cmake/FuturedTsan.cmake) undefines __SANITIZE_THREAD__ for
// the sake of uninstrumented libraries' headers and says so itself.
#if defined(FUTURED_THREAD_SANITIZER)
inline constexpr bool kThreadSanitizer = true;
#else
inline constexpr bool kThreadSanitizer = false;
#endif

}  // namespace futured::testing

#endif  // FUTURED_TESTS_SANITIZER_BUILD_H_
