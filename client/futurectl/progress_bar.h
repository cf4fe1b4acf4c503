// ProgressBar: the line "[#######             ] 7/20" that futurectl's map
// and wait redraw in place on stderr while they run, or
// "[######              ] 20% block 2 of 10" for one task's progress
// (result --progress).
//
// It draws only when its file descriptor is a terminal (isatty), so output
// that is piped or redirected carries no progress at all. Hide() erases the
// line so that other output can be printed; the next Update() draws it
// again. The destructor erases it.
//
// Owned and used by one thread. Writes with write(2), unbuffered.
#ifndef FUTURED_CLIENT_FUTURECTL_PROGRESS_BAR_H_
#define FUTURED_CLIENT_FUTURECTL_PROGRESS_BAR_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace futured::ctl {

class ProgressBar {
 public:
  // A bar for `total` steps on `fd` (which must outlive it); draws nothing
  // until the first Update().
  ProgressBar(int fd, int64_t total);
  ~ProgressBar();
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  // True if `fd` is a terminal, i.e. if the bar is drawn at all.
  bool enabled() const { return enabled_; }

  // Redraws the bar with `done` of the total steps done.
  void Update(int64_t done);

  // Redraws the bar `fraction` (in [0, 1]) full, labelled with the
  // percentage and `message`. The total given at construction is unused.
  void UpdateFraction(double fraction, std::string_view message);

  // Erases the bar's line if it is drawn.
  void Hide();

 private:
  // Draws the bar with `filled` of its cells full, then `label`.
  void Draw(int64_t filled, const std::string& label);
  void Write(const char* text, int64_t size);

  const int fd_;
  const int64_t total_;
  const bool enabled_;
  bool shown_ = false;
};

}  // namespace futured::ctl

#endif  // FUTURED_CLIENT_FUTURECTL_PROGRESS_BAR_H_
