// Makes Debian's abseil synchronization visible to ThreadSanitizer.
//
// Debian's libabsl_synchronization.so is not built with -fsanitize=thread, so
// TSan sees none of the happens-before edges that absl::Mutex, CondVar,
// Notification and BlockingCounter create, and reports races on every piece
// of state they guard. This file is linked into every executable of a
// FUTURED_SANITIZE=thread build, with its symbols exported (ENABLE_EXPORTS).
// It defines the out-of-line member functions of those classes itself; the
// dynamic linker binds every call to them to these definitions, including
// abseil's calls among its own functions (Debian builds it with -fPIC and
// without -Bsymbolic, so Notification::Notify reaches Mutex::Lock through the
// PLT). Each definition tells TSan what the operation does, with the
// __tsan_mutex_* annotations abseil makes itself when it is built with TSan,
// and calls the library's definition, found with dlsym(RTLD_NEXT).
//
// The library's *WithTimeout functions are not defined here: each calls its
// *WithDeadline twin through the PLT, so they reach the definitions below.
//
// Between __tsan_mutex_pre_lock and __tsan_mutex_post_lock (and the unlock
// pair) TSan ignores the thread's memory accesses: abseil evaluates
// Conditions there, in whichever thread releases or waits, with the lock held
// but not yet (or no longer) known to TSan.
//
// tests/tsan/ proves it: the hand-offs of absl_sync_handoffs_test.cc are clean
// with these definitions, each is reported as a race without them, and the
// races of tsan_races_test.cc are still reported with them.
//
// Threading: every function here is called concurrently, as the ones it
// replaces are; the only state is the function-local statics holding the
// library's definitions, initialized once (thread-safe statics).

#include <dlfcn.h>
#include <sanitizer/tsan_interface.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "absl/base/options.h"
#include "absl/synchronization/blocking_counter.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

#if !ABSL_OPTION_USE_INLINE_NAMESPACE
#error "the mangled names below assume abseil's inline namespace"
#endif

namespace {

#define FUTURED_TSAN_STRINGIFY_(x) #x
#define FUTURED_TSAN_STRINGIFY(x) FUTURED_TSAN_STRINGIFY_(x)
constexpr std::string_view kAbslNamespace =
    FUTURED_TSAN_STRINGIFY(ABSL_OPTION_INLINE_NAMESPACE_NAME);

// The library's definition of absl::<inline namespace>::<suffix>, where
// `suffix` is the rest of the mangled name ("5Mutex4LockEv"); `konst` for a
// const member function. Aborts if the library has no such symbol: a
// definition here that the library does not have would never be called.
template <typename Fn>
Fn Real(const char* suffix, bool konst = false) {
  const std::string name = std::string(konst ? "_ZNK4absl" : "_ZN4absl") +
                           std::to_string(kAbslNamespace.size()) +
                           std::string(kAbslNamespace) + suffix;
  void* real = dlsym(RTLD_NEXT, name.c_str());
  if (real == nullptr) {
    std::fprintf(stderr, "absl_sync_annotations: no %s after this one: %s\n",
                 name.c_str(), dlerror());
    std::abort();
  }
  return reinterpret_cast<Fn>(real);
}

// How `mu` is held by the calling thread, as abseil's CondVar decides it: a
// Mutex is one word (mu_), with bit kMuWriter (8) set while a writer holds
// it. Await and CondVar::Wait may be called holding either kind of lock.
unsigned HeldFlags(const absl::Mutex* mu) {
  static_assert(sizeof(absl::Mutex) == sizeof(std::atomic<intptr_t>));
  constexpr intptr_t kMuWriter = 0x0008;
  const auto* word = reinterpret_cast<const std::atomic<intptr_t>*>(mu);
  return (word->load(std::memory_order_relaxed) & kMuWriter) != 0
             ? 0
             : __tsan_mutex_read_lock;
}

// Runs `wait`, which releases `mu` (held as `flags` says), waits and holds it
// again when it returns: TSan sees an unlock and a lock around it.
template <typename Wait>
auto UnlockedDuring(const absl::Mutex* mu, Wait wait) {
  void* const m = const_cast<absl::Mutex*>(mu);
  const unsigned flags = HeldFlags(mu);
  __tsan_mutex_pre_unlock(m, flags);
  __tsan_mutex_post_unlock(m, flags);
  __tsan_mutex_pre_lock(m, flags);
  auto result = wait();
  __tsan_mutex_post_lock(m, flags, 0);
  return result;
}

// Runs `lock`, which blocks until it holds `mu` (as `flags` says).
template <typename Lock>
auto Locking(absl::Mutex* mu, unsigned flags, Lock lock) {
  __tsan_mutex_pre_lock(mu, flags);
  auto result = lock();
  __tsan_mutex_post_lock(mu, flags, 0);
  return result;
}

// Runs `try_lock`, which returns whether it took `mu` (as `flags` says).
template <typename TryLock>
bool TryLocking(absl::Mutex* mu, unsigned flags, TryLock try_lock) {
  flags |= __tsan_mutex_try_lock;
  __tsan_mutex_pre_lock(mu, flags);
  const bool locked = try_lock();
  __tsan_mutex_post_lock(
      mu, locked ? flags : flags | __tsan_mutex_try_lock_failed, 0);
  return locked;
}

// Runs `unlock`, which releases `mu` (held as `flags` says).
template <typename Unlock>
void Unlocking(absl::Mutex* mu, unsigned flags, Unlock unlock) {
  __tsan_mutex_pre_unlock(mu, flags);
  unlock();
  __tsan_mutex_post_unlock(mu, flags);
}

using MutexFn = void (*)(absl::Mutex*);
using MutexBoolFn = bool (*)(absl::Mutex*);
using WhenFn = void (*)(absl::Mutex*, const absl::Condition&);
using WhenDeadlineFn = bool (*)(absl::Mutex*, const absl::Condition&,
                                absl::Time);

}  // namespace

namespace absl {
ABSL_NAMESPACE_BEGIN

Mutex::~Mutex() {
  static const auto real = Real<MutexFn>("5MutexD2Ev");
  __tsan_mutex_destroy(this, __tsan_mutex_not_static);
  real(this);
}

void Mutex::Lock() {
  static const auto real = Real<MutexFn>("5Mutex4LockEv");
  Locking(this, 0, [&] { return (real(this), 0); });
}

void Mutex::ReaderLock() {
  static const auto real = Real<MutexFn>("5Mutex10ReaderLockEv");
  Locking(this, __tsan_mutex_read_lock, [&] { return (real(this), 0); });
}

bool Mutex::TryLock() {
  static const auto real = Real<MutexBoolFn>("5Mutex7TryLockEv");
  return TryLocking(this, 0, [&] { return real(this); });
}

bool Mutex::ReaderTryLock() {
  static const auto real = Real<MutexBoolFn>("5Mutex13ReaderTryLockEv");
  return TryLocking(this, __tsan_mutex_read_lock, [&] { return real(this); });
}

void Mutex::Unlock() {
  static const auto real = Real<MutexFn>("5Mutex6UnlockEv");
  Unlocking(this, 0, [&] { real(this); });
}

void Mutex::ReaderUnlock() {
  static const auto real = Real<MutexFn>("5Mutex12ReaderUnlockEv");
  Unlocking(this, __tsan_mutex_read_lock, [&] { real(this); });
}

void Mutex::LockWhen(const Condition& cond) {
  static const auto real = Real<WhenFn>("5Mutex8LockWhenERKNS0_9ConditionE");
  Locking(this, 0, [&] { return (real(this, cond), 0); });
}

void Mutex::ReaderLockWhen(const Condition& cond) {
  static const auto real =
      Real<WhenFn>("5Mutex14ReaderLockWhenERKNS0_9ConditionE");
  Locking(this, __tsan_mutex_read_lock, [&] { return (real(this, cond), 0); });
}

bool Mutex::LockWhenWithDeadline(const Condition& cond, Time deadline) {
  static const auto real = Real<WhenDeadlineFn>(
      "5Mutex20LockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE");
  return Locking(this, 0, [&] { return real(this, cond, deadline); });
}

bool Mutex::ReaderLockWhenWithDeadline(const Condition& cond, Time deadline) {
  static const auto real = Real<WhenDeadlineFn>(
      "5Mutex26ReaderLockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE");
  return Locking(this, __tsan_mutex_read_lock,
                 [&] { return real(this, cond, deadline); });
}

void Mutex::Await(const Condition& cond) {
  static const auto real = Real<WhenFn>("5Mutex5AwaitERKNS0_9ConditionE");
  UnlockedDuring(this, [&] { return (real(this, cond), 0); });
}

bool Mutex::AwaitWithDeadline(const Condition& cond, Time deadline) {
  static const auto real = Real<WhenDeadlineFn>(
      "5Mutex17AwaitWithDeadlineERKNS0_9ConditionENS0_4TimeE");
  return UnlockedDuring(this, [&] { return real(this, cond, deadline); });
}

// Signal and SignalAll need nothing: the waiter's hand-off is the mutex.
void CondVar::Wait(Mutex* mu) {
  static const auto real =
      Real<void (*)(CondVar*, Mutex*)>("7CondVar4WaitEPNS0_5MutexE");
  UnlockedDuring(mu, [&] { return (real(this, mu), 0); });
}

bool CondVar::WaitWithDeadline(Mutex* mu, Time deadline) {
  static const auto real = Real<bool (*)(CondVar*, Mutex*, Time)>(
      "7CondVar16WaitWithDeadlineEPNS0_5MutexENS0_4TimeE");
  return UnlockedDuring(mu, [&] { return real(this, mu, deadline); });
}

// A Notification's waiter may return without taking its mutex (it checks an
// atomic flag first), so Notify releases and a successful wait acquires on
// the Notification itself.
void Notification::Notify() {
  static const auto real =
      Real<void (*)(Notification*)>("12Notification6NotifyEv");
  __tsan_release(this);
  real(this);
}

void Notification::WaitForNotification() const {
  static const auto real = Real<void (*)(const Notification*)>(
      "12Notification19WaitForNotificationEv", /*konst=*/true);
  real(this);
  __tsan_acquire(const_cast<Notification*>(this));
}

bool Notification::WaitForNotificationWithTimeout(Duration timeout) const {
  static const auto real = Real<bool (*)(const Notification*, Duration)>(
      "12Notification30WaitForNotificationWithTimeoutENS0_8DurationE",
      /*konst=*/true);
  const bool notified = real(this, timeout);
  if (notified) __tsan_acquire(const_cast<Notification*>(this));
  return notified;
}

bool Notification::WaitForNotificationWithDeadline(Time deadline) const {
  static const auto real = Real<bool (*)(const Notification*, Time)>(
      "12Notification31WaitForNotificationWithDeadlineENS0_4TimeE",
      /*konst=*/true);
  const bool notified = real(this, deadline);
  if (notified) __tsan_acquire(const_cast<Notification*>(this));
  return notified;
}

// Only the last DecrementCount takes the counter's mutex; every one releases,
// and the last one (which returns true) acquires what the others released.
bool BlockingCounter::DecrementCount() {
  static const auto real =
      Real<bool (*)(BlockingCounter*)>("15BlockingCounter14DecrementCountEv");
  __tsan_release(this);
  const bool last = real(this);
  if (last) __tsan_acquire(this);
  return last;
}

void BlockingCounter::Wait() {
  static const auto real =
      Real<void (*)(BlockingCounter*)>("15BlockingCounter4WaitEv");
  real(this);
  __tsan_acquire(this);
}

ABSL_NAMESPACE_END
}  // namespace absl
