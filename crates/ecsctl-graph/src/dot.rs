//! DOT output of the graph (to be written).
