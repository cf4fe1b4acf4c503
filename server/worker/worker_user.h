// The user a process pool's workers run as (the daemon's --worker_user):
// looked up and checked by the daemon at start-up, and taken on for good by
// each futured-worker before it loads a plugin or runs a task.
#ifndef FUTURED_SERVER_WORKER_WORKER_USER_H_
#define FUTURED_SERVER_WORKER_WORKER_USER_H_

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace futured::server {

// A user from the user database, with its supplementary groups.
struct WorkerUser {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;  // from the group database; holds gid
};

// Looks `name` up (getpwnam_r, getgrouplist). NOT_FOUND if there is no such
// user. Thread-safe.
absl::StatusOr<WorkerUser> LookUpUser(const std::string& name);

// The daemon's check of --worker_user=`name`, given its effective uid:
// FAILED_PRECONDITION unless the daemon runs as root (only root can become
// another user), INVALID_ARGUMENT for an unknown user or for root itself.
// `setting` names the flag and its source in the message. Thread-safe.
absl::StatusOr<WorkerUser> CheckWorkerUser(absl::string_view setting,
                                           const std::string& name,
                                           uid_t daemon_euid);

// Makes the calling process `user` for good: setgroups, setgid, setuid, in
// that order, then checks that its real, effective and saved IDs and its
// groups are the user's and that setuid(0) fails. Call it while the process
// has one thread (the IDs are per thread in the kernel; glibc changes every
// thread's, but a single thread leaves no doubt).
absl::Status BecomeUser(const WorkerUser& user);

}  // namespace futured::server

#endif  // FUTURED_SERVER_WORKER_WORKER_USER_H_
