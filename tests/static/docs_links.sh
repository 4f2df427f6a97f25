#!/usr/bin/env bash
# The README is the front door and the reference lives in docs/: every
# relative link in README.md and docs/*.md must reach an existing file, and a
# link with a #fragment an existing heading of its target, by GitHub's slug
# rules (lower-case, punctuation dropped, spaces to '-', a repeated heading
# gets -1, -2, ...). Links inside code (fenced blocks, `spans`) are not links;
# http(s) and mailto links are not checked (no network here).
# With --self-test it first checks that it catches a missing file and a
# missing heading.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)

# Prints every broken link of the Markdown files given; fails if there is one.
check() {
  python3 - "$@" <<'EOF'
import os, re, sys

FENCE = re.compile(r'^\s*(```|~~~)')
LINK = re.compile(r'\[(?:[^\]\\]|\\.)*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)')

def prose_lines(path):
    inside = False
    with open(path, encoding='utf-8') as f:
        for number, line in enumerate(f, 1):
            if FENCE.match(line):
                inside = not inside
                continue
            if not inside:
                yield number, line

def slug(heading):
    text = re.sub(r'<[^>]+>', '', heading.strip().lower())
    text = re.sub(r'[^\w\- ]', '', text)
    return text.replace(' ', '-')

def anchors(path):
    seen, result = {}, set()
    for _, line in prose_lines(path):
        m = re.match(r'^#{1,6}\s+(.*?)\s*#*\s*$', line)
        if not m:
            continue
        base = slug(m.group(1).replace('`', ''))
        count = seen.get(base, 0)
        seen[base] = count + 1
        result.add(base if count == 0 else f'{base}-{count}')
    return result

failures = 0
for path in sys.argv[1:]:
    for number, line in prose_lines(path):
        for target in LINK.findall(re.sub(r'`[^`]*`', '', line)):
            if re.match(r'^[a-z][a-z0-9+.-]*:', target, re.I):
                continue
            file_part, _, fragment = target.partition('#')
            dest = os.path.normpath(os.path.join(os.path.dirname(path), file_part)) if file_part else path
            if not os.path.exists(dest):
                print(f'FAIL: {path}:{number}: {target}: no file {dest}')
                failures += 1
            elif fragment and (not dest.endswith('.md') or fragment not in anchors(dest)):
                print(f'FAIL: {path}:{number}: {target}: no heading #{fragment} in {dest}')
                failures += 1
sys.exit(1 if failures else 0)
EOF
}

if [[ ${1:-} == --self-test ]]; then
  scratch=$(mktemp -d)
  trap 'rm -rf "$scratch"' EXIT
  mkdir "$scratch/docs"
  # shellcheck disable=SC2016 # the backticks are Markdown, not a command
  printf '# Top\n\n## The `manage` command, and more\n\n```sh\n# not a heading\n```\n' >"$scratch/docs/a.md"
  printf '[ok](docs/a.md#the-manage-command-and-more) [ok](docs/a.md#top)\n' >"$scratch/good.md"
  check "$scratch/good.md" >/dev/null || {
    echo "FAIL: self-test: a good link was refused"
    exit 1
  }
  for bad in '[x](docs/missing.md)' '[x](docs/a.md#not-a-heading)' '[x](docs/a.md#no-such)' '[x](#top)'; do
    printf '%s\n' "$bad" >"$scratch/bad.md"
    if check "$scratch/bad.md" >/dev/null; then
      echo "FAIL: self-test: $bad was not caught"
      exit 1
    fi
  done
  echo "ok: self-test"
fi

cd "$root"
check README.md docs/*.md
echo "ok: every relative link of README.md and docs/*.md reaches its file and heading"
