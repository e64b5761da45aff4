//! Plain aligned columns for terminal listings.

use crate::terminal::clean_line;

/// Renders rows under a header, each column as wide as its widest cell. Cells hold text from
/// providers (names, scopes), so control characters are replaced.
pub fn render(header: &[&str], rows: &[Vec<String>]) -> String {
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|row| row.iter().map(|c| clean_line(c)).collect())
        .collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let last = cells.len().saturating_sub(1);
        cells
            .iter()
            .enumerate()
            .map(|(i, c)| {
                if i == last {
                    c.to_string()
                } else {
                    format!("{c:<w$}", w = widths[i])
                }
            })
            .collect::<Vec<_>>()
            .join("  ")
    };
    let mut out = line(header.to_vec());
    for row in &rows {
        out.push('\n');
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn aligns_columns() {
        let out = super::render(
            &["ID", "NAME"],
            &[
                vec!["a".into(), "x".into()],
                vec!["long-id".into(), "y".into()],
            ],
        );
        assert_eq!(out, "ID       NAME\na        x\nlong-id  y\n");
    }

    #[test]
    fn cells_cannot_carry_escape_sequences_or_break_rows() {
        let out = super::render(
            &["ID", "NAME"],
            &[vec!["a".into(), "\u{1b}[2Jevil\nname".into()]],
        );
        assert_eq!(out, "ID  NAME\na   ?[2Jevil?name\n");
    }
}
