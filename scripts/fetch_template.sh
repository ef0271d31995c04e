#!/usr/bin/env bash
# Puts the MNI ICBM152 2009a T1 template (skull-stripped, 197×233×189, uint8, 1 mm) at
#   data/template/mni_icbm152_t1_tal_nlin_sym_09a_converted.nii.gz
# with its copyright notice beside it (data/template/NOTICE), for `brainvq data make`.
#
# The template ships inside nilearn's wheel on PyPI; this script downloads that one wheel (no dependencies,
# nothing installed), unpacks only the template, checks its SHA-256 and removes the wheel. It touches the
# network only through pip, and not at all when the template is already in place.
#
# Usage: scripts/fetch_template.sh [DEST_DIR]   (default: <repo>/data/template)
set -euo pipefail

NILEARN_VERSION=0.14.1
MEMBER=nilearn/datasets/data/mni_icbm152_t1_tal_nlin_sym_09a_converted.nii.gz
SHA256=421a10e872fd6cadae7f61d358dffbcc1795a497d61ee76c5dda2503e1a1e9e6

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="${1:-$root/data/template}"
file="$dest/$(basename "$MEMBER")"
python="${PYTHON:-python3}"

if [[ -s "$file" && -s "$dest/NOTICE" ]] && echo "$SHA256  $file" | sha256sum --check --status; then
  echo "template already at $file"
  exit 0
fi

mkdir -p "$dest"
tmp="$(mktemp -d "$dest/.fetch.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

echo "downloading nilearn==$NILEARN_VERSION (wheel only, to unpack the MNI template)"
"$python" -m pip download --quiet --no-deps --only-binary=:all: "nilearn==$NILEARN_VERSION" -d "$tmp"
wheel="$(ls "$tmp"/nilearn-"$NILEARN_VERSION"-*.whl)"

"$python" - "$wheel" "$MEMBER" "$tmp/template.nii.gz" <<'PY'
import shutil, sys, zipfile
wheel, member, out = sys.argv[1:]
with zipfile.ZipFile(wheel) as z, z.open(member) as src, open(out, "wb") as dst:
    shutil.copyfileobj(src, dst)
PY

if ! echo "$SHA256  $tmp/template.nii.gz" | sha256sum --check --status; then
  echo "error: $MEMBER in nilearn $NILEARN_VERSION does not have the expected SHA-256 $SHA256" >&2
  exit 1
fi

# The wheel carries no licence text for the template (nilearn's own licence covers its code). The MNI's
# notice for the ICBM 2009 templates asks that the copyright notice appear in all copies: here it is, with
# where this copy came from.
cat >"$tmp/NOTICE" <<EOF
MNI ICBM152 non-linear symmetric 2009a T1 template (mni_icbm152_t1_tal_nlin_sym_09a), as converted and
shipped by nilearn $NILEARN_VERSION in $MEMBER
(SHA-256 $SHA256).

Copyright (C) 1993-2004 Louis Collins, McConnell Brain Imaging Centre, Montreal Neurological Institute,
McGill University. Permission to use, copy, modify, and distribute this software and its documentation for
any purpose and without fee is hereby granted, provided that the above copyright notice appear in all
copies. The authors and McGill University make no representations about the suitability of this software
for any purpose. It is provided "as is" without express or implied warranty. The authors are not
responsible for any data loss, equipment damage, property loss, or injury to subjects or patients resulting
from the use or misuse of this software package.

References:
- V.S. Fonov, A.C. Evans, R.C. McKinstry, C.R. Almli, D.L. Collins. Unbiased nonlinear average
  age-appropriate brain templates from birth to adulthood. NeuroImage 47 (Suppl. 1), S102, 2009.
- V.S. Fonov, A.C. Evans, K. Botteron, C.R. Almli, R.C. McKinstry, D.L. Collins. Unbiased average
  age-appropriate atlases for pediatric studies. NeuroImage 54(1), 313-327, 2011.
- D.L. Collins, A.P. Zijdenbos, W.F.C. Baaré, A.C. Evans. ANIMAL+INSECT: improved cortical structure
  segmentation. IPMI 1999, LNCS 1613, 210-223.

Datasets that brainvq makes from this template (brainvq data make) are derived copies and carry this notice.
EOF

mv -f "$tmp/NOTICE" "$dest/NOTICE"
mv -f "$tmp/template.nii.gz" "$file"
echo "template at $file (notice in $dest/NOTICE)"
