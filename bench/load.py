"""Load driver for the sign-in scenario, run as its own process so its CPU is not the server's.

Each sign-in uses a fresh cookie jar, as a new browser would: the relying party's sign-in page,
the provider's login and consent forms, the callback, and the first page after it.

    python -m bench.load --start URL --home URL --origin ORIGIN --login-pattern 'user{n}@x.test'
        --count N --concurrency C

prints one JSON object: completed, failed, seconds, and the median and 95th percentile of the
relying party's own request time per sign-in (SignIn + callback + first page).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
from tests.support.idp_http import authorize


def timed(client: httpx.Client, url: str, spent: list[float]) -> httpx.Response:
    started = time.perf_counter()
    response = client.get(url)
    spent.append(time.perf_counter() - started)
    return response


def sign_in(start: str, home: str, origin: str, login: str) -> float:
    """Sign in once; return the seconds spent waiting for the relying party."""
    spent: list[float] = []
    with httpx.Client(timeout=30, follow_redirects=False) as browser:
        first = timed(browser, start, spent)
        if first.status_code != 302:
            raise RuntimeError(f"SignIn answered {first.status_code}: {first.text[:200]}")
        callback = authorize(browser, first.headers["location"], login, relying_party_origin=origin)
        finished = timed(browser, callback, spent)
        if finished.status_code != 303:
            raise RuntimeError(f"callback answered {finished.status_code}: {finished.text[:300]}")
        page = timed(browser, home, spent)
        if page.status_code != 200:
            raise RuntimeError(f"first page answered {page.status_code}")
    return sum(spent)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--start", required=True)
    parser.add_argument("--home", required=True)
    parser.add_argument("--origin", required=True)
    parser.add_argument("--login-pattern", default="user{n}@bench.test")
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--count", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=4)
    options = parser.parse_args(argv)

    durations: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()

    def one(index: int) -> None:
        login = options.login_pattern.format(n=index % options.users)
        try:
            spent = sign_in(options.start, options.home, options.origin, login)
        except Exception as error:
            with lock:
                failures.append(str(error))
            return
        with lock:
            durations.append(spent)

    started = time.perf_counter()
    with ThreadPoolExecutor(options.concurrency) as pool:
        list(pool.map(one, range(options.count)))
    seconds = time.perf_counter() - started

    ordered = sorted(durations) or [0.0]
    print(
        json.dumps(
            {
                "completed": len(durations),
                "failed": len(failures),
                "first_failure": failures[0] if failures else None,
                "seconds": seconds,
                "rp_median_ms": statistics.median(ordered) * 1000,
                "rp_p95_ms": ordered[int(0.95 * (len(ordered) - 1))] * 1000,
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1:])
