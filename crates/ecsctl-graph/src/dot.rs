//! DOT output of the graph (`ecsctl graph | dot -Tsvg`): one node per resource labelled by
//! its address, grouped in a box per kind and coloured by the AWS API that serves it, and an
//! edge from each dependency to its dependent. The output is sorted, so the same graph
//! always prints the same text.

use crate::{Address, Graph, Kind};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

/// The graph in Graphviz DOT syntax.
pub fn to_dot(graph: &Graph) -> String {
    let mut by_kind: BTreeMap<Kind, Vec<&Address>> = BTreeMap::new();
    for r in graph.resources() {
        by_kind.entry(r.kind()).or_default().push(&r.address);
    }
    let edges: BTreeSet<(Address, Address)> = graph
        .edges()
        .into_iter()
        .map(|(dependent, dep)| (dep, dependent))
        .collect();
    let missing: BTreeSet<&Address> = edges
        .iter()
        .map(|(dep, _)| dep)
        .filter(|dep| graph.get(dep).is_none())
        .collect();

    let mut out = String::new();
    out.push_str("digraph ecsctl {\n");
    out.push_str("  graph [rankdir=LR, fontname=\"Helvetica\", fontsize=11];\n");
    out.push_str(
        "  node [shape=box, style=\"rounded,filled\", fontname=\"Helvetica\", fontsize=10];\n",
    );
    out.push_str("  edge [color=\"#555555\", arrowsize=0.7];\n");
    for (kind, addresses) in &by_kind {
        let colour = colour(kind.schema().api);
        // Writing to a String cannot fail.
        let _ = writeln!(out, "  subgraph {} {{", quote(&format!("cluster_{kind}")));
        let _ = writeln!(out, "    label={};", quote(kind.as_str()));
        out.push_str("    style=\"rounded,dashed\";\n    color=\"#999999\";\n");
        for a in addresses {
            let s = a.to_string();
            let _ = writeln!(
                out,
                "    {} [label={}, fillcolor={}];",
                quote(&s),
                quote(&s),
                quote(colour)
            );
        }
        out.push_str("  }\n");
    }
    for a in &missing {
        let s = a.to_string();
        let _ = writeln!(
            out,
            "  {} [label={}, style=dashed, color=red, fontcolor=red];",
            quote(&s),
            quote(&format!("{s} (missing)"))
        );
    }
    for (dep, dependent) in &edges {
        let _ = writeln!(
            out,
            "  {} -> {};",
            quote(&dep.to_string()),
            quote(&dependent.to_string())
        );
    }
    out.push_str("}\n");
    out
}

/// A DOT string literal.
fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The fill colour of the nodes served by one AWS API.
fn colour(api: &str) -> &'static str {
    match api {
        "ec2" => "#dbeafe",
        "iam" => "#fee2e2",
        "ecs" => "#dcfce7",
        "elbv2" => "#fef3c7",
        "autoscaling" => "#cffafe",
        "route53" => "#ede9fe",
        "logs" => "#f3f4f6",
        _ => "#ffffff",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Resource;

    fn a(s: &str) -> Address {
        s.parse().unwrap()
    }

    fn small() -> Graph {
        let mut g = Graph::new();
        let vpc = g.add(Resource::new(a("vpc.main")));
        let igw = g.add(Resource::new(a("internet_gateway.main")).arg("vpc_id", vpc.attr("id")));
        g.add(Resource::new(a("nat_gateway.main[0]")).after(&igw));
        g
    }

    #[test]
    fn edges_point_from_dependency_to_dependent() {
        let dot = to_dot(&small());
        assert!(dot.starts_with("digraph ecsctl {\n"));
        assert!(dot.ends_with("}\n"));
        assert!(dot.contains("  \"vpc.main\" -> \"internet_gateway.main\";\n"));
        assert!(dot.contains("  \"internet_gateway.main\" -> \"nat_gateway.main[0]\";\n"));
        assert!(dot.contains("\"nat_gateway.main[0]\" [label=\"nat_gateway.main[0]\""));
        assert!(dot.contains("subgraph \"cluster_nat_gateway\""));
        assert!(!dot.contains("(missing)"));
    }

    #[test]
    fn output_does_not_depend_on_insertion_order() {
        let mut g = Graph::new();
        g.add(Resource::new(a("nat_gateway.main[0]")).after(&a("internet_gateway.main")));
        g.add(Resource::new(a("internet_gateway.main")).arg("vpc_id", a("vpc.main").attr("id")));
        g.add(Resource::new(a("vpc.main")));
        assert_eq!(to_dot(&g), to_dot(&small()));
    }

    #[test]
    fn a_missing_dependency_is_shown_as_such() {
        let mut g = Graph::new();
        g.add(Resource::new(a("subnet.public[0]")).arg("vpc_id", a("vpc.main").attr("id")));
        let dot = to_dot(&g);
        assert!(dot.contains("\"vpc.main\" [label=\"vpc.main (missing)\""));
        assert!(dot.contains("\"vpc.main\" -> \"subnet.public[0]\";"));
    }

    #[test]
    fn quotes_and_backslashes_are_escaped() {
        assert_eq!(quote(r#"a"b\c"#), r#""a\"b\\c""#);
    }
}
