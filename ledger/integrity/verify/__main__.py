"""`python -m ledger.integrity.verify`: the offline verifier's command line."""

from __future__ import annotations

import sys

from ledger.integrity.verify import main

sys.exit(main())
