// Typed conversions between C++ values and google.protobuf.Value, the JSON
// value that carries task arguments and results.
//
//   C++ type                         Value kind
//   bool                             bool_value
//   integers (int8_t ... uint64_t)   number_value, integral, in range of the
//                                    type and exactly representable (|x| <=
//                                    2^53)
//   float, double                    number_value
//   std::string (std::string_view,   string_value
//     const char* to Value only)
//   std::vector<T>                   list_value
//   std::map / std::unordered_map    struct_value
//     <std::string, T>
//   std::optional<T>                 null_value for std::nullopt, else T's
//   std::nullptr_t                   null_value
//   google::protobuf::Value          itself
//
// A mismatch (a string where an integer is asked for, 2.5 or 300 for an
// int8_t, a list with one bad element) throws futured::ValueError naming the
// expected type and what was found, with the path inside lists and maps.
//
// User types: specialize futured::ValueTraits in namespace futured:
//
//   template <>
//   struct futured::ValueTraits<Point> {
//     static futured::Value ToValue(const Point& p) {
//       return futured::ToValue(std::map<std::string, double>{{"x", p.x},
//                                                            {"y", p.y}});
//     }
//     static Point FromValue(const futured::Value& v) {
//       auto m = futured::FromValue<std::map<std::string, double>>(v);
//       return Point{m.at("x"), m.at("y")};
//     }
//   };
//
// Pure functions; thread-safe.
#ifndef FUTURED_CLIENT_INCLUDE_FUTURED_VALUE_H_
#define FUTURED_CLIENT_INCLUDE_FUTURED_VALUE_H_

#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "futured/errors.h"
#include "google/protobuf/struct.pb.h"

namespace futured {

using Value = google::protobuf::Value;

// How T converts; specialize for user types (see the file comment). The
// second parameter is for the library's own partial specializations.
template <class T, class Enable = void>
struct ValueTraits;

// Converts `value` to a Value. String-like values (std::string, string_view,
// const char*, char arrays) become strings.
template <class T>
Value ToValue(const T& value);

// Converts `value` to T or throws ValueError.
template <class T>
T FromValue(const Value& value);

namespace internal {

// Throws ValueError: "expected <expected>, got <what value is>".
[[noreturn]] void ThrowMismatch(std::string_view expected, const Value& value);
// Throws ValueError for an integer that a Value cannot hold exactly.
[[noreturn]] void ThrowInexact(std::string_view what);
// Rethrows the ValueError in flight with "<segment>" prefixed to its path,
// e.g. "[3]" or "[\"key\"]".
[[noreturn]] void RethrowWithPath(const ValueError& error,
                                  std::string_view segment);
// "[<index>]" and "[\"<key>\"]" path segments.
std::string IndexSegment(std::size_t index);
std::string KeySegment(std::string_view key);

// 2^53: the largest magnitude up to which every integer is a double.
inline constexpr int64_t kMaxExactInteger = int64_t{1} << 53;

// Returns `d` as an integer if it is integral, exact (|d| <= 2^53) and
// within [min, max]; else throws ValueError naming `type_name`.
int64_t CheckedInteger(double d, int64_t min, uint64_t max,
                       std::string_view type_name);

// "int32_t", "uint8_t", ... for messages.
template <class T>
constexpr std::string_view IntegerTypeName() {
  constexpr bool s = std::is_signed_v<T>;
  switch (sizeof(T)) {
    case 1:
      return s ? "int8_t" : "uint8_t";
    case 2:
      return s ? "int16_t" : "uint16_t";
    case 4:
      return s ? "int32_t" : "uint32_t";
    default:
      return s ? "int64_t" : "uint64_t";
  }
}

template <class T>
inline constexpr bool kIsStringLike =
    std::is_convertible_v<const T&, std::string_view> &&
    !std::is_same_v<T, std::nullptr_t>;

}  // namespace internal

template <>
struct ValueTraits<Value> {
  static Value ToValue(const Value& v) { return v; }
  static Value FromValue(const Value& v) { return v; }
};

template <>
struct ValueTraits<bool> {
  static Value ToValue(bool b) {
    Value v;
    v.set_bool_value(b);
    return v;
  }
  static bool FromValue(const Value& v) {
    if (v.kind_case() != Value::kBoolValue) internal::ThrowMismatch("bool", v);
    return v.bool_value();
  }
};

template <class T>
struct ValueTraits<
    T, std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>>> {
  static Value ToValue(T i) {
    if constexpr (sizeof(T) >= 8) {
      if (i > static_cast<T>(internal::kMaxExactInteger) ||
          (std::is_signed_v<T> &&
           static_cast<int64_t>(i) < -internal::kMaxExactInteger)) {
        internal::ThrowInexact(std::to_string(i));
      }
    }
    Value v;
    v.set_number_value(static_cast<double>(i));
    return v;
  }
  static T FromValue(const Value& v) {
    if (v.kind_case() != Value::kNumberValue) {
      internal::ThrowMismatch(internal::IntegerTypeName<T>(), v);
    }
    return static_cast<T>(internal::CheckedInteger(
        v.number_value(), static_cast<int64_t>(std::numeric_limits<T>::min()),
        static_cast<uint64_t>(std::numeric_limits<T>::max()),
        internal::IntegerTypeName<T>()));
  }
};

template <class T>
struct ValueTraits<T, std::enable_if_t<std::is_floating_point_v<T>>> {
  static Value ToValue(T d) {
    Value v;
    v.set_number_value(static_cast<double>(d));
    return v;
  }
  static T FromValue(const Value& v) {
    if (v.kind_case() != Value::kNumberValue) {
      internal::ThrowMismatch("a number", v);
    }
    return static_cast<T>(v.number_value());
  }
};

template <>
struct ValueTraits<std::string> {
  static Value ToValue(std::string_view s) {
    Value v;
    v.set_string_value(std::string(s));
    return v;
  }
  static std::string FromValue(const Value& v) {
    if (v.kind_case() != Value::kStringValue) {
      internal::ThrowMismatch("a string", v);
    }
    return v.string_value();
  }
};

template <>
struct ValueTraits<std::nullptr_t> {
  static Value ToValue(std::nullptr_t) {
    Value v;
    v.set_null_value(google::protobuf::NULL_VALUE);
    return v;
  }
  static std::nullptr_t FromValue(const Value& v) {
    if (v.kind_case() != Value::kNullValue) internal::ThrowMismatch("null", v);
    return nullptr;
  }
};

template <class T>
struct ValueTraits<std::optional<T>> {
  static Value ToValue(const std::optional<T>& o) {
    return o.has_value() ? futured::ToValue(*o) : futured::ToValue(nullptr);
  }
  static std::optional<T> FromValue(const Value& v) {
    if (v.kind_case() == Value::kNullValue) return std::nullopt;
    return futured::FromValue<T>(v);
  }
};

template <class T, class A>
struct ValueTraits<std::vector<T, A>> {
  static Value ToValue(const std::vector<T, A>& items) {
    Value v;
    auto* list = v.mutable_list_value();
    for (const auto& item : items) *list->add_values() = futured::ToValue(item);
    return v;
  }
  static std::vector<T, A> FromValue(const Value& v) {
    if (v.kind_case() != Value::kListValue)
      internal::ThrowMismatch("a list", v);
    std::vector<T, A> items;
    items.reserve(v.list_value().values_size());
    for (int i = 0; i < v.list_value().values_size(); ++i) {
      try {
        items.push_back(futured::FromValue<T>(v.list_value().values(i)));
      } catch (const ValueError& e) {
        internal::RethrowWithPath(e, internal::IndexSegment(i));
      }
    }
    return items;
  }
};

namespace internal {

template <class MapT>
struct StringKeyedMapTraits {
  static Value ToValue(const MapT& entries) {
    Value v;
    auto& fields = *v.mutable_struct_value()->mutable_fields();
    for (const auto& [key, item] : entries) {
      fields[key] = futured::ToValue(item);
    }
    return v;
  }
  static MapT FromValue(const Value& v) {
    if (v.kind_case() != Value::kStructValue) {
      ThrowMismatch("an object", v);
    }
    MapT entries;
    for (const auto& [key, item] : v.struct_value().fields()) {
      try {
        entries.emplace(key,
                        futured::FromValue<typename MapT::mapped_type>(item));
      } catch (const ValueError& e) {
        RethrowWithPath(e, KeySegment(key));
      }
    }
    return entries;
  }
};

}  // namespace internal

template <class T, class C, class A>
struct ValueTraits<std::map<std::string, T, C, A>>
    : internal::StringKeyedMapTraits<std::map<std::string, T, C, A>> {};

template <class T, class H, class E, class A>
struct ValueTraits<std::unordered_map<std::string, T, H, E, A>>
    : internal::StringKeyedMapTraits<
          std::unordered_map<std::string, T, H, E, A>> {};

template <class T>
Value ToValue(const T& value) {
  if constexpr (internal::kIsStringLike<T>) {
    return ValueTraits<std::string>::ToValue(std::string_view(value));
  } else {
    return ValueTraits<T>::ToValue(value);
  }
}

template <class T>
T FromValue(const Value& value) {
  return ValueTraits<T>::FromValue(value);
}

}  // namespace futured

#endif  // FUTURED_CLIENT_INCLUDE_FUTURED_VALUE_H_
