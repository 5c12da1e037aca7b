# The peer mode of scripts/bench (sourced by it; uses its $bin, $runs and DOCKER_HOST).
#
# For each project, BENCH_RUNS rounds, alternating which builder goes first:
#   cold build   (BuildKit's cache and cache mounts pruned, base image present)
#   no-op        (the same build again)
#   source edit  (a comment appended to predict.py)
# for cogpack and for the Dockerfile Cog generates for the project, then prints and records
# the medians, the ratios (cogpack / Cog) and the image sizes.
#
# The Dockerfile is what Cog's standard generator (replicate/cog pkg/dockerfile/
# standard_generator.go, the `python:<v>-slim` path that `cog debug` prints) writes for the
# project, written for the same local base image cogpack uses, with the least change that
# lets it run on these machines, each one commented in peer_dockerfile:
#   - no registry: no `#syntax=` frontend image (BuildKit's built-in one); uv comes from a stage that pip-installs Cog's pinned uv release, not from
#     ghcr.io/astral-sh/uv; tini is the base image's, not downloaded from GitHub;
#   - Debian's Python is "externally managed" (python:slim's is not): a venv on PATH;
#   - the intercepting proxy's CA is installed as Cog does with COG_CA_CERT.
# BuildKit Dockerfile builds need buildx: Debian 13's docker-buildx is fetched into a temp
# dir with a scratch apt configuration (as cogpack fetches its engine) for this script only.

peer_cog_uv=0.9.26 # Cog's UVVersion (standard_generator.go)

peer_fetch_buildx() {
  local dir=$1 apt=$1/apt
  mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$dir/root" "$dir/config/cli-plugins"
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] ${COGPACK_MIRROR:-http://deb.debian.org/debian} trixie main" > "$apt/sources.list"
  : > "$apt/status"
  cat > "$apt/apt.conf" <<CONF
Dir::Etc::sourcelist "$apt/sources.list";
Dir::Etc::sourceparts "$apt/none";
Dir::State::lists "$apt/lists";
Dir::State::status "$apt/status";
Dir::Cache "$apt/cache";
APT::Sandbox::User "root";
CONF
  APT_CONFIG=$apt/apt.conf apt-get -qq update >/dev/null
  (cd "$dir" && APT_CONFIG=$apt/apt.conf apt-get -qq download docker-buildx >/dev/null)
  dpkg-deb -x "$dir"/docker-buildx_*.deb "$dir/root"
  ln -s "$dir/root/usr/libexec/docker/cli-plugins/docker-buildx" "$dir/config/cli-plugins/docker-buildx"
}

# peer_dockerfile PROJECT_DIR PLAN_JSON: writes PROJECT_DIR/.cog/tmp/{Dockerfile,requirements.txt,cog-ca-cert.crt}.
peer_dockerfile() {
  python3 - "$1" "$2" "$peer_cog_uv" <<'PY'
import json, os, shutil, sys
project, plan_path, uv = sys.argv[1:4]
plan = json.load(open(plan_path))
config = json.loads(plan["resolved"]["cog"]["config_label"])
cog_version = plan["resolved"]["cog"]["version"]
base = plan["resolved"]["base_image"]["version"]
build = config.get("build", {})
tmp = os.path.join(project, ".cog", "tmp")
os.makedirs(tmp, exist_ok=True)
shutil.copy(os.environ.get("SSL_CERT_FILE", "/etc/ssl/certs/ca-certificates.crt"), os.path.join(tmp, "cog-ca-cert.crt"))
lines = []
if build.get("python_requirements"):
    lines = open(os.path.join(project, build["python_requirements"])).read().splitlines()
else:
    lines = list(build.get("python_packages") or [])
# Cog strips cog and coglet from the user's requirements and installs its own.
keep = [l for l in lines if l.strip().split("=")[0].split(">")[0].split("<")[0].strip().lower() not in ("cog", "coglet")]
CFLAGS = 'ENV CFLAGS="-O3 -funroll-loops -fno-strict-aliasing -flto -S"'
ca = [
    "COPY .cog/tmp/cog-ca-cert.crt /tmp/cog-ca-cert.crt",
    "RUN cp /tmp/cog-ca-cert.crt /usr/local/share/ca-certificates/cog-ca-cert.crt && update-ca-certificates && cat /tmp/cog-ca-cert.crt >> /etc/ssl/certs/ca-certificates.crt",
    "ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt",
    "ENV REQUESTS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt",
]
out = [
    # Local change: no `#syntax=docker/dockerfile:1.4` line (that frontend image is on Docker
    # Hub); the engine's built-in Dockerfile frontend reads the same file.
    # Local change: FROM the stand-in for python:<v>-slim (peer_images: the local base image
    # with a venv on PATH, made before timing, as a pulled python:slim would be present).
    f"FROM {os.environ['PEER_PYTHON_IMAGE']}",
    "ENV DEBIAN_FRONTEND=noninteractive",
    "ENV PYTHONUNBUFFERED=1",
    "ENV LD_LIBRARY_PATH=$LD_LIBRARY_PATH:/usr/lib/x86_64-linux-gnu:/usr/local/nvidia/lib64:/usr/local/nvidia/bin",
    "ENV NVIDIA_DRIVER_CAPABILITIES=all",
    *ca,
    # Local change: the base image ships tini (Cog downloads it from GitHub to /sbin/tini).
    'ENTRYPOINT ["/usr/bin/tini", "--"]',
]
for k, v in sorted((config.get("environment") or {}).items()) if isinstance(config.get("environment"), dict) else []:
    out.append(f"ENV {k}={v}")
if build.get("system_packages"):
    out.append("RUN --mount=type=cache,target=/var/cache/apt,sharing=locked apt-get update -qq && apt-get install -qqy "
               + " ".join(build["system_packages"]) + " && rm -rf /var/lib/apt/lists/*")
out += [
    # Local change: uv from the stand-in for ghcr.io/astral-sh/uv (peer_images).
    f"COPY --from={os.environ['PEER_UV_IMAGE']} /uv /usr/local/bin/",
    # Local change: no `ENV UV_SYSTEM_PYTHON=true`: the stand-in's Python is a venv on PATH
    # (Debian's python3 refuses installs into the system, PEP 668), and uv installs into it.
]
if any(l.strip() for l in keep):
    open(os.path.join(tmp, "requirements.txt"), "w").write("\n".join(keep) + "\n")
    out += [
        "COPY .cog/tmp/requirements.txt /tmp/requirements.txt",
        CFLAGS,
        "RUN --mount=type=cache,target=/root/.cache/pip uv run pip install --cache-dir /root/.cache/pip -r /tmp/requirements.txt",
        "ENV CFLAGS=",
    ]
out += [
    CFLAGS,
    f"RUN --mount=type=cache,target=/root/.cache/uv uv pip install --no-cache cog=={cog_version}",
    "ENV CFLAGS=",
    'RUN find / -type f -name "*python*.so" -printf "%h\\n" | sort -u > /etc/ld.so.conf.d/cog.conf && ldconfig',
]
for r in build.get("run") or []:
    out.append("RUN " + (r["command"] if isinstance(r, dict) else r))
out += ["WORKDIR /src", "EXPOSE 5000"]
if config.get("predict"):
    out.append(f'ENV COG_PREDICT_TYPE_STUB="{config["predict"]}"')
out += ['CMD ["python", "-m", "cog.server.http"]', "COPY . /src"]
open(os.path.join(tmp, "Dockerfile"), "w").write("\n".join(out) + "\n")
PY
}

# The stand-ins for the images Cog's Dockerfile starts from, made once before timing (as a
# pulled python:slim and ghcr.io/astral-sh/uv would be present): the local base image with a
# venv (with pip) on PATH, and Cog's uv release at /uv.
peer_images() { # BASE_IMAGE CA_FILE DIR
  local dir=$3
  mkdir -p "$dir"; cp "$2" "$dir/ca.crt"
  PEER_PYTHON_IMAGE=cogpack-bench-peer/python:$(echo "$1" | tr ':/' '--')
  PEER_UV_IMAGE=cogpack-bench-peer/uv:$peer_cog_uv
  export PEER_PYTHON_IMAGE PEER_UV_IMAGE
  printf '%s\n' "FROM $1" "RUN python3 -m venv /venv" "ENV VIRTUAL_ENV=/venv" "ENV PATH=/venv/bin:\$PATH" > "$dir/python.Dockerfile"
  printf '%s\n' "FROM $1 AS build" "COPY ca.crt /tmp/ca.crt" "RUN PIP_CERT=/tmp/ca.crt PIP_BREAK_SYSTEM_PACKAGES=1 python3 -m pip install --target /opt/uv uv==$peer_cog_uv" \
    "FROM scratch" "COPY --from=build /opt/uv/bin/uv /uv" > "$dir/uv.Dockerfile"
  DOCKER_CONFIG=$dockercfg docker buildx build --load -q -f "$dir/python.Dockerfile" -t "$PEER_PYTHON_IMAGE" "$dir" >/dev/null
  DOCKER_CONFIG=$dockercfg docker buildx build --load -q -f "$dir/uv.Dockerfile" -t "$PEER_UV_IMAGE" "$dir" >/dev/null
}

peer_project_jupyterlab() {
  mkdir -p "$1"
  cp fixtures/string-project/predict.py "$1/"
  echo "jupyterlab==3.2.4" > "$1/requirements.txt"
  cat > "$1/cog.yaml" <<YAML
build:
  python_version: "3.11"
  python_requirements: requirements.txt
predict: "predict.py:Predictor"
YAML
}

peer_main() {
  local work=$work/peer # under scripts/bench's temp dir, removed at exit
  mkdir -p "$work"
  echo "fetching docker-buildx (Debian 13) into $work/buildx ..." >&2
  peer_fetch_buildx "$work/buildx"
  local dockercfg=$work/buildx/config
  local names=() dirs=()
  if [ $# -eq 0 ]; then
    cp -r fixtures/string-project "$work/string-project"
    peer_project_jupyterlab "$work/jupyterlab"
    names=("string-project" "\`jupyterlab==3.2.4\` (67 wheels)"); dirs=("$work/string-project" "$work/jupyterlab")
  else
    for d in "$@"; do cp -r "$d" "$work/$(basename "$d")"; names+=("$(basename "$d")"); dirs+=("$work/$(basename "$d")"); done
  fi
  local rows=""
  for i in "${!dirs[@]}"; do
    local dir=${dirs[$i]} name=${names[$i]}
    local tag_c=cogpack-bench-peer/cogpack:$i tag_d=cogpack-bench-peer/cog:$i
    "$bin" plan "$dir" --format json > "$work/plan.json"
    peer_images "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["resolved"]["base_image"]["version"])' "$work/plan.json")" \
      "${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}" "$work/images"
    peer_dockerfile "$dir" "$work/plan.json"
    local -a cc=() cn=() ce=() dc=() dn=() de=()
    # Make sure the base image is there before timing anything.
    "$bin" build "$dir" -t "$tag_c" --progress quiet
    for r in $(seq "$runs"); do
      local order="cogpack cog"; [ $((r % 2)) -eq 0 ] && order="cog cogpack"
      for who in $order; do
        # The images stay tagged: removing them under the containerd image store while
        # their layers are shared has left BuildKit without a parent snapshot here.
        DOCKER_CONFIG=$dockercfg docker builder prune -af >/dev/null
        local b
        if [ "$who" = cogpack ]; then
          b() { "$bin" build "$dir" -t "$tag_c" --progress quiet; }
        else
          b() { DOCKER_CONFIG=$dockercfg docker buildx build --load -q -f "$dir/.cog/tmp/Dockerfile" -t "$tag_d" "$dir" >/dev/null; }
        fi
        # A failed cold build (a network hiccup) is retried once, from a pruned cache again.
        t=$(now); b || { DOCKER_CONFIG=$dockercfg docker builder prune -af >/dev/null; t=$(now); b; }; local cold; cold=$(elapsed "$t" "$(now)")
        t=$(now); b; local noop; noop=$(elapsed "$t" "$(now)")
        echo "# edit $r $who" >> "$dir/predict.py"
        t=$(now); b; local edit; edit=$(elapsed "$t" "$(now)")
        echo "$name round $r $who: cold $cold s, no-op $noop s, edit $edit s" >&2
        if [ "$who" = cogpack ]; then cc+=("$cold"); cn+=("$noop"); ce+=("$edit"); else dc+=("$cold"); dn+=("$noop"); de+=("$edit"); fi
      done
    done
    local sc sd
    sc=$(docker image inspect "$tag_c" --format '{{.Size}}'); sd=$(docker image inspect "$tag_d" --format '{{.Size}}')
    cell() { # cogpack-list | cog-list
      local a b; a=$(printf '%s\n' $1 | median); b=$(printf '%s\n' $2 | median)
      awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f s vs %.2f s (%.2fx)", a, b, a / b }'
    }
    rows+="| $name | $(cell "${cc[*]}" "${dc[*]}") | $(cell "${cn[*]}" "${dn[*]}") | $(cell "${ce[*]}" "${de[*]}") | $((sc / 1000000)) vs $((sd / 1000000)) MB ($(awk -v a="$sc" -v b="$sd" 'BEGIN{printf "%.2fx", a/b}')) |"$'\n'
    docker image rm -f "$tag_c" "$tag_d" >/dev/null 2>&1 || true
  done
  local engine
  engine=$("$bin" engine status 2>/dev/null | sed -n 's/^docker: *\([^ ]*\).*/\1/p')
  local section
  section=$(cat <<MD
## Against Cog's Dockerfile

\`scripts/bench peer\`: each project built by cogpack and by the Dockerfile Cog's standard
generator writes for it (\`cog debug\`, the \`python:<v>-slim\` path, on the same local base
image; \`scripts/bench-peer.sh\` says what had to change to run here), on the same engine (Docker
${engine:-?}, BuildKit with MergeOp/DiffOp, $(nproc) shared cores), alternating which goes
first, median of $runs rounds, measured $(date -u +%Y-%m-%d). Each cell: cogpack vs Cog
(ratio). Cold: build cache and cache mounts pruned, base image present.

| project | cold build | no-op | source edit | image |
|---|---|---|---|---|
${rows%$'\n'}
MD
)
  python3 - "$section" <<'PY'
import re, sys
path = "docs/benchmarks.md"
text = open(path).read()
section = sys.argv[1].rstrip() + "\n"
head = "## Against Cog's Dockerfile\n"
if head in text:
    text = re.sub(r"(?ms)^## Against Cog's Dockerfile\n.*?(?=^## |\Z)", lambda m: section + "\n", text)
else:
    text = text.rstrip() + "\n\n" + section
open(path, "w").write(text.rstrip("\n") + "\n")
PY
  echo "$section"
}
