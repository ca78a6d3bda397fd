#!/usr/bin/env bash
# render.sh - re-render ringform's pinned Kubernetes install manifests from local git mirrors.
#
# Downloads nothing. Needs: bash, git, tar, sed, python3 (stdlib only), sha256sum,
# kubectl (with built-in kustomize) and helm.
#
# Usage:
#   ./render.sh                      # writes next to this script, scratch in a new mktemp dir
#   OUT=/path/to/out WORK=/path/to/new-scratch-dir ./render.sh
# WORK must not exist yet or be empty (the script never deletes anything).
# Inputs (override via environment):
#   CM_GIT     bare git dir of github.com/cert-manager/cert-manager
#   K8SS_GIT   bare git dir of github.com/k8ssandra/k8ssandra-operator
#   CASS_GIT   bare git dir of github.com/k8ssandra/cass-operator
#   KUBECTL, HELM  tool binaries
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
CM_GIT=${CM_GIT:-/work/.mirror/cert-manager+cert-manager/repo}
K8SS_GIT=${K8SS_GIT:-/work/.mirror/k8ssandra+k8ssandra-operator/repo}
CASS_GIT=${CASS_GIT:-/work/.mirror/k8ssandra+cass-operator/repo}
KUBECTL=${KUBECTL:-$HERE/../../../target/kube-tools/kubectl}   # scripts/kube-tools installs it
HELM=${HELM:-$HERE/../../../target/kube-tools/helm}
OUT=${OUT:-$HERE}
WORK=${WORK:-$(mktemp -d "${TMPDIR:-/tmp}/ringform-render.XXXXXX")}

CM_TAG=v1.20.3          # latest v1.20.x patch tag present in the mirror
K8SS_TAG=v1.32.5
K8SS_CASS_TAG=v1.30.2   # ref used by k8ssandra-operator v1.32.5 config/cass-operator/cluster-scoped
CASS_TAG=v1.32.0

# Keep helm away from the user's config/cache; no repositories are used.
export HELM_CACHE_HOME="$WORK/.helm/cache" HELM_CONFIG_HOME="$WORK/.helm/config" HELM_DATA_HOME="$WORK/.helm/data"

mkdir -p "$WORK"
[ -z "$(ls -A "$WORK")" ] || { echo "WORK=$WORK is not empty" >&2; exit 1; }
mkdir -p "$OUT" "$WORK/logs"
echo "scratch: $WORK" >&2

# Fails if a tag is missing from a mirror.
export_tag() { # git_dir tag dest
  git --git-dir="$1" rev-parse --verify --quiet "$2^{commit}" >/dev/null \
    || { echo "tag $2 missing in $1" >&2; exit 1; }
  mkdir -p "$3"
  git --git-dir="$1" archive --format=tar "$2" | tar -x -C "$3"
}

{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "kubectl: $("$KUBECTL" version --client 2>/dev/null | tr '\n' ' ')"
  echo "helm: $("$HELM" version --short 2>/dev/null)"
  for g in "$CM_GIT" "$K8SS_GIT" "$CASS_GIT"; do echo "mirror: $g"; done
  echo "cert-manager $CM_TAG = $(git --git-dir="$CM_GIT" rev-parse "$CM_TAG^{commit}")"
  echo "k8ssandra-operator $K8SS_TAG = $(git --git-dir="$K8SS_GIT" rev-parse "$K8SS_TAG^{commit}")"
  echo "cass-operator $K8SS_CASS_TAG = $(git --git-dir="$CASS_GIT" rev-parse "$K8SS_CASS_TAG^{commit}")"
  echo "cass-operator $CASS_TAG = $(git --git-dir="$CASS_GIT" rev-parse "$CASS_TAG^{commit}")"
} > "$WORK/logs/versions.txt"

###############################################################################
# 1. cert-manager: reproduce make/manifests.mk target $(bin_dir)/yaml/cert-manager.yaml
###############################################################################
CM_SRC="$WORK/cert-manager-$CM_TAG"
export_tag "$CM_GIT" "$CM_TAG" "$CM_SRC"
(
  cd "$CM_SRC"
  BIN=_bin
  VERSION=$CM_TAG
  CHART=$BIN/helm/cert-manager
  mkdir -p "$CHART/templates" "$BIN/scratch/yaml" "$BIN/yaml"
  # $(bin_dir)/helm/cert-manager/... : copy templates, helpers, NOTES, values, schema
  cp -f deploy/charts/cert-manager/templates/*.yaml "$CHART/templates/"
  cp deploy/charts/cert-manager/templates/_helpers.tpl deploy/charts/cert-manager/templates/NOTES.txt "$CHART/templates/"
  cp deploy/charts/cert-manager/values.yaml deploy/charts/cert-manager/values.schema.json "$CHART/"
  sed -e "s:{{RELEASE_VERSION}}:$VERSION:g" < deploy/charts/cert-manager/README.template.md > "$CHART/README.md"
  # Chart.yaml: upstream uses mikefarah yq to set version/appVersion, prerelease="false" and the
  # artifacthub signKey annotation. None of those annotations reach rendered objects; version and
  # appVersion (the image tag default and the helm.sh/chart / app.kubernetes.io/version labels) do.
  sed -e "s/^version: v0.0.0$/version: $VERSION/" \
      -e "s/^appVersion: v0.0.0$/appVersion: $VERSION/" \
      -e 's/"{{IS_PRERELEASE}}"/"false"/' \
      < deploy/charts/cert-manager/Chart.template.yaml > "$CHART/Chart.yaml"
  grep -q "^appVersion: $VERSION$" "$CHART/Chart.yaml"
  # $(bin_dir)/cert-manager-$(VERSION).tgz
  "$HELM" package --app-version="$VERSION" --version="$VERSION" --destination "$BIN/" "./$CHART"
  # $(bin_dir)/scratch/yaml/cert-manager.noncrd.unlicensed.yaml
  "$HELM" template --kube-version="1.29.0" --api-versions="" --namespace=cert-manager \
    --set="creator=static" --set="startupapicheck.enabled=false" \
    cert-manager "$BIN/cert-manager-$VERSION.tgz" | sed -e "1{/^---$/d;}" > "$BIN/scratch/yaml/cert-manager.noncrd.unlicensed.yaml"
  # $(bin_dir)/scratch/yaml/cert-manager.all.unlicensed.yaml
  "$HELM" template --kube-version="1.29.0" --api-versions="" --namespace=cert-manager \
    --set="crds.enabled=true" --set="creator=static" --set="startupapicheck.enabled=false" \
    cert-manager "$BIN/cert-manager-$VERSION.tgz" | sed -e "1{/^---$/d;}" > "$BIN/scratch/yaml/cert-manager.all.unlicensed.yaml"
  # $(bin_dir)/scratch/yaml/cert-manager.crds.unlicensed.yaml
  # Upstream: `go run hack/extractcrd/main.go` (needs Go + k8s modules). Same algorithm in python:
  # split on "\n---", keep docs that are apiextensions.k8s.io CustomResourceDefinitions,
  # TrimPrefix "---", TrimSpace, print each followed by "\n", separated by "---\n".
  python3 - "$BIN/scratch/yaml/cert-manager.all.unlicensed.yaml" > "$BIN/scratch/yaml/cert-manager.crds.unlicensed.yaml" <<'PY'
import re, sys
data = open(sys.argv[1], encoding="utf-8").read()
out = []
for doc in re.split(r"\n---", data):
    if re.search(r"(?m)^kind:\s*CustomResourceDefinition\s*$", doc) and \
       re.search(r"(?m)^apiVersion:\s*apiextensions\.k8s\.io/v1(beta1)?\s*$", doc):
        if doc.startswith("---"):
            doc = doc[3:]
        out.append(doc.strip())
if not out:
    sys.exit("no CRDs found")
sys.stdout.write("---\n".join(d + "\n" for d in out))
PY
  # $(bin_dir)/scratch/license.yaml (LICENSE_YEAR=2022 in make/licenses.mk)
  sed -e "s/YEAR/2022/g" < hack/boilerplate-yaml.txt > "$BIN/scratch/license.yaml"
  # $(bin_dir)/yaml/cert-manager.yaml
  ./hack/concat-yaml.sh deploy/manifests/namespace.yaml "$BIN/scratch/yaml/cert-manager.crds.unlicensed.yaml" \
    "$BIN/scratch/yaml/cert-manager.noncrd.unlicensed.yaml" | cat "$BIN/scratch/license.yaml" - > "$BIN/yaml/cert-manager.yaml"
) 2> >(tee "$WORK/logs/cert-manager.stderr" >&2)
cp "$CM_SRC/_bin/yaml/cert-manager.yaml" "$OUT/cert-manager-$CM_TAG.yaml"

###############################################################################
# 2. k8ssandra-operator v1.32.5 control-plane / data-plane cluster-scope
###############################################################################
K8SS_SRC="$WORK/k8ssandra-operator-$K8SS_TAG"
K8SS_CASS_SRC="$WORK/cass-operator-$K8SS_CASS_TAG"
export_tag "$K8SS_GIT" "$K8SS_TAG" "$K8SS_SRC"
export_tag "$CASS_GIT" "$K8SS_CASS_TAG" "$K8SS_CASS_SRC"

# The only remote base reachable from the two cluster-scope overlays.
# (config/cass-operator/ns-scoped also has one, .../config/deployments/default?ref=v1.30.2,
#  but it is not referenced by the cluster-scope overlays and is left untouched.)
REMOTE="github.com/k8ssandra/cass-operator/config/deployments/cluster?ref=$K8SS_CASS_TAG"
LOCAL="../../../../cass-operator-$K8SS_CASS_TAG/config/deployments/cluster"
KF="$K8SS_SRC/config/cass-operator/cluster-scoped/kustomization.yaml"
grep -qxF -- "- $REMOTE" "$KF" || { echo "expected remote ref not found in $KF" >&2; exit 1; }
sed -i -e "s#^- github.com/k8ssandra/cass-operator/config/deployments/cluster?ref=$K8SS_CASS_TAG\$#- $LOCAL#" "$KF"
grep -qxF -- "- $LOCAL" "$KF"
[ -d "$K8SS_SRC/config/cass-operator/cluster-scoped/$LOCAL" ]
git --git-dir="$K8SS_GIT" show "$K8SS_TAG:config/cass-operator/cluster-scoped/kustomization.yaml" \
  | diff -u --label a/config/cass-operator/cluster-scoped/kustomization.yaml \
           --label b/config/cass-operator/cluster-scoped/kustomization.yaml - "$KF" \
  > "$WORK/logs/k8ssandra-operator-rewrite.diff" || true

"$KUBECTL" kustomize "$K8SS_SRC/config/deployments/control-plane/cluster-scope" \
  > "$OUT/k8ssandra-operator-$K8SS_TAG-control-plane.yaml" 2> "$WORK/logs/k8ssandra-control-plane.stderr"
"$KUBECTL" kustomize "$K8SS_SRC/config/deployments/data-plane/cluster-scope" \
  > "$OUT/k8ssandra-operator-$K8SS_TAG-data-plane.yaml" 2> "$WORK/logs/k8ssandra-data-plane.stderr"

###############################################################################
# 3. cass-operator v1.32.0 standalone, cluster-scoped (no remote bases, no rewrites)
###############################################################################
CASS_SRC="$WORK/cass-operator-$CASS_TAG"
export_tag "$CASS_GIT" "$CASS_TAG" "$CASS_SRC"
"$KUBECTL" kustomize "$CASS_SRC/config/deployments/cluster" \
  > "$OUT/cass-operator-$CASS_TAG-cluster.yaml" 2> "$WORK/logs/cass-operator-cluster.stderr"

(cd "$OUT" && sha256sum cert-manager-$CM_TAG.yaml k8ssandra-operator-$K8SS_TAG-control-plane.yaml \
   k8ssandra-operator-$K8SS_TAG-data-plane.yaml cass-operator-$CASS_TAG-cluster.yaml) | tee "$WORK/logs/sha256sums.txt"

# Optional: object table (needs PyYAML); writes $OUT/objects.txt
if python3 -c 'import yaml' 2>/dev/null && [ -f "$HERE/analyze.py" ]; then
  python3 "$HERE/analyze.py" "$OUT" > "$WORK/logs/facts.json"
fi
