# Everyday commands. `cargo run --release` and `cargo test` need nothing else.

# Serve MCP over stdio against the local sandbox tenant
serve:
    cargo run --release -- serve --sandbox

# Build the guest plugins to wasm32-wasip2 components
build-plugins:
    cd plugins && cargo build --release --workspace --target wasm32-wasip2

# Unit and end-to-end tests
test:
    cargo test --workspace

# Formatting and lints, as CI runs them
lint:
    bash .ci/run

# Start-up, per-call and memory figures against the sandbox (docs/performance.md)
bench:
    cargo build --release
    cargo run --release -p m365-harness -- bench

# Fuzz targets, then a 30-minute soak with faults (docs/security.md)
stress soak="1800" fuzz="300":
    scripts/stress {{soak}} {{fuzz}}

# Line coverage of host, sandbox and SDK (at least 80 %)
coverage:
    scripts/coverage
