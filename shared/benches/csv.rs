//! CSV parse + validate + award building, one core, no I/O:
//! `cargo bench -p accolade --bench csv`. Reports rows/s for a 100,000-row file.

// A benchmark is a tool: a failed unwrap stops it with its message.
#![allow(clippy::unwrap_used)]

use accolade::{
    csv_import::{file, rows},
    domain::{
        email::Email,
        issuer::{Issuer, IssuerProfile},
        template::{Criteria, Template, TemplateSpec},
        time::Zone,
        url::WebUrl,
    },
    issuing::{build_award, row_key, IssueRequest},
};
use chrono::Utc;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;

const ROWS: usize = 100_000;

fn file_bytes() -> Vec<u8> {
    let mut s = String::from("이메일,이름,발급일,기수,증빙\r\n");
    for i in 0..ROWS {
        s.push_str(&format!(
            "learner{i}@example.ac.kr,학습자 {i},2026-03-01,2026-봄,https://example.ac.kr/p/{i}\r\n"
        ));
    }
    s.into_bytes()
}

fn bench(c: &mut Criterion) {
    let bytes = file_bytes();
    let now = Utc::now();
    let issuer = Issuer::new(
        IssuerProfile::new(
            "U".into(),
            WebUrl::parse("https://u.example").unwrap(),
            Email::parse("a@u.example").unwrap(),
        ),
        now,
    );
    let template = Template::new(
        issuer.id.clone(),
        TemplateSpec {
            name: "T".into(),
            description: "D".into(),
            criteria: Criteria {
                narrative: Some("n".into()),
                url: None,
            },
            skills: vec![],
            image: Default::default(),
            validity: Default::default(),
            reissue_policy: Default::default(),
            related: vec![],
            banner: None,
            enrolment: None,
            follow_ups: Default::default(),
        },
        now,
    );
    let mut g = c.benchmark_group("csv_100k");
    g.throughput(Throughput::Elements(ROWS as u64));
    g.sample_size(10);
    g.bench_function("parse_validate_build", |b| {
        b.iter(|| {
            let mut f = file::open(&bytes[..]).unwrap();
            let cols = f.columns.clone();
            let mut n = 0usize;
            while let Some((row, rec, order)) = f.next_record().unwrap() {
                let v =
                    rows::validate(rec, &cols, row, (Zone::default(), Utc::now()), order).unwrap();
                let key = row_key(&template, &v.email, &v.issued_key, v.external_id.as_deref());
                let req = IssueRequest {
                    email: v.email,
                    name: v.name,
                    phone: v.phone,
                    issued_on: v.issued_on,
                    expires_on: None,
                    narrative: v.narrative,
                    evidence: v.evidence,
                    external_id: v.external_id,
                    locale: v.locale,
                    notify: true,
                    cohort: v.cohort,
                    batch_id: None,
                };
                let award = build_award(&issuer, &template, &req, now).unwrap();
                black_box((key, award));
                n += 1;
            }
            assert_eq!(n, ROWS);
        });
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
