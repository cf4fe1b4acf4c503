// futured::plugin::Json: the JSON values a plugin task receives as arguments
// and returns as its result. Header-only and dependency-free, so that a
// plugin needs nothing but this SDK to build.
//
//   Json n = 42;                                   // a number
//   Json list = Json::Array{1, "two", nullptr};
//   Json obj = Json::Object{{"count", 3}, {"ok", true}};
//   int64_t count = obj["count"].as_integer();
//   std::string text = obj.dump();                 // {"count":3,"ok":true}
//   Json back = Json::parse(text);
//
// A Json is a value (copyable, comparable with ==). The as_*() accessors and
// operator[] throw futured::plugin::TaskError ("TypeError", "KeyError",
// "IndexError"), which a task that lets it escape reports as its error.
// Thread-compatible.
#ifndef FUTURED_SDK_INCLUDE_FUTURED_PLUGIN_JSON_H_
#define FUTURED_SDK_INCLUDE_FUTURED_PLUGIN_JSON_H_

#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace futured::plugin {

// The error a task raises, as Python shows it: `type: message`. Throw it from
// a task function; futured reports it as the future's TaskError.
class TaskError : public std::runtime_error {
 public:
  TaskError(std::string type, const std::string& message)
      : std::runtime_error(message), type_(std::move(type)) {}
  const std::string& type() const { return type_; }

 private:
  std::string type_;
};

class Json {
 public:
  using Array = std::vector<Json>;
  using Object = std::map<std::string, Json>;

  Json() = default;  // null
  Json(std::nullptr_t) {}
  Json(bool b) : value_(b) {}
  Json(double d) : value_(d) {}
  template <typename T,
            std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>,
                             int> = 0>
  Json(T i) : value_(static_cast<double>(i)) {}
  Json(const char* s) : value_(std::string(s)) {}
  Json(std::string_view s) : value_(std::string(s)) {}
  Json(std::string s) : value_(std::move(s)) {}
  Json(Array a) : value_(std::move(a)) {}
  Json(Object o) : value_(std::move(o)) {}

  bool is_null() const { return value_.index() == 0; }
  bool is_bool() const { return value_.index() == 1; }
  bool is_number() const { return value_.index() == 2; }
  bool is_string() const { return value_.index() == 3; }
  bool is_array() const { return value_.index() == 4; }
  bool is_object() const { return value_.index() == 5; }

  // "null", "bool", "number", "string", "list" or "object", as futured
  // names JSON types.
  const char* type_name() const {
    static constexpr const char* kNames[] = {"null",   "bool", "number",
                                             "string", "list", "object"};
    return kNames[value_.index()];
  }

  bool as_bool() const { return Get<bool>("a bool"); }
  double as_number() const { return Get<double>("a number"); }
  // A number with no fraction that fits in 64 bits.
  int64_t as_integer() const {
    const double d = as_number();
    if (std::trunc(d) != d || d < -9223372036854775808.0 ||
        d >= 9223372036854775808.0) {
      throw TaskError("TypeError", "expected an integer, got " + NumberText(d));
    }
    return static_cast<int64_t>(d);
  }
  const std::string& as_string() const { return Get<std::string>("a string"); }
  const Array& as_array() const { return Get<Array>("a list"); }
  const Object& as_object() const { return Get<Object>("an object"); }
  // Moves the list out of a list value.
  Array TakeArray() && {
    as_array();  // throws unless a list
    return std::move(std::get<Array>(value_));
  }

  // An element of a list; IndexError if out of range.
  const Json& operator[](size_t i) const {
    const Array& a = as_array();
    if (i >= a.size()) {
      throw TaskError("IndexError", "list index " + std::to_string(i) +
                                        " out of range (size " +
                                        std::to_string(a.size()) + ")");
    }
    return a[i];
  }
  // A member of an object; KeyError if absent.
  const Json& operator[](const std::string& key) const {
    const Object& o = as_object();
    auto it = o.find(key);
    if (it == o.end()) throw TaskError("KeyError", "'" + key + "'");
    return it->second;
  }

  friend bool operator==(const Json& a, const Json& b) {
    return a.value_ == b.value_;
  }

  // Compact JSON text. Throws std::invalid_argument for a number that JSON
  // cannot hold (NaN, infinity).
  std::string dump() const {
    std::string out;
    Dump(out);
    return out;
  }

  // Parses JSON text (RFC 8259; nesting at most 512 deep). Throws
  // std::invalid_argument naming the offset of the first problem.
  static Json parse(std::string_view text) {
    Parser parser{text};
    Json value = parser.Value(0);
    parser.SkipSpace();
    if (parser.pos != text.size()) parser.Fail("trailing characters");
    return value;
  }

 private:
  template <typename T>
  const T& Get(const char* expected) const {
    if (const T* v = std::get_if<T>(&value_)) return *v;
    throw TaskError("TypeError", std::string("expected ") + expected +
                                     ", got " + type_name());
  }

  static std::string NumberText(double d) {
    if (!std::isfinite(d)) {
      throw std::invalid_argument("JSON cannot hold the number " +
                                  std::to_string(d));
    }
    char buf[32];
    std::to_chars_result r{};
    if (std::trunc(d) == d && std::fabs(d) < 9007199254740992.0) {  // 2^53
      r = std::to_chars(buf, buf + sizeof(buf), static_cast<int64_t>(d));
    } else {
      r = std::to_chars(buf, buf + sizeof(buf), d);
    }
    return std::string(buf, r.ptr);
  }

  static void DumpString(std::string& out, const std::string& s) {
    static constexpr char kHex[] = "0123456789abcdef";
    out += '"';
    for (const char c : s) {
      switch (c) {
        case '"':
          out += "\\\"";
          break;
        case '\\':
          out += "\\\\";
          break;
        case '\n':
          out += "\\n";
          break;
        case '\r':
          out += "\\r";
          break;
        case '\t':
          out += "\\t";
          break;
        default:
          if (static_cast<unsigned char>(c) < 0x20) {
            out += "\\u00";
            out += kHex[(c >> 4) & 0xf];
            out += kHex[c & 0xf];
          } else {
            out += c;
          }
      }
    }
    out += '"';
  }

  void Dump(std::string& out) const {
    switch (value_.index()) {
      case 0:
        out += "null";
        break;
      case 1:
        out += std::get<bool>(value_) ? "true" : "false";
        break;
      case 2:
        out += NumberText(std::get<double>(value_));
        break;
      case 3:
        DumpString(out, std::get<std::string>(value_));
        break;
      case 4: {
        out += '[';
        const char* sep = "";
        for (const Json& item : std::get<Array>(value_)) {
          out += sep;
          item.Dump(out);
          sep = ",";
        }
        out += ']';
        break;
      }
      case 5: {
        out += '{';
        const char* sep = "";
        for (const auto& [key, item] : std::get<Object>(value_)) {
          out += sep;
          DumpString(out, key);
          out += ':';
          item.Dump(out);
          sep = ",";
        }
        out += '}';
        break;
      }
    }
  }

  // A recursive-descent parser over `text`; `pos` is the next character.
  struct Parser {
    static constexpr int kMaxDepth = 512;

    std::string_view text;
    size_t pos = 0;

    [[noreturn]] void Fail(const std::string& what) const {
      throw std::invalid_argument("invalid JSON at offset " +
                                  std::to_string(pos) + ": " + what);
    }
    void SkipSpace() {
      while (pos < text.size() && (text[pos] == ' ' || text[pos] == '\t' ||
                                   text[pos] == '\n' || text[pos] == '\r')) {
        ++pos;
      }
    }
    bool Consume(std::string_view word) {
      if (text.substr(pos, word.size()) != word) return false;
      pos += word.size();
      return true;
    }
    void Expect(char c) {
      SkipSpace();
      if (pos >= text.size() || text[pos] != c) {
        Fail(std::string("expected '") + c + "'");
      }
      ++pos;
    }

    Json Value(int depth) {
      if (depth > kMaxDepth) Fail("nested too deeply");
      SkipSpace();
      if (pos >= text.size()) Fail("unexpected end");
      const char c = text[pos];
      if (c == '{') return ObjectValue(depth);
      if (c == '[') return ArrayValue(depth);
      if (c == '"') return Json(String());
      if (Consume("null")) return Json();
      if (Consume("true")) return Json(true);
      if (Consume("false")) return Json(false);
      return Json(Number());
    }

    Json ArrayValue(int depth) {
      ++pos;  // '['
      Array items;
      SkipSpace();
      if (pos < text.size() && text[pos] == ']') {
        ++pos;
        return Json(std::move(items));
      }
      while (true) {
        items.push_back(Value(depth + 1));
        SkipSpace();
        if (pos < text.size() && text[pos] == ',') {
          ++pos;
          continue;
        }
        Expect(']');
        return Json(std::move(items));
      }
    }

    Json ObjectValue(int depth) {
      ++pos;  // '{'
      Object members;
      SkipSpace();
      if (pos < text.size() && text[pos] == '}') {
        ++pos;
        return Json(std::move(members));
      }
      while (true) {
        SkipSpace();
        if (pos >= text.size() || text[pos] != '"') Fail("expected a key");
        std::string key = String();
        Expect(':');
        members[std::move(key)] = Value(depth + 1);
        SkipSpace();
        if (pos < text.size() && text[pos] == ',') {
          ++pos;
          continue;
        }
        Expect('}');
        return Json(std::move(members));
      }
    }

    double Number() {
      const size_t start = pos;
      auto digits = [this] {
        const size_t from = pos;
        while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') ++pos;
        return pos - from;
      };
      if (pos < text.size() && text[pos] == '-') ++pos;
      const size_t int_start = pos;
      const size_t int_digits = digits();
      if (int_digits == 0) Fail("expected a value");
      if (int_digits > 1 && text[int_start] == '0') Fail("leading zero");
      if (pos < text.size() && text[pos] == '.') {
        ++pos;
        if (digits() == 0) Fail("expected a digit after '.'");
      }
      if (pos < text.size() && (text[pos] == 'e' || text[pos] == 'E')) {
        ++pos;
        if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) ++pos;
        if (digits() == 0) Fail("expected an exponent");
      }
      double d = 0;
      const auto r = std::from_chars(text.data() + start, text.data() + pos, d);
      if (r.ec != std::errc() || !std::isfinite(d)) Fail("number out of range");
      return d;
    }

    unsigned Hex4() {
      if (pos + 4 > text.size()) Fail("short \\u escape");
      unsigned v = 0;
      for (int i = 0; i < 4; ++i) {
        const char c = text[pos++];
        v <<= 4;
        if (c >= '0' && c <= '9') {
          v |= c - '0';
        } else if (c >= 'a' && c <= 'f') {
          v |= c - 'a' + 10;
        } else if (c >= 'A' && c <= 'F') {
          v |= c - 'A' + 10;
        } else {
          Fail("bad \\u escape");
        }
      }
      return v;
    }

    static void AppendUtf8(std::string& out, unsigned cp) {
      if (cp < 0x80) {
        out += static_cast<char>(cp);
      } else if (cp < 0x800) {
        out += static_cast<char>(0xc0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3f));
      } else if (cp < 0x10000) {
        out += static_cast<char>(0xe0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
        out += static_cast<char>(0x80 | (cp & 0x3f));
      } else {
        out += static_cast<char>(0xf0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
        out += static_cast<char>(0x80 | (cp & 0x3f));
      }
    }

    std::string String() {
      ++pos;  // '"'
      std::string out;
      while (true) {
        if (pos >= text.size()) Fail("unterminated string");
        const char c = text[pos++];
        if (c == '"') return out;
        if (static_cast<unsigned char>(c) < 0x20) Fail("control character");
        if (c != '\\') {
          out += c;
          continue;
        }
        if (pos >= text.size()) Fail("unterminated string");
        const char e = text[pos++];
        switch (e) {
          case '"':
          case '\\':
          case '/':
            out += e;
            break;
          case 'b':
            out += '\b';
            break;
          case 'f':
            out += '\f';
            break;
          case 'n':
            out += '\n';
            break;
          case 'r':
            out += '\r';
            break;
          case 't':
            out += '\t';
            break;
          case 'u': {
            unsigned cp = Hex4();
            if (cp >= 0xd800 && cp < 0xdc00) {  // a surrogate pair
              if (!Consume("\\u")) Fail("lone surrogate");
              const unsigned low = Hex4();
              if (low < 0xdc00 || low >= 0xe000) Fail("bad surrogate pair");
              cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
            } else if (cp >= 0xdc00 && cp < 0xe000) {
              Fail("lone surrogate");
            }
            AppendUtf8(out, cp);
            break;
          }
          default:
            Fail("bad escape");
        }
      }
    }
  };

  std::variant<std::nullptr_t, bool, double, std::string, Array, Object> value_;
};

}  // namespace futured::plugin

#endif  // FUTURED_SDK_INCLUDE_FUTURED_PLUGIN_JSON_H_
