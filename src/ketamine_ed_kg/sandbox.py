"""Operating-system guarantees for the processes that evaluate queries.

The query parse (``security.py``) decides what a query may do, but a parser can be wrong, and
pyoxigraph ships an HTTP client that ``SERVICE`` uses. So the processes that evaluate queries
are also made *unable* to open network connections, whatever they are asked to run:

* a seccomp filter (libseccomp through ``pyseccomp``) makes ``socket()`` fail with ``EPERM``
  for every address family but ``AF_UNIX``, makes ``connect()`` fail for every socket, and
  forbids ``io_uring_setup`` (whose requests would bypass the syscall filter). The zygote keeps
  the ``socketpair()`` it needs to hand workers to the server; a worker inherits the filter
  across ``fork()`` and can never remove it (``no_new_privs`` is set by the filter load).
* ``RLIMIT_AS`` bounds each worker's address space to what it has after start-up plus
  ``max_query_memory``, so a runaway query fails its allocation instead of taking the host.

Where the kernel or the container refuses seccomp, :func:`seal_network` raises
:class:`SandboxUnavailable`; the service then refuses to start unless the operator set
``allow_unsandboxed``.
"""

from __future__ import annotations

import errno
import resource
import socket

from .errors import KedError


class SandboxUnavailable(KedError):
    """The operating system cannot forbid network access here (no seccomp)."""


def seal_network() -> None:
    """Forbid this process and its future children to open network connections.

    Irreversible. Already-open descriptors (the control socket pair) keep working.
    """
    try:
        import pyseccomp as seccomp
    except (ImportError, OSError) as exc:  # libseccomp.so.2 missing
        raise SandboxUnavailable(f"libseccomp cannot be loaded: {exc}") from exc
    try:
        filt = seccomp.SyscallFilter(seccomp.ALLOW)
        deny = seccomp.ERRNO(errno.EPERM)
        filt.add_rule(deny, "socket", seccomp.Arg(0, seccomp.NE, socket.AF_UNIX))
        filt.add_rule(deny, "connect")
        for name in ("io_uring_setup", "io_uring_enter", "io_uring_register"):
            try:
                filt.add_rule(deny, name)
            except (RuntimeError, ValueError, OSError):  # unknown to this libseccomp
                pass
        filt.load()
    except (RuntimeError, ValueError, OSError) as exc:
        raise SandboxUnavailable(f"the seccomp filter could not be loaded: {exc}") from exc


def network_sealed() -> bool:
    """True when this process cannot create an Internet socket (used by the self-check)."""
    try:
        probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    except PermissionError:
        return True
    probe.close()
    return False


def address_space() -> int:
    """Bytes of virtual memory this process has mapped now (``VmSize``)."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    raise KedError("VmSize missing from /proc/self/status")


def cap_memory(extra: int) -> int:
    """Limit this process to its current address space plus ``extra`` bytes; return the limit."""
    limit = address_space() + extra
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    return limit


__all__ = ["SandboxUnavailable", "address_space", "cap_memory", "network_sealed",
           "seal_network"]
