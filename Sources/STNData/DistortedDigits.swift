/// MNIST's training digits as training data: each drawn with a fresh distortion every
/// epoch (keyed by seed, epoch and index, so the same on any thread), or as they are.
public struct DistortedDigits: LabelledImages {
    public let digits: MNISTSplit
    /// Nil: the 28x28 digits as they are.
    public let distortion: (any DigitDistortion)?

    public init(_ digits: MNISTSplit, distortion: (any DigitDistortion)?) {
        self.digits = digits
        self.distortion = distortion
    }

    public var count: Int { digits.labels.count }
    public func label(_ index: Int) -> UInt8 { digits.labels[index] }
    public func origin(_ index: Int) -> String { "MNIST training digit \(index)" }
    public var sharesOneLayout: Bool { true }

    public func read(_ index: Int, epoch: Int, into scratch: ImageScratch) throws -> ImageLayout {
        let digitPixels = RTSDistortion.digitSize * RTSDistortion.digitSize
        let side = distortion?.canvasSide ?? RTSDistortion.digitSize
        scratch.reserve(side * side)
        digits.images.pixels.withUnsafeBufferPointer { pixels in
            let digit = pixels.baseAddress! + index * digitPixels
            scratch.samples.withUnsafeMutableBufferPointer { canvas in
                if let distortion {
                    distortion.render(
                        digit: digit, index: index, epoch: epoch, into: canvas.baseAddress!,
                        workspace: scratch.workspace(distortion.workspaceCount))
                } else {
                    canvas.baseAddress!.update(from: digit, count: digitPixels)
                }
            }
        }
        return ImageLayout(rows: side, columns: side, channels: 1)
    }
}
