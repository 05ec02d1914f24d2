#!/usr/bin/env bash
# install-npm.sh installs the npm packages pg_fib's tests, "make audit" and
# the API's documentation page use, at pinned versions, into npm/node_modules
# (git-ignored), with the machine's Node.js and npm.  It is idempotent: when every package is there at
# its version it asks no registry (the suites then run offline).
#
#   deploy/install-npm.sh                 every package of PACKAGES below
#   deploy/install-npm.sh NAME@VERSION... only these (NAME may be scoped:
#                                         @scope/name@1.2.3)
#
# deploy/install-deps.sh calls it for "make test" and "make run"; the
# directory is npm/ at the top of the checkout (not under deploy/, which the
# container images copy).
set -euo pipefail

cd "$(dirname "$0")/.."
DIR=npm

PACKAGES=(
    # axe-core's checks, run in Chromium by test/web/test_page.py.
    axe-core@4.14.1
    # make audit (deploy/audit.sh): 12.x is the last major that runs on
    # Node.js 20 (13 needs 22.19).  It drives Debian's chromium through
    # puppeteer-core, which downloads no browser.
    lighthouse@12.8.2
    # The API description linted in make test (test/web/test_openapi.py).
    @redocly/cli@2.77.0
    # /api/docs: deploy/run.sh api-docs copies its bundle and stylesheet
    # next to deploy/api-docs/index.html, for Nginx to serve.
    swagger-ui-dist@5.30.3
)
if [ "$#" -gt 0 ]; then
    PACKAGES=("$@")
fi

if ! command -v npm >/dev/null || ! command -v node >/dev/null; then
    # Machines of this project's kind come with Node.js and npm; elsewhere,
    # Debian's.
    SUDO=
    if [ "$(id -u)" -ne 0 ]; then
        SUDO=sudo
    fi
    echo "install-npm: installing Debian's nodejs and npm" >&2
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
        nodejs npm >/dev/null
fi

missing=()
for spec in "${PACKAGES[@]}"; do
    name=${spec%@*}
    version=${spec##*@}
    if [ -z "$name" ] || [ "$name" = "$spec" ] || [ -z "$version" ]; then
        echo "install-npm: $spec: give NAME@VERSION, a pinned version" >&2
        exit 2
    fi
    installed=$(node -e 'try { console.log(require(process.argv[1]).version) } catch (e) {}' \
        "$PWD/$DIR/node_modules/$name/package.json")
    if [ "$installed" != "$version" ]; then
        missing+=("$spec")
    fi
done

if [ "${#missing[@]}" -eq 0 ]; then
    exit 0
fi

echo "install-npm: installing ${missing[*]} into $DIR/" >&2
mkdir -p "$DIR"
# --save-exact: npm/package.json records the pinned versions; no audit or
# funding requests, no progress bars in the suites' logs.
npm install --prefix "$DIR" --save-exact --no-audit --no-fund --no-progress --loglevel=error \
    "${missing[@]}" >/dev/null
