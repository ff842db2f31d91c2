//! Seccomp for containers.
//!
//! * berth's built-in default profile, written below as Rust tables: an allowlist of the
//!   syscalls ordinary programs use, groups that open up only when the container holds
//!   the capability that makes them meaningful, and a few argument-filtered rules
//!   (namespace-creating `clone`/`unshare`, `personality`, `AF_VSOCK` sockets). Anything
//!   else fails with EPERM.
//! * user profiles in Docker's JSON format (`--security-opt seccomp=<file>`), converted to
//!   OCI: their rules are kept or dropped by the container's capabilities, this machine's
//!   architecture and the running kernel, as Docker documents for that format.
//!
//! `--privileged` and `seccomp=unconfined` turn both off (see `spec::seccomp_for`).

use std::collections::BTreeSet;
use std::str::FromStr;

use oci_spec::runtime::{
    Arch, LinuxSeccomp, LinuxSeccompAction, LinuxSeccompArg, LinuxSeccompArgBuilder,
    LinuxSeccompFilterFlag, LinuxSeccompOperator, LinuxSyscall,
};
use serde::Deserialize;

#[derive(Debug, thiserror::Error)]
pub enum SeccompError {
    /// Docker's wording for a profile that is not valid JSON for its schema.
    #[error("Decoding seccomp profile failed: {0}")]
    Decode(#[from] serde_json::Error),
    #[error("{0}")]
    Invalid(String),
    #[error("failed to parse kernel version {0:?}")]
    KernelVersion(String),
}

/// The host facts a profile is filtered against.
#[derive(Debug, Clone)]
pub(crate) struct Target<'a> {
    /// The native architecture as Docker spells it ("amd64", "arm64", ...).
    pub arch: &'a str,
    /// (kernel, major), e.g. (6, 18).
    pub kernel: (u64, u64),
    /// The container's bounding capabilities ("CAP_SYS_ADMIN", ...).
    pub caps: &'a [String],
    /// The kernel runs x32 syscalls ([`kernel_runs_x32`]).
    pub x32: bool,
}

// ====================================================================================
// berth's default profile
// ====================================================================================
//
// Design: the filter is an allowlist (default action EPERM). A syscall is allowed when a
// group below admits the container; the groups follow what the kernel itself would let an
// unprivileged-but-root container do, minus interfaces that are global to the host (not
// namespaced) or are mostly attack surface. Capability-gated groups mirror capabilities(7):
// when the container is given a capability, the syscalls that exist to exercise it open
// up, so `--cap-add` works without a custom profile. Syscalls whose danger depends on an
// argument get argument rules (`narrowed_rules`).

/// Who a group of syscalls is for.
#[derive(Debug, Clone, Copy)]
enum Gate {
    /// Every container.
    Always,
    /// Containers holding at least one of these capabilities.
    AnyCap(&'static [&'static str]),
    /// Containers whose native architecture (Docker's spelling) is one of these.
    Arch(&'static [&'static str]),
    /// Both: one of the architectures and one of the capabilities.
    ArchAndAnyCap(&'static [&'static str], &'static [&'static str]),
    /// Kernels at least this new, (kernel, major).
    Kernel(u64, u64),
}

impl Gate {
    fn admits(self, t: &Target) -> bool {
        let has = |caps: &[&str]| caps.iter().any(|c| t.caps.iter().any(|h| h == c));
        match self {
            Gate::Always => true,
            Gate::AnyCap(caps) => has(caps),
            Gate::Arch(arches) => arches.contains(&t.arch),
            Gate::ArchAndAnyCap(arches, caps) => arches.contains(&t.arch) && has(caps),
            Gate::Kernel(k, m) => kernel_at_least(t.kernel, (k, m)),
        }
    }
}

/// Syscalls allowed together, and for whom.
struct Group {
    gate: Gate,
    names: &'static [&'static str],
}

/// Architectures with their own private syscalls (Docker's spelling of native arches).
const X86_FAMILY: &[&str] = &["amd64", "x86"];
const ARM_FAMILY: &[&str] = &["arm64", "arm"];
const PPC_FAMILY: &[&str] = &["ppc64le", "ppc64", "ppc"];
const S390_FAMILY: &[&str] = &["s390x", "s390"];
const RISCV: &[&str] = &["riscv64"];

/// The allowlist, group by group.
const ALLOWED: &[Group] = &[
    Group {
        gate: Gate::Always,
        names: PROCESSES,
    },
    Group {
        gate: Gate::Always,
        names: CREDENTIALS,
    },
    Group {
        gate: Gate::Always,
        names: SCHEDULING,
    },
    Group {
        gate: Gate::Always,
        names: MEMORY,
    },
    Group {
        gate: Gate::Always,
        names: SIGNALS,
    },
    Group {
        gate: Gate::Always,
        names: TIME,
    },
    Group {
        gate: Gate::Always,
        names: FILE_SYSTEM,
    },
    Group {
        gate: Gate::Always,
        names: FILE_IO,
    },
    Group {
        gate: Gate::Always,
        names: XATTRS,
    },
    Group {
        gate: Gate::Always,
        names: EVENTS,
    },
    Group {
        gate: Gate::Always,
        names: ASYNC_IO,
    },
    Group {
        gate: Gate::Always,
        names: SOCKETS,
    },
    Group {
        gate: Gate::Always,
        names: IPC,
    },
    Group {
        gate: Gate::Always,
        names: NAMESPACED_IDENTITY,
    },
    Group {
        gate: Gate::Always,
        names: SELF_SANDBOXING,
    },
    Group {
        gate: Gate::Always,
        names: LEGACY_32BIT,
    },
    Group {
        gate: Gate::Arch(X86_FAMILY),
        names: X86_PRIVATE,
    },
    Group {
        gate: Gate::Arch(ARM_FAMILY),
        names: ARM_PRIVATE,
    },
    Group {
        gate: Gate::Arch(PPC_FAMILY),
        names: PPC_PRIVATE,
    },
    Group {
        gate: Gate::Arch(S390_FAMILY),
        names: S390_PRIVATE,
    },
    Group {
        gate: Gate::Arch(RISCV),
        names: RISCV_PRIVATE,
    },
    // ptrace: before Linux 4.8 a tracer could rewrite a syscall after seccomp had checked
    // it, so allowing ptrace there would let a container step around this very filter (for
    // everyone, capability or not). From 4.8 seccomp re-checks, and the kernel's own ptrace
    // access rules (same user, no dumpable/NNP games) keep tracing inside the container.
    Group {
        gate: Gate::Kernel(4, 8),
        names: &["ptrace"],
    },
    // ---- capability-gated: the syscall exists to exercise the capability.
    Group {
        gate: Gate::AnyCap(&["CAP_SYS_ADMIN"]),
        names: SYS_ADMIN,
    },
    // BPF programs and perf events reach deep into the kernel (and can read host-wide
    // data); since 5.8 they have their own capabilities besides CAP_SYS_ADMIN.
    Group {
        gate: Gate::AnyCap(&["CAP_SYS_ADMIN", "CAP_BPF"]),
        names: &["bpf"],
    },
    Group {
        gate: Gate::AnyCap(&["CAP_SYS_ADMIN", "CAP_PERFMON"]),
        names: &["perf_event_open"],
    },
    // File handles identify inodes by filesystem-wide numbers: opening one bypasses the
    // path walk, so the container's mount namespace no longer bounds what it can reach (the
    // classic "shocker" escape). Making handles is harmless alone but only useful for that.
    Group {
        gate: Gate::AnyCap(&["CAP_DAC_READ_SEARCH"]),
        names: &["open_by_handle_at"],
    },
    Group {
        gate: Gate::AnyCap(&["CAP_SYS_ADMIN", "CAP_DAC_READ_SEARCH"]),
        names: &["name_to_handle_at"],
    },
    // Rebooting from inside a PID namespace only ends that namespace's init.
    Group {
        gate: Gate::AnyCap(&["CAP_SYS_BOOT"]),
        names: &["reboot"],
    },
    // In Docker's default capability set; chroot inside the container's own root.
    Group {
        gate: Gate::AnyCap(&["CAP_SYS_CHROOT"]),
        names: &["chroot"],
    },
    // Loading code into the host kernel.
    Group {
        gate: Gate::AnyCap(&["CAP_SYS_MODULE"]),
        names: &["init_module", "finit_module", "delete_module"],
    },
    // Process accounting is host-wide.
    Group {
        gate: Gate::AnyCap(&["CAP_SYS_PACCT"]),
        names: &["acct"],
    },
    Group {
        gate: Gate::AnyCap(&["CAP_SYS_PTRACE"]),
        names: SYS_PTRACE,
    },
    // Raw port I/O (x86).
    Group {
        gate: Gate::AnyCap(&["CAP_SYS_RAWIO"]),
        names: &["iopl", "ioperm"],
    },
    // Raw PCI MMIO (s390).
    Group {
        gate: Gate::ArchAndAnyCap(S390_FAMILY, &["CAP_SYS_RAWIO"]),
        names: &["s390_pci_mmio_read", "s390_pci_mmio_write"],
    },
    // The realtime clock is not namespaced: setting it sets the host's.
    Group {
        gate: Gate::AnyCap(&["CAP_SYS_TIME"]),
        names: &["settimeofday", "stime", "clock_settime", "clock_settime64"],
    },
    Group {
        gate: Gate::AnyCap(&["CAP_SYS_TTY_CONFIG"]),
        names: &["vhangup"],
    },
    // NUMA placement: pinning memory to nodes and moving other processes' pages affects
    // every workload on the host's nodes (cpuset.mems still bounds the nodes).
    Group {
        gate: Gate::AnyCap(&["CAP_SYS_NICE"]),
        names: &[
            "get_mempolicy",
            "set_mempolicy",
            "set_mempolicy_home_node",
            "mbind",
            "move_pages",
            "migrate_pages",
        ],
    },
    // The kernel log is host-wide (and leaks kernel addresses).
    Group {
        gate: Gate::AnyCap(&["CAP_SYSLOG"]),
        names: &["syslog"],
    },
];

/// Creating, running and reaping processes and threads, and the process's view of itself.
/// `fork`/`vfork` cannot create namespaces; `clone`, `clone3` and `unshare` can and are in
/// `narrowed_rules`; `personality` too.
const PROCESSES: &[&str] = &[
    "execve",
    "execveat",
    "exit",
    "exit_group",
    "fork",
    "vfork",
    "wait4",
    "waitid",
    "set_tid_address",
    "set_robust_list",
    "get_robust_list",
    "rseq",
    "restart_syscall",
    "gettid",
    "getpid",
    "getppid",
    "getpgid",
    "getpgrp",
    "setpgid",
    "getsid",
    "setsid",
    "getcpu",
    "uname",
    "sysinfo",
    "times",
    "getrusage",
    "getrlimit",
    "setrlimit",
    "prlimit64",
    "umask",
    "prctl",
    "getrandom",
    "futex",
    "futex_waitv",
    "futex_wait",
    "futex_wake",
    "futex_requeue",
];

/// The process's own identity. The kernel lets a process change ids and capabilities only
/// as far as CAP_SETUID/CAP_SETGID/CAP_SETPCAP and its bounding set allow.
const CREDENTIALS: &[&str] = &[
    "getuid",
    "geteuid",
    "getgid",
    "getegid",
    "getresuid",
    "getresgid",
    "getgroups",
    "setuid",
    "setgid",
    "setreuid",
    "setregid",
    "setresuid",
    "setresgid",
    "setfsuid",
    "setfsgid",
    "setgroups",
    "capget",
    "capset",
];

/// CPU and I/O scheduling. Raising priority and real-time classes are CAP_SYS_NICE checks in
/// the kernel; the cgroup's cpuset bounds affinity.
const SCHEDULING: &[&str] = &[
    "sched_yield",
    "sched_getaffinity",
    "sched_setaffinity",
    "sched_getparam",
    "sched_setparam",
    "sched_getscheduler",
    "sched_setscheduler",
    "sched_get_priority_max",
    "sched_get_priority_min",
    "sched_rr_get_interval",
    "sched_getattr",
    "sched_setattr",
    "getpriority",
    "setpriority",
    "ioprio_get",
    "ioprio_set",
];

/// The process's own memory. Locking is bounded by RLIMIT_MEMLOCK and the memory cgroup;
/// `process_madvise` on another process needs ptrace-level access to it; `process_mrelease`
/// only speeds up freeing a process that is already being killed.
const MEMORY: &[&str] = &[
    "brk",
    "mmap",
    "munmap",
    "mremap",
    "mprotect",
    "madvise",
    "mincore",
    "msync",
    "mlock",
    "mlock2",
    "munlock",
    "mlockall",
    "munlockall",
    "remap_file_pages",
    "pkey_alloc",
    "pkey_free",
    "pkey_mprotect",
    "memfd_create",
    "memfd_secret",
    "map_shadow_stack",
    "mseal",
    "membarrier",
    "process_madvise",
    "process_mrelease",
];

/// Signals. The PID namespace bounds whom a container can signal.
const SIGNALS: &[&str] = &[
    "rt_sigaction",
    "rt_sigprocmask",
    "rt_sigreturn",
    "rt_sigpending",
    "rt_sigtimedwait",
    "rt_sigsuspend",
    "rt_sigqueueinfo",
    "rt_tgsigqueueinfo",
    "sigaltstack",
    "kill",
    "tkill",
    "tgkill",
    "pause",
    "pidfd_open",
    "pidfd_send_signal",
    "signalfd",
    "signalfd4",
];

/// Reading clocks, sleeping, timers. `adjtimex`/`clock_adjtime` take a struct seccomp cannot
/// read; their read-only use (modes 0: `ntp_gettime`, clock-sync checks) is common, and the
/// kernel itself requires CAP_SYS_TIME for any change. Setting the clock outright is in the
/// CAP_SYS_TIME group.
const TIME: &[&str] = &[
    "clock_gettime",
    "clock_getres",
    "clock_nanosleep",
    "nanosleep",
    "gettimeofday",
    "time",
    "alarm",
    "getitimer",
    "setitimer",
    "timer_create",
    "timer_delete",
    "timer_gettime",
    "timer_settime",
    "timer_getoverrun",
    "timerfd_create",
    "timerfd_gettime",
    "timerfd_settime",
    "adjtimex",
    "clock_adjtime",
];

/// Paths and directory entries. The mount namespace, file permissions (and the capabilities
/// behind overriding them) and, for `mknod`, CAP_MKNOD plus the device cgroup decide what is
/// reachable. `statmount`/`listmount` read the container's own mount table, as
/// /proc/self/mountinfo does.
const FILE_SYSTEM: &[&str] = &[
    "open",
    "openat",
    "openat2",
    "creat",
    "close",
    "close_range",
    "access",
    "faccessat",
    "faccessat2",
    "stat",
    "lstat",
    "fstat",
    "newfstatat",
    "statx",
    "statfs",
    "fstatfs",
    "getdents",
    "getdents64",
    "getcwd",
    "chdir",
    "fchdir",
    "mkdir",
    "mkdirat",
    "rmdir",
    "rename",
    "renameat",
    "renameat2",
    "link",
    "linkat",
    "unlink",
    "unlinkat",
    "symlink",
    "symlinkat",
    "readlink",
    "readlinkat",
    "chmod",
    "fchmod",
    "fchmodat",
    "fchmodat2",
    "chown",
    "fchown",
    "lchown",
    "fchownat",
    "utime",
    "utimes",
    "utimensat",
    "futimesat",
    "mknod",
    "mknodat",
    "truncate",
    "ftruncate",
    "statmount",
    "listmount",
];

/// Reading and writing open files, pipes and devices. What `ioctl` can reach is bounded by
/// the devices in the container's /dev (device cgroup) and the capabilities drivers check.
const FILE_IO: &[&str] = &[
    "read",
    "write",
    "readv",
    "writev",
    "pread64",
    "pwrite64",
    "preadv",
    "pwritev",
    "preadv2",
    "pwritev2",
    "lseek",
    "sendfile",
    "splice",
    "tee",
    "vmsplice",
    "copy_file_range",
    "fallocate",
    "fadvise64",
    "readahead",
    "cachestat",
    "sync",
    "syncfs",
    "fsync",
    "fdatasync",
    "sync_file_range",
    "flock",
    "fcntl",
    "dup",
    "dup2",
    "dup3",
    "pipe",
    "pipe2",
    "ioctl",
    "file_getattr",
    "file_setattr",
];

/// Extended attributes; the `security.` and `trusted.` namespaces need capabilities.
const XATTRS: &[&str] = &[
    "getxattr",
    "lgetxattr",
    "fgetxattr",
    "getxattrat",
    "setxattr",
    "lsetxattr",
    "fsetxattr",
    "setxattrat",
    "listxattr",
    "llistxattr",
    "flistxattr",
    "listxattrat",
    "removexattr",
    "lremovexattr",
    "fremovexattr",
    "removexattrat",
];

/// Waiting for file descriptors and events.
const EVENTS: &[&str] = &[
    "poll",
    "ppoll",
    "select",
    "pselect6",
    "epoll_create",
    "epoll_create1",
    "epoll_ctl",
    "epoll_wait",
    "epoll_pwait",
    "epoll_pwait2",
    "eventfd",
    "eventfd2",
    "inotify_init",
    "inotify_init1",
    "inotify_add_watch",
    "inotify_rm_watch",
];

/// Linux native AIO (libaio: databases, qemu). io_uring is not here: see `ALWAYS_BLOCKED`.
const ASYNC_IO: &[&str] = &[
    "io_setup",
    "io_destroy",
    "io_submit",
    "io_cancel",
    "io_getevents",
    "io_pgetevents",
];

/// Networking inside the container's network namespace; privileged ports, raw sockets and
/// interface changes are CAP_NET_* checks in the kernel. `socket` itself is in
/// `narrowed_rules` (no AF_VSOCK).
const SOCKETS: &[&str] = &[
    "socketpair",
    "connect",
    "accept",
    "accept4",
    "bind",
    "listen",
    "shutdown",
    "getsockname",
    "getpeername",
    "getsockopt",
    "setsockopt",
    "sendto",
    "recvfrom",
    "sendmsg",
    "recvmsg",
    "sendmmsg",
    "recvmmsg",
];

/// SysV and POSIX IPC, private to the container's IPC namespace.
const IPC: &[&str] = &[
    "msgget",
    "msgsnd",
    "msgrcv",
    "msgctl",
    "semget",
    "semop",
    "semtimedop",
    "semctl",
    "shmget",
    "shmat",
    "shmdt",
    "shmctl",
    "mq_open",
    "mq_unlink",
    "mq_timedsend",
    "mq_timedreceive",
    "mq_notify",
    "mq_getsetattr",
];

/// The container has its own UTS namespace (the kernel still wants CAP_SYS_ADMIN over it).
const NAMESPACED_IDENTITY: &[&str] = &["sethostname", "setdomainname"];

/// Self-sandboxing (browsers, systemd services, build tools): these only narrow what the
/// process may do. The `lsm_*` calls read or set the process's own LSM attributes, as
/// /proc/self/attr does.
const SELF_SANDBOXING: &[&str] = &[
    "seccomp",
    "landlock_create_ruleset",
    "landlock_add_rule",
    "landlock_restrict_self",
    "lsm_get_self_attr",
    "lsm_set_self_attr",
    "lsm_list_modules",
];

/// The 32-bit ABIs (x86 and arm, also the compat ABIs of 64-bit hosts): the same operations
/// as above under their 32-bit names, 64-bit-time variants, and the multiplexers older libcs
/// use (`socketcall`, `ipc`). Names an architecture lacks are skipped for it by libseccomp.
/// `socketcall` passes its arguments through memory, so the AF_VSOCK rule on `socket` cannot
/// see sockets made through it.
const LEGACY_32BIT: &[&str] = &[
    "_llseek",
    "_newselect",
    "chown32",
    "fchown32",
    "lchown32",
    "getuid32",
    "geteuid32",
    "getgid32",
    "getegid32",
    "getresuid32",
    "getresgid32",
    "getgroups32",
    "setuid32",
    "setgid32",
    "setreuid32",
    "setregid32",
    "setresuid32",
    "setresgid32",
    "setfsuid32",
    "setfsgid32",
    "setgroups32",
    "fcntl64",
    "stat64",
    "lstat64",
    "fstat64",
    "fstatat64",
    "statfs64",
    "fstatfs64",
    "truncate64",
    "ftruncate64",
    "sendfile64",
    "fadvise64_64",
    "mmap2",
    "ugetrlimit",
    "waitpid",
    "sigaction",
    "sigprocmask",
    "sigpending",
    "sigsuspend",
    "sigreturn",
    "socketcall",
    "ipc",
    "clock_gettime64",
    "clock_getres_time64",
    "clock_nanosleep_time64",
    "clock_adjtime64",
    "futex_time64",
    "io_pgetevents_time64",
    "mq_timedsend_time64",
    "mq_timedreceive_time64",
    "ppoll_time64",
    "pselect6_time64",
    "recvmmsg_time64",
    "rt_sigtimedwait_time64",
    "sched_rr_get_interval_time64",
    "semtimedop_time64",
    "timer_gettime64",
    "timer_settime64",
    "timerfd_gettime64",
    "timerfd_settime64",
    "utimensat_time64",
];

/// x86 thread-local storage setup (libc start-up and thread creation).
const X86_PRIVATE: &[&str] = &["arch_prctl", "set_thread_area", "get_thread_area"];

/// The 32-bit arm ABI's own calls (also run by arm64 hosts' compat ABI): TLS, cache
/// maintenance for JITs, debugger breakpoints, its argument-reordered variants
/// (`arm_sync_file_range` is what other ABIs call sync_file_range2) and plain send/recv.
const ARM_PRIVATE: &[&str] = &[
    "set_tls",
    "cacheflush",
    "breakpoint",
    "arm_fadvise64_64",
    "arm_sync_file_range",
    "send",
    "recv",
];

/// powerpc's argument-reordered sync_file_range.
const PPC_PRIVATE: &[&str] = &["sync_file_range2"];

/// s390's user-space CPU facilities (runtime instrumentation, guarded storage, hypervisor
/// information for the process's own use).
const S390_PRIVATE: &[&str] = &["s390_runtime_instr", "s390_guarded_storage", "s390_sthyi"];

/// riscv: instruction-cache flush for JITs and the CPU feature probe libcs use.
const RISCV_PRIVATE: &[&str] = &["riscv_flush_icache", "riscv_hwprobe"];

/// CAP_SYS_ADMIN's syscalls: mounting (old and new mount API), pivoting the root, quotas,
/// joining and creating namespaces (`clone`/`clone3`/`unshare` without restriction;
/// otherwise see `narrowed_rules`), and fanotify, which can watch a whole filesystem.
const SYS_ADMIN: &[&str] = &[
    "mount",
    "umount",
    "umount2",
    "pivot_root",
    "open_tree",
    "open_tree_attr",
    "move_mount",
    "fsopen",
    "fsconfig",
    "fsmount",
    "fspick",
    "mount_setattr",
    "quotactl",
    "quotactl_fd",
    "setns",
    "unshare",
    "clone",
    "clone3",
    "fanotify_init",
    "fanotify_mark",
];

/// CAP_SYS_PTRACE's syscalls: reading and writing other processes' memory and descriptors,
/// comparing their kernel resources, and userfaultfd — which lets a process stall kernel
/// accesses to its memory at will, the classic way to widen races in kernel exploits;
/// debuggers and checkpointing tools that need it run with CAP_SYS_PTRACE.
const SYS_PTRACE: &[&str] = &[
    "kcmp",
    "process_vm_readv",
    "process_vm_writev",
    "pidfd_getfd",
    "userfaultfd",
];

/// Never allowed by the default profile, whatever the capabilities (only `--privileged`
/// or a custom profile lifts them). No rule is emitted for them: the default action
/// (EPERM) covers them. Listed so that tests can hold the allowlist to it.
#[cfg_attr(not(test), allow(dead_code))]
const ALWAYS_BLOCKED: &[&str] = &[
    // Replacing the running kernel.
    "kexec_load",
    "kexec_file_load",
    // Kernel keyrings are not namespaced: keys are shared by uid across containers.
    "add_key",
    "keyctl",
    "request_key",
    // Host-wide swap.
    "swapon",
    "swapoff",
    // Obsolete interfaces with nothing left to offer a container: the old module calls,
    // a.out libraries, filesystem-type/ustat queries, binary sysctl, the oprofile hook and
    // the NFS daemon control.
    "create_module",
    "get_kernel_syms",
    "query_module",
    "uselib",
    "ustat",
    "sysfs",
    "_sysctl",
    "lookup_dcookie",
    "nfsservctl",
    // x86 segment and virtual-8086 machinery: needed by Wine/DOS emulators only, and a
    // recurring source of kernel bugs.
    "modify_ldt",
    "vm86",
    "vm86old",
    // io_uring performs opens, sockets, reads and more from kernel context without passing
    // through syscall entry, so this filter (e.g. the AF_VSOCK rule) cannot see them; and it
    // has been behind a large share of recent kernel exploits. Programs fall back to
    // epoll/threads when io_uring_setup fails.
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
];

/// The namespace flags `clone` accepts. Without CAP_SYS_ADMIN the only one the kernel
/// grants is CLONE_NEWUSER, and in a new user namespace a process is "root" enough to make
/// all the others and reach kernel code written for real root. (CLONE_NEWTIME shares its
/// bit with the exit signal in `clone`'s flags, so only `unshare` can test it.)
const CLONE_NAMESPACES: u64 = (libc::CLONE_NEWNS
    | libc::CLONE_NEWCGROUP
    | libc::CLONE_NEWUTS
    | libc::CLONE_NEWIPC
    | libc::CLONE_NEWUSER
    | libc::CLONE_NEWPID
    | libc::CLONE_NEWNET) as u64;

/// Every namespace flag `unshare` accepts.
const UNSHARE_NAMESPACES: u64 = CLONE_NAMESPACES | libc::CLONE_NEWTIME as u64;

/// `personality` values a container may set: plain Linux, 32-bit uname (`linux32`/`setarch
/// i686`), the 2.6-style uname version for old programs, both, and 0xffffffff, which only
/// queries. Other flags weaken the process (ADDR_NO_RANDOMIZE turns off ASLR,
/// READ_IMPLIES_EXEC makes data executable, MMAP_PAGE_ZERO maps page 0) or switch to
/// foreign ABIs.
const PERSONALITIES: &[u64] = &[0x0, 0x0008, 0x0002_0000, 0x0002_0008, 0xffff_ffff];

/// berth's default profile for this host and the container's effective capabilities.
pub fn default_profile(caps: &[String]) -> Result<LinuxSeccomp, SeccompError> {
    let target = Target {
        arch: native_arch(),
        kernel: kernel_version()?,
        caps,
        x32: kernel_runs_x32(),
    };
    default_for(&target)
}

/// berth's default profile for a given host and capability set: one allow rule with every
/// syscall the groups admit (sorted), then the argument rules, in a fixed order.
pub(crate) fn default_for(t: &Target) -> Result<LinuxSeccomp, SeccompError> {
    let allowed: BTreeSet<&str> = ALLOWED
        .iter()
        .filter(|g| g.gate.admits(t))
        .flat_map(|g| g.names.iter().copied())
        .collect();
    let mut syscalls = vec![syscall(
        allowed.iter().copied(),
        LinuxSeccompAction::ScmpActAllow,
        None,
        None,
    )];
    syscalls.extend(narrowed_rules(t, &allowed)?);

    let arches = profile_arches(t.arch, t.x32);
    let mut out = LinuxSeccomp::default();
    out.set_default_action(LinuxSeccompAction::ScmpActErrno);
    out.set_default_errno_ret(Some(libc::EPERM as u32));
    out.set_architectures((!arches.is_empty()).then_some(arches));
    out.set_syscalls(Some(syscalls));
    Ok(out)
}

/// Syscalls allowed only for some arguments: each rule applies when no group allowed the
/// syscall outright (with CAP_SYS_ADMIN, `clone`, `clone3` and `unshare` are simply allowed).
fn narrowed_rules(t: &Target, allowed: &BTreeSet<&str>) -> Result<Vec<LinuxSyscall>, SeccompError> {
    use LinuxSeccompAction::{ScmpActAllow as Allow, ScmpActErrno as Errno};
    let mut rules = Vec::new();
    let mut add = |name: &str, action, errno, args: Option<Vec<LinuxSeccompArg>>| {
        if !allowed.contains(name) {
            rules.push(syscall([name], action, errno, args));
        }
    };
    // clone: threads and processes, but no new namespaces. s390's clone takes the stack
    // first and the flags second.
    let flags = if S390_FAMILY.contains(&t.arch) { 1 } else { 0 };
    add(
        "clone",
        Allow,
        None,
        Some(vec![masked_eq(flags, CLONE_NAMESPACES, 0)?]),
    );
    // clone3 passes its flags in a struct seccomp cannot read. ENOSYS (not EPERM) makes
    // glibc and other runtimes fall back to clone, where the rule above applies.
    add("clone3", Errno, Some(libc::ENOSYS as u32), None);
    // unshare of the non-namespace parts (files, fs attributes, SysV semaphore undo).
    add(
        "unshare",
        Allow,
        None,
        Some(vec![masked_eq(0, UNSHARE_NAMESPACES, 0)?]),
    );
    for &p in PERSONALITIES {
        add(
            "personality",
            Allow,
            None,
            Some(vec![compare(0, LinuxSeccompOperator::ScmpCmpEq, p)?]),
        );
    }
    // Sockets of any family but AF_VSOCK, which talks to the hypervisor/host side of a VM
    // outside any network namespace.
    add(
        "socket",
        Allow,
        None,
        Some(vec![compare(
            0,
            LinuxSeccompOperator::ScmpCmpNe,
            libc::AF_VSOCK as u64,
        )?]),
    );
    Ok(rules)
}

/// The architectures a profile for `native` covers: the native one plus the compat ABIs
/// its kernels run (a 64-bit x86 kernel also runs i386 and x32 binaries; arm64 and s390x
/// run their 32-bit predecessors). Without them a 32-bit binary would meet the filter's
/// "unknown architecture" action (kill) instead of this profile.
///
/// x32 is left out when the kernel does not run x32 syscalls (most kernels: compiled out
/// or off by default). There x32 programs do not even exec, and a stray x32 syscall gets
/// the unknown-architecture kill instead of ENOSYS; in exchange libseccomp compiles the
/// filter in less than half the time, on every container start.
fn profile_arches(native: &str, x32: bool) -> Vec<Arch> {
    match native {
        "amd64" if x32 => vec![Arch::ScmpArchX86_64, Arch::ScmpArchX86, Arch::ScmpArchX32],
        "amd64" => vec![Arch::ScmpArchX86_64, Arch::ScmpArchX86],
        "arm64" => vec![Arch::ScmpArchAarch64, Arch::ScmpArchArm],
        "s390x" => vec![Arch::ScmpArchS390x, Arch::ScmpArchS390],
        other => arch_to_seccomp(other).into_iter().collect(),
    }
}

fn syscall<'a>(
    names: impl IntoIterator<Item = &'a str>,
    action: LinuxSeccompAction,
    errno: Option<u32>,
    args: Option<Vec<LinuxSeccompArg>>,
) -> LinuxSyscall {
    let mut sc = LinuxSyscall::default();
    sc.set_names(names.into_iter().map(str::to_string).collect());
    sc.set_action(action);
    sc.set_errno_ret(errno);
    sc.set_args(args);
    sc
}

/// `(arg[index] & mask) == expected`, encoded for libcontainer (see `runtime_arg`).
fn masked_eq(index: usize, mask: u64, expected: u64) -> Result<LinuxSeccompArg, SeccompError> {
    runtime_arg(Arg {
        index,
        value: mask,
        value_two: Some(expected),
        op: LinuxSeccompOperator::ScmpCmpMaskedEq,
    })
}

fn compare(
    index: usize,
    op: LinuxSeccompOperator,
    value: u64,
) -> Result<LinuxSeccompArg, SeccompError> {
    runtime_arg(Arg {
        index,
        value,
        value_two: None,
        op,
    })
}

// ====================================================================================
// User profiles in Docker's JSON format
// ====================================================================================

/// Docker's profile schema: the OCI fields plus `archMap` and conditional rules.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Profile {
    #[serde(default)]
    default_action: Option<String>,
    #[serde(default)]
    default_errno_ret: Option<u32>,
    #[serde(default)]
    architectures: Option<Vec<Arch>>,
    #[serde(default)]
    arch_map: Option<Vec<ArchMapEntry>>,
    #[serde(default)]
    flags: Option<Vec<LinuxSeccompFilterFlag>>,
    #[serde(default)]
    listener_path: Option<std::path::PathBuf>,
    #[serde(default)]
    listener_metadata: Option<String>,
    #[serde(default)]
    syscalls: Option<Vec<Rule>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ArchMapEntry {
    architecture: Arch,
    #[serde(default)]
    sub_architectures: Option<Vec<Arch>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Rule {
    #[serde(default)]
    names: Option<Vec<String>>,
    /// Deprecated single-name form, still accepted by Docker.
    #[serde(default)]
    name: Option<String>,
    action: LinuxSeccompAction,
    #[serde(default)]
    errno_ret: Option<u32>,
    #[serde(default)]
    args: Option<Vec<Arg>>,
    #[serde(default)]
    includes: Option<Filter>,
    #[serde(default)]
    excludes: Option<Filter>,
}

/// An argument comparison with Docker's meaning of the fields (for SCMP_CMP_MASKED_EQ:
/// `value` is the mask, `valueTwo` the expected result).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Arg {
    index: usize,
    value: u64,
    #[serde(default)]
    value_two: Option<u64>,
    op: LinuxSeccompOperator,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Filter {
    #[serde(default)]
    caps: Option<Vec<String>>,
    #[serde(default)]
    arches: Option<Vec<String>>,
    #[serde(default)]
    min_kernel: Option<String>,
}

/// A user profile (`--security-opt seccomp=<file>` contents) in Docker's format.
/// `Ok(None)` when it has neither a default action nor rules: Docker runs such a container
/// unconfined.
pub fn load_profile(json: &str, caps: &[String]) -> Result<Option<LinuxSeccomp>, SeccompError> {
    let target = Target {
        arch: native_arch(),
        kernel: kernel_version()?,
        caps,
        x32: kernel_runs_x32(),
    };
    convert(json, &target)
}

pub(crate) fn convert(json: &str, t: &Target) -> Result<Option<LinuxSeccomp>, SeccompError> {
    let profile: Profile = serde_json::from_str(json)?;
    let default_action = profile.default_action.as_deref().unwrap_or("");
    let rules = profile.syscalls.unwrap_or_default();
    if default_action.is_empty() && rules.is_empty() {
        return Ok(None);
    }
    let default_action = LinuxSeccompAction::from_str(default_action).map_err(|_| {
        SeccompError::Invalid(format!("invalid seccomp defaultAction {default_action:?}"))
    })?;
    if profile
        .architectures
        .as_ref()
        .is_some_and(|a| !a.is_empty())
        && profile.arch_map.as_ref().is_some_and(|a| !a.is_empty())
    {
        return Err(SeccompError::Invalid(
            "both 'architectures' and 'archMap' are specified in the seccomp profile, use either 'architectures' or 'archMap'".into(),
        ));
    }

    let mut architectures = profile.architectures.unwrap_or_default();
    if let Some(native) = arch_to_seccomp(t.arch) {
        if let Some(entry) = profile
            .arch_map
            .unwrap_or_default()
            .into_iter()
            .find(|e| e.architecture == native)
        {
            architectures.push(entry.architecture);
            architectures.extend(entry.sub_architectures.unwrap_or_default());
        }
    }

    let mut syscalls = Vec::new();
    for rule in rules {
        let names = match (rule.name, rule.names) {
            (Some(n), Some(ns)) if !n.is_empty() && !ns.is_empty() => {
                return Err(SeccompError::Invalid(
                    "both 'name' and 'names' are specified in the seccomp profile, use either 'name' or 'names'".into(),
                ))
            }
            (Some(n), _) if !n.is_empty() => vec![n],
            (_, ns) => ns.unwrap_or_default(),
        };
        if let Some(ex) = &rule.excludes {
            if excluded(ex, t)? {
                continue;
            }
        }
        if let Some(inc) = &rule.includes {
            if !included(inc, t)? {
                continue;
            }
        }
        let mut sc = LinuxSyscall::default();
        sc.set_names(names);
        sc.set_action(rule.action);
        sc.set_errno_ret(rule.errno_ret);
        sc.set_args(
            rule.args
                .map(|args| args.into_iter().map(runtime_arg).collect())
                .transpose()?,
        );
        syscalls.push(sc);
    }

    let mut out = LinuxSeccomp::default();
    out.set_default_action(default_action);
    out.set_default_errno_ret(profile.default_errno_ret);
    out.set_architectures((!architectures.is_empty()).then_some(architectures));
    out.set_flags(profile.flags);
    out.set_listener_path(profile.listener_path);
    out.set_listener_metadata(profile.listener_metadata);
    out.set_syscalls(Some(syscalls));
    Ok(Some(out))
}

/// Docker/runc read SCMP_CMP_MASKED_EQ as `(arg & value) == valueTwo`; libcontainer 0.7
/// hands `valueTwo` to libseccomp as the mask and `value` as the datum, which turns a
/// "clone without namespace flags" rule into "any clone". Swapping the two here makes
/// youki enforce what the profile means (verified against libseccomp directly, and by
/// `tests::default_profile_is_enforced` through libcontainer). Both user profiles and the
/// built-in one go through here.
fn runtime_arg(a: Arg) -> Result<LinuxSeccompArg, SeccompError> {
    let b = LinuxSeccompArgBuilder::default().index(a.index).op(a.op);
    let b = if a.op == LinuxSeccompOperator::ScmpCmpMaskedEq {
        b.value(a.value_two.unwrap_or(0)).value_two(a.value)
    } else {
        let b = b.value(a.value);
        match a.value_two {
            Some(v) => b.value_two(v),
            None => b,
        }
    };
    b.build().map_err(|e| SeccompError::Invalid(e.to_string()))
}

fn excluded(f: &Filter, t: &Target) -> Result<bool, SeccompError> {
    if let Some(arches) = &f.arches {
        if arches.iter().any(|a| a == t.arch) {
            return Ok(true);
        }
    }
    if let Some(caps) = &f.caps {
        if caps.iter().any(|c| t.caps.contains(c)) {
            return Ok(true);
        }
    }
    if let Some(v) = non_empty(&f.min_kernel) {
        if kernel_at_least(t.kernel, parse_min_kernel(v)?) {
            return Ok(true);
        }
    }
    Ok(false)
}

fn included(f: &Filter, t: &Target) -> Result<bool, SeccompError> {
    if let Some(arches) = &f.arches {
        if !arches.is_empty() && !arches.iter().any(|a| a == t.arch) {
            return Ok(false);
        }
    }
    if let Some(caps) = &f.caps {
        if !caps.iter().all(|c| t.caps.contains(c)) {
            return Ok(false);
        }
    }
    if let Some(v) = non_empty(&f.min_kernel) {
        if !kernel_at_least(t.kernel, parse_min_kernel(v)?) {
            return Ok(false);
        }
    }
    Ok(true)
}

fn non_empty(s: &Option<String>) -> Option<&str> {
    s.as_deref().filter(|s| !s.is_empty())
}

fn kernel_at_least(have: (u64, u64), want: (u64, u64)) -> bool {
    have.0 > want.0 || (have.0 == want.0 && have.1 >= want.1)
}

/// "<kernel>.<major>", as Docker's profile format spells `minKernel`.
fn parse_min_kernel(v: &str) -> Result<(u64, u64), SeccompError> {
    let bad = || {
        SeccompError::Invalid(format!(
            "invalid kernel version: {v:?}, expected \"<kernel>.<major>\""
        ))
    };
    let (a, b) = v.split_once('.').ok_or_else(bad)?;
    let a: u8 = a.parse().map_err(|_| bad())?;
    let b: u8 = b.parse().map_err(|_| bad())?;
    if a == 0 && b == 0 {
        return Err(bad());
    }
    Ok((a.into(), b.into()))
}

// ====================================================================================
// Host facts
// ====================================================================================

/// (kernel, major) from a release string like "6.18.3-amd64" or "3.12-1-amd64".
pub(crate) fn parse_release(release: &str) -> Result<(u64, u64), SeccompError> {
    let bad = || SeccompError::KernelVersion(release.to_string());
    let mut parts = release.splitn(3, |c: char| !c.is_ascii_digit());
    let k = parts.next().and_then(|s| s.parse().ok()).ok_or_else(bad)?;
    let m = parts.next().and_then(|s| s.parse().ok()).ok_or_else(bad)?;
    Ok((k, m))
}

/// Whether this kernel runs x32 syscalls: an x32 `getpid` (the syscall number with
/// `__X32_SYSCALL_BIT` set) succeeds only where x32 is built in and enabled.
pub(crate) fn kernel_runs_x32() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        const X32_SYSCALL_BIT: libc::c_long = 0x4000_0000;
        // SAFETY: getpid takes no arguments and has no side effects, on either ABI.
        unsafe { libc::syscall(X32_SYSCALL_BIT | libc::SYS_getpid) >= 0 }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

fn kernel_version() -> Result<(u64, u64), SeccompError> {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map_err(|e| SeccompError::KernelVersion(e.to_string()))?;
    parse_release(release.trim())
}

/// Docker's spelling of this build's architecture (Go's GOARCH names).
pub(crate) fn native_arch() -> &'static str {
    if cfg!(target_arch = "x86_64") {
        "amd64"
    } else if cfg!(target_arch = "aarch64") {
        "arm64"
    } else if cfg!(target_arch = "x86") {
        "x86"
    } else if cfg!(target_arch = "arm") {
        "arm"
    } else if cfg!(target_arch = "s390x") {
        "s390x"
    } else if cfg!(all(target_arch = "powerpc64", target_endian = "little")) {
        "ppc64le"
    } else if cfg!(target_arch = "powerpc64") {
        "ppc64"
    } else if cfg!(target_arch = "riscv64") {
        "riscv64"
    } else if cfg!(target_arch = "loongarch64") {
        "loong64"
    } else {
        "unknown"
    }
}

fn arch_to_seccomp(native: &str) -> Option<Arch> {
    Some(match native {
        "x86" => Arch::ScmpArchX86,
        "amd64" => Arch::ScmpArchX86_64,
        "arm" => Arch::ScmpArchArm,
        "arm64" => Arch::ScmpArchAarch64,
        "loong64" => Arch::ScmpArchLoongarch64,
        "ppc" => Arch::ScmpArchPpc,
        "ppc64" => Arch::ScmpArchPpc64,
        "ppc64le" => Arch::ScmpArchPpc64le,
        "riscv64" => Arch::ScmpArchRiscv64,
        "s390" => Arch::ScmpArchS390,
        "s390x" => Arch::ScmpArchS390x,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caps(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn target<'a>(arch: &'a str, caps: &'a [String]) -> Target<'a> {
        Target {
            arch,
            kernel: (6, 18),
            caps,
            x32: true,
        }
    }

    fn amd64<'a>(caps: &'a [String]) -> Target<'a> {
        target("amd64", caps)
    }

    fn rules(p: &LinuxSeccomp) -> &[LinuxSyscall] {
        p.syscalls().as_deref().unwrap_or_default()
    }

    /// Allowed outright (no argument conditions).
    fn allowed(p: &LinuxSeccomp, name: &str) -> bool {
        rules(p).iter().any(|s| {
            s.action() == LinuxSeccompAction::ScmpActAllow
                && s.args().is_none()
                && s.names().iter().any(|n| n == name)
        })
    }

    /// Named by any rule at all.
    fn mentioned(p: &LinuxSeccomp, name: &str) -> bool {
        rules(p).iter().any(|s| s.names().iter().any(|n| n == name))
    }

    fn rules_for<'p>(p: &'p LinuxSeccomp, name: &str) -> Vec<&'p LinuxSyscall> {
        rules(p)
            .iter()
            .filter(|s| s.names().iter().any(|n| n == name))
            .collect()
    }

    fn default_caps() -> Vec<String> {
        caps(super::super::spec::DEFAULT_CAPS)
    }

    /// Every capability some group is gated on.
    fn gating_caps() -> Vec<String> {
        let mut all = BTreeSet::new();
        for g in ALLOWED {
            if let Gate::AnyCap(c) | Gate::ArchAndAnyCap(_, c) = g.gate {
                all.extend(c.iter().copied());
            }
        }
        all.into_iter().map(str::to_string).collect()
    }

    fn all_names() -> impl Iterator<Item = &'static str> {
        ALLOWED.iter().flat_map(|g| g.names.iter().copied())
    }

    const NATIVES: &[&str] = &[
        "amd64", "x86", "arm64", "arm", "s390x", "ppc64le", "ppc64", "riscv64", "loong64",
    ];

    #[test]
    fn default_action_and_arches() {
        let c = default_caps();
        let p = default_for(&amd64(&c)).unwrap();
        assert_eq!(p.default_action(), LinuxSeccompAction::ScmpActErrno);
        assert_eq!(p.default_errno_ret(), Some(1));
        assert_eq!(
            p.architectures().clone().unwrap(),
            vec![Arch::ScmpArchX86_64, Arch::ScmpArchX86, Arch::ScmpArchX32]
        );
        let no_x32 = Target {
            x32: false,
            ..amd64(&c)
        };
        assert_eq!(
            default_for(&no_x32)
                .unwrap()
                .architectures()
                .clone()
                .unwrap(),
            vec![Arch::ScmpArchX86_64, Arch::ScmpArchX86],
            "a kernel without x32 gets no x32 filter"
        );
        let p = default_for(&target("arm64", &c)).unwrap();
        assert_eq!(
            p.architectures().clone().unwrap(),
            vec![Arch::ScmpArchAarch64, Arch::ScmpArchArm]
        );
        let p = default_for(&target("riscv64", &c)).unwrap();
        assert_eq!(
            p.architectures().clone().unwrap(),
            vec![Arch::ScmpArchRiscv64]
        );
        assert!(default_for(&target("unknown", &c))
            .unwrap()
            .architectures()
            .is_none());
        assert!(p.flags().is_none());
    }

    #[test]
    fn ordinary_syscalls_and_arch_private_ones() {
        let c = default_caps();
        let p = default_for(&amd64(&c)).unwrap();
        for name in ["read", "openat", "execve", "futex", "epoll_wait", "chroot"] {
            assert!(allowed(&p, name), "{name}");
        }
        assert!(allowed(&p, "arch_prctl"));
        assert!(!mentioned(&p, "s390_runtime_instr"));
        assert!(!mentioned(&p, "cacheflush"));
        let p = default_for(&target("arm64", &c)).unwrap();
        assert!(allowed(&p, "cacheflush") && !mentioned(&p, "arch_prctl"));
    }

    #[test]
    fn small_sorted_and_deterministic() {
        let c = default_caps();
        let a = default_for(&amd64(&c)).unwrap();
        let b = default_for(&amd64(&c)).unwrap();
        assert_eq!(a, b);
        let first = &rules(&a)[0];
        assert_eq!(first.action(), LinuxSeccompAction::ScmpActAllow);
        let mut sorted = first.names().clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(
            &sorted,
            first.names(),
            "one sorted, duplicate-free allow list"
        );
        // The allow list, clone, clone3, unshare, five personalities, socket.
        assert_eq!(rules(&a).len(), 10);
        assert!(rules(&a)[1..].iter().all(|r| r.names().len() == 1));
    }

    #[test]
    fn ptrace_family_follows_caps_and_kernel() {
        let c = default_caps();
        let p = default_for(&amd64(&c)).unwrap();
        // ptrace for everyone on kernels >= 4.8 (seccomp re-checks after a tracer);
        // kcmp & co still need CAP_SYS_PTRACE.
        assert!(allowed(&p, "ptrace"));
        for name in SYS_PTRACE {
            assert!(!mentioned(&p, name), "{name}");
        }
        let old = Target {
            kernel: (4, 4),
            ..amd64(&c)
        };
        assert!(!allowed(&default_for(&old).unwrap(), "ptrace"));

        let mut c = default_caps();
        c.push("CAP_SYS_PTRACE".into());
        let old = Target {
            kernel: (4, 4),
            ..amd64(&c)
        };
        let p = default_for(&old).unwrap();
        assert!(!allowed(&p, "ptrace"), "old kernel: not even with the cap");
        assert!(allowed(&p, "kcmp"));
        let p = default_for(&amd64(&c)).unwrap();
        for name in [
            "kcmp",
            "ptrace",
            "process_vm_readv",
            "pidfd_getfd",
            "userfaultfd",
        ] {
            assert!(allowed(&p, name), "{name}");
        }
    }

    #[test]
    fn sys_admin_switches_mount_and_clone_rules() {
        let c = default_caps();
        let p = default_for(&amd64(&c)).unwrap();
        for name in ["mount", "umount2", "setns", "pivot_root", "fsopen", "bpf"] {
            assert!(!mentioned(&p, name), "{name}");
        }
        let clone = rules_for(&p, "clone");
        assert_eq!(clone.len(), 1);
        assert_eq!(clone[0].action(), LinuxSeccompAction::ScmpActAllow);
        let arg = clone[0].args().clone().unwrap()[0];
        assert_eq!(arg.index(), 0);
        assert_eq!(arg.op(), LinuxSeccompOperator::ScmpCmpMaskedEq);
        // Swapped for libcontainer: mask in valueTwo, expected value in value.
        assert_eq!(arg.value(), 0);
        assert_eq!(arg.value_two(), Some(0x7E02_0000));
        let unshare = rules_for(&p, "unshare");
        assert_eq!(unshare.len(), 1);
        assert_eq!(
            unshare[0].args().clone().unwrap()[0].value_two(),
            Some(0x7E02_0080),
            "unshare also refuses CLONE_NEWTIME"
        );
        let clone3 = rules_for(&p, "clone3");
        assert_eq!(clone3.len(), 1);
        assert_eq!(clone3[0].action(), LinuxSeccompAction::ScmpActErrno);
        assert_eq!(clone3[0].errno_ret(), Some(38));

        // s390 passes clone's flags second.
        let p = default_for(&target("s390x", &c)).unwrap();
        assert_eq!(
            rules_for(&p, "clone")[0].args().clone().unwrap()[0].index(),
            1
        );

        let mut c = default_caps();
        c.push("CAP_SYS_ADMIN".into());
        let p = default_for(&amd64(&c)).unwrap();
        for name in [
            "mount",
            "umount2",
            "setns",
            "pivot_root",
            "fsopen",
            "bpf",
            "clone",
            "clone3",
            "unshare",
        ] {
            assert!(allowed(&p, name), "{name}");
        }
        for name in ["clone", "clone3", "unshare"] {
            assert_eq!(
                rules_for(&p, name).len(),
                1,
                "{name}: no conditional rule left"
            );
        }
        assert!(!rules(&p)
            .iter()
            .any(|s| s.action() == LinuxSeccompAction::ScmpActErrno));
    }

    #[test]
    fn capability_groups_open_with_their_capability() {
        let base: Vec<String> = Vec::new();
        for g in ALLOWED {
            let (Gate::AnyCap(gate_caps) | Gate::ArchAndAnyCap(_, gate_caps)) = g.gate else {
                continue;
            };
            let arch = match g.gate {
                Gate::ArchAndAnyCap(arches, _) => arches[0],
                _ => "amd64",
            };
            let p = default_for(&target(arch, &base)).unwrap();
            for name in g.names {
                assert!(!allowed(&p, name), "{name} without {gate_caps:?}");
            }
            for cap in gate_caps {
                let c = caps(&[cap]);
                let p = default_for(&target(arch, &c)).unwrap();
                for name in g.names {
                    assert!(allowed(&p, name), "{name} with {cap}");
                }
            }
        }
        // Specific expectations from capabilities(7).
        let c = caps(&["CAP_SYS_TIME"]);
        assert!(allowed(&default_for(&amd64(&c)).unwrap(), "clock_settime"));
        let c = caps(&["CAP_SYS_NICE"]);
        assert!(allowed(&default_for(&amd64(&c)).unwrap(), "mbind"));
        let c = caps(&["CAP_DAC_READ_SEARCH"]);
        assert!(allowed(
            &default_for(&amd64(&c)).unwrap(),
            "open_by_handle_at"
        ));
        let c = caps(&["CAP_PERFMON"]);
        assert!(allowed(
            &default_for(&amd64(&c)).unwrap(),
            "perf_event_open"
        ));
    }

    #[test]
    fn personality_and_socket_rules() {
        let c = default_caps();
        let p = default_for(&amd64(&c)).unwrap();
        let values: Vec<u64> = rules_for(&p, "personality")
            .iter()
            .map(|r| {
                let args = r.args().clone().unwrap();
                assert_eq!(args.len(), 1);
                assert_eq!(args[0].op(), LinuxSeccompOperator::ScmpCmpEq);
                args[0].value()
            })
            .collect();
        assert_eq!(values, vec![0, 0x8, 0x20000, 0x20008, 0xffff_ffff]);
        let socket = rules_for(&p, "socket");
        assert_eq!(socket.len(), 1);
        let arg = socket[0].args().clone().unwrap()[0];
        assert_eq!(
            (arg.index(), arg.op(), arg.value()),
            (0, LinuxSeccompOperator::ScmpCmpNe, 40)
        );
    }

    #[test]
    fn always_blocked_stays_blocked() {
        let all = gating_caps();
        for arch in NATIVES {
            for kernel in [(4, 4), (6, 18)] {
                let t = Target {
                    arch,
                    kernel,
                    caps: &all,
                    x32: true,
                };
                let p = default_for(&t).unwrap();
                for name in ALWAYS_BLOCKED {
                    assert!(!mentioned(&p, name), "{name} on {arch}");
                }
            }
        }
    }

    #[test]
    fn each_syscall_is_classified_once() {
        let mut seen = BTreeSet::new();
        for g in ALLOWED {
            for name in g.names {
                assert!(seen.insert(*name), "{name} is in two groups");
                assert!(!ALWAYS_BLOCKED.contains(name), "{name} is also blocked");
            }
        }
        for name in ["clone", "clone3", "unshare", "socket", "personality"] {
            let groups = ALLOWED.iter().filter(|g| g.names.contains(&name));
            assert!(
                groups.filter(|g| matches!(g.gate, Gate::Always)).count() == 0,
                "{name} is narrowed, not allowed outright"
            );
        }
    }

    /// libseccomp's own name tables, through the library libcontainer links.
    mod libseccomp {
        use std::ffi::{c_char, c_int, CString};

        #[link(name = "seccomp")]
        extern "C" {
            fn seccomp_arch_resolve_name(arch_name: *const c_char) -> u32;
            fn seccomp_syscall_resolve_name_arch(arch_token: u32, name: *const c_char) -> c_int;
        }

        /// libseccomp's arch token for its arch name ("x86_64"), None if it lacks the arch.
        pub fn arch(name: &str) -> Option<u32> {
            let name = CString::new(name).unwrap();
            // SAFETY: a NUL-terminated string that outlives the call.
            let token = unsafe { seccomp_arch_resolve_name(name.as_ptr()) };
            (token != 0).then_some(token)
        }

        /// The syscall's number on the arch; negative when it does not exist there
        /// (-1: libseccomp does not know the name at all).
        pub fn number(arch: u32, name: &str) -> i32 {
            let name = CString::new(name).unwrap();
            // SAFETY: as above.
            unsafe { seccomp_syscall_resolve_name_arch(arch, name.as_ptr()) }
        }
    }

    /// Syscalls newer than some libseccomp releases still in distributions (Linux 6.4+),
    /// which such a libseccomp cannot resolve; libcontainer then skips them (they get the
    /// default EPERM). Only these may be unknown to the host's libseccomp.
    const NEWER_THAN_LIBSECCOMP: &[&str] = &[
        "riscv_hwprobe",     // 6.4
        "statmount",         // 6.8
        "listmount",         // 6.8
        "lsm_get_self_attr", // 6.8
        "lsm_set_self_attr", // 6.8
        "lsm_list_modules",  // 6.8
        "mseal",             // 6.10
        "getxattrat",        // 6.13
        "setxattrat",        // 6.13
        "listxattrat",       // 6.13
        "removexattrat",     // 6.13
        "open_tree_attr",    // 6.15
        "file_getattr",      // 6.17
        "file_setattr",      // 6.17
    ];

    fn libseccomp_arch_name(a: Arch) -> &'static str {
        match a {
            Arch::ScmpArchX86_64 => "x86_64",
            Arch::ScmpArchX86 => "x86",
            Arch::ScmpArchX32 => "x32",
            Arch::ScmpArchAarch64 => "aarch64",
            Arch::ScmpArchArm => "arm",
            Arch::ScmpArchS390x => "s390x",
            Arch::ScmpArchS390 => "s390",
            Arch::ScmpArchPpc64le => "ppc64le",
            Arch::ScmpArchPpc64 => "ppc64",
            Arch::ScmpArchPpc => "ppc",
            Arch::ScmpArchRiscv64 => "riscv64",
            Arch::ScmpArchLoongarch64 => "loongarch64",
            other => panic!("no libseccomp name for {other:?}"),
        }
    }

    /// Checks that `name` is a real syscall on at least one of `native`'s profile arches.
    fn check_known(native: &str, name: &str, problems: &mut Vec<String>) {
        let tokens: Vec<u32> = profile_arches(native, true)
            .into_iter()
            .filter_map(|a| libseccomp::arch(libseccomp_arch_name(a)))
            .collect();
        if tokens.is_empty() {
            return; // this libseccomp predates the architecture
        }
        let numbers: Vec<i32> = tokens
            .iter()
            .map(|&t| libseccomp::number(t, name))
            .collect();
        if numbers.iter().any(|&n| n >= 0) {
            return;
        }
        let unknown = numbers.iter().all(|&n| n == -1);
        if !(unknown && NEWER_THAN_LIBSECCOMP.contains(&name)) {
            problems.push(format!(
                "{name}: not a syscall on {native}'s architectures (libseccomp says {numbers:?})"
            ));
        }
    }

    #[test]
    fn names_are_syscalls_libseccomp_knows() {
        assert!(
            libseccomp::arch("x86_64").is_some(),
            "libseccomp knows no x86_64?"
        );
        let mut problems = Vec::new();
        // The full amd64 profile (every capability): each name must be a syscall of
        // x86_64, i386 or x32. The arch-gated groups are checked on their own arches.
        let all = gating_caps();
        let p = default_for(&amd64(&all)).unwrap();
        for rule in rules(&p) {
            for name in rule.names() {
                check_known("amd64", name, &mut problems);
            }
        }
        for g in ALLOWED {
            if let Gate::Arch(arches) | Gate::ArchAndAnyCap(arches, _) = g.gate {
                for name in g.names {
                    let on_some = arches.iter().any(|a| {
                        let mut p = Vec::new();
                        check_known(a, name, &mut p);
                        p.is_empty()
                    });
                    if !on_some {
                        problems.push(format!("{name}: not a syscall on any of {arches:?}"));
                    }
                }
            }
        }
        // The blocked list names real syscalls too (a typo there would hide nothing).
        for name in ALWAYS_BLOCKED {
            check_known("amd64", name, &mut problems);
        }
        for name in NEWER_THAN_LIBSECCOMP {
            if !all_names().any(|n| n == *name) {
                problems.push(format!("{name}: listed as new but in no group"));
            }
        }
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }

    const CHILD_ENV: &str = "BERTH_SECCOMP_ENFORCE_CHILD";
    const CHILD_DONE: &str = "berth-seccomp-probes-passed";

    /// Runs `enforced_in_child` in a fresh copy of this test binary, which loads the
    /// default profile through libcontainer (as a container's init does) and probes it.
    #[test]
    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
    fn default_profile_is_enforced() {
        let module = module_path!().split_once("::").unwrap().1;
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                &format!("{module}::enforced_in_child"),
                "--exact",
                "--nocapture",
            ])
            .args(["--test-threads", "1"])
            .env(CHILD_ENV, "1")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && stdout.contains(CHILD_DONE),
            "{}\n{stdout}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Only does something under `default_profile_is_enforced`. Each probe uses arguments
    /// the kernel would reject with a different errno, so the result shows whether the
    /// filter or the kernel answered, without creating anything.
    #[test]
    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
    fn enforced_in_child() {
        if std::env::var_os(CHILD_ENV).is_none() {
            return;
        }
        let profile = default_profile(&default_caps()).unwrap();
        // SAFETY: prctl with integer arguments.
        assert_eq!(
            unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) },
            0
        );
        libcontainer::seccomp::initialize_seccomp(&profile).unwrap();

        let errno = |ret: libc::c_long| {
            if ret == -1 {
                std::io::Error::last_os_error().raw_os_error().unwrap()
            } else {
                0
            }
        };
        let path = c"/berth-no-such-dir";
        // SAFETY (all probes): raw syscalls with invalid or null arguments that the kernel
        // rejects before acting, or that only query.
        let probes: [(&str, i32, i32); 14] = unsafe {
            [
                ("getpid", errno(libc::syscall(libc::SYS_getpid)), 0),
                (
                    "mount (kernel: ENOENT)",
                    errno(libc::syscall(
                        libc::SYS_mount,
                        0usize,
                        path.as_ptr(),
                        0usize,
                        libc::MS_REMOUNT,
                        0usize,
                    )),
                    libc::EPERM,
                ),
                (
                    "clone CLONE_NEWUSER|CLONE_THREAD (kernel: EINVAL)",
                    errno(libc::syscall(
                        libc::SYS_clone,
                        (libc::CLONE_NEWUSER | libc::CLONE_THREAD) as libc::c_ulong,
                        0usize,
                        0usize,
                        0usize,
                        0usize,
                    )),
                    libc::EPERM,
                ),
                (
                    "clone CLONE_THREAD alone reaches the kernel",
                    errno(libc::syscall(
                        libc::SYS_clone,
                        libc::CLONE_THREAD as libc::c_ulong,
                        0usize,
                        0usize,
                        0usize,
                        0usize,
                    )),
                    libc::EINVAL,
                ),
                (
                    "clone3 (kernel: EINVAL)",
                    errno(libc::syscall(libc::SYS_clone3, 0usize, 0usize)),
                    libc::ENOSYS,
                ),
                (
                    "unshare CLONE_NEWUSER|CLONE_PARENT (kernel: EINVAL)",
                    errno(libc::syscall(
                        libc::SYS_unshare,
                        (libc::CLONE_NEWUSER | libc::CLONE_PARENT) as libc::c_ulong,
                    )),
                    libc::EPERM,
                ),
                (
                    "unshare CLONE_PARENT reaches the kernel",
                    errno(libc::syscall(
                        libc::SYS_unshare,
                        libc::CLONE_PARENT as libc::c_ulong,
                    )),
                    libc::EINVAL,
                ),
                (
                    "socket AF_VSOCK (kernel: EINVAL)",
                    errno(libc::syscall(
                        libc::SYS_socket,
                        libc::AF_VSOCK,
                        0x4000_0000,
                        0,
                    )),
                    libc::EPERM,
                ),
                (
                    "socket AF_UNIX reaches the kernel",
                    errno(libc::syscall(
                        libc::SYS_socket,
                        libc::AF_UNIX,
                        0x4000_0000,
                        0,
                    )),
                    libc::EINVAL,
                ),
                (
                    "personality ADDR_NO_RANDOMIZE",
                    errno(libc::syscall(libc::SYS_personality, 0x0040000usize)),
                    libc::EPERM,
                ),
                (
                    "personality query",
                    errno(libc::syscall(libc::SYS_personality, 0xffff_ffffusize)),
                    0,
                ),
                (
                    "keyctl (kernel: EOPNOTSUPP)",
                    errno(libc::syscall(libc::SYS_keyctl, 9999, 0, 0, 0, 0)),
                    libc::EPERM,
                ),
                (
                    "io_uring_setup (kernel: EINVAL/EFAULT)",
                    errno(libc::syscall(libc::SYS_io_uring_setup, 0, 0usize)),
                    libc::EPERM,
                ),
                (
                    "kcmp without CAP_SYS_PTRACE (kernel: ESRCH)",
                    errno(libc::syscall(libc::SYS_kcmp, 0, 0, 99, 0, 0)),
                    libc::EPERM,
                ),
            ]
        };
        let wrong: Vec<String> = probes
            .iter()
            .filter(|(_, got, want)| got != want)
            .map(|(what, got, want)| format!("{what}: errno {got}, want {want}"))
            .collect();
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
        println!("{CHILD_DONE}");
    }

    #[test]
    fn default_profile_on_this_host() {
        let p = default_profile(&default_caps()).unwrap();
        assert_eq!(p.default_action(), LinuxSeccompAction::ScmpActErrno);
        if cfg!(target_arch = "x86_64") {
            assert_eq!(p.architectures().as_ref().unwrap()[0], Arch::ScmpArchX86_64);
        }
    }

    #[test]
    fn user_profiles() {
        let c = default_caps();
        let t = amd64(&c);
        assert!(convert("{}", &t).unwrap().is_none());
        let p = convert(
            r#"{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86_64"],
                "syscalls":[{"name":"chmod","action":"SCMP_ACT_ERRNO","errnoRet":13,
                "args":[{"index":1,"value":420,"op":"SCMP_CMP_EQ"}]}]}"#,
            &t,
        )
        .unwrap()
        .unwrap();
        assert_eq!(p.default_action(), LinuxSeccompAction::ScmpActAllow);
        let sc = &p.syscalls().as_ref().unwrap()[0];
        assert_eq!(sc.names(), &vec!["chmod".to_string()]);
        assert_eq!(sc.args().as_ref().unwrap()[0].value(), 420);
        assert!(matches!(convert("{nope", &t), Err(SeccompError::Decode(_))));
        let both = r#"{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86"],
            "archMap":[{"architecture":"SCMP_ARCH_X86_64","subArchitectures":null}]}"#;
        assert!(convert(both, &t).is_err());
        let bad_kernel = r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["a"],
            "action":"SCMP_ACT_ALLOW","includes":{"minKernel":"x.y"}}]}"#;
        assert!(convert(bad_kernel, &t).is_err());
    }

    #[test]
    fn user_profile_rules_follow_caps_arch_and_kernel() {
        let json = r#"{"defaultAction":"SCMP_ACT_ERRNO",
            "archMap":[{"architecture":"SCMP_ARCH_X86_64","subArchitectures":["SCMP_ARCH_X86"]}],
            "syscalls":[
              {"names":["a"],"action":"SCMP_ACT_ALLOW","includes":{"caps":["CAP_SYS_ADMIN"]}},
              {"names":["b"],"action":"SCMP_ACT_ALLOW","excludes":{"caps":["CAP_SYS_ADMIN"]}},
              {"names":["c"],"action":"SCMP_ACT_ALLOW","includes":{"arches":["arm64"]}},
              {"names":["d"],"action":"SCMP_ACT_ALLOW","includes":{"minKernel":"7.0"}},
              {"names":["clone"],"action":"SCMP_ACT_ALLOW",
               "args":[{"index":0,"value":2114060288,"valueTwo":0,"op":"SCMP_CMP_MASKED_EQ"}]}]}"#;
        let c = default_caps();
        let p = convert(json, &amd64(&c)).unwrap().unwrap();
        assert_eq!(
            p.architectures().clone().unwrap(),
            vec![Arch::ScmpArchX86_64, Arch::ScmpArchX86]
        );
        let names: Vec<&str> = rules(&p).iter().map(|r| r.names()[0].as_str()).collect();
        assert_eq!(names, ["b", "clone"]);
        // Docker's MASKED_EQ (value = mask, valueTwo = expected) swapped for libcontainer.
        let arg = rules(&p)[1].args().clone().unwrap()[0];
        assert_eq!((arg.value(), arg.value_two()), (0, Some(0x7E02_0000)));
        let mut c = default_caps();
        c.push("CAP_SYS_ADMIN".into());
        let p = convert(json, &amd64(&c)).unwrap().unwrap();
        let names: Vec<&str> = rules(&p).iter().map(|r| r.names()[0].as_str()).collect();
        assert_eq!(names, ["a", "clone"]);
    }

    #[test]
    fn releases() {
        assert_eq!(parse_release("6.18.3-amd64").unwrap(), (6, 18));
        assert_eq!(parse_release("3.12-1-amd64").unwrap(), (3, 12));
        assert!(parse_release("garbage").is_err());
    }
}
