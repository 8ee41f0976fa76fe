/**
 * The Linux system calls behind caller identification, through koffi: Node exposes none of them.
 *   getsockopt(SO_PEERCRED)   pid, uid, gid of the process that called connect(), from the kernel
 *   getsockopt(SO_PEERPIDFD)  a pidfd for that very process (Linux ≥ 6.5), immune to PID reuse
 *   pidfd_open               a pidfd for whatever process holds a PID now (the fallback)
 *   pidfd_send_signal(0)     whether the process a pidfd names is still alive
 * The constants are those of x86_64 and arm64 (SOL_SOCKET 1, SO_PEERCRED 17, SO_PEERPIDFD 77; the
 * pidfd syscalls have the same numbers on every architecture since 5.1). libc is loaded on first use,
 * so importing this file costs nothing on a host that never serves the Workload API.
 */
import { closeSync } from 'node:fs';
import koffi from 'koffi';

const SOL_SOCKET = 1;
const SO_PEERCRED = 17;
const SO_PEERPIDFD = 77;
const SYS_PIDFD_SEND_SIGNAL = 424;
const SYS_PIDFD_OPEN = 434;
const ESRCH = 3;
const EPERM = 1;
/** What the kernel answers for an option it does not know (SO_PEERPIDFD before 6.5). */
const ENOPROTOOPT = 92;
const ENOSYS = 38;
const UCRED_BYTES = 12;

export interface PeerCredentials {
  pid: number;
  uid: number;
  gid: number;
}

/** The calls, as an interface so the tracker can be tested against a fake kernel. */
export interface PeerSyscalls {
  peerCredentials(socketFd: number): PeerCredentials;
  /** A pidfd for the connecting process, or undefined when the kernel has no SO_PEERPIDFD. */
  peerPidfd(socketFd: number): number | undefined;
  /** A pidfd for the process now holding `pid`; undefined when it has gone or pidfds are unsupported. */
  pidfdOpen(pid: number): number | undefined;
  /** Whether the pidfd's process has not exited. */
  pidfdAlive(pidfd: number): boolean;
  closeFd(fd: number): void;
}

/** A failed system call; `errno` is the raw error number. */
export class SyscallError extends Error {
  readonly errno: number;
  constructor(call: string, errno: number) {
    super(`${call} failed with errno ${errno}`);
    this.name = 'SyscallError';
    this.errno = errno;
  }
}

interface Bindings {
  getsockoptCred: (fd: number, level: number, name: number, out: PeerCredentials, len: number[]) => number;
  getsockoptInt: (fd: number, level: number, name: number, out: number[], len: number[]) => number;
  syscall: (...args: unknown[]) => number | bigint;
}

let bindings: Bindings | undefined;

function libc(): Bindings {
  if (bindings !== undefined) return bindings;
  const lib = koffi.load('libc.so.6');
  const ucred = koffi.struct('sigil_ucred', { pid: 'int32', uid: 'uint32', gid: 'uint32' });
  bindings = {
    getsockoptCred: lib.func('getsockopt', 'int', ['int', 'int', 'int', koffi.out(koffi.pointer(ucred)), koffi.inout(koffi.pointer('uint32'))]),
    getsockoptInt: lib.func('getsockopt', 'int', ['int', 'int', 'int', koffi.out(koffi.pointer('int32')), koffi.inout(koffi.pointer('uint32'))]),
    syscall: lib.func('long syscall(long number, ...)'),
  };
  return bindings;
}

const errno = (): number => koffi.errno();

export const linuxSyscalls: PeerSyscalls = {
  peerCredentials(socketFd) {
    const out: PeerCredentials = { pid: 0, uid: 0, gid: 0 };
    const len = [UCRED_BYTES];
    if (libc().getsockoptCred(socketFd, SOL_SOCKET, SO_PEERCRED, out, len) !== 0) {
      throw new SyscallError('getsockopt(SO_PEERCRED)', errno());
    }
    // A short answer would leave uid/gid at 0, which reads as root: refuse rather than guess.
    if (len[0] !== UCRED_BYTES) throw new Error(`getsockopt(SO_PEERCRED) returned ${String(len[0])} bytes, not ${UCRED_BYTES}`);
    return { pid: out.pid, uid: out.uid, gid: out.gid };
  },

  peerPidfd(socketFd) {
    const out = [-1];
    if (libc().getsockoptInt(socketFd, SOL_SOCKET, SO_PEERPIDFD, out, [4]) !== 0) {
      const e = errno();
      if (e === ENOPROTOOPT) return undefined;
      throw new SyscallError('getsockopt(SO_PEERPIDFD)', e);
    }
    return out[0];
  },

  pidfdOpen(pid) {
    const fd = Number(libc().syscall(SYS_PIDFD_OPEN, 'int', pid, 'uint', 0));
    if (fd >= 0) return fd;
    const e = errno();
    if (e === ESRCH || e === ENOSYS) return undefined;
    throw new SyscallError('pidfd_open', e);
  },

  pidfdAlive(pidfd) {
    const r = Number(libc().syscall(SYS_PIDFD_SEND_SIGNAL, 'int', pidfd, 'int', 0, 'void *', null, 'uint', 0));
    if (r === 0) return true;
    const e = errno();
    if (e === ESRCH) return false;
    // Not allowed to signal it (an unprivileged agent, another user's process): it exists.
    if (e === EPERM) return true;
    throw new SyscallError('pidfd_send_signal', e);
  },

  closeFd(fd) {
    closeSync(fd);
  },
};
