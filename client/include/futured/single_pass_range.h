// The single-pass input range behind as_completed() and Executor::map.
// Private to the library: use AsCompleted and MapResults.
#ifndef FUTURED_CLIENT_INCLUDE_FUTURED_SINGLE_PASS_RANGE_H_
#define FUTURED_CLIENT_INCLUDE_FUTURED_SINGLE_PASS_RANGE_H_

#include <cstddef>
#include <iterator>

namespace futured::internal {

// A range read once, front to back, by one thread: begin() fetches the
// first element, each increment the next, and the range ends when there is
// none. `Owner` derives from SinglePassRange<Owner, T> (CRTP) and provides
//   const T* Current() const;  // the element fetched last, or null at end
//   void Fetch();              // fetches the next element (may throw)
// Iterators point at the owner, so they stay valid while it lives and is
// not moved.
template <class Owner, class T>
class SinglePassRange {
 public:
  class iterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = T;
    using difference_type = std::ptrdiff_t;
    using reference = const T&;
    using pointer = const T*;

    iterator() = default;
    reference operator*() const { return *owner_->Current(); }
    pointer operator->() const { return owner_->Current(); }
    iterator& operator++() {
      owner_->Fetch();
      return *this;
    }
    void operator++(int) { ++*this; }
    friend bool operator==(const iterator& it, std::default_sentinel_t) {
      return it.AtEnd();
    }

   private:
    friend class SinglePassRange;
    explicit iterator(Owner* owner) : owner_(owner) {}
    bool AtEnd() const {
      return owner_ == nullptr || owner_->Current() == nullptr;
    }

    Owner* owner_ = nullptr;
  };

  // Waits for the first element; call once.
  iterator begin() {
    Owner* owner = static_cast<Owner*>(this);
    if (!started_) {
      started_ = true;
      owner->Fetch();
    }
    return iterator(owner);
  }
  std::default_sentinel_t end() const { return std::default_sentinel; }

 private:
  bool started_ = false;
};

}  // namespace futured::internal

#endif  // FUTURED_CLIENT_INCLUDE_FUTURED_SINGLE_PASS_RANGE_H_
