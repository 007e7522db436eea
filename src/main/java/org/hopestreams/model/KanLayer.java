package org.hopestreams.model;

import ai.djl.ndarray.NDArray;

/**
 * A Kolmogorov–Arnold layer (efficient-KAN form): every edge i → o carries the function
 * {@code w_base[o,i]·silu(x_i) + Σ_j w_spline[o,i,j]·B_j(x_i)}, with B_j the G + 3 cubic B-spline bases
 * on the uniform grid of G intervals over [−{@link #RANGE}, {@link #RANGE}], extended by 3 knots on each
 * side (docs/kan-ticks.md).
 *
 * <p>A CMS level that is KAN ({@link HopeConfig#kanLevel}) is a pair of these, d → h → d with
 * h = {@link HopeConfig#kanHidden()}, each layer taking an RMS-normed input: the level's own
 * {@code norm.g} before the first, a gain-free RMSNorm before the second, so both see values of unit
 * scale that the grid covers. The bases sum to one inside the range, fade to zero over the three
 * extension knots (up to ±(RANGE + 3·2·RANGE/G)) and are zero beyond; there only the SiLU term carries
 * an input. The grid is fixed (no grid updates), so a checkpoint holds only the weights.
 *
 * <p>Stateless; every array belongs to the manager of the input.
 */
final class KanLayer {
    /** Half-width of the grid: an RMS-normed input lies inside it about 95 % of the time. */
    static final double RANGE = 2.0;
    static final int ORDER = 3;

    private KanLayer() {
    }

    /** Coefficients per edge: one base weight and G + 3 spline weights. */
    static int weightsPerEdge(int grid) {
        return grid + ORDER + 1;
    }

    /** The layer's output (…, out) for input x (…, in), base weights (out, in), spline weights (out, in·(G+3)). */
    static NDArray forward(NDArray x, NDArray base, NDArray spline, int grid) {
        NDArray b = bases(x, grid);
        long[] s = x.getShape().getShape();
        long[] flat = s.clone();
        flat[s.length - 1] = s[s.length - 1] * (grid + ORDER);
        return HopeModel.linear(HopeModel.silu(x), base).add(HopeModel.linear(b.reshape(flat), spline));
    }

    /**
     * The cubic B-spline bases (…, in, G + 3) of x (…, in), by the Cox–de Boor recursion on the
     * uniform knots t_j = −RANGE + (j − 3)·h, h = 2·RANGE/G, j = 0 … G + 6. In grid units
     * u = (x − t_0)/h the knots are the integers and the recursion's weights are (u − j)/k and
     * (j + k + 1 − u)/k.
     */
    static NDArray bases(NDArray x, int grid) {
        double h = 2 * RANGE / grid;
        NDArray u = x.sub(HopeModel.scalar(x, -RANGE - ORDER * h)).div(HopeModel.scalar(x, h)).expandDims(-1);
        int n = grid + 2 * ORDER;   // order-0 bases: one per knot interval
        NDArray j = x.getManager().arange(0, n + 1).toType(x.getDataType(), false);
        NDArray lo = j.get("0:" + n);
        NDArray b = u.gte(lo).logicalAnd(u.lt(j.get("1:" + (n + 1)))).toType(x.getDataType(), false);
        for (int k = 1; k <= ORDER; k++) {
            int m = n - k;   // bases of order k
            NDArray left = u.sub(lo.get("0:" + m)).mul(b.get("..., 0:" + m));
            NDArray right = j.get((k + 1) + ":" + (m + k + 1)).sub(u).mul(b.get("..., 1:" + (m + 1)));
            b = left.add(right).div(HopeModel.scalar(x, k));
        }
        return b;
    }
}
