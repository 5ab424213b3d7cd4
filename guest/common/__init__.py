"""Pieces shared by both binaries: version, paths, config files, authkey, errors.

Rule: standard library only (plus cryptography where a module says so); no I/O at import time.
"""
