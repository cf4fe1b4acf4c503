#include "server/worker/worker_user.h"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace futured::server {
namespace {

absl::Status ErrnoStatus(absl::string_view what, int error) {
  return absl::FailedPreconditionError(
      absl::StrCat(what, ": ", std::strerror(error)));
}

// `user`'s supplementary groups, `gid` among them.
absl::StatusOr<std::vector<gid_t>> GroupsOf(const std::string& user,
                                            gid_t gid) {
  std::vector<gid_t> groups(16);
  for (int attempt = 0; attempt < 8; ++attempt) {
    int count = static_cast<int>(groups.size());
    if (getgrouplist(user.c_str(), gid, groups.data(), &count) >= 0) {
      groups.resize(static_cast<size_t>(count));
      return groups;
    }
    groups.resize(static_cast<size_t>(count) * 2);  // count: how many it has
  }
  return absl::FailedPreconditionError(
      absl::StrCat("cannot list the groups of user '", user, "'"));
}

std::vector<gid_t> Sorted(std::vector<gid_t> groups) {
  std::sort(groups.begin(), groups.end());
  groups.erase(std::unique(groups.begin(), groups.end()), groups.end());
  return groups;
}

// Whether the calling process is `user` and only `user`.
absl::Status CheckIsUser(const WorkerUser& user) {
  uid_t ruid, euid, suid;
  gid_t rgid, egid, sgid;
  if (getresuid(&ruid, &euid, &suid) != 0 ||
      getresgid(&rgid, &egid, &sgid) != 0) {
    return ErrnoStatus("getresuid/getresgid", errno);
  }
  if (ruid != user.uid || euid != user.uid || suid != user.uid ||
      rgid != user.gid || egid != user.gid || sgid != user.gid) {
    return absl::InternalError(absl::StrCat(
        "after setuid the ids are uid ", ruid, "/", euid, "/", suid, " gid ",
        rgid, "/", egid, "/", sgid, ", not ", user.uid, " and ", user.gid));
  }
  std::vector<gid_t> groups(static_cast<size_t>(getgroups(0, nullptr)));
  if (getgroups(static_cast<int>(groups.size()), groups.data()) < 0) {
    return ErrnoStatus("getgroups", errno);
  }
  if (Sorted(groups) != Sorted(user.groups)) {
    return absl::InternalError("after setgroups the groups are not the user's");
  }
  if (user.uid != 0 && setuid(0) == 0) {
    return absl::InternalError("setuid(0) succeeded after dropping root");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<WorkerUser> LookUpUser(const std::string& name) {
  long size = sysconf(_SC_GETPW_R_SIZE_MAX);
  std::vector<char> buffer(size > 0 ? static_cast<size_t>(size) : 16384);
  passwd entry{};
  passwd* found = nullptr;
  int error = 0;
  while ((error = getpwnam_r(name.c_str(), &entry, buffer.data(), buffer.size(),
                             &found)) == ERANGE &&
         buffer.size() < (size_t{1} << 20)) {
    buffer.resize(buffer.size() * 2);
  }
  if (error != 0) return ErrnoStatus(absl::StrCat("getpwnam ", name), error);
  if (found == nullptr) {
    return absl::NotFoundError(absl::StrCat("no such user '", name, "'"));
  }
  absl::StatusOr<std::vector<gid_t>> groups = GroupsOf(name, entry.pw_gid);
  if (!groups.ok()) return groups.status();
  return WorkerUser{.name = name,
                    .uid = entry.pw_uid,
                    .gid = entry.pw_gid,
                    .groups = *std::move(groups)};
}

absl::StatusOr<WorkerUser> CheckWorkerUser(absl::string_view setting,
                                           const std::string& name,
                                           uid_t daemon_euid) {
  if (daemon_euid != 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        setting, " needs futured to start as root (it runs as uid ",
        daemon_euid, "); leave it out to run workers as uid ", daemon_euid));
  }
  absl::StatusOr<WorkerUser> user = LookUpUser(name);
  if (absl::IsNotFound(user.status())) {
    return absl::InvalidArgumentError(
        absl::StrCat(setting, ": ", user.status().message()));
  }
  if (!user.ok()) return user.status();
  if (user->uid == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(setting, ": user '", name,
                     "' is root (uid 0); name an unprivileged user"));
  }
  return user;
}

absl::Status BecomeUser(const WorkerUser& user) {
  if (setgroups(user.groups.size(), user.groups.data()) != 0) {
    return ErrnoStatus("setgroups", errno);
  }
  if (setgid(user.gid) != 0) return ErrnoStatus("setgid", errno);
  if (setuid(user.uid) != 0) return ErrnoStatus("setuid", errno);
  return CheckIsUser(user);
}

}  // namespace futured::server
