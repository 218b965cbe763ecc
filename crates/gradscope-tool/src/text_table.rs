//! The aligned text table of the stderr summary, and its number format.

/// Formats a number for a summary: 6 significant digits, scientific outside [1e-3, 1e7).
pub fn num(x: f64) -> String {
    if x.is_nan() {
        return "NaN".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf".into() } else { "-inf".into() };
    }
    let a = x.abs();
    if a != 0.0 && !(1e-3..1e7).contains(&a) {
        format!("{x:.4e}")
    } else {
        let digits = if a == 0.0 {
            0
        } else {
            (5 - a.log10().floor() as i32).max(0) as usize
        };
        format!("{x:.digits$}")
    }
}

/// Writes a right-aligned table with a header to stderr (best effort, see
/// [`crate::console::err`]).
pub fn print_table(header: &[&str], rows: &[Vec<String>]) {
    crate::console::err(&render_table(header, rows));
}

/// The table as text.
pub fn render_table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut width: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for r in rows {
        for (w, c) in width.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    let line = |cells: Vec<&str>, out: &mut String| {
        let parts: Vec<String> = cells
            .iter()
            .zip(&width)
            .map(|(c, w)| format!("{c:>w$}"))
            .collect();
        out.push_str(parts.join("  ").trim_end());
        out.push('\n');
    };
    line(header.to_vec(), &mut out);
    for r in rows {
        line(r.iter().map(|s| s.as_str()).collect(), &mut out);
    }
    out
}

/// A number for JSON: finite values as numbers, NaN and infinities as null.
pub fn json_num(x: f64) -> serde_json::Value {
    if x.is_finite() {
        serde_json::json!(x)
    } else {
        serde_json::Value::Null
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_tables() {
        assert_eq!(num(6527.0912), "6527.09");
        assert_eq!(num(0.5), "0.500000");
        assert_eq!(num(1.5e9), "1.5000e9");
        assert_eq!(num(f64::NAN), "NaN");
        let t = render_table(&["a", "kappa"], &[vec!["1".into(), "2.5".into()]]);
        assert_eq!(t, "a  kappa\n1    2.5\n");
        assert_eq!(json_num(f64::INFINITY), serde_json::Value::Null);
    }
}
