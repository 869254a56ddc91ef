//! The network of who depends on whom, drawn server-side as an inline SVG.
//!
//! The layout is layered: consumers that nothing depends on sit in the top row, and
//! each provider sits one row below the lowest of its consumers, so arrows point
//! downwards from consumer to provider. Cycles (two services with pacts with each
//! other) are cut by bounding the depth, which keeps the layout finite.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use super::html::esc;
use crate::http::enc_query;

const NODE_WIDTH: usize = 170;
const NODE_HEIGHT: usize = 30;
const COLUMN_GAP: usize = 30;
const ROW_GAP: usize = 70;
const MARGIN: usize = 20;
/// How far an arrow that skips a row bends sideways, per row skipped.
const BEND: usize = 60;

/// Edges from consumer to provider, by name.
pub fn svg(base: &str, edges: &BTreeSet<(String, String)>) -> String {
    let mut nodes: BTreeSet<&str> = BTreeSet::new();
    for (consumer, provider) in edges {
        nodes.insert(consumer);
        nodes.insert(provider);
    }
    let layer = layers(&nodes, edges);
    let mut rows: BTreeMap<usize, Vec<&str>> = BTreeMap::new();
    for node in &nodes {
        rows.entry(layer[node]).or_default().push(node);
    }
    let widest = rows.values().map(Vec::len).max().unwrap_or(0);
    // Room on the right for the arrows that bend around the rows they skip.
    let width = MARGIN * 2 + widest * (NODE_WIDTH + COLUMN_GAP) + BEND * rows.len();
    let height = MARGIN * 2 + rows.len() * (NODE_HEIGHT + ROW_GAP);
    let mut position: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for (row_index, (_, names)) in rows.iter().enumerate() {
        // Centre each row under the widest one.
        let offset = (widest - names.len()) * (NODE_WIDTH + COLUMN_GAP) / 2;
        for (column, name) in names.iter().enumerate() {
            let x = MARGIN + offset + column * (NODE_WIDTH + COLUMN_GAP);
            let y = MARGIN + row_index * (NODE_HEIGHT + ROW_GAP);
            position.insert(name, (x, y));
        }
    }
    let mut out = String::new();
    let _ = write!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"network\" role=\"img\" \
         aria-label=\"Who depends on whom\" width=\"{width}\" height=\"{height}\" \
         viewBox=\"0 0 {width} {height}\">\
         <defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" \
         markerWidth=\"8\" markerHeight=\"8\" orient=\"auto-start-reverse\">\
         <path d=\"M 0 0 L 10 5 L 0 10 z\" fill=\"#5a6472\"/></marker></defs>"
    );
    for (consumer, provider) in edges {
        let (cx, cy) = position[consumer.as_str()];
        let (px, py) = position[provider.as_str()];
        let (x1, y1) = (cx + NODE_WIDTH / 2, cy + NODE_HEIGHT);
        let (x2, y2) = if py > cy {
            (px + NODE_WIDTH / 2, py)
        } else {
            // Same row or upwards (a cycle): join the bottoms instead.
            (px + NODE_WIDTH / 2, py + NODE_HEIGHT)
        };
        // An arrow that skips rows would run through the boxes between; it bends
        // sideways instead, further for longer spans.
        let rows_skipped = py.abs_diff(cy) / (NODE_HEIGHT + ROW_GAP);
        let d = if py > cy && rows_skipped <= 1 {
            format!("M {x1} {y1} L {x2} {y2}")
        } else {
            let bend = BEND * rows_skipped.max(1);
            let control_x = x1.max(x2) + bend;
            let control_y = (y1 + y2) / 2;
            format!("M {x1} {y1} Q {control_x} {control_y} {x2} {y2}")
        };
        let _ = write!(
            out,
            "<path class=\"edge\" d=\"{d}\" fill=\"none\" \
             stroke=\"#5a6472\" stroke-width=\"1.5\" marker-end=\"url(#arrow)\">\
             <title>{} depends on {}</title></path>",
            esc(consumer),
            esc(provider)
        );
    }
    for (name, (x, y)) in &position {
        let label: String = if name.chars().count() > 22 {
            name.chars().take(21).chain(['…']).collect()
        } else {
            (*name).to_string()
        };
        let href = format!("{base}/ui/matrix?pacticipant={}", enc_query(name));
        let _ = write!(
            out,
            "<a href=\"{}\"><g class=\"node\"><title>{}</title>\
             <rect x=\"{x}\" y=\"{y}\" width=\"{NODE_WIDTH}\" height=\"{NODE_HEIGHT}\" rx=\"6\" \
             fill=\"#eef4ff\" stroke=\"#3a5a8c\"/>\
             <text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"#1d2430\">{}</text></g></a>",
            esc(&href),
            esc(name),
            x + NODE_WIDTH / 2,
            y + NODE_HEIGHT / 2 + 4,
            esc(&label)
        );
    }
    out.push_str("</svg>");
    out
}

/// The row of each node: 0 for nodes no one depends on, else one below the deepest
/// consumer. Relaxation stops after as many rounds as there are nodes, so a cycle
/// cannot push nodes down for ever.
fn layers<'a>(
    nodes: &BTreeSet<&'a str>,
    edges: &'a BTreeSet<(String, String)>,
) -> BTreeMap<&'a str, usize> {
    let mut layer: BTreeMap<&str, usize> = nodes.iter().map(|n| (*n, 0)).collect();
    for _ in 0..nodes.len() {
        let mut changed = false;
        for (consumer, provider) in edges {
            if consumer == provider {
                continue;
            }
            let wanted = layer[consumer.as_str()] + 1;
            if layer[provider.as_str()] < wanted && wanted < nodes.len() {
                layer.insert(provider.as_str(), wanted);
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    layer
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::svg;

    fn edges(pairs: &[(&str, &str)]) -> BTreeSet<(String, String)> {
        pairs
            .iter()
            .map(|(c, p)| (c.to_string(), p.to_string()))
            .collect()
    }

    #[test]
    fn draws_one_box_per_pacticipant_and_one_arrow_per_dependency() {
        let drawn = svg(
            "http://b",
            &edges(&[("Web", "Orders"), ("Orders", "Stock"), ("Web", "Stock")]),
        );
        assert_eq!(drawn.matches("<rect").count(), 3);
        assert_eq!(drawn.matches("class=\"edge\"").count(), 3);
        assert!(drawn.contains("Web depends on Orders"));
        // Web to Stock skips the row of Orders, so it bends around it.
        assert_eq!(drawn.matches(" Q ").count(), 1);
    }

    #[test]
    fn survives_cycles_and_escapes_names() {
        let drawn = svg("http://b", &edges(&[("A", "<B>"), ("<B>", "A")]));
        assert_eq!(drawn.matches("<rect").count(), 2);
        assert!(drawn.contains("&lt;B&gt;"));
        assert!(!drawn.contains("<B>"));
    }
}
