use super::*;

fn render_label(value: &'static str) -> String {
    let mut registry = Registry::default();
    let family = Family::<RouteLabels, PromCounter>::default();
    registry.register("probe", "Probe", family.clone());
    family
        .get_or_create(&RouteLabels {
            route: Bounded(value),
        })
        .inc();
    let mut out = String::new();
    prometheus_client::encoding::text::encode(&mut out, &registry).unwrap();
    let line = out
        .lines()
        .find(|l| l.starts_with("probe_total{"))
        .unwrap()
        .to_string();
    line.strip_prefix("probe_total{route=\"")
        .and_then(|l| l.strip_suffix("\"} 1"))
        .unwrap()
        .to_string()
}

#[test]
fn bounded_labels_pass_identifier_characters_through() {
    assert_eq!(render_label("chat-completions"), "chat-completions");
    assert_eq!(
        render_label("v1/messages:stream_2.0"),
        "v1/messages:stream_2.0"
    );
}

#[test]
fn bounded_labels_neutralise_anything_else() {
    assert_eq!(render_label(""), "none");
    assert_eq!(render_label("a\"b"), "a_b");
    assert_eq!(render_label("x\n# EOF"), "x___EOF");
    assert_eq!(render_label("a\\b{c}=d,e"), "a_b_c__d_e");
    assert_eq!(render_label("주민번호"), "____");
    let long: &'static str = "r".repeat(100).leak();
    assert_eq!(render_label(long), "r".repeat(64));
}

#[test]
fn counter_indexes_follow_all() {
    for (i, counter) in Counter::ALL.iter().enumerate() {
        assert_eq!(counter.index(), i, "{counter:?}");
    }
}

#[test]
fn counter_names_and_help_are_well_formed() {
    let mut names: Vec<&str> = Counter::ALL.iter().map(|c| c.metric_name()).collect();
    for counter in Counter::ALL {
        let name = counter.metric_name();
        assert!(
            name.starts_with("haechi_") && name.ends_with("_total"),
            "{name}"
        );
        assert!(
            name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
            "{name}"
        );
        let help = counter.help();
        assert!(
            !help.ends_with('.'),
            "prometheus-client adds the period: {help}"
        );
        assert!(!help.contains('\n') && !help.contains('\\'), "{help}");
    }
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), Counter::ALL.len());
}

#[test]
fn non_finite_durations_are_dropped_and_negative_ones_count_as_zero() {
    let metrics = GatewayMetrics::new();
    metrics.observe_duration("r", f64::NAN);
    metrics.observe_duration("r", f64::INFINITY);
    let text = metrics.render();
    assert!(
        !text.contains("haechi_request_duration_seconds_count"),
        "{text}"
    );
    metrics.observe_duration("r", -3.0);
    let text = metrics.render();
    assert!(
        text.contains("haechi_request_duration_seconds_sum{route=\"r\"} 0.0\n"),
        "{text}"
    );
    assert!(
        text.contains("haechi_request_duration_seconds_bucket{le=\"0.005\",route=\"r\"} 1\n")
            || text
                .contains("haechi_request_duration_seconds_bucket{route=\"r\",le=\"0.005\"} 1\n"),
        "{text}"
    );
}
