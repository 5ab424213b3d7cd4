"""The cluster layer: corosync 3 as the engine for membership, quorum and totally ordered messaging.

Rules: only the `corosync*.py` modules load corosync's client libraries
(ctypes, matching the corosync 3.1 ABI); nothing here adds membership or
failure detection of its own. Handles are plain objects with an `fd()` for an
asyncio loop's `add_reader` and a non-blocking `dispatch()`; callbacks run
inside `dispatch()` on the caller's thread.
"""
