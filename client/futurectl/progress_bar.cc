#include "progress_bar.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/str_cat.h"

namespace futured::ctl {
namespace {

constexpr int64_t kBarWidth = 30;
// The most of a progress message shown after the bar.
constexpr size_t kMaxMessageChars = 40;
// Carriage return, then "erase to the end of the line" (ANSI/VT100).
constexpr char kEraseLine[] = "\r\033[K";

}  // namespace

ProgressBar::ProgressBar(int fd, int64_t total)
    : fd_(fd), total_(total), enabled_(isatty(fd) == 1) {}

ProgressBar::~ProgressBar() { Hide(); }

void ProgressBar::Update(int64_t done) {
  if (!enabled_) return;
  done = std::clamp<int64_t>(done, 0, total_);
  const int64_t filled = total_ == 0 ? kBarWidth : done * kBarWidth / total_;
  Draw(filled, absl::StrCat(done, "/", total_));
}

void ProgressBar::UpdateFraction(double fraction, std::string_view message) {
  if (!enabled_) return;
  fraction = std::isnan(fraction) ? 0.0 : std::clamp(fraction, 0.0, 1.0);
  const auto filled = static_cast<int64_t>(fraction * kBarWidth);
  std::string label = absl::StrCat(static_cast<int>(fraction * 100), "%");
  if (!message.empty()) {
    // One line: a long message is cut (bytes; a cut character shows as junk
    // at worst), and control characters are blanked.
    std::string text(message.substr(0, kMaxMessageChars));
    for (char& c : text) {
      if (static_cast<unsigned char>(c) < 0x20) c = ' ';
    }
    absl::StrAppend(&label, " ", text);
  }
  Draw(filled, label);
}

void ProgressBar::Draw(int64_t filled, const std::string& label) {
  const std::string line =
      absl::StrCat("\r[", std::string(filled, '#'),
                   std::string(kBarWidth - filled, ' '), "] ", label, "\033[K");
  Write(line.data(), static_cast<int64_t>(line.size()));
  shown_ = true;
}

void ProgressBar::Hide() {
  if (!shown_) return;
  Write(kEraseLine, sizeof(kEraseLine) - 1);
  shown_ = false;
}

void ProgressBar::Write(const char* text, int64_t size) {
  while (size > 0) {
    const ssize_t n = write(fd_, text, static_cast<size_t>(size));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // progress is best effort
    text += n;
    size -= n;
  }
}

}  // namespace futured::ctl
