// The daemon as the child subreaper (PR_SET_CHILD_SUBREAPER) of whatever
// its tasks start: a process orphaned below it (the command of a worker
// that died, a background child whose parent exited) becomes the daemon's
// child instead of init's, so that the daemon can kill and reap it.
//
// Which of the daemon's children are adopted: the kernel gives an orphan to
// the subreaper's first live thread, the main thread, while workers and
// thread-pool commands are children of the threads that spawned them, which
// reap them through pidfds. So the main thread reaps with __WNOTHREAD and
// never takes the exit status of a child it did not adopt; it must start no
// child of its own. Process-wide state under one mutex; each function says
// which thread may call it.
#ifndef FUTURED_SERVER_OS_ADOPTED_CHILDREN_H_
#define FUTURED_SERVER_OS_ADOPTED_CHILDREN_H_

#include <sys/types.h>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace futured::server {

// Makes this process the child subreaper of its descendants. Once, from
// main(), before a thread starts a child.
absl::Status BecomeChildSubreaper();

// Main thread only (else it does nothing): reaps every adopted child that
// has ended. Never blocks; call it when SIGCHLD arrives.
void ReapAdoptedChildren();

// Any thread: sends SIGKILL to process group `group` if an adopted child
// belongs to it, unless it is this process's own group. That child stays
// unreaped meanwhile, so the group's ID cannot have been reused. Meant for
// the command group a dead worker recorded: whatever number a worker
// writes, it can make the daemon kill only a group that holds a process
// orphaned below the daemon. Returns whether it sent the signal.
bool KillAdoptedGroup(pid_t group);

// Main thread only (else it does nothing), as the daemon exits: SIGKILLs
// every adopted child, and those that become adopted as their parents die
// (a process that left its command's group included), and reaps them, for
// at most `timeout`.
void KillAdoptedChildren(absl::Duration timeout);

}  // namespace futured::server

#endif  // FUTURED_SERVER_OS_ADOPTED_CHILDREN_H_
