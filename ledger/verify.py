"""`python -m ledger.verify`: the short name certifiers use for `ledger.integrity.verify`.

It imports only the pure integrity core, so it runs with no database driver installed.
"""

from __future__ import annotations

import sys

from ledger.integrity.verify import main

if __name__ == "__main__":
    sys.exit(main())
