#!/usr/bin/env bash
# Rebuilds the share-card font (shared/assets/fonts/AccoladeCardSans-*.ttf.gz) from Debian's
# fonts-nanum (NanumSquare, SIL Open Font License 1.1): a subset with Basic Latin, Latin-1,
# general punctuation, ₩, circled numbers, CJK punctuation, Hangul compatibility jamo and all
# 11,172 Hangul syllables; no hinting; renamed "Accolade Card Sans" because the OFL reserves the
# Nanum names for the unmodified fonts. And from Debian's fonts-noto-core (Noto Sans, OFL 1.1) the
# Latin that NanumSquare lacks (Latin-1 letters, Latin Extended-A/B and Additional, combining
# marks: José, Müller, Nguyễn), renamed "Accolade Card Latin": resvg falls back to it per
# character. Needs apt-get (download only) and Python (fonttools is installed into a throwaway
# virtualenv). Not run by `make`: the output is committed.
set -euo pipefail
cd "$(dirname "$0")/../.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && apt-get download fonts-nanum fonts-noto-core >/dev/null \
  && dpkg-deb -x fonts-nanum_*.deb root && dpkg-deb -x fonts-noto-core_*.deb root)
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install -q 'fonttools==4.*'
out=shared/assets/fonts
unicodes="U+0020-007E,U+00A0-00FF,U+2010-2027,U+2030-203A,U+20A9,U+2190-2193,U+2460-2473,U+3000-303F,U+3131-318E,U+AC00-D7A3,U+FF01-FF5E"
latin="U+0020-007E,U+00A0-024F,U+0300-036F,U+1E00-1EFF,U+2010-2027,U+2030-203A,U+20A0-20BF"
for spec in "NanumSquareR:Regular:Sans:$unicodes:nanum" "NanumSquareB:Bold:Sans:$unicodes:nanum" \
            "NotoSans-Regular:Regular:Latin:$latin:noto" "NotoSans-Bold:Bold:Latin:$latin:noto"; do
  IFS=: read -r from style kind range dir <<<"$spec"
  "$work/venv/bin/pyftsubset" "$work/root/usr/share/fonts/truetype/$dir/$from.ttf" \
    --unicodes="$range" --layout-features='*' --no-hinting --desubroutinize \
    --output-file="$work/$kind-$style.ttf"
  "$work/venv/bin/python" - "$work/$kind-$style.ttf" "$style" "$kind" "$from" <<'PY'
import sys
from fontTools.ttLib import TTFont
path, style, kind, source = sys.argv[1:5]
font = TTFont(path)
family = f"Accolade Card {kind}"
names = {1: family, 2: style, 3: f"{family} {style}; subset of {source}", 4: f"{family} {style}",
         6: f"AccoladeCard{kind}-{style}", 16: family, 17: style}
table = font["name"]
for rec in list(table.names):
    if rec.nameID in (1, 2, 3, 4, 6, 16, 17):
        table.removeNames(nameID=rec.nameID)
for nid, text in names.items():
    table.setName(text, nid, 3, 1, 0x409)
    table.setName(text, nid, 1, 0, 0)
font.save(path)
PY
  gzip -9n -c "$work/$kind-$style.ttf" > "$out/AccoladeCard$kind-$style.ttf.gz"
done
sed -n '/^License: OFL-1.1/,$p' "$work/root/usr/share/doc/fonts-nanum/copyright" | sed 's/^ \.$//; s/^ //' > "$out/OFL.txt"
cp "$work/root/usr/share/doc/fonts-noto-core/copyright" "$out/NOTO-COPYRIGHT.txt"
ls -l "$out"
