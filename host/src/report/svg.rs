//! The report's charts as inline SVG, with colours as presentation
//! attributes (so they print) and every label escaped: horizontal stacked
//! bars, columns over time, and a donut. Each is a `<figure>` marked
//! `data-chart="…"`, with a caption and, where parts have meaning, a legend.

use std::fmt::Write;

/// The palette: a name for the legend and a fill.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Colour(pub &'static str);

pub const BLUE: Colour = Colour("#2b6cb0");
pub const GREEN: Colour = Colour("#2f855a");
pub const RED: Colour = Colour("#c53030");
pub const ORANGE: Colour = Colour("#c05621");
pub const YELLOW: Colour = Colour("#b7791f");
pub const GREY: Colour = Colour("#a0aec0");
pub const PURPLE: Colour = Colour("#6b46c1");

/// Text for HTML and SVG: `& < > " '` escaped.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A number as the charts print it: no decimals when whole.
fn num(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

fn figure(id: &str, caption: &str, body: &str, legend: &[(&str, Colour)]) -> String {
    let mut out = format!(
        "<figure class=\"chart\" data-chart=\"{}\"><figcaption>{}</figcaption>{body}",
        esc(id),
        esc(caption)
    );
    if !legend.is_empty() {
        out.push_str("<ul class=\"legend\">");
        for (name, c) in legend {
            let _ = write!(
                out,
                "<li><svg width=\"10\" height=\"10\" aria-hidden=\"true\"><rect width=\"10\" height=\"10\" fill=\"{}\"/></svg>{}</li>",
                c.0,
                esc(name)
            );
        }
        out.push_str("</ul>");
    }
    out.push_str("</figure>");
    out
}

fn empty(id: &str, caption: &str, why: &str) -> String {
    figure(
        id,
        caption,
        &format!("<p class=\"nodata\">{}</p>", esc(why)),
        &[],
    )
}

/// One horizontal bar: its label, its stacked parts, the text at its end.
pub struct Bar {
    pub label: String,
    pub parts: Vec<(f64, Colour)>,
    pub value: String,
}

/// Horizontal stacked bars, scaled to the longest.
pub fn bars(id: &str, caption: &str, rows: &[Bar], legend: &[(&str, Colour)]) -> String {
    let max = rows
        .iter()
        .map(|r| r.parts.iter().map(|p| p.0).sum::<f64>())
        .fold(0.0, f64::max);
    if rows.is_empty() {
        return empty(id, caption, "No data.");
    }
    let (width, label_w, value_w, row_h) = (480.0, 170.0, 70.0, 26.0);
    let bar_w = width - label_w - value_w;
    let height = rows.len() as f64 * row_h + 4.0;
    let mut svg = format!(
        "<svg viewBox=\"0 0 {width} {height}\" width=\"100%\" role=\"img\" aria-label=\"{}\">",
        esc(caption)
    );
    for (i, r) in rows.iter().enumerate() {
        let y = i as f64 * row_h + 4.0;
        let _ = write!(
            svg,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\" class=\"label\">{}</text>",
            label_w - 8.0,
            y + 14.0,
            esc(&r.label)
        );
        let mut x = label_w;
        for (v, c) in &r.parts {
            let w = if max > 0.0 { v / max * bar_w } else { 0.0 };
            if w > 0.0 {
                let _ = write!(
                    svg,
                    "<rect x=\"{x:.1}\" y=\"{y}\" width=\"{w:.1}\" height=\"18\" rx=\"2\" fill=\"{}\"/>",
                    c.0
                );
            }
            x += w;
        }
        let _ = write!(
            svg,
            "<text x=\"{:.1}\" y=\"{}\" class=\"value\">{}</text>",
            x + 6.0,
            y + 14.0,
            esc(&r.value)
        );
    }
    svg.push_str("</svg>");
    figure(id, caption, &svg, legend)
}

/// Columns over time (oldest left), stacked; every `label_every`th label shown.
pub fn columns(
    id: &str,
    caption: &str,
    cols: &[(String, Vec<(f64, Colour)>)],
    label_every: usize,
    legend: &[(&str, Colour)],
) -> String {
    if cols.is_empty() {
        return empty(id, caption, "No data.");
    }
    let max = cols
        .iter()
        .map(|c| c.1.iter().map(|p| p.0).sum::<f64>())
        .fold(0.0, f64::max);
    let (width, height, axis_h, left) = (600.0, 190.0, 22.0, 34.0);
    let plot_h = height - axis_h - 8.0;
    let step = (width - left) / cols.len() as f64;
    let mut svg = format!(
        "<svg viewBox=\"0 0 {width} {height}\" width=\"100%\" role=\"img\" aria-label=\"{}\">",
        esc(caption)
    );
    let _ = write!(
        svg,
        "<line x1=\"{left}\" y1=\"{y}\" x2=\"{width}\" y2=\"{y}\" stroke=\"#cbd5e0\"/><text x=\"{}\" y=\"14\" text-anchor=\"end\" class=\"value\">{}</text><text x=\"{}\" y=\"{y}\" text-anchor=\"end\" class=\"value\">0</text>",
        left - 4.0,
        num(max),
        left - 4.0,
        y = 8.0 + plot_h
    );
    for (i, (label, parts)) in cols.iter().enumerate() {
        let x = left + i as f64 * step + step * 0.15;
        let mut top = 8.0 + plot_h;
        for (v, c) in parts {
            let h = if max > 0.0 { v / max * plot_h } else { 0.0 };
            if h > 0.0 {
                top -= h;
                let _ = write!(
                    svg,
                    "<rect x=\"{x:.1}\" y=\"{top:.1}\" width=\"{:.1}\" height=\"{h:.1}\" fill=\"{}\"><title>{}: {}</title></rect>",
                    step * 0.7,
                    c.0,
                    esc(label),
                    num(*v)
                );
            }
        }
        if label_every > 0 && i % label_every == 0 {
            let _ = write!(
                svg,
                "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\" class=\"value\">{}</text>",
                x + step * 0.35,
                height - 6.0,
                esc(label)
            );
        }
    }
    svg.push_str("</svg>");
    figure(id, caption, &svg, legend)
}

/// A donut of `parts` with `centre` written in the middle.
pub fn donut(id: &str, caption: &str, parts: &[(&str, f64, Colour)], centre: &str) -> String {
    let total: f64 = parts.iter().map(|p| p.1).sum();
    if total <= 0.0 {
        return empty(id, caption, "No data.");
    }
    let r = 52.0;
    let circumference = 2.0 * std::f64::consts::PI * r;
    let mut svg = format!(
        "<svg viewBox=\"0 0 160 160\" width=\"160\" height=\"160\" role=\"img\" aria-label=\"{}\"><g transform=\"rotate(-90 80 80)\">",
        esc(caption)
    );
    let mut offset = 0.0;
    for (_, v, c) in parts {
        let len = v / total * circumference;
        let _ = write!(
            svg,
            "<circle cx=\"80\" cy=\"80\" r=\"{r}\" fill=\"none\" stroke=\"{}\" stroke-width=\"22\" stroke-dasharray=\"{len:.2} {:.2}\" stroke-dashoffset=\"{:.2}\"/>",
            c.0,
            circumference - len,
            -offset
        );
        offset += len;
    }
    let _ = write!(
        svg,
        "</g><text x=\"80\" y=\"86\" text-anchor=\"middle\" class=\"centre\">{}</text></svg>",
        esc(centre)
    );
    let legend: Vec<(String, Colour)> = parts
        .iter()
        .map(|(name, v, c)| (format!("{name}: {}", num(*v)), *c))
        .collect();
    let legend: Vec<(&str, Colour)> = legend.iter().map(|(n, c)| (n.as_str(), *c)).collect();
    figure(id, caption, &svg, &legend)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_escaped_and_empty_charts_say_so() {
        let b = bars(
            "x",
            "Caption <b>",
            &[Bar {
                label: "<script>alert(1)</script>".into(),
                parts: vec![(2.0, BLUE), (1.0, GREY)],
                value: "2 of 3".into(),
            }],
            &[("used", BLUE)],
        );
        assert!(
            !b.contains("<script>") && b.contains("&lt;script&gt;"),
            "{b}"
        );
        assert!(b.contains("data-chart=\"x\"") && b.contains("Caption &lt;b&gt;"));
        assert_eq!(b.matches("<rect x=").count(), 2);
        assert!(bars("y", "Nothing", &[], &[]).contains("No data."));
        assert!(donut("d", "None", &[("a", 0.0, BLUE)], "0%").contains("No data."));
    }

    #[test]
    fn columns_scale_to_the_highest_and_label_every_nth() {
        let cols: Vec<(String, Vec<(f64, Colour)>)> = (0..6)
            .map(|i| (format!("d{i}"), vec![(i as f64, BLUE)]))
            .collect();
        let c = columns("c", "Calls", &cols, 2, &[]);
        assert_eq!(c.matches("<rect").count(), 5, "the zero day draws no bar");
        assert!(c.contains(">d0<") && c.contains(">d2<") && !c.contains(">d1<"));
        let d = donut("m", "MFA", &[("yes", 3.0, GREEN), ("no", 1.0, RED)], "75%");
        assert_eq!(d.matches("<circle").count(), 2);
        assert!(d.contains("yes: 3") && d.contains(">75%<"));
    }
}
