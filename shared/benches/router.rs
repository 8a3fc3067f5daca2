//! What building each HTTP function's router costs at a cold start, one core, no I/O:
//! `cargo bench -p accolade --bench router`. axum clones the state into every route's handler
//! and layer while it builds a router (about 600 clones of `App` for the api's 76 routes), so
//! this is where the api's init differs from verify's.

// A benchmark is a tool: a failed unwrap stops it with its message.
#![allow(clippy::unwrap_used)]

use accolade::{app::App, config::Config, http};
use aws_config::{BehaviorVersion, Region, SdkConfig};
use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    let sdk = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .build();
    let config = Config::local(
        "http://127.0.0.1:1",
        "bench",
        "bench-uploads",
        "https://badges.example.ac.kr",
    );
    let app = App::new(config, &sdk);
    c.bench_function("api_router_build", |b| {
        b.iter(|| black_box(http::api::router(app.clone())));
    });
    c.bench_function("verify_router_build", |b| {
        b.iter(|| black_box(http::verify::router(app.clone())));
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
