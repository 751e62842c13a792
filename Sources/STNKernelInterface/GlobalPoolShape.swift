/// Global average and max pooling over all pixels of an NHWC map (`channels` = its stride,
/// a multiple of 8): AdaptiveAvgPool2d(1), ReduceMean/ReduceMax over the spatial axes. One
/// vector of channels at a time down the pixels, four pixels per step for the averages
/// (independent sums), one for the maximum (whose first-winner order is sequential).
public struct GlobalPoolShape: Sendable, Equatable {
    public let pixels: Int, channels: Int

    @inlinable
    public init(pixels: Int, channels: Int) {
        self.pixels = pixels
        self.channels = channels
    }
}
