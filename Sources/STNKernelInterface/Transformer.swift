/// How a sampler reads between and beyond pixels (PyTorch's `F.grid_sample` options).
public struct SamplerOptions: Sendable, Equatable {
    public var nearest: Bool
    /// Outside the image: the nearest edge pixel (border) instead of zero.
    public var border: Bool
    public var alignCorners: Bool

    public init(nearest: Bool = false, border: Bool = false, alignCorners: Bool = false) {
        self.nearest = nearest
        self.border = border
        self.alignCorners = alignCorners
    }
}

/// The spatial transformer's parameter-free stages, forward and backward, with PyTorch's
/// semantics: the bilinear resize (`F.interpolate`), the affine grid generator
/// (`F.affine_grid`) and the sampler (`F.grid_sample`); their kernels are in
/// Sources/STNKernels/Transformer.swift, here what the plan computes from the shapes. Images are NHWC rows of `stride`
/// floats per pixel (every lane is processed, so zero padding lanes stay zero).
///
/// The grid comes from a localisation net and is not to be trusted: any float, NaN and
/// infinities included, samples as "outside the image", never reads out of bounds and never
/// traps.
public enum Transformer {
    /// The source step of a resize from `input` to `output` pixels: with `scale` (PyTorch's
    /// scale_factor, recompute_scale_factor=False) 1 / scale, else input / output.
    @inlinable
    public static func resizeStep(input: Int, output: Int, scale: Float?, alignCorners: Bool) -> Float {
        if alignCorners { return output > 1 ? Float(input - 1) / Float(output - 1) : 0 }
        if let scale, scale > 0 { return Float(1.0 / Double(scale)) }
        return Float(input) / Float(output)
    }

    /// Normalised coordinate of pixel i of n, computed with PyTorch's float operations
    /// (`linspace(-1, 1, n)`, times (n - 1) / n at align_corners=False). The bilinear
    /// gradient has kinks at integer pixel positions, which the identity transform hits
    /// exactly, so the last bit decides which one-sided derivative a pixel gets.
    @inlinable
    public static func normalised(_ i: Int, _ n: Int, alignCorners: Bool = false) -> Float {
        guard n > 1 else { return alignCorners ? -1 : 0 }
        let step = Float(2) / Float(n - 1)
        let linspace = i < n / 2 ? -1 + step * Float(i) : 1 - step * Float(n - 1 - i)
        return alignCorners ? linspace : linspace * Float(n - 1) / Float(n)
    }
}
