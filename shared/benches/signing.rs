//! Open Badges 3.0 signing cost, one core, contexts already processed (as in a warm Lambda):
//! `cargo bench -p accolade --bench signing`. docs/performance.md records credentials per second.

// A benchmark is a tool: a failed unwrap stops it with its message.
#![allow(clippy::unwrap_used)]

mod common;

use accolade::{
    domain::credential::StatusEntry,
    ld::{self, ProofOptions},
    ob3,
    urls::PublicUrls,
};
use criterion::{criterion_group, criterion_main, Criterion};
use ed25519_dalek::SigningKey;
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    let (award, template, issuer) = common::fixture();
    let urls = PublicUrls::new("https://badges.example.ac.kr");
    let status = StatusEntry {
        list: 1,
        index: 4242,
    };
    let unsigned = ob3::credential(&urls, &award, &template, &issuer, status);
    let key = SigningKey::from_bytes(&[7; 32]);
    let opts = ProofOptions {
        verification_method: ob3::verification_method(
            &urls,
            &issuer.id,
            accolade::domain::credential::KeyNumber(1),
        ),
        created: "2026-11-30T00:00:00Z".into(),
    };
    // warm: the contexts are processed once, as on a Lambda's first credential
    ld::canonical_nquads(&unsigned).unwrap();
    c.bench_function("ob3_sign_credential", |b| {
        b.iter(|| {
            let mut doc = unsigned.clone();
            ld::sign(&mut doc, &key, &opts).unwrap();
            black_box(doc)
        });
    });
    c.bench_function("ob3_canonicalize_credential", |b| {
        b.iter(|| black_box(ld::canonical_nquads(&unsigned).unwrap()));
    });
    let revoked: Vec<u32> = (0..1000).map(|i| i * 97).collect();
    c.bench_function("ob3_status_list_1000_revoked", |b| {
        b.iter(|| black_box(ob3::encoded_list(revoked.iter().copied())));
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
