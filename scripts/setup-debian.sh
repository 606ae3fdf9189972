#!/usr/bin/env bash
# Installs the Debian packages the test suite talks to: a real Prometheus server
# (metric-source tests), Ruby Flipper (the compatibility peer), Rack (how Flipper's
# API reads params), ActiveRecord with the SQLite, PostgreSQL and MySQL drivers
# (Flipper's ActiveRecord adapter, which ruby-flipper ships, on Flipper's tables),
# ActiveSupport (the notifications the SDK's Ruby initializer subscribes to),
# wrk (bench/flipper_api.py) and chromium (the dashboard's browser tests, through
# Playwright with executable_path=/usr/bin/chromium: Playwright's own browser download
# is never used).
# Runs only as root and only when something is missing, so `make test` stays fast.
set -euo pipefail
need=()
command -v prometheus >/dev/null 2>&1 || need+=(prometheus)
command -v ruby >/dev/null 2>&1 || need+=(ruby)
ruby -e 'require "flipper"' >/dev/null 2>&1 || need+=(ruby-flipper)
ruby -e 'require "rack"' >/dev/null 2>&1 || need+=(ruby-rack)
ruby -e 'require "active_support"' >/dev/null 2>&1 || need+=(ruby-activesupport)
ruby -e 'require "active_record"' >/dev/null 2>&1 || need+=(ruby-activerecord)
ruby -e 'require "sqlite3"' >/dev/null 2>&1 || need+=(ruby-sqlite3)
ruby -e 'require "pg"' >/dev/null 2>&1 || need+=(ruby-pg)
ruby -e 'require "mysql2"' >/dev/null 2>&1 || need+=(ruby-mysql2)
command -v wrk >/dev/null 2>&1 || need+=(wrk)
[ -x /usr/bin/chromium ] || need+=(chromium)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "setup-debian: missing ${need[*]}; run as root or install them (tests that need them will skip)" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
# apt's lock is shared with other processes: wait for it rather than fail.
for attempt in 1 2 3 4 5 6; do
  if apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null; then
    exit 0
  fi
  echo "setup-debian: apt is busy (attempt $attempt); retrying" >&2
  sleep 10
done
echo "setup-debian: could not install ${need[*]}" >&2
exit 1
