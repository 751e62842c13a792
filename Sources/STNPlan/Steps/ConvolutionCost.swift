import STNKernelInterface

/// The planner's estimate of a convolution form's time, in multiply-adds, to choose between
/// the direct form and Winograd on tiles of 4, 6 or 8 points (and the tile rows per block):
///
///   - the GEMMs' multiply-adds, with each product's rows rounded up to the microkernel's
///     blocks of 6 (a 9-tile block costs as much as 12 tiles);
///   - `weightCost` per weight float each time the weights are read: Winograd reads all of
///     its alpha^2 x inC x outC transformed weights once per block of tile rows; a layer's
///     weights of more than `farWeightFloats` (4 MiB, an eighth of the Zen 4's L3, which the
///     rest of the model's weights pass through on every frame) come from memory at
///     `farWeightCost` per float;
///   - `transformCost` per value its input and output transforms touch (alpha^2 per tile and
///     channel, in and out), which decides for narrow layers.
///
/// The constants were fitted to the forward passes of the users' models' layers timed alone
/// on a Zen 4, the memory threshold to the layers timed in their models (docs/experiments.md,
/// "Small Winograd tiles"); the rule only has to rank the forms.
enum ConvolutionCost {
    static let weightCost = 1.5
    static let farWeightCost = 8.0
    static let farWeightFloats = 1 << 20
    static let transformCost = 16.0
    /// The largest scratch of a block of tiles (V and M), in floats: half of a 1 MiB L2,
    /// beside the block's slice of the weights.
    static let blockScratchFloats = 1 << 17

    static func rows(_ m: Int) -> Double { Double((m + 5) / 6 * 6) }

    static func reading(_ weights: Int) -> Double {
        Double(weights) * (weights > farWeightFloats ? farWeightCost : weightCost)
    }

    static func direct(_ shape: Conv2DShape) -> Double {
        let weights = shape.k * shape.outCp
        return rows(shape.positions) * Double(weights) + reading(weights)
    }

    static func winograd(_ form: WinogradConv2D) -> Double {
        let shape = form.shape
        let points = Double(form.transformedPositions)
        var gemmRows = 0.0
        var blocks = 0.0
        var ty = 0
        while ty < form.tilesY {
            gemmRows += rows(min(form.tileRowsPerBlock, form.tilesY - ty) * form.tilesX)
            blocks += 1
            ty += form.tileRowsPerBlock
        }
        let gemm = points * gemmRows * Double(form.realInC * shape.outCp)
        let weights = reading(form.weightFloats) * blocks
        let transforms = transformCost * Double(form.tiles) * points * Double(shape.inC + shape.outCp)
        return gemm + weights + transforms
    }
}
