"""A controller stand-in for the lease tests: take the lease, say so, act.

`python tests/engine/lease_holder.py URL LOG` prints `waiting`, waits for the
lease (trying every 0.2 s), then appends its pid to LOG every 50 ms while
`is_held` says the lease is still its own, until it is killed.

It loads `engine/lease.py` alone: importing `flagramp.engine` pulls in SciPy,
seconds of start-up on a busy machine that the lease does not need.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import time
from pathlib import Path

import sqlalchemy as sa

LEASE = Path(__file__).parents[2] / "src" / "flagramp" / "engine" / "lease.py"


def main(url: str, log: str) -> None:
    spec = importlib.util.spec_from_file_location("lease_alone", LEASE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    lease = module.Lease(sa.create_engine(url))
    print("waiting", flush=True)
    lease.acquire(retry_seconds=0.2)
    while lease.is_held():
        with open(log, "a") as out:
            out.write(f"{os.getpid()} {time.monotonic()}\n")
        time.sleep(0.05)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
