# syntax=docker/dockerfile:1
#
# Rampart node image.
#
#   docker build -t rampart:local .
#   docker run --rm -p 8080:8080 rampart:local
#   docker run --rm -p 8080:8080 rampart:local serve --listen 0.0.0.0:8080 --services asset \
#       --amqp-url amqp://rampart:rampart@rabbitmq:5672/%2f
#
# Needs BuildKit (the default builder of current Docker) for the cache mounts and the heredoc.
# docker-compose.yml runs a cluster of these nodes with RabbitMQ and PostgreSQL.

############################################################################################
# Builder: compiles the `rampart` binary. The workspace needs rust-version 1.94.1 (edition 2024).
############################################################################################
FROM rust:1.94.1-bookworm AS builder

WORKDIR /build
ENV CARGO_TERM_COLOR=never \
    CARGO_INCREMENTAL=0

# 1. The manifests alone, so that the dependency download below is redone only when they change.
COPY Cargo.toml Cargo.lock ./
COPY supervisors/Cargo.toml supervisors/
COPY actors/platform/Cargo.toml actors/platform/
COPY actors/contracts/Cargo.toml actors/contracts/
COPY actors/asset/Cargo.toml actors/asset/
COPY actors/risk/Cargo.toml actors/risk/
COPY actors/control/Cargo.toml actors/control/
COPY actors/incident/Cargo.toml actors/incident/
COPY actors/audit/Cargo.toml actors/audit/

# Cargo needs every target a manifest names to exist before it reads the workspace: stub files
# for the libraries and for each [[bin]], [[bench]], [[test]] and [[example]] section.
RUN <<'EOF'
set -eu
for dir in . supervisors actors/platform actors/contracts actors/asset actors/risk actors/control actors/incident actors/audit; do
    mkdir -p "$dir/src"
    touch "$dir/src/lib.rs"
    awk '
        function flush() { if (kind != "") print kind, name, path; kind = "" }
        /^\[\[(bin|bench|test|example)\]\]/ { flush(); kind = $0; gsub(/[][ ]/, "", kind); name = ""; path = ""; next }
        /^\[/ { flush(); next }
        kind != "" && /^name *=/ { name = $0; sub(/^[^"]*"/, "", name); sub(/".*/, "", name) }
        kind != "" && /^path *=/ { path = $0; sub(/^[^"]*"/, "", path); sub(/".*/, "", path) }
        END { flush() }
    ' "$dir/Cargo.toml" | while read -r kind name path; do
        if [ -z "$path" ]; then
            case "$kind" in
                bin) path="src/bin/$name.rs" ;;
                bench) path="benches/$name.rs" ;;
                test) path="tests/$name.rs" ;;
                example) path="examples/$name.rs" ;;
            esac
        fi
        mkdir -p "$(dirname "$dir/$path")"
        echo 'fn main() {}' > "$dir/$path"
    done
done
EOF

# CARGO_HOME is /usr/local/cargo in this image: its registry/ and git/db/ are the download caches.
RUN --mount=type=cache,id=rampart-cargo-registry,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,id=rampart-cargo-git,target=/usr/local/cargo/git/db,sharing=locked \
    cargo fetch --locked

# 2. The sources. The touch makes cargo rebuild the workspace crates over whatever the cached
#    target/ holds (COPY keeps the build context's modification times, which may be older).
COPY src src
COPY supervisors supervisors
COPY actors actors
RUN --mount=type=cache,id=rampart-cargo-registry,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,id=rampart-cargo-git,target=/usr/local/cargo/git/db,sharing=locked \
    --mount=type=cache,id=rampart-target,target=/build/target,sharing=locked \
    touch src/main.rs src/lib.rs supervisors/src/lib.rs actors/*/src/lib.rs \
    && cargo build --release --locked --bin rampart \
    && install -D -m 0755 target/release/rampart /out/rampart

############################################################################################
# Runtime: the binary, its configuration file, CA certificates (amqps://, https feeds) and
# curl for the health check; runs as the unprivileged user rampart (uid/gid 10001).
############################################################################################
FROM debian:bookworm-slim AS runtime

RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 10001 rampart \
    && useradd --system --uid 10001 --gid 10001 --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin rampart \
    && install -d -o rampart -g rampart -m 0750 /app /app/data

COPY --from=builder /out/rampart /usr/local/bin/rampart
# Read from the working directory as config/default.toml. Data feeds are not bundled.
COPY config/ /app/config/

# The default database is sqlite://data/rampart.sqlite, i.e. /app/data (writable by rampart).
WORKDIR /app
ENV RAMPART_LOG=info

USER rampart
EXPOSE 8080

# /readyz: 200 when every actor is ready and the broker reachable, else 503 (curl -f fails).
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD ["curl", "-fsS", "-o", "/dev/null", "http://127.0.0.1:8080/readyz"]

ENTRYPOINT ["rampart"]
CMD ["serve", "--listen", "0.0.0.0:8080"]
