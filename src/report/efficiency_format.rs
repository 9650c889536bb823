//! [`Efficiency`] for people: a text block (report's table and markdown
//! formats, `status`) and an HTML section (report.html). JSON is the struct
//! itself, serialized.

use super::efficiency::{Efficiency, Suggestion, TaskEfficiency};
use super::format::{human_bytes, human_duration};
use super::html::esc;
use std::fmt::Write;

const DASH: &str = "-";

fn bytes(b: Option<u64>) -> String {
    b.map_or(DASH.into(), human_bytes)
}

fn pct(s: Option<f64>) -> String {
    s.map_or(DASH.into(), |s| format!("{:.0} %", s * 100.0))
}

fn dur(s: Option<f64>) -> String {
    s.map_or(DASH.into(), human_duration)
}

fn headers() -> [&'static str; 16] {
    [
        "task",
        "state",
        "mem asked",
        "sched peak",
        "RSS peak",
        "mem used",
        "time asked",
        "elapsed",
        "time used",
        "CPUs",
        "cores busy",
        "GPU",
        "GPU peak / total",
        "GPU util",
        "GPU h",
        "energy",
    ]
}

fn cells(t: &TaskEfficiency) -> [String; 16] {
    let gpu_mem = match (t.gpu_peak_bytes, t.gpu_total_bytes) {
        (Some(p), Some(tot)) => format!(
            "{} / {} ({:.0} %)",
            human_bytes(p),
            human_bytes(tot),
            p as f64 / tot as f64 * 100.0
        ),
        (Some(p), None) => human_bytes(p),
        _ => DASH.into(),
    };
    let elapsed = match (t.elapsed_seconds, t.elapsed_source) {
        (Some(s), Some("worker")) => format!("{} (worker)", human_duration(s)),
        (s, _) => dur(s),
    };
    [
        t.key.clone(),
        t.status.clone(),
        bytes(t.requested_memory_bytes),
        bytes(t.scheduler_peak_memory_bytes),
        bytes(t.worker_peak_rss_bytes),
        pct(t.memory_used_share),
        dur(t.requested_seconds),
        elapsed,
        pct(t.time_used_share),
        t.requested_cpus.map_or(DASH.into(), |c| c.to_string()),
        match (t.cores_used, t.cpu_efficiency) {
            (Some(c), Some(e)) => format!("{c:.2} ({:.0} %)", e * 100.0),
            (Some(c), None) => format!("{c:.2}"),
            _ => DASH.into(),
        },
        t.gpu_name.clone().unwrap_or_else(|| {
            t.device
                .as_deref()
                .filter(|d| !d.to_ascii_lowercase().contains("cuda"))
                .map_or(DASH.into(), |d| format!("none ({d})"))
        }),
        gpu_mem,
        t.gpu_utilization_avg_percent
            .map_or(DASH.into(), |u| format!("{u:.0} %")),
        t.gpu_hours.map_or(DASH.into(), |h| format!("{h:.2}")),
        t.gpu_energy_joules
            .map_or(DASH.into(), |j| format!("{:.3} kWh", j / 3.6e6)),
    ]
}

/// "task 1, 2, 3: reason" for reasons several tasks share.
fn grouped(e: &Efficiency, pick: fn(&TaskEfficiency) -> &Vec<String>) -> Vec<String> {
    let mut out: Vec<(String, Vec<(u32, String)>)> = Vec::new();
    for t in &e.tasks {
        for m in pick(t) {
            let who = (t.task, t.key.clone());
            match out.iter_mut().find(|(r, _)| r == m) {
                Some((_, ids)) => ids.push(who),
                None => out.push((m.clone(), vec![who])),
            }
        }
    }
    out.into_iter()
        .map(|(reason, mut ids)| {
            ids.sort();
            let named = ids.iter().any(|(id, key)| *key != id.to_string());
            let keys: Vec<String> = ids.into_iter().map(|(_, k)| k).collect();
            let what = match (named, keys.len()) {
                (true, _) => "",
                (false, 1) => "task ",
                (false, _) => "tasks ",
            };
            format!("{what}{}: {reason}", keys.join(", "))
        })
        .collect()
}

fn totals_line(e: &Efficiency) -> String {
    let t = &e.totals;
    let mut parts = vec![
        format!("{} task{}", t.tasks, if t.tasks == 1 { "" } else { "s" }),
        format!("{} elapsed in all", human_duration(t.elapsed_seconds)),
    ];
    if let Some(h) = t.cpu_hours {
        parts.push(format!("{h:.2} CPU h"));
    }
    if let Some(h) = t.gpu_hours {
        parts.push(format!("{h:.2} GPU h"));
    }
    if let Some(u) = t.gpu_utilization_avg_percent {
        parts.push(format!("GPU busy {u:.0} % on average"));
    }
    if let Some(k) = t.gpu_energy_kwh {
        parts.push(format!("GPU energy {k:.3} kWh"));
    }
    parts.join(", ")
}

pub fn text(e: &Efficiency) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "Efficiency (asked for vs used; requests: {}; accounting: {})\n",
        e.requests
            .as_ref()
            .map_or("unknown".to_string(), |r| r.source.clone()),
        e.accounting
    );
    let rows: Vec<[String; 16]> = e.tasks.iter().map(cells).collect();
    let h = headers();
    let mut w: Vec<usize> = h.iter().map(|s| s.chars().count()).collect();
    for r in &rows {
        for (i, c) in r.iter().enumerate() {
            w[i] = w[i].max(c.chars().count());
        }
    }
    let line = |c: &[String]| {
        c.iter()
            .enumerate()
            .map(|(i, s)| {
                if i <= 1 || i == 11 {
                    format!("{s:<width$}", width = w[i])
                } else {
                    format!("{s:>width$}", width = w[i])
                }
            })
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    let _ = writeln!(o, "{}", line(&h.map(String::from)));
    for r in &rows {
        let _ = writeln!(o, "{}", line(r));
    }
    let _ = writeln!(o, "\nSweep: {}", totals_line(e));
    for wline in grouped(e, |t| &t.warnings) {
        let _ = writeln!(o, "! {wline}");
    }
    let s = &e.suggestion;
    if let Some(y) = &s.yaml {
        let _ = writeln!(o, "\nNext time, in the experiment config:\n");
        for l in y.lines() {
            let _ = writeln!(o, "    {l}");
        }
        if let Some(c) = s.gpu_comment() {
            let _ = writeln!(o, "    {c}");
        }
        o.push('\n');
    }
    for r in &s.reasons {
        let _ = writeln!(o, "  {r}");
    }
    let missing = grouped(e, |t| &t.missing);
    if !missing.is_empty() {
        let _ = writeln!(o, "\nMissing figures:");
        for m in missing {
            let _ = writeln!(o, "  {m}");
        }
    }
    o
}

pub fn html(e: &Efficiency) -> String {
    let mut o = String::new();
    let _ = write!(
        o,
        "<p>Asked for against used. Requests: {}; accounting: {}.</p>",
        e.requests
            .as_ref()
            .map_or("unknown".to_string(), |r| format!(
                "<code>{}</code>",
                esc(&r.source)
            )),
        esc(&e.accounting)
    );
    cards_html(&mut o, e);
    table_html(&mut o, e);
    let warnings = grouped(e, |t| &t.warnings);
    if !warnings.is_empty() {
        o.push_str("<ul class=\"warnings\">");
        for w in warnings {
            let _ = write!(o, "<li>{}</li>", esc(&w));
        }
        o.push_str("</ul>");
    }
    suggestion_html(&mut o, &e.suggestion);
    let missing = grouped(e, |t| &t.missing);
    if !missing.is_empty() {
        o.push_str("<h3>Missing figures</h3><ul class=\"notes\">");
        for m in missing {
            let _ = write!(o, "<li>{}</li>", esc(&m));
        }
        o.push_str("</ul>");
    }
    o
}

/// The sweep's cards: totals, GPU utilization, the fullest memory and GPU memory.
fn cards_html(o: &mut String, e: &Efficiency) {
    o.push_str("<div class=\"eff-grid\">");
    let t = &e.totals;
    card(o, "Sweep", &esc(&totals_line(e)), None);
    if let Some(u) = t.gpu_utilization_avg_percent {
        card(
            o,
            "GPU utilization",
            &format!("{u:.0} % on average, weighted by run time"),
            Some(u / 100.0),
        );
    }
    let max_mem = e
        .tasks
        .iter()
        .filter_map(|t| t.memory_used_share)
        .fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))));
    if let Some(m) = max_mem {
        card(
            o,
            "Memory",
            &format!("at most {:.0} % of the request used", m * 100.0),
            Some(m),
        );
    }
    let max_gpu = e
        .tasks
        .iter()
        .filter_map(|t| t.gpu_memory_share)
        .fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))));
    if let Some(m) = max_gpu {
        card(
            o,
            "GPU memory",
            &format!("at most {:.0} % of the card", m * 100.0),
            Some(m),
        );
    }
    o.push_str("</div>");
}

/// The per-task table, each number cell with its sort value.
fn table_html(o: &mut String, e: &Efficiency) {
    o.push_str(
        "<div class=\"scroll\"><table class=\"sortable eff\" id=\"efficiency-table\"><thead><tr>",
    );
    for h in headers() {
        let _ = write!(o, "<th tabindex=\"0\">{}</th>", esc(h));
    }
    o.push_str("</tr></thead><tbody>");
    for t in &e.tasks {
        let sort_values: [Option<f64>; 16] = [
            Some(f64::from(t.task)),
            None,
            t.requested_memory_bytes.map(|b| b as f64),
            t.scheduler_peak_memory_bytes.map(|b| b as f64),
            t.worker_peak_rss_bytes.map(|b| b as f64),
            t.memory_used_share,
            t.requested_seconds,
            t.elapsed_seconds,
            t.time_used_share,
            t.requested_cpus.map(f64::from),
            t.cores_used,
            None,
            t.gpu_peak_bytes.map(|b| b as f64),
            t.gpu_utilization_avg_percent,
            t.gpu_hours,
            t.gpu_energy_joules,
        ];
        let _ = write!(o, "<tr data-task=\"{}\">", t.task);
        for (i, c) in cells(t).iter().enumerate() {
            match sort_values[i] {
                Some(v) => {
                    let _ = write!(o, "<td class=\"num\" data-v=\"{v}\">{}</td>", esc(c));
                }
                None if c == DASH => {
                    let _ = write!(o, "<td class=\"num\" data-v=\"\">–</td>");
                }
                None if i == 1 || i == 11 => {
                    let _ = write!(o, "<td data-v=\"{0}\">{0}</td>", esc(c));
                }
                None => {
                    let _ = write!(o, "<td class=\"num\" data-v=\"\">{}</td>", esc(c));
                }
            }
        }
        o.push_str("</tr>");
    }
    o.push_str("</tbody></table></div>");
}

/// "Next time": the YAML to paste (with the Slurm GPU type) and the reasons.
fn suggestion_html(o: &mut String, s: &Suggestion) {
    o.push_str("<div class=\"suggest\"><h3>Next time</h3>");
    match &s.yaml {
        Some(y) => {
            let mut y = y.clone();
            if let Some(c) = s.gpu_comment() {
                let _ = write!(y, "\n{c}");
            }
            let _ = write!(o, "<pre>{}</pre>", esc(&y));
        }
        None => o.push_str("<p class=\"missing\">Nothing to suggest: no usage figures yet.</p>"),
    }
    if !s.reasons.is_empty() {
        o.push_str("<ul>");
        for r in &s.reasons {
            let _ = write!(o, "<li>{}</li>", esc(r));
        }
        o.push_str("</ul>");
    }
    o.push_str("</div>");
}

fn card(o: &mut String, title: &str, body_html: &str, bar: Option<f64>) {
    let _ = write!(o, "<div class=\"card\"><h3>{}</h3>", esc(title));
    if let Some(b) = bar {
        let _ = write!(
            o,
            "<div class=\"bar\"><span style=\"width:{:.0}%\"></span></div>",
            (b * 100.0).clamp(0.0, 100.0)
        );
    }
    let _ = write!(o, "<div>{body_html}</div></div>");
}
