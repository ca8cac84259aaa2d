"""CPU per page in process, on the load run's world (bench/load.py) in PostgreSQL: for comparing two versions of
the code on a busy machine, where HTTP timings drown in noise.

    .venv/bin/python bench/inproc.py [--pages home,channel] [-n 60] [--rounds 2] [--cold] [--profile channel]

The demo network plus 20 load users with their sessions are built in a private PostgreSQL schema (dropped at
the end); the app runs in this process (Flask's test client, no HTTP, no outbox worker) and each page is asked
``-n`` times, taking turns over the users, after three unmeasured requests. Reported: CPU time of this process
per request (``time.process_time``: the app's CPU plus the test client's, which is small and the same for both
versions of the code). ``--cold``: every cache version is bumped before each request (not measured), as a write
of another member does under the load mix, so the page cache and the per-worker caches keyed by versions miss;
the content-addressed fragment caches still hit. ``--profile PAGE``: a cProfile of ``-n`` more requests of that
page, the 40 most expensive functions by cumulative and by own time. Nothing is written to bench/results/.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import secrets
import shutil
import sys
import tempfile
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR.parent))
sys.path.insert(0, str(BENCH_DIR))

from load import CHANNEL, HOST, NETWORK, Platform, build_world  # noqa: E402
from provisioning import DEFAULT_POSTGRES_URL, prepare_database  # noqa: E402

PAGES = {
    "home": "/",
    "network": f"/networks/{NETWORK}",
    "channel": f"/networks/{NETWORK}/conversations/c/{CHANNEL}",
    "help list": f"/networks/{NETWORK}/help",
    "directory": "/directory",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", default=",".join(PAGES), help=f"comma-separated, of: {', '.join(PAGES)}")
    parser.add_argument("-n", type=int, default=60, help="requests per page and round (60)")
    parser.add_argument("--rounds", type=int, default=1, help="rounds over the pages (1)")
    parser.add_argument("--cold", action="store_true", help="bump every cache version before each request")
    parser.add_argument("--profile", choices=list(PAGES), help="cProfile this page afterwards")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL)
    args = parser.parse_args(argv)
    pages = [name.strip() for name in args.pages.split(",") if name.strip()]
    unknown = [name for name in pages if name not in PAGES]
    if unknown:
        parser.error(f"unknown page(s): {', '.join(unknown)}")

    import sqlalchemy as sa

    from network_service.app import create_app
    from network_service.demo import demo_config

    directory = Path(tempfile.mkdtemp(prefix="mentornet-inproc-"))
    database = prepare_database("postgresql", directory, args.postgres_url)
    platform = Platform()
    engine = None
    try:
        config = demo_config(HOST, 5999, directory=directory)
        config.update(
            DATABASE_URL=database.url,
            WEBHOOK_SECRET=secrets.token_urlsafe(16),  # no event is sent here
            OUTBOX_WORKER=False,
            RATELIMIT_ENABLED=False,
            JOBS_IN_PROCESS=False,
        )
        users = build_world(config, 20, platform)
        app = create_app(config, use_environment=False)
        clients = []
        for user in users:
            client = app.test_client()
            client.set_cookie("mentornet_session", user.cookie, domain="localhost")
            clients.append(client)
        engine = sa.create_engine(database.url)

        def bump() -> None:
            with engine.begin() as connection:
                connection.execute(sa.text("UPDATE cache_version SET token = token + 1"))

        def ask(path: str, index: int) -> None:
            response = clients[index % len(clients)].get(path)
            if response.status_code != 200:
                raise SystemExit(f"{path}: HTTP {response.status_code} {response.location or ''}")

        for name in pages:
            for index in range(3):
                ask(PAGES[name], index)
        mode = "cold (every cache version bumped before each request)" if args.cold else "warm"
        print(f"CPU per request in process, {args.n} requests per page and round, {mode}")
        for round_number in range(1, args.rounds + 1):
            for name in pages:
                spent = 0.0
                for index in range(args.n):
                    if args.cold:
                        bump()
                    began = time.process_time()
                    ask(PAGES[name], index)
                    spent += time.process_time() - began
                print(f"  round {round_number}  {name:<10} {1000 * spent / args.n:7.2f} ms", flush=True)
        if args.profile:
            profile = cProfile.Profile(time.process_time)
            for index in range(args.n):
                if args.cold:
                    bump()
                profile.enable()
                ask(PAGES[args.profile], index)
                profile.disable()
            for order in ("cumulative", "tottime"):
                out = io.StringIO()
                pstats.Stats(profile, stream=out).sort_stats(order).print_stats(40)
                print(out.getvalue())
    finally:
        if engine is not None:
            engine.dispose()
        platform.stop()
        database.drop()
        shutil.rmtree(directory, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
