"""The snapshot library: snapshots, artifacts, handlers, logging and the per-version record.

Imports only the standard library at import time; loguru, PyYAML and the heavy
libraries are imported where they are used.
"""
