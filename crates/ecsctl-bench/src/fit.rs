//! Small statistics for benchmark tables: medians, a least-squares line, growth exponents.

use std::time::Duration;

/// The median of the samples (the upper one of the two middle samples for an even count);
/// zero for no samples.
pub fn median(mut v: Vec<Duration>) -> Duration {
    if v.is_empty() {
        return Duration::ZERO;
    }
    v.sort();
    v[v.len() / 2]
}

/// `y = intercept + slope * x` fitted by least squares, with its coefficient of
/// determination.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Line {
    pub intercept: f64,
    pub slope: f64,
    /// 1 when every point lies on the line.
    pub r2: f64,
}

impl Line {
    /// The fitted value at `x`.
    pub fn at(&self, x: f64) -> f64 {
        self.intercept + self.slope * x
    }
}

/// The least-squares line through the points; `None` with fewer than two distinct x.
pub fn least_squares(points: &[(f64, f64)]) -> Option<Line> {
    let n = points.len() as f64;
    if points.len() < 2 {
        return None;
    }
    let mx = points.iter().map(|p| p.0).sum::<f64>() / n;
    let my = points.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = points.iter().map(|p| (p.0 - mx).powi(2)).sum();
    if sxx == 0.0 {
        return None;
    }
    let sxy: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let slope = sxy / sxx;
    let intercept = my - slope * mx;
    let ss_tot: f64 = points.iter().map(|p| (p.1 - my).powi(2)).sum();
    let ss_res: f64 = points
        .iter()
        .map(|p| (p.1 - (intercept + slope * p.0)).powi(2))
        .sum();
    let r2 = if ss_tot == 0.0 {
        1.0
    } else {
        1.0 - ss_res / ss_tot
    };
    Some(Line {
        intercept,
        slope,
        r2,
    })
}

/// The exponent k in `y ∝ x^k` between two points: 1 is linear growth, 2 quadratic, below
/// 1 better than linear. `None` when a value is not positive or the x are equal.
pub fn growth_exponent(from: (f64, f64), to: (f64, f64)) -> Option<f64> {
    if from.0 <= 0.0 || from.1 <= 0.0 || to.0 <= 0.0 || to.1 <= 0.0 || from.0 == to.0 {
        return None;
    }
    Some((to.1 / from.1).ln() / (to.0 / from.0).ln())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        let ms = |v: &[u64]| v.iter().map(|&m| Duration::from_millis(m)).collect();
        assert_eq!(median(ms(&[5, 1, 3])), Duration::from_millis(3));
        assert_eq!(median(ms(&[4, 1, 3, 2])), Duration::from_millis(3));
        assert_eq!(median(vec![]), Duration::ZERO);
    }

    #[test]
    fn a_straight_line_is_found_exactly() {
        let pts: Vec<(f64, f64)> = [1.0, 2.0, 5.0, 9.0]
            .iter()
            .map(|&x| (x, 3.0 + 2.0 * x))
            .collect();
        let l = least_squares(&pts).expect("two distinct x");
        assert!((l.slope - 2.0).abs() < 1e-9);
        assert!((l.intercept - 3.0).abs() < 1e-9);
        assert!((l.r2 - 1.0).abs() < 1e-9);
        assert!((l.at(10.0) - 23.0).abs() < 1e-9);
        assert!(least_squares(&[(1.0, 1.0), (1.0, 2.0)]).is_none());
    }

    #[test]
    fn growth_exponent_tells_linear_from_quadratic() {
        let lin = growth_exponent((10.0, 20.0), (100.0, 200.0)).expect("positive");
        let quad = growth_exponent((10.0, 100.0), (100.0, 10_000.0)).expect("positive");
        assert!((lin - 1.0).abs() < 1e-9);
        assert!((quad - 2.0).abs() < 1e-9);
        assert!(growth_exponent((0.0, 1.0), (1.0, 2.0)).is_none());
    }
}
