#!/usr/bin/env bash
# Rebuilds the share-card font (shared/assets/fonts/AccoladeCardSans-*.ttf.gz) from Debian's
# fonts-nanum (NanumSquare, SIL Open Font License 1.1): a subset with Basic Latin, Latin-1,
# general punctuation, ₩, circled numbers, CJK punctuation, Hangul compatibility jamo and all
# 11,172 Hangul syllables; no hinting; renamed "Accolade Card Sans" because the OFL reserves the
# Nanum names for the unmodified fonts. Needs apt-get (download only) and Python (fonttools is
# installed into a throwaway virtualenv). Not run by `make`: the output is committed.
set -euo pipefail
cd "$(dirname "$0")/../.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && apt-get download fonts-nanum >/dev/null && dpkg-deb -x fonts-nanum_*.deb root)
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install -q 'fonttools==4.*'
src="$work/root/usr/share/fonts/truetype/nanum"
out=shared/assets/fonts
unicodes="U+0020-007E,U+00A0-00FF,U+2010-2027,U+2030-203A,U+20A9,U+2190-2193,U+2460-2473,U+3000-303F,U+3131-318E,U+AC00-D7A3,U+FF01-FF5E"
for pair in "R:Regular" "B:Bold"; do
  from=${pair%%:*} style=${pair##*:}
  "$work/venv/bin/pyftsubset" "$src/NanumSquare$from.ttf" --unicodes="$unicodes" \
    --layout-features='*' --no-hinting --desubroutinize --output-file="$work/$style.ttf"
  "$work/venv/bin/python" - "$work/$style.ttf" "$style" <<'PY'
import sys
from fontTools.ttLib import TTFont
path, style = sys.argv[1], sys.argv[2]
font = TTFont(path)
family = "Accolade Card Sans"
names = {1: family, 2: style, 3: f"{family} {style}; subset of NanumSquare", 4: f"{family} {style}",
         6: f"AccoladeCardSans-{style}", 16: family, 17: style}
table = font["name"]
for rec in list(table.names):
    if rec.nameID in (1, 2, 3, 4, 6, 16, 17):
        table.removeNames(nameID=rec.nameID)
for nid, text in names.items():
    table.setName(text, nid, 3, 1, 0x409)
    table.setName(text, nid, 1, 0, 0)
font.save(path)
PY
  gzip -9n -c "$work/$style.ttf" > "$out/AccoladeCardSans-$style.ttf.gz"
done
sed -n '/^License: OFL-1.1/,$p' "$work/root/usr/share/doc/fonts-nanum/copyright" | sed 's/^ \.$//; s/^ //' > "$out/OFL.txt"
ls -l "$out"
