"""The integrity core of ledger format v1: everything a certifier reads to trust an export.

Pure: the standard library and `cryptography` only, no database, no web framework, no
I/O beyond reading an export. The byte layouts are specified in docs/ledger-format.md.
"""
