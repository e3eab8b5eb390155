//! Detector throughput: `cargo bench -p haechi-core --bench detect`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use haechi_core::config::FiltersConfig;
use haechi_core::detect::Detector;
use haechi_core::vocab::{Direction, LeafKind};

const CHAT: &str =
    "Hi team, quick update on the migration plan. We moved the staging cluster to the \
new region last night and the dashboards look healthy. The remaining work is the cut-over of the \
batch jobs, which we want to schedule for next Tuesday after the weekly sync. Please review the \
runbook draft and leave comments inline; in particular check the rollback section, since the old \
queue consumers must be drained before we flip the traffic. I also updated the on-call rota so \
that two people cover the window. If anything looks off, ping me directly and we can adjust the \
timeline. Thanks for all the help getting the load tests done, the results were better than we \
expected and the latency budget has plenty of headroom now. Let me know what you think about \
moving the retro to Friday afternoon instead of Thursday morning.";

const CHAT_PII: &str =
    "Hi, I'm Minji. You can reach me at minji.kim@example.com or 010-1234-5678. \
My card 4242 4242 4242 4242 was charged twice on the last invoice, and the support portal asked \
for my resident number 900101-1234568 which I'd rather not share in chat. Also our deploy script \
still has api_key=Zq81fLw0PxT4mR2sKd hard-coded; can someone rotate it before Friday? The meeting \
is at 3pm in room 4, and the agenda has 5 items. Thanks!";

const KOREAN: &str = "안녕하세요, 이번 주 배포 일정 공유드립니다. 스테이징 환경은 어제 밤에 새 리전으로 \
옮겼고 대시보드는 정상입니다. 남은 작업은 배치 작업 전환이며 다음 주 화요일 정기 회의 이후로 잡으려고 \
합니다. 런북 초안을 검토해 주시고 특히 롤백 절차를 확인 부탁드립니다. 기존 큐 소비자를 먼저 비운 뒤에 \
트래픽을 전환해야 합니다. 문제가 보이면 바로 연락 주세요. 감사합니다.";

fn bench(c: &mut Criterion) {
    let detector = match Detector::new(&FiltersConfig::default()) {
        Ok(d) => d,
        Err(e) => panic!("{e}"),
    };
    let mut big = "a".repeat(256 * 1024);
    big.push_str(" minji.kim@example.com");
    let json_ids: String = (0..1000)
        .map(|i| {
            format!(
                "{{\"id\":{},\"ts\":\"2024-05-01T10:{:02}:00Z\",\"ok\":true}},",
                1_700_000_000 + i * 7,
                i % 60
            )
        })
        .collect();

    let cases: [(&str, &str, Direction); 7] = [
        ("256KiB_a_then_email", &big, Direction::Request),
        ("chat_1KiB_clean", CHAT, Direction::Request),
        ("chat_1KiB_clean_response", CHAT, Direction::Response),
        ("chat_pii", CHAT_PII, Direction::Request),
        ("korean_chat", KOREAN, Direction::Request),
        ("short_value", "gpt-4o-mini", Direction::Request),
        ("json_ids_ts_45KiB", &json_ids, Direction::Request),
    ];
    let mut group = c.benchmark_group("scan");
    let mut out = Vec::with_capacity(16);
    for (name, text, direction) in cases {
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_function(name, |b| {
            b.iter(|| {
                out.clear();
                detector.scan(black_box(text), LeafKind::Value, direction, &mut out);
                black_box(out.len())
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
