//! A sweep's results as one self-contained HTML page (`--chart PATH`): the text table and
//! three SVG line charts against N — join time (p50, p95), end-to-end loss, and the CPU of
//! the service's busiest thread and of the whole service — drawn here, with no
//! dependency and no script, so the file opens anywhere and can be kept as an artefact.

use std::fmt::Write as _;

use crate::report::{percentile, RunResult};

/// One line of a chart: a name, a colour and a value per run (None: not measured).
struct Series {
    name: &'static str,
    colour: &'static str,
    values: Vec<Option<f64>>,
}

const W: f64 = 560.0;
const H: f64 = 260.0;
const LEFT: f64 = 60.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 30.0;
const BOTTOM: f64 = 40.0;

/// The HTML page for `results` (one run per N and muted mode, in sweep order).
pub fn html(results: &[RunResult], table: &str) -> String {
    let mut runs: Vec<&RunResult> = results.iter().collect();
    runs.sort_by_key(|r| r.n);
    let ns: Vec<f64> = runs.iter().map(|r| r.n as f64).collect();
    let join = [
        Series {
            name: "join p50 (ms)",
            colour: "#1f77b4",
            values: runs.iter().map(|r| percentile(&r.join_ms, 50.0)).collect(),
        },
        Series {
            name: "join p95 (ms)",
            colour: "#ff7f0e",
            values: runs.iter().map(|r| percentile(&r.join_ms, 95.0)).collect(),
        },
    ];
    let loss = [Series {
        name: "loss (%)",
        colour: "#d62728",
        values: runs.iter().map(|r| r.loss_pct()).collect(),
    }];
    let cpu = [
        Series {
            name: "service CPU (% of a core)",
            colour: "#2ca02c",
            values: runs.iter().map(|r| r.service_cpu).collect(),
        },
        Series {
            name: "busiest service thread (%)",
            colour: "#9467bd",
            values: runs
                .iter()
                .map(|r| r.service_top_thread.as_ref().map(|t| t.1))
                .collect(),
        },
    ];
    let holds: Vec<String> = runs
        .iter()
        .map(|r| {
            format!(
                "N={}: {}",
                r.n,
                if r.holds() { "holds" } else { "does not hold" }
            )
        })
        .collect();
    let mut s = String::new();
    let _ = write!(
        s,
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>acscalling-loadgen sweep</title>\
         <style>body{{font-family:sans-serif;margin:20px}}pre{{background:#f4f4f4;padding:8px}}\
         svg{{margin:6px;border:1px solid #ddd}}</style></head><body>\n\
         <h1>acscalling-loadgen sweep</h1>\n<p>{}</p>\n",
        escape(&holds.join("; "))
    );
    s.push_str(&svg("Join: request → media connected", &ns, &join));
    s.push_str(&svg("End-to-end loss in the hold window", &ns, &loss));
    s.push_str(&svg("Service CPU", &ns, &cpu));
    let _ = write!(s, "\n<pre>{}</pre>\n</body></html>\n", escape(table));
    s
}

/// One chart: x = N, y from 0 to the largest value (a little headroom), a polyline and dots
/// per series, axis ticks and a legend.
fn svg(title: &str, xs: &[f64], series: &[Series]) -> String {
    let (x_min, x_max) = xs
        .iter()
        .fold((f64::MAX, f64::MIN), |(a, b), x| (a.min(*x), b.max(*x)));
    let (x_min, x_max) = if xs.is_empty() {
        (0.0, 1.0)
    } else if x_max > x_min {
        (x_min, x_max)
    } else {
        (x_min - 1.0, x_max + 1.0)
    };
    let y_max = series
        .iter()
        .flat_map(|s| s.values.iter().flatten())
        .fold(0.0f64, |m, v| m.max(*v));
    let y_max = nice_ceiling(y_max * 1.1);
    let px = |x: f64| LEFT + (x - x_min) / (x_max - x_min) * (W - LEFT - RIGHT);
    let py = |y: f64| H - BOTTOM - y / y_max * (H - TOP - BOTTOM);
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{H}\" \
         viewBox=\"0 0 {W} {H}\" font-size=\"11\">\
         <text x=\"{LEFT}\" y=\"18\" font-size=\"13\" font-weight=\"bold\">{}</text>",
        escape(title)
    );
    // Axes and ticks.
    let _ = write!(
        s,
        "<line x1=\"{LEFT}\" y1=\"{y0}\" x2=\"{x1}\" y2=\"{y0}\" stroke=\"#333\"/>\
         <line x1=\"{LEFT}\" y1=\"{TOP}\" x2=\"{LEFT}\" y2=\"{y0}\" stroke=\"#333\"/>",
        y0 = H - BOTTOM,
        x1 = W - RIGHT
    );
    for i in 0..=4 {
        let y = y_max * f64::from(i) / 4.0;
        let _ = write!(
            s,
            "<text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>\
             <line x1=\"{LEFT}\" y1=\"{y:.1}\" x2=\"{x1}\" y2=\"{y:.1}\" stroke=\"#eee\"/>",
            LEFT - 4.0,
            py(y) + 4.0,
            short(y),
            y = py(y),
            x1 = W - RIGHT
        );
    }
    for x in xs {
        let _ = write!(
            s,
            "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
            px(*x),
            H - BOTTOM + 14.0,
            short(*x)
        );
    }
    let _ = write!(
        s,
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">N (participants)</text>",
        (LEFT + W - RIGHT) / 2.0,
        H - 6.0
    );
    // Series.
    for (k, ser) in series.iter().enumerate() {
        let points: Vec<(f64, f64)> = xs
            .iter()
            .zip(&ser.values)
            .filter_map(|(x, v)| v.map(|v| (px(*x), py(v))))
            .collect();
        let path: Vec<String> = points
            .iter()
            .map(|(x, y)| format!("{x:.1},{y:.1}"))
            .collect();
        let _ = write!(
            s,
            "<polyline fill=\"none\" stroke=\"{c}\" stroke-width=\"2\" points=\"{}\"/>",
            path.join(" "),
            c = ser.colour
        );
        for (x, y) in &points {
            let _ = write!(
                s,
                "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"3\" fill=\"{}\"/>",
                ser.colour
            );
        }
        let (lx, ly) = (LEFT + 10.0, TOP + 4.0 + 14.0 * k as f64);
        let _ = write!(
            s,
            "<rect x=\"{lx}\" y=\"{:.1}\" width=\"10\" height=\"10\" fill=\"{c}\"/>\
             <text x=\"{}\" y=\"{:.1}\">{}</text>",
            ly - 9.0,
            lx + 14.0,
            ly,
            escape(ser.name),
            c = ser.colour
        );
    }
    s.push_str("</svg>\n");
    s
}

/// The smallest 1, 2 or 5 × 10^k at or above `v` (1 for 0 or less).
fn nice_ceiling(v: f64) -> f64 {
    if v <= 0.0 || !v.is_finite() {
        return 1.0;
    }
    let p = 10f64.powf(v.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * p)
        .find(|c| *c >= v)
        .unwrap_or(10.0 * p)
}

fn short(v: f64) -> String {
    if v >= 100.0 || v == v.round() {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(n: usize, join: &[f64], cpu: f64) -> RunResult {
        RunResult {
            n,
            join_ms: join.to_vec(),
            service_cpu: Some(cpu),
            service_top_thread: Some(("acs-sfu".into(), cpu - 1.0)),
            ..Default::default()
        }
    }

    #[test]
    fn the_page_has_a_chart_per_figure_with_a_point_per_run() {
        let results = [run(400, &[5.0, 9.0], 60.0), run(100, &[2.0, 3.0], 15.0)];
        let page = html(&results, "N <table> & more");
        assert_eq!(page.matches("<svg").count(), 3);
        // join p50 + p95 + service CPU + top thread: two points each; loss unmeasured.
        assert_eq!(page.matches("<circle").count(), 8);
        assert!(page.contains("N &lt;table&gt; &amp; more"));
        assert!(page.contains("N=100: does not hold; N=400: does not hold"));
        // x ticks in N order.
        let (a, b) = (page.find(">100<").unwrap(), page.find(">400<").unwrap());
        assert!(a < b);
    }

    #[test]
    fn axes_end_at_round_numbers() {
        assert_eq!(nice_ceiling(0.0), 1.0);
        assert_eq!(nice_ceiling(0.7), 1.0);
        assert_eq!(nice_ceiling(1.3), 2.0);
        assert_eq!(nice_ceiling(66.0), 100.0);
        assert_eq!(nice_ceiling(420.0), 500.0);
    }
}
