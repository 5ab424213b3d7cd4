"""Give back the resident pages a daemon's start-up touched in its own program image.

A compiled (Nuitka) binary carries its modules' constants in one blob that is
read once, while the modules are loaded; with the kernel's fault-around, the
start-up leaves most of the 18 MiB image resident although an idle daemon
touches a small part of it. Once serving, the daemon asks the kernel to reclaim
the image's clean, file-backed pages (MADV_PAGEOUT, Linux 5.4; MADV_DONTNEED
where that is refused): nothing is lost, a page used again is read back from
the file. Only mappings of the executable itself are touched, never anonymous
memory or libraries; a kernel that refuses both leaves things as they were.
Run from source (no compiled image) it does nothing.
"""

from __future__ import annotations

import os

MADV_DONTNEED = 4
MADV_PAGEOUT = 21


def _image_ranges(executable: str) -> list[tuple[int, int]]:
    ranges = []
    with open("/proc/self/maps") as maps:
        for line in maps:
            fields = line.split()
            if len(fields) >= 6 and fields[5] == executable and "w" not in fields[1]:
                start, end = (int(part, 16) for part in fields[0].split("-"))
                ranges.append((start, end - start))
    return ranges


def trim_program_image(compiled: bool) -> int:
    """Ask the kernel to reclaim the read-only pages of this program's image; the bytes asked for."""
    if not compiled:
        return 0
    import ctypes  # only here: a daemon calls this once

    libc = ctypes.CDLL(None, use_errno=True)
    libc.madvise.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)
    asked = 0
    for start, length in _image_ranges(os.readlink("/proc/self/exe")):
        if libc.madvise(start, length, MADV_PAGEOUT) != 0 and libc.madvise(start, length, MADV_DONTNEED) != 0:
            continue
        asked += length
    return asked
