//! Text sparklines ("▁▃▅█") that fit in a table cell, where ratatui's Sparkline widget
//! (one per area) cannot go.

const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// The last `width` values as bars scaled to `max` (values above it are clamped),
/// right-aligned so the newest sample is always at the same place.
pub fn sparkline(values: &[f64], max: f64, width: usize) -> String {
    let start = values.len().saturating_sub(width);
    let shown = &values[start..];
    let mut s = " ".repeat(width - shown.len());
    for &v in shown {
        let frac = if max > 0.0 && v.is_finite() {
            (v / max).clamp(0.0, 1.0)
        } else {
            0.0
        };
        s.push(BARS[((frac * 7.0).round() as usize).min(7)]);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scales_clamps_and_right_aligns() {
        assert_eq!(sparkline(&[0.0, 50.0, 100.0, 300.0], 100.0, 6), "  ▁▅██");
        assert_eq!(sparkline(&[1.0, 2.0, 3.0], 0.0, 2), "▁▁");
        assert_eq!(sparkline(&[], 10.0, 3), "   ");
        assert_eq!(sparkline(&[f64::NAN], 10.0, 1), "▁");
    }
}
